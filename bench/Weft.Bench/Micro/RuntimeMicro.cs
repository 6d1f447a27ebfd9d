using BenchmarkDotNet.Attributes;

namespace Weft.Bench.Micro;

/// <summary>
/// Allocation proof for the runtime's hot paths: spawning allocates only the goroutine record (and nothing else),
/// resuming a parked goroutine (Yield, Sleep) allocates nothing. Run:
/// <c>dotnet run -c Release --project bench/Weft.Bench -- --micro --filter '*RuntimeMicro*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class RuntimeMicro
{
    private const int Ops = 10_000;
    private readonly SemaphoreSlim _done = new(0);

    [Benchmark(OperationsPerInvoke = Ops, Description = "Go.Run(sync body) spawn+run")]
    public void Spawn()
    {
        var d = _done;
        for (int i = 0; i < Ops; i++) Go.Run(d, static s => s.Release());
        for (int i = 0; i < Ops; i++) d.Wait();
    }

    [Benchmark(OperationsPerInvoke = Ops, Description = "await Go.Yield() resume")]
    public void YieldResume()
    {
        Go.Run(_done, static async s =>
        {
            for (int i = 0; i < Ops; i++) await Go.Yield();
            s.Release();
        });
        _done.Wait();
    }

    [Benchmark(OperationsPerInvoke = 1000, Description = "await Go.Sleep(1 tick) resume")]
    public void SleepResume()
    {
        Go.Run(_done, static async s =>
        {
            for (int i = 0; i < 1000; i++) await Go.Sleep(TimeSpan.FromTicks(1));
            s.Release();
        });
        _done.Wait();
    }
}
