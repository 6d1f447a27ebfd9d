// Experiment 7, locks: threads that share data need a lock. Several threads add to one counter: without a lock (a
// read, then a write: the classic race), with Weft's Mutex, and with Interlocked.Increment. The figure is the count
// of lost updates, expected minus final, which a correct program keeps at zero.
using System.Diagnostics;
using Mutex = Weft.Sync.Mutex;

namespace Weft.Cli.Lab.Experiments;

internal sealed class Locks : IExperiment
{
    public string Id => "locks";
    public string Title => "7. Locks";

    public ExperimentResult Run(LabContext ctx)
    {
        int threads = Math.Max(4, Environment.ProcessorCount);
        int per = ctx.Size(1_000_000, 5_000_000);
        long expected = (long)threads * per;
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "Threads of one process share its memory; without a lock, concurrent updates to shared data are lost.",
            Measured = $"{threads} threads each add 1 to a shared counter {per:#,0} times (expected {expected:#,0}): without a lock (read, then write), under a Weft Mutex, and with Interlocked.Increment. Lost updates = expected − final.",
        };
        var variants = new (string Name, string Key, Action<Box> Add)[]
        {
            ("no lock", "none", static b => { long v = Volatile.Read(ref b.Count); Volatile.Write(ref b.Count, v + 1); }),
            ("Weft Mutex", "mutex", static b => { b.Lock.Lock(); b.Count++; b.Lock.Unlock(); }),
            ("Interlocked", "interlocked", static b => Interlocked.Increment(ref b.Count)),
        };
        var rows = new List<IReadOnlyList<string>>();
        var lost = new List<double?>();
        for (int v = 0; v < variants.Length; v++)
        {
            ctx.Step(variants[v].Name, (double)v / variants.Length);
            var box = new Box();
            using var go = new Barrier(threads);
            var add = variants[v].Add;
            long start = 0;
            var ts = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                go.SignalAndWait();
                if (Volatile.Read(ref start) == 0) Interlocked.CompareExchange(ref start, Stopwatch.GetTimestamp(), 0);
                for (int i = 0; i < per; i++) add(box);
            })).ToList();
            ts.ForEach(t => t.Start());
            ts.ForEach(t => t.Join());
            double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / expected;
            long final = box.Count;
            r.Figures[$"{variants[v].Key}.final"] = final;
            r.Figures[$"{variants[v].Key}.lost"] = expected - final;
            r.Figures[$"{variants[v].Key}.ns_per_add"] = ns;
            rows.Add([variants[v].Name, Measure.N(expected), Measure.N(final), Measure.N(expected - final), Measure.N(100.0 * (expected - final) / expected, "0.00") + " %", Measure.Ns(ns)]);
            lost.Add(expected - final);
        }
        r.Tables.Add(new ResultTable("Lost updates", ["", "expected", "final", "lost", "lost %", "time per add"], rows));
        r.Charts.Add(new Chart("Lost updates", "updates", "bar", variants.Select(x => x.Name).ToList(), [new("lost", lost)]));

        double none = r.Figures["none.lost"], mutex = r.Figures["mutex.lost"], inter = r.Figures["interlocked.lost"];
        string figures = $"lost updates: no lock {none:#,0} of {expected:#,0}, Mutex {mutex:#,0}, Interlocked {inter:#,0}";
        if (mutex != 0 || inter != 0) { r.Verdict = Verdict.DoesNotHold; r.Reason = figures + ": a locked variant lost updates, which must never happen."; }
        else if (none > 0) { r.Verdict = Verdict.Holds; r.Reason = figures + "."; }
        else { r.Verdict = Verdict.HoldsWithCaveat; r.Reason = figures + ": no update was lost without a lock in this run (the race is real but did not fire; one core?)."; }
        return r;
    }

    private sealed class Box
    {
        public long Count;
        public readonly Mutex Lock = new();
    }
}
