using Weft.Threading;

namespace Weft.Tests.Threading;

/// <summary>
/// What the executor suites share: a gate that blocking tasks wait on, and pools that are stopped (gate opened,
/// ShutdownNow) when the test ends, so that no test leaves threads behind.
/// </summary>
public abstract class PoolTestBase : IDisposable
{
    protected readonly ManualResetEventSlim _gate = new();
    private readonly List<ThreadPoolExecutor> _pools = [];

    public void Dispose()
    {
        _gate.Set();
        foreach (var pool in _pools) pool.ShutdownNow();
    }

    protected ThreadPoolExecutor Pool(ThreadPoolExecutorOptions options)
    {
        var pool = new ThreadPoolExecutor(options);
        _pools.Add(pool);
        return pool;
    }
}
