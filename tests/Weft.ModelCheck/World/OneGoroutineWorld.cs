// The shape the sleep and Weft.Sync park models share (SleepModelTests, RWMutexModelTests): one real goroutine G,
// the M that runs its steps whenever Scheduler.Ready queues it, racer threads counted so the M knows when no wake-up
// can come any more, foreign posts, and the checks every such model makes. (ParkModelTests' ParkWorld predates it and
// keeps its own copy, with the spare-node bookkeeping only channel waits have.)

using System.Runtime.CompilerServices;
using Weft.ModelCheck.Harness;
using Weft.Runtime;

namespace Weft.ModelCheck.World;

internal abstract class OneGoroutineWorld
{
    private const int RunParked = 0, RunQueued = 1, RunResumed = 4;

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "RunWord")]
    private static extern ref int RunWord(Goroutine g);

    public readonly Goroutine G;
    public readonly List<Goroutine> RunQueue = [];
    public int Readies, Steps, MailRan, Posts, RacersLeft;

    /// <summary>Who readied G, by racer (the name a racer gave <see cref="Racing"/>), counted.</summary>
    public readonly Dictionary<string, int> ReadiedBy = [];

#pragma warning disable IDE1006 // [ThreadStatic] fields take the .NET runtime's t_prefix
    [ThreadStatic] private static string? t_racing; // the racer call this model thread is in (model threads are real threads)
#pragma warning restore IDE1006

    protected OneGoroutineWorld()
    {
        Scheduler.Reset();
        G = Goroutines.New(1, FirstStep);
        RunQueue.Add(G); // a new goroutine is Queued
        Scheduler.OnReady = Ready;
    }

    /// <summary>G's first step.</summary>
    protected abstract void FirstStep();

    /// <summary>How many times <paramref name="racer"/> readied G.</summary>
    public int Readied(string racer) => ReadiedBy.GetValueOrDefault(racer);

    /// <summary>Runs <paramref name="call"/> as <paramref name="racer"/>: a Ready inside it is counted for that racer.</summary>
    protected static void Racing(string racer, Action call)
    {
        t_racing = racer;
        try { call(); }
        finally { t_racing = null; }
    }

    private void Ready(Goroutine g)
    {
        if (g != G) throw new InvalidOperationException("A goroutine other than G was readied.");
        if (RunQueue.Contains(g)) throw new InvalidOperationException("G was readied while already in the run queue: two wake-ups for one park.");
        RunQueue.Add(g);
        Readies++;
        if (t_racing is { } r) ReadiedBy[r] = Readied(r) + 1;
    }

    /// <summary>Throws unless the current thread runs a step of G.</summary>
    protected void InStep(string what)
    {
        if (!ReferenceEquals(SynchronizationContext.Current, G)) throw new InvalidOperationException($"{what} runs outside G's step.");
    }

    /// <summary>The M: runs G's steps while it is queued; ends when it is not and every racer has finished.</summary>
    public void RunM()
    {
        while (true)
        {
            ModelChecker.WaitUntil(() => RunQueue.Count > 0 || RacersLeft == 0, "M waits for G to be readied");
            if (RunQueue.Count == 0) return;
            var g = RunQueue[0];
            RunQueue.RemoveAt(0);
            Steps++;
            g.RunStep();
            SynchronizationContext.SetSynchronizationContext(null); // as the M does before it runs anything else
        }
    }

    /// <summary>A racer's body: counted, so that the M knows when no wake-up can come any more.</summary>
    public Action Racer(Action body) => () =>
    {
        try { body(); }
        finally { RacersLeft--; }
    };

    /// <summary>A foreign completion: a post into G's mailbox (Goroutine.Post), whose callback counts its runs.</summary>
    public void Post()
    {
        Posts++;
        Racing("post", () => G.Post(s_mail, this));
    }

    private static readonly SendOrPostCallback s_mail = static o =>
    {
        var world = (OneGoroutineWorld)o!;
        world.InStep("The mail");
        world.MailRan++;
    };

    /// <summary>After every step: one park, one wake-up.</summary>
    public void CheckG()
    {
        if (RunQueue.Count > 1) throw new InvalidOperationException("G is in the run queue twice.");
        if (RunQueue.Count == 1 && RunWord(G) is not (RunQueued or RunResumed))
            throw new InvalidOperationException($"G is in the run queue with run word {RunWord(G)}: readied while it runs or parks.");
    }

    /// <summary>At the end: every wake-up was followed by a step, every post ran once, and G is parked on nothing.</summary>
    public void CheckEnd()
    {
        if (RunQueue.Count != 0) throw new InvalidOperationException("G is still queued at the end.");
        if (Steps != Readies + 1) throw new InvalidOperationException($"{Readies} wake-ups but {Steps - 1} steps after the first.");
        if (MailRan != Posts) throw new InvalidOperationException($"{Posts} posts, {MailRan} of them ran.");
        if (RunWord(G) != RunParked) throw new InvalidOperationException($"G's run word is {RunWord(G)} at the end, not Parked.");
    }

    /// <summary>The exploration was complete, and some schedule ran each of <paramref name="members"/> (and RunStep).</summary>
    public static void AssertComplete(ModelResult result, params string[] members)
    {
        Xunit.Assert.True(result.Complete, result.ToString());
        Xunit.Assert.True(result.Schedules > 0);
        Xunit.Assert.Empty(result.NotReached(["RunStep", .. members]));
    }

    /// <summary>Explores the schedules of a world that <paramref name="create"/> builds, with G's M and the racers it names.</summary>
    public static ModelResult Explore<TWorld>(int bound, Func<TWorld> create, Func<TWorld, (string, Action)[]> racers, Action<TWorld> invariant, Action<TWorld> final)
        where TWorld : OneGoroutineWorld =>
        ModelChecker.Explore(new ModelOptions { PreemptionBound = ModelBounds.Preemptions(bound) }, () =>
        {
            var w = create();
            var run = new ModelRun
            {
                Invariant = () =>
                {
                    w.CheckG();
                    invariant(w);
                },
                Final = () =>
                {
                    w.CheckEnd();
                    final(w);
                },
            };
            run.Thread("m", w.RunM);
            var rs = racers(w);
            w.RacersLeft = rs.Length;
            foreach (var (name, body) in rs) run.Thread(name, w.Racer(body));
            return run;
        });
}
