using Weft.Tests;
using Weft.Tests.Channels;

namespace Weft.Ipc.Tests;

/// <summary>Weft.Tests' GoTask, with every completion bounded (TestTimeout), so a hang fails fast.</summary>
internal static class Gor
{
    public static Task Run(Func<Task> body) => GoTask.Run(body).Within();

    public static Task<T> Run<T>(Func<Task<T>> body) => GoTask.Run(body).Within();
}
