using System.Diagnostics;
using System.Threading.Channels;

namespace Weft.Bench;

// The channel workloads of issue 3. Weft runs in goroutines; the baseline uses System.Threading.Channels on plain
// Tasks (CreateBounded(0) for pingpong, CreateBounded(1024) otherwise). Each returns ns per unit of work.

internal static class ChanBench
{
    public static double RunGoroutines(int n, Func<int, Task> body, long units)
    {
        var done = new CountdownEvent(n);
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++)
        {
            int id = i;
            Go.Run(async () => { await body(id); done.Signal(); });
        }
        done.Wait();
        return sw.Elapsed.TotalNanoseconds / units;
    }

    public static double RunTasks(int n, Func<int, Task> body, long units)
    {
        var sw = Stopwatch.StartNew();
        var tasks = new Task[n];
        for (int i = 0; i < n; i++)
        {
            int id = i;
            tasks[i] = Task.Run(() => body(id));
        }
        Task.WaitAll(tasks);
        return sw.Elapsed.TotalNanoseconds / units;
    }

    public static BoundedChannelOptions Bounded(int cap) => new(cap) { SingleReader = false, SingleWriter = false };
}

/// <summary>
/// pingpong: two goroutines hand a value back and forth over two unbuffered channels. pingpong-ctx: the same, started
/// with one AsyncLocal value set, so both goroutines run in a flowed ExecutionContext (every resumption restores it).
/// </summary>
public sealed class PingPong(bool withContext = false) : Workload
{
    private const int N = 1_000_000;
    private static readonly AsyncLocal<object?> Traced = new();
    public override string Name => withContext ? "pingpong-ctx" : "pingpong";
    public override string Unit => "ns/roundtrip";

    public override double RunWeft()
    {
        var ping = new Chan<int>();
        var pong = new Chan<int>();
        if (withContext) Traced.Value = ping;
        try
        {
            return PlayWeft(ping, pong);
        }
        finally
        {
            Traced.Value = null;
        }
    }

    private static double PlayWeft(Chan<int> ping, Chan<int> pong)
    {
        return ChanBench.RunGoroutines(2, async id =>
        {
            if (id == 0)
                for (int i = 0; i < N; i++) { await ping.SendAsync(i); await pong.ReceiveAsync(); }
            else
                for (int i = 0; i < N; i++) { int v = await ping.ReceiveAsync(); await pong.SendAsync(v); }
        }, N);
    }

    public override double? RunBaseline()
    {
        var ping = Channel.CreateBounded<int>(ChanBench.Bounded(0));
        var pong = Channel.CreateBounded<int>(ChanBench.Bounded(0));
        if (withContext) Traced.Value = ping;
        try
        {
            return ChanBench.RunTasks(2, async id =>
            {
                if (id == 0)
                    for (int i = 0; i < N; i++) { await ping.Writer.WriteAsync(i); await pong.Reader.ReadAsync(); }
                else
                    for (int i = 0; i < N; i++) { int v = await ping.Reader.ReadAsync(); await pong.Writer.WriteAsync(v); }
            }, N);
        }
        finally
        {
            Traced.Value = null;
        }
    }
}

/// <summary>
/// pairs: 64 independent ping-pong pairs (two goroutines, two unbuffered channels each), 50,000 round trips per pair;
/// wall time over all 3,200,000 round trips. Unlike pingpong, the work can spread over every processor, so this is
/// the workload that shows how the scheduler scales with MaxProcs.
/// </summary>
public sealed class Pairs : Workload
{
    private const int PairCount = 64, N = 50_000;
    public override string Name => "pairs";
    public override string Unit => "ns/roundtrip";

    public override double RunWeft()
    {
        var chans = Enumerable.Range(0, 2 * PairCount).Select(_ => new Chan<int>()).ToArray();
        return ChanBench.RunGoroutines(2 * PairCount, async id =>
        {
            var ping = chans[id / 2 * 2];
            var pong = chans[id / 2 * 2 + 1];
            if (id % 2 == 0)
                for (int i = 0; i < N; i++) { await ping.SendAsync(i); await pong.ReceiveAsync(); }
            else
                for (int i = 0; i < N; i++) { int v = await ping.ReceiveAsync(); await pong.SendAsync(v); }
        }, (long)PairCount * N);
    }

    public override double? RunBaseline()
    {
        var chans = Enumerable.Range(0, 2 * PairCount).Select(_ => Channel.CreateBounded<int>(ChanBench.Bounded(0))).ToArray();
        return ChanBench.RunTasks(2 * PairCount, async id =>
        {
            var ping = chans[id / 2 * 2];
            var pong = chans[id / 2 * 2 + 1];
            if (id % 2 == 0)
                for (int i = 0; i < N; i++) { await ping.Writer.WriteAsync(i); await pong.Reader.ReadAsync(); }
            else
                for (int i = 0; i < N; i++) { int v = await ping.Reader.ReadAsync(); await pong.Writer.WriteAsync(v); }
        }, (long)PairCount * N);
    }
}

public sealed class Spsc : Workload
{
    private const int N = 10_000_000;
    public override string Name => "spsc";
    public override string Unit => "ns/item";

    public override double RunWeft()
    {
        var ch = new Chan<int>(1024);
        return ChanBench.RunGoroutines(2, async id =>
        {
            if (id == 0) { for (int i = 0; i < N; i++) await ch.SendAsync(i); }
            else { for (int i = 0; i < N; i++) await ch.ReceiveAsync(); }
        }, N);
    }

