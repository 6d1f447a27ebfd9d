using Weft.Sync;

namespace Weft.Tests.Sync;

/// <summary>Installs a <see cref="SyncTestHook"/> for one primitive and one window, for the length of a using block.</summary>
internal static class Hooks
{
    public static IDisposable At(object primitive, SyncTestHook.Window window, Action action)
    {
        SyncTestHook.At = (o, w) =>
        {
            if (ReferenceEquals(o, primitive) && w == window) action();
        };
        return new Remove();
    }

    private sealed class Remove : IDisposable
    {
        public void Dispose() => SyncTestHook.At = null;
    }

    /// <summary>Runs <paramref name="a"/> on a dedicated thread (a blocking form under test).</summary>
    public static Task OnThread(Action a) => Task.Factory.StartNew(a, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Polls <paramref name="condition"/> (a state another thread reaches) until it holds, or fails after the default timeout.</summary>
    public static void SpinUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TestTimeout.Default;
        while (!condition())
        {
            DebugAsserts.ThrowIfViolated();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Never reached: {what}.");
            Thread.Sleep(1);
        }
    }
}
