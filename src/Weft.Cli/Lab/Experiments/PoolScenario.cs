// Experiment 5, the thread-pool scenario: the note uses a pool when tasks arrive together and some run long and
// block. Long blocking tasks are queued first, short ones right after; the figure is how long a short one waits to
// start. The shared .NET pool starts with one thread per core and adds threads slowly while its threads block, so the
// short tasks queue behind the long ones; a ThreadPoolExecutor with a direct hand-off (queue capacity 0) starts a
// thread for each task that finds no idle one, up to its maximum. Each side runs in a fresh child process, so neither
// inherits threads that the other (or an earlier experiment) made the .NET pool grow.
using System.Diagnostics;
using System.Globalization;
using Weft.Threading;

namespace Weft.Cli.Lab.Experiments;

internal sealed class PoolScenario : IExperiment
{
    public string Id => "thread-pool";
    public string Title => "5. The thread-pool scenario";

    private static (int Long, int Short, int LongMs) Sizes(bool quick) => (4 * Environment.ProcessorCount + 4, quick ? 20 : 100, quick ? 600 : 2_000);

    public ExperimentResult Run(LabContext ctx)
    {
        var (longs, shorts, longMs) = Sizes(ctx.Quick);
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "A thread pool keeps short requests flowing while long tasks block.",
            Measured = $"{longs} tasks that block {longMs} ms each are queued, then {shorts} short tasks; the time until each short task starts, on the shared .NET pool and on a ThreadPoolExecutor (core = cores, maximum {longs + shorts + Environment.ProcessorCount}, direct hand-off). Each in a fresh process.",
        };
        var sides = new[] { ("ThreadPoolExecutor", "executor"), (".NET shared pool", "dotnet") };
        var lat = new Dictionary<string, double[]>();
        for (int i = 0; i < sides.Length; i++)
        {
            ctx.Step(sides[i].Item1, (double)i / sides.Length);
            string output = SelfProcess.RunChild(["pool", sides[i].Item2, ctx.Quick ? "quick" : "full"], null, TimeSpan.FromMinutes(3));
            lat[sides[i].Item1] = output.Trim().Split(' ').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            r.Figures[$"{sides[i].Item2}.p50_ms"] = lat[sides[i].Item1][0];
            r.Figures[$"{sides[i].Item2}.p99_ms"] = lat[sides[i].Item1][1];
            r.Figures[$"{sides[i].Item2}.max_ms"] = lat[sides[i].Item1][2];
        }
        r.Tables.Add(new ResultTable("Wait before a short task starts", ["pool", "p50", "p99", "max"],
            sides.Select(s => (IReadOnlyList<string>)[s.Item1, Measure.Ns(lat[s.Item1][0] * 1e6), Measure.Ns(lat[s.Item1][1] * 1e6), Measure.Ns(lat[s.Item1][2] * 1e6)]).ToList()));
        r.Charts.Add(new Chart("Short-task start latency (log scale)", "ms", "bar", ["p50", "p99", "max"],
            sides.Select(s => new Series(s.Item1, lat[s.Item1].Select(v => (double?)Math.Max(v, 0.001)).ToList())).ToList(), LogScale: true));

        double ex = r.Figures["executor.p99_ms"], net = r.Figures["dotnet.p99_ms"];
        string figures = $"p99 wait: ThreadPoolExecutor {ex:0.0} ms, .NET shared pool {net:0.0} ms, against long tasks of {longMs} ms";
        if (ex < longMs / 10.0 && net >= longMs / 10.0) { r.Verdict = Verdict.Holds; r.Reason = figures + ": a pool sized for blocking keeps short tasks flowing; the shared pool, which grows slowly, does not."; }
        else if (ex < longMs / 10.0) { r.Verdict = Verdict.HoldsWithCaveat; r.Reason = figures + ": both kept short tasks flowing here (the shared pool had enough threads)."; }
        else { r.Verdict = Verdict.DoesNotHold; r.Reason = figures + ": short tasks waited behind the long ones."; }
        return r;
    }

    /// <summary>The child side: runs one pool and prints the short tasks' start latencies "p50 p99 max" in ms.</summary>
    public static int Child(string which, bool quick)
    {
        var (longs, shorts, longMs) = Sizes(quick);
        var waits = new double[shorts];
        using var allStarted = new CountdownEvent(shorts);
        using var longsDone = new CountdownEvent(longs);
        ThreadPoolExecutor? pool = which == "executor"
            ? new ThreadPoolExecutor(Environment.ProcessorCount, longs + shorts + Environment.ProcessorCount, TimeSpan.FromSeconds(5), queueCapacity: 0)
            : null;
        Action<Action> run = pool is not null ? pool.Execute : static a => ThreadPool.UnsafeQueueUserWorkItem(static x => x(), a, preferLocal: false);
        for (int i = 0; i < longs; i++) run(() => { Thread.Sleep(longMs); longsDone.Signal(); });
        for (int i = 0; i < shorts; i++)
        {
            int k = i;
            long submitted = Stopwatch.GetTimestamp();
            run(() => { waits[k] = Stopwatch.GetElapsedTime(submitted).TotalMilliseconds; allStarted.Signal(); });
        }
        if (!allStarted.Wait(TimeSpan.FromMinutes(2))) return 1;
        longsDone.Wait(TimeSpan.FromMinutes(2));
        pool?.Shutdown();
        Array.Sort(waits);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Measure.Percentile(waits, 50):0.000} {Measure.Percentile(waits, 99):0.000} {waits[^1]:0.000}"));
        return 0;
    }
}
