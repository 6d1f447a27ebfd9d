// Experiment 6, concurrency vs parallelism: goroutines on one processor are concurrent (they take turns), on several
// they are parallel. A CPU-bound workload speeds up only with more processors; an I/O-bound one (goroutines that
// sleep) is already fast on one, because waiting needs no processor. MaxProcs is fixed per process, so each point
// runs in a child process of `weft` started with WEFT_MAXPROCS=k.
//
// The CPU-bound goroutines yield between chunks of work (about a millisecond each), as Go's scheduler preempts a
// long-running goroutine. Without that, each would hold its thread for its whole run; sysmon hands the processor of a
// step that runs past Go.BlockingThreshold to another thread, so at MaxProcs 1 all eight would end up running beside
// each other on threads of their own, and the experiment would measure the OS scheduler instead of MaxProcs.
using System.Diagnostics;
using System.Globalization;

namespace Weft.Cli.Lab.Experiments;

internal sealed class Parallelism : IExperiment
{
    public string Id => "parallelism";
    public string Title => "6. Concurrency vs parallelism";

    private const int Goroutines = 8;

    /// <summary>Iterations of the CPU-bound loop between two yields: well under a millisecond here, far under sysmon's threshold.</summary>
    private const long Chunk = 500_000;
    private static long CpuWork(bool quick) => quick ? 60_000_000 : 600_000_000;
    private static (int Count, int Rounds, int Ms) IoWork(bool quick) => quick ? (1_000, 4, 10) : (10_000, 10, 10);

    public ExperimentResult Run(LabContext ctx)
    {
        int cores = Environment.ProcessorCount;
        int[] points = Enumerable.Range(1, cores).Where(k => !ctx.Quick || k == 1 || k == cores || k == 2).ToArray();
        var (ioCount, ioRounds, ioMs) = IoWork(ctx.Quick);
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "Concurrency is not parallelism: goroutines on one processor take turns (concurrent); only on several do they run at once (parallel).",
            Measured = $"At MaxProcs {string.Join(", ", points)} (each in a fresh process): a CPU-bound job split over {Goroutines} goroutines that yield between chunks of about a millisecond (as Go preempts), and an I/O-bound one, {ioCount:#,0} goroutines each sleeping {ioRounds}×{ioMs} ms. Speed-up against MaxProcs 1.",
        };
        var cpu = new double[points.Length];
        var io = new double[points.Length];
        for (int i = 0; i < points.Length; i++)
        {
            var env = new Dictionary<string, string> { ["WEFT_MAXPROCS"] = points[i].ToString(CultureInfo.InvariantCulture) };
            ctx.Step($"CPU-bound at MaxProcs {points[i]}", (double)i / points.Length);
            cpu[i] = double.Parse(SelfProcess.RunChild(["parallel", "cpu", ctx.Quick ? "quick" : "full"], env, TimeSpan.FromMinutes(3)).Trim(), CultureInfo.InvariantCulture);
            ctx.Step($"I/O-bound at MaxProcs {points[i]}", (i + 0.5) / points.Length);
            io[i] = double.Parse(SelfProcess.RunChild(["parallel", "io", ctx.Quick ? "quick" : "full"], env, TimeSpan.FromMinutes(3)).Trim(), CultureInfo.InvariantCulture);
            r.Figures[$"cpu.seconds.{points[i]}"] = cpu[i];
            r.Figures[$"io.seconds.{points[i]}"] = io[i];
        }
        double ioSerial = (double)ioCount * ioRounds * ioMs / 1000;
        r.Figures["io.serial_seconds"] = ioSerial;
        r.Tables.Add(new ResultTable("Speed-up against MaxProcs", ["MaxProcs", "CPU-bound time", "CPU speed-up", "I/O-bound time", "I/O speed-up"],
            points.Select((k, i) => (IReadOnlyList<string>)[k.ToString(CultureInfo.InvariantCulture), Measure.Ns(cpu[i] * 1e9), Measure.Ratio(cpu[0] / cpu[i]), Measure.Ns(io[i] * 1e9), Measure.Ratio(io[0] / io[i])]).ToList()));
        r.Charts.Add(new Chart("Speed-up against MaxProcs", "×", "line", points.Select(k => k.ToString(CultureInfo.InvariantCulture)).ToList(),
        [
            new("CPU-bound", cpu.Select(c => (double?)(cpu[0] / c)).ToList()),
            new("I/O-bound", io.Select(c => (double?)(io[0] / c)).ToList()),
            new("ideal", points.Select(k => (double?)k).ToList()),
        ]));
        r.Notes.Add($"The I/O-bound job at MaxProcs 1 took {io[0]:0.00} s; done one goroutine after another it would take {ioSerial:#,0} s: that gap is concurrency without parallelism.");

        double cpuBest = cpu[0] / cpu.Min();
        double ioBest = io[0] / io.Min();
        double ioConcurrency = ioSerial / io[0];
        string figures = $"CPU-bound speed-up {Measure.Ratio(cpuBest)} at {points[Array.IndexOf(cpu, cpu.Min())]} processors, I/O-bound {Measure.Ratio(ioBest)}; on one processor the I/O-bound goroutines overlapped {Measure.Ratio(ioConcurrency)}";
        if (cores == 1) { r.Verdict = Verdict.HoldsWithCaveat; r.Reason = figures + ": one core here, so only the concurrent half can be shown."; }
        else if (cpuBest >= 1.3 && ioConcurrency >= 10 && ioBest < 1.3) { r.Verdict = Verdict.Holds; r.Reason = figures + ": CPU work needs processors (parallelism); waiting work does not (concurrency)."; }
        else if (cpuBest >= 1.3 && ioConcurrency >= 10) { r.Verdict = Verdict.HoldsWithCaveat; r.Reason = figures + ": the I/O-bound job also gained from processors here."; }
        else { r.Verdict = Verdict.DoesNotHold; r.Reason = figures + $": more processors did not speed the CPU-bound job up by 1.3× or more (load average {LoadAverage()}: other work may hold the cores)."; }
        return r;
    }

    /// <summary>The child side: one workload at this process's MaxProcs; prints the wall seconds.</summary>
    public static int Child(string which, bool quick)
    {
        var done = new Chan<bool>(Goroutines + IoCountMax);
        long start = Stopwatch.GetTimestamp();
        if (which == "cpu")
        {
            long per = CpuWork(quick) / Goroutines;
            long sink = 0;
            for (int g = 0; g < Goroutines; g++)
            {
                Go.Run(async () =>
                {
                    ulong x = 88172645463325252UL;
                    for (long doneSoFar = 0; doneSoFar < per; doneSoFar += Chunk)
                    {
                        for (long i = Math.Min(Chunk, per - doneSoFar); i > 0; i--) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; }
                        await Go.Yield(); // a preemption point (see the top)
                    }
                    Interlocked.Add(ref sink, (long)(x & 1));
                    done.TrySend(true);
                });
            }
            for (int g = 0; g < Goroutines; g++) done.Receive();
        }
        else
        {
            var (count, rounds, ms) = IoWork(quick);
            var all = new Chan<bool>(count);
            for (int g = 0; g < count; g++)
            {
                Go.Run(async () =>
                {
                    for (int i = 0; i < rounds; i++) await Go.Sleep(TimeSpan.FromMilliseconds(ms));
                    all.TrySend(true);
                });
            }
            for (int g = 0; g < count; g++) all.Receive();
        }
        Console.WriteLine(Stopwatch.GetElapsedTime(start).TotalSeconds.ToString("0.0000", CultureInfo.InvariantCulture));
        return 0;
    }

    private const int IoCountMax = 0;

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }
}
