using BenchmarkDotNet.Attributes;

namespace Weft.Bench.Micro;

/// <summary>
/// Allocation proof for the runtime's hot paths: spawning allocates only the goroutine record (and nothing else),
/// resuming a parked goroutine (Yield, Sleep, a channel hop with deferred waits) allocates nothing. Run:
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

    private const int PingPongRounds = 20_000;
    private readonly Chan<int> _ping = new(), _pong = new();

    /// <summary>
    /// Two goroutines ping-pong on unbuffered channels: every hop parks through a deferred wait (Chan.Defer.cs) and
    /// resumes through its committed park. 20,000 round trips per invocation, so what each invocation allocates once
    /// (two goroutine records, their state machines, their first nodes: about 1 KB) is spread thin; the hops allocate nothing.
    /// </summary>
    [Benchmark(OperationsPerInvoke = PingPongRounds, Description = "goroutine ping-pong round trip")]
    public void GoroutinePingPong()
    {
        var ping = _ping;
        var pong = _pong;
        Go.Run(async () =>
        {
            for (int i = 0; i < PingPongRounds; i++) { await ping.SendAsync(i); await pong.ReceiveAsync(); }
        });
        Go.Run(async () =>
        {
            for (int i = 0; i < PingPongRounds; i++) await pong.SendAsync(await ping.ReceiveAsync());
            _done.Release();
        });
        _done.Wait();
    }
}
