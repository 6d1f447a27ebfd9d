using BenchmarkDotNet.Attributes;
using Weft.Threading;

namespace Weft.Bench.Micro;

/// <summary>
/// One task handed to an idle worker and run to completion, measured from the submitting thread: Weft's
/// <see cref="ThreadPoolExecutor.Execute"/> and <c>Submit&lt;T&gt;</c> against ThreadPool.UnsafeQueueUserWorkItem and
/// Task.Run. Each operation waits for its task, so the figure is a full hand-off (submit, wake, run, signal back),
/// and the allocation column shows what one task costs in steady state (Execute: nothing).
/// Run: dotnet run -c Release --project bench/Weft.Bench -- --micro --filter '*PoolMicro*' --job short
/// </summary>
[MemoryDiagnoser]
public class PoolMicro
{
    private ThreadPoolExecutor _pool = null!;
    private readonly Signal _signal = new();
    private Action _execute = null!;
    private Func<int> _submit = null!;

    [GlobalSetup]
    public void Setup()
    {
        _pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions { Name = "bench-micro", CorePoolSize = 1, MaximumPoolSize = 1 });
        _execute = _signal.Set;
        _submit = static () => 42;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Shutdown();
        _pool.AwaitTermination(TimeSpan.FromSeconds(10));
    }

    [Benchmark]
    public void Execute()
    {
        _pool.Execute(_execute);
        _signal.Wait();
    }

    [Benchmark]
    public int Submit() => _pool.Submit(_submit).GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public void ThreadPoolUnsafeQueueUserWorkItem()
    {
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Set(), _signal, preferLocal: false);
        _signal.Wait();
    }

    [Benchmark]
    public int TaskRun() => Task.Run(_submit).GetAwaiter().GetResult();

    /// <summary>An auto-reset flag that spins, then blocks: reusable, so waiting allocates nothing.</summary>
    private sealed class Signal
    {
        private readonly ManualResetEventSlim _event = new(false, spinCount: 1000);

        public void Set() => _event.Set();

        public void Wait()
        {
            _event.Wait();
            _event.Reset();
        }
    }
}
