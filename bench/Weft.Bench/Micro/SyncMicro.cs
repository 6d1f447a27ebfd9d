using BenchmarkDotNet.Attributes;

namespace Weft.Bench.Micro;

/// <summary>
/// Uncontended Lock+Unlock of Weft's Mutex (blocking and async forms) against .NET's <c>lock</c> (System.Threading.Lock)
/// and SemaphoreSlim(1, 1). Run: dotnet run -c Release --project bench/Weft.Bench -- --micro --filter '*SyncMicro*' --job short
/// </summary>
[MemoryDiagnoser]
public class SyncMicro
{
    private readonly Weft.Sync.Mutex _mutex = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _semaphore = new(1, 1);
    private int _counter;

    [Benchmark]
    public void MutexLockUnlock()
    {
        _mutex.Lock();
        _counter++;
        _mutex.Unlock();
    }

    [Benchmark]
    public async ValueTask MutexLockAsyncUnlock()
    {
        await _mutex.LockAsync();
        _counter++;
        _mutex.Unlock();
    }

    [Benchmark(Baseline = true)]
    public void DotNetLock()
    {
        lock (_lock) _counter++;
    }

    [Benchmark]
    public async Task SemaphoreSlimWaitAsyncRelease()
    {
        await _semaphore.WaitAsync();
        _counter++;
        _semaphore.Release();
    }
}
