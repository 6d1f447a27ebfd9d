using Weft.Runtime;

namespace Weft;

/// <summary>The facade's one member that Goroutine.cs names: no model lets a body throw.</summary>
internal static class Go
{
    internal static void OnUnhandled(Exception error, Goroutine? g) =>
        throw new InvalidOperationException("A goroutine body threw in a model: " + error.Message, error);
}