    public override double? RunBaseline()
    {
        var ch = Channel.CreateBounded<int>(ChanBench.Bounded(1024));
        return ChanBench.RunTasks(2, async id =>
        {
            if (id == 0) { for (int i = 0; i < N; i++) await ch.Writer.WriteAsync(i); }
            else { for (int i = 0; i < N; i++) await ch.Reader.ReadAsync(); }
        }, N);
    }
}

public sealed class Mpmc : Workload
{
    private const int N = 10_000_000, P = 4;
    public override string Name => "mpmc";
    public override string Unit => "ns/item";

    public override double RunWeft()
    {
        var ch = new Chan<int>(1024);
        return ChanBench.RunGoroutines(2 * P, async id =>
        {
            if (id < P) { for (int i = 0; i < N / P; i++) await ch.SendAsync(i); }
            else { for (int i = 0; i < N / P; i++) await ch.ReceiveAsync(); }
        }, N);
    }

    public override double? RunBaseline()
    {
        var ch = Channel.CreateBounded<int>(ChanBench.Bounded(1024));
        return ChanBench.RunTasks(2 * P, async id =>
        {
            if (id < P) { for (int i = 0; i < N / P; i++) await ch.Writer.WriteAsync(i); }
            else { for (int i = 0; i < N / P; i++) await ch.Reader.ReadAsync(); }
        }, N);
    }
}

public sealed class SelectWorkload : Workload
{
    private const int PerChan = 1_000_000, K = 4;
    public override string Name => "select";
    public override string Unit => "ns/select";

    public override double RunWeft()
    {
        var chans = Enumerable.Range(0, K).Select(_ => new Chan<int>(16)).ToArray();
        return ChanBench.RunGoroutines(K + 1, async id =>
        {
            if (id < K)
            {
                var ch = chans[id];
                for (int i = 0; i < PerChan; i++) await ch.SendAsync(i);
                return;
            }
            var sel = new Select();
            foreach (var ch in chans) sel.Receive(ch);
            for (int i = 0; i < K * PerChan; i++) await sel.WaitAsync();
        }, K * PerChan);
    }

    public override double? RunBaseline()
    {
        // .NET has no select: the idiomatic stand-in waits with Task.WhenAny over WaitToReadAsync, then TryRead.
        var chans = Enumerable.Range(0, K).Select(_ => Channel.CreateBounded<int>(ChanBench.Bounded(1024))).ToArray();
        return ChanBench.RunTasks(K + 1, async id =>
        {
            if (id < K)
            {
                var w = chans[id].Writer;
                for (int i = 0; i < PerChan; i++) await w.WriteAsync(i);
                return;
            }
            var waits = new Task<bool>[K];
            int got = 0, start = 0;
            while (got < K * PerChan)
            {
                bool any = false;
                for (int j = 0; j < K && got < K * PerChan; j++)
                {
                    int k = (start + j) % K;
                    if (chans[k].Reader.TryRead(out _)) { got++; any = true; start = k + 1; break; }
                }
                if (any) continue;
                for (int k = 0; k < K; k++) waits[k] = chans[k].Reader.WaitToReadAsync().AsTask();
                await Task.WhenAny(waits);
            }
        }, K * PerChan);
    }
}

/// <summary>
/// A ping-pong where both sides wait in a two-case select that parks every time: one case is the partner's
/// channel, the other a channel nobody sends on. Measures what a select that blocks costs over a plain receive.
/// </summary>
public sealed class SelectParkWorkload : Workload
{
    private const int N = 1_000_000;
    public override string Name => "select-park";
    public override string Unit => "ns/roundtrip";

    public override double RunWeft()
    {
        var ping = new Chan<int>();
        var pong = new Chan<int>();
        return ChanBench.RunGoroutines(2, async id =>
        {
            var sel = new Select();
            var never = new Chan<int>();
            if (id == 0)
            {
                sel.Receive(pong);
                sel.Receive(never);
                for (int i = 0; i < N; i++) { await ping.SendAsync(i); await sel.WaitAsync(); }
            }
            else
            {
                var got = sel.Receive(ping);
                sel.Receive(never);
                for (int i = 0; i < N; i++) { await sel.WaitAsync(); await pong.SendAsync(got.Value); }
            }
        }, N);
    }

    public override double? RunBaseline()
    {
        // .NET has no select: WhenAny over WaitToReadAsync of both channels, then TryRead, on unbuffered-like
        // (capacity 1) BCL channels; the write waits for room like Go's unbuffered send waits for a receiver.
        var ping = Channel.CreateBounded<int>(ChanBench.Bounded(1));
        var pong = Channel.CreateBounded<int>(ChanBench.Bounded(1));
        return ChanBench.RunTasks(2, async id =>
        {
            var never = Channel.CreateBounded<int>(ChanBench.Bounded(1));
            var mine = id == 0 ? pong : ping;
            for (int i = 0; i < N; i++)
            {
                if (id == 0) await ping.Writer.WriteAsync(i);
                int v;
                while (!mine.Reader.TryRead(out v))
                    await Task.WhenAny(mine.Reader.WaitToReadAsync().AsTask(), never.Reader.WaitToReadAsync().AsTask());
                if (id == 1) await pong.Writer.WriteAsync(v);
            }
        }, N);
    }
}
