// Experiment 2, the memory of 100,000 goroutines: the note says about 200 MB (2 KB of stack each), where threads
// with fixed stacks would need far more. A Weft goroutine has no stack of its own (it is an async state machine on
// the heap while parked), so its figure is expected below Go's; the threads are created until 100,000 or until the
// machine refuses, and the reason it stopped is reported with the kernel limits that usually cause it.
using System.Diagnostics;
using System.Globalization;

namespace Weft.Cli.Lab.Experiments;

internal sealed class GoroutineMemory : IExperiment
{
    private const double NoteBytes = 200_000_000; // the note's 2 KB × 100,000

    public string Id => "memory";
    public string Title => "2. Memory of 100,000 goroutines";

    public ExperimentResult Run(LabContext ctx)
    {
        int n = ctx.Size(20_000, 100_000);
        int threadsWanted = ctx.Size(1_000, 100_000);
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "100,000 goroutines take about 200 MB (2 KB each), far less than as many threads with fixed stacks.",
            Measured = $"RSS and managed-heap growth with {n:#,0} goroutines parked on a channel (in a fresh process), scaled to 100,000; then threads blocked on an event, up to {threadsWanted:#,0} or until the machine refused (time and memory budgets apply).",
        };
        var f = r.Figures;
        ctx.Step($"{n:#,0} parked goroutines", 0.05);
        // In a fresh process: here, earlier experiments have already grown the managed heap, and RSS would not move.
        var parked = SelfProcess.RunChild(["memory", n.ToString(CultureInfo.InvariantCulture), ctx.Quick ? "quick" : "full"], null, TimeSpan.FromMinutes(3))
            .Trim().Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var (rss, heap) = (parked[0], parked[1]);
        f["goroutine.count"] = n;
        f["goroutine.rss_per_unit"] = rss;
        f["goroutine.heap_per_unit"] = heap;
        f["goroutine.rss_100k"] = rss * 100_000;

        ctx.Step($"threads, up to {threadsWanted:#,0}", 0.3);
        long memTotal = MemTotal();
        var t = BlockedThreads(threadsWanted, ctx.Size(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(60)), Math.Min(8L << 30, memTotal / 3),
            (done) => ctx.Step($"threads: {done:#,0} started", 0.3 + 0.6 * done / threadsWanted));
        f["thread.count"] = t.Created;
        f["thread.rss_per_unit"] = t.RssPerUnit;
        f["thread.virtual_per_unit"] = t.VirtualPerUnit;
        f["thread.rss_100k"] = t.RssPerUnit * 100_000;

        r.Tables.Add(new ResultTable("100,000 of each", ["", "alive in the run", "RSS per unit", "RSS for 100,000", "other"],
        [
            ["note's goroutine (Go)", "–", Measure.Bytes(2048), Measure.Bytes(NoteBytes), "2 KB starting stack"],
            ["Weft goroutine", Measure.N(n), Measure.Bytes(rss), Measure.Bytes(rss * 100_000), $"managed heap {Measure.Bytes(heap)} each"],
            ["thread", Measure.N(t.Created), Measure.Bytes(t.RssPerUnit), Measure.Bytes(t.RssPerUnit * 100_000) + (t.Created < 100_000 ? " (scaled)" : ""), $"reserves {Measure.Bytes(t.VirtualPerUnit)} address space each"],
        ]));
        r.Notes.Add($"Threads stopped at {t.Created:#,0}: {t.StopReason}.");
        r.Notes.Add($"Limits here: {Limits()}.");
        r.Charts.Add(new Chart("Memory for 100,000 (scaled from the run)", "MB", "bar", ["RSS for 100,000"],
        [
            new("note (Go, 2 KB)", [NoteBytes / 1e6]),
            new("Weft goroutines", [rss * 100_000 / 1e6]),
            new("threads", [t.RssPerUnit * 100_000 / 1e6]),
        ], LogScale: true));

