using Weft.ModelCheck.Harness;
using Weft.ModelCheck.World;
using Weft.Sync;
using Xunit;
using Xunit.Abstractions;

namespace Weft.ModelCheck;

/// <summary>
/// RWMutex parks with a commit (src/Weft/Sync/RWMutex.cs, Waiter.cs and LockedQueue.cs, compiled here with the park
/// protocol's files): G's RLockAsync or LockAsync finds the other side held, so the call queues the node (a reader
/// behind the writer, or the writer draining the reader) as usual but Detached, and G's step end commits it
/// (Waiter.CommitDetached under the queue lock). Against it, the other side's release (the writer's Unlock hands over
/// to the queued reader; the last reader's RUnlock lets the draining writer in), and a foreign post that claims the
/// committed park back where it stands (Waiter.TryDetach) (World/RWMutexWorld.cs).
///
/// Checked, besides OneGoroutineWorld's checks (one park, one wake-up; every post ran once; G ends parked on nothing):
/// G acquired exactly as many times as it asked, holding what it asked for with nobody else in (a read lock with no
/// writer, or the write lock alone), and the mutex ends free with its queue lock released.
///
/// State space: one goroutine, its M, the releaser (which waits for G's call, so it races the commit), and in two
/// models a poster; 2-thread models at preemption bound 8, 3-thread ones at 2 (every schedule within the bound: each
/// test states its count, which moves when a ModelPoint is added or removed, and asserts completeness and that each
/// side of its race ran). Also checked by hand: a waker that wakes a detached node instead of marking it granted fails
/// all four models (Continuation's "not by Signal" assertion), and a poster's claim that does not ask whether the node
/// is still in the mutex's keeping fails both post models. Not covered: cancellation (cancellable waits queue as
/// ordinary waiters; CancellationTortureTests), several waiters, and readers and writers arriving together.
/// </summary>
public sealed class RWMutexModelTests(ITestOutputHelper output)
{
    /// <summary>
    /// A read lock against the writer's Unlock: the hand-over reaches G's node before the commit (it is marked granted
    /// and the commit completes), or after (the Unlock readies G with ReadyCommitted). Bound 8: 80 schedules (every
    /// interleaving), complete; both orders reached (asserted).
    /// </summary>
    [Fact]
    public void AReader_AgainstTheWritersUnlock()
    {
        var stats = new Stats();
        var result = Explore(stats, 8, writer: false, takes: 1, w => [("release", w.Release)]);
        OneGoroutineWorld.AssertComplete(result, "HasMail", "ReadyCommitted");
        Assert.True(stats.EndedAtCommit > 0 && stats.ReleaseWakes > 0, stats.ToString());
    }

    /// <summary>
    /// The write lock against the last reader's RUnlock: G's call claims Writer and drains; the last reader out hands
    /// over before the commit or after it. Bound 8: 80 schedules (every interleaving), complete; both orders reached
    /// (asserted).
    /// </summary>
    [Fact]
    public void AWriter_AgainstTheLastReader()
    {
        var stats = new Stats();
        var result = Explore(stats, 8, writer: true, takes: 1, w => [("release", w.Release)]);
        OneGoroutineWorld.AssertComplete(result, "HasMail", "ReadyCommitted");
        Assert.True(stats.EndedAtCommit > 0 && stats.ReleaseWakes > 0, stats.ToString());
    }

    /// <summary>
    /// A read lock against the writer's Unlock and a foreign post: the commit sees the mail (it stays detached, in
    /// place), or the poster claims the committed node back where it stands and the hand-over then marks it granted
    /// for the next commit, or the Unlock takes it first and readies G. Bound 2: 1,409 schedules, complete; a won claim
    /// and a wake by the Unlock reached (asserted). (Bound 3: 7,720 schedules, passed, by hand.)
    /// </summary>
    [Fact]
    public void AReader_AgainstTheWritersUnlockAndAPost()
    {
        var stats = new Stats();
        var result = Explore(stats, 2, writer: false, takes: 1, w => [("release", w.Release), ("poster", w.Post)]);
        OneGoroutineWorld.AssertComplete(result, "HasMail", "ClaimCommitted", "ReadyCommitted");
        Assert.True(stats.ClaimsWon > 0 && stats.ReleaseWakes > 0, stats.ToString());
    }

    /// <summary>
    /// The write lock against the last reader's RUnlock and a foreign post: as above, for a draining writer, which a
    /// claim leaves draining (held back readers stay held back). Bound 2: 1,409 schedules, complete; a won claim and a
    /// wake by the RUnlock reached (asserted).
    /// </summary>
    [Fact]
    public void AWriter_AgainstTheLastReaderAndAPost()
    {
        var stats = new Stats();
        var result = Explore(stats, 2, writer: true, takes: 1, w => [("release", w.Release), ("poster", w.Post)]);
        OneGoroutineWorld.AssertComplete(result, "HasMail", "ClaimCommitted", "ReadyCommitted");
        Assert.True(stats.ClaimsWon > 0 && stats.ReleaseWakes > 0, stats.ToString());
    }

    private ModelResult Explore(Stats stats, int bound, bool writer, int takes, Func<RWMutexWorld, (string, Action)[]> racers)
    {
        var result = OneGoroutineWorld.Explore(bound, () => new RWMutexWorld(writer, takes), racers,
            w =>
            {
                if (w.Acquired > takes) throw new InvalidOperationException($"G asked {takes} times and acquired {w.Acquired} times.");
            },
            w =>
            {
                if (w.Acquired != takes) throw new InvalidOperationException($"G asked {takes} times and acquired {w.Acquired} times" + (w.Acquired < takes ? ": a lost wake-up." : "."));
                if (w.HeldAtCall) throw new InvalidOperationException("G's first call found the mutex free although the other side held it.");
                if (w.Rw.State != 0) throw new InvalidOperationException($"The mutex ends with state {w.Rw.State:X}, not free.");
                if (w.Rw.IsQueueLockHeld) throw new InvalidOperationException("The queue lock is still held at the end.");
                stats.Add(w);
            });
        output.WriteLine($"{result}; {stats}");
        output.WriteLine("Points reached: " + string.Join(", ", result.Points.Order()));
        return result;
    }

    private sealed class Stats
    {
        public int Schedules, ClaimsWon, ReleaseWakes, EndedAtCommit;

        public void Add(RWMutexWorld w)
        {
            Schedules++;
            ClaimsWon += w.Readied("post");
            ReleaseWakes += w.Readied("release");
            if (w.Readies == w.Readied("post")) EndedAtCommit++; // nobody but posters readied G: the grant came before a commit
        }

        public override string ToString() =>
            $"{Schedules} executions; G readied by the release {ReleaseWakes}, by a won claim {ClaimsWon}; the wait ended at a commit in {EndedAtCommit}";
    }
}