        double total = rss * 100_000;
        string figures = $"100,000 Weft goroutines take {Measure.Bytes(total)} (scaled from {n:#,0}), threads {Measure.Bytes(t.RssPerUnit * 100_000)}";
        if (total <= NoteBytes * 1.25 && t.RssPerUnit >= 3 * rss)
        {
            r.Verdict = total < NoteBytes / 2 ? Verdict.HoldsWithCaveat : Verdict.Holds;
            r.Reason = total < NoteBytes / 2
                ? $"{figures}: within the note's 200 MB and {Measure.Ratio(t.RssPerUnit / rss)} less than threads, but well under it: a Weft goroutine is a heap object, not a 2 KB stack."
                : $"{figures}: about the note's 200 MB, and {Measure.Ratio(t.RssPerUnit / rss)} less than threads.";
        }
        else if (total <= NoteBytes * 1.25)
        {
            r.Verdict = Verdict.HoldsWithCaveat;
            r.Reason = $"{figures}: within 200 MB, but threads were only {Measure.Ratio(t.RssPerUnit / rss)} bigger here.";
        }
        else
        {
            r.Verdict = Verdict.DoesNotHold;
            r.Reason = $"{figures}: more than the note's 200 MB.";
        }
        return r;
    }

    /// <summary>The child side: prints "RSS-per-goroutine heap-per-goroutine" for <paramref name="n"/> parked goroutines.</summary>
    public static int Child(int n)
    {
        var (rss, heap) = Parked(n);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rss:0.0} {heap:0.0}"));
        return 0;
    }

    /// <summary>RSS and managed-heap growth per goroutine with <paramref name="n"/> goroutines parked on one channel.</summary>
    public static (double RssPerUnit, double HeapPerUnit) Parked(int n)
    {
        var block = new Chan<bool>();
        int parked = 0;
        long heap0 = Measure.LiveManagedBytes();
        long rss0 = Measure.Rss();
        Go.Run(() =>
        {
            for (int i = 0; i < n; i++)
            {
                Go.Run(async () =>
                {
                    Interlocked.Increment(ref parked);
                    await block.ReceiveAsync();
                    Interlocked.Decrement(ref parked);
                });
            }
        });
        var wait = Stopwatch.StartNew();
        while (Volatile.Read(ref parked) < n && wait.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(5);
        Thread.Sleep(50); // the last ones finish parking
        long heap1 = Measure.LiveManagedBytes();
        long rss1 = Measure.Rss();
        block.Close();
        while (Volatile.Read(ref parked) > 0 && wait.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(5);
        return ((double)(rss1 - rss0) / n, (double)(heap1 - heap0) / n);
    }

    public sealed record ThreadRun(int Created, double RssPerUnit, double VirtualPerUnit, string StopReason);

    /// <summary>Starts up to <paramref name="n"/> threads that block on one event, within a time and RSS budget; then releases and joins them.</summary>
    public static ThreadRun BlockedThreads(int n, TimeSpan timeBudget, long rssBudget, Action<int>? progress = null)
    {
        using var gate = new ManualResetEventSlim(false, spinCount: 0);
        var threads = new List<Thread>(Math.Min(n, 200_000));
        int started = 0;
        long rss0 = Measure.Rss(), vm0 = Measure.VirtualSize();
        string reason = $"reached the {n:#,0} asked for";
        var clock = Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < n; i++)
            {
                if (clock.Elapsed > timeBudget) { reason = $"time budget of {timeBudget.TotalSeconds:0} s spent"; break; }
                if ((i & 1023) == 0)
                {
                    progress?.Invoke(i);
                    if (Measure.Rss() - rss0 > rssBudget) { reason = $"memory budget of {Measure.Bytes(rssBudget)} RSS spent"; break; }
                }
                var t = new Thread(() => { Interlocked.Increment(ref started); gate.Wait(); }) { IsBackground = true };
                t.Start();
                threads.Add(t);
            }
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException or ThreadStateException or IOException)
        {
            reason = $"the system refused thread {threads.Count + 1:#,0} ({e.GetType().Name}: {e.Message.Split('\n')[0]})";
        }
        while (Volatile.Read(ref started) < threads.Count && clock.Elapsed < timeBudget * 3) Thread.Sleep(5);
        long rss1 = Measure.Rss(), vm1 = Measure.VirtualSize();
        gate.Set();
        foreach (var t in threads) t.Join();
        int c = Math.Max(1, threads.Count);
        return new ThreadRun(threads.Count, (double)(rss1 - rss0) / c, (double)(vm1 - vm0) / c, reason);
    }

    private static long MemTotal()
    {
        foreach (string line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                return long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        return 1L << 32;
    }

    private static string Limits()
    {
        static string Read(string path) { try { return File.ReadAllText(path).Trim(); } catch (IOException) { return "?"; } catch (UnauthorizedAccessException) { return "?"; } }
        string nproc = "?";
        try { nproc = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max processes", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2] ?? "?"; }
        catch (IOException) { }
        return $"kernel.threads-max {Read("/proc/sys/kernel/threads-max")}, vm.max_map_count {Read("/proc/sys/vm/max_map_count")} (each thread stack takes about two maps), kernel.pid_max {Read("/proc/sys/kernel/pid_max")}, ulimit -u {nproc}";
    }
}
