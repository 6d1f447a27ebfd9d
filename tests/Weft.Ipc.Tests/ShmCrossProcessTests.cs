using System.Globalization;
using Weft.Tests;
using Xunit;
using Xunit.Abstractions;
using static Weft.Ipc.Tests.Sequences;

namespace Weft.Ipc.Tests;

/// <summary>
/// The shared-memory channel across real processes (tests/Weft.Ipc.Peer, ShmRoles.cs), and kill -9: writers that
/// stop themselves at chosen steps, and a parent that kills writers and readers at random moments. Messages are
/// (writer, sequence, checksum) triples; the invariants are about what arrives, never about timing.
/// </summary>
[Collection("shm")]
public sealed class ShmCrossProcessTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _name = "weft-test-" + Guid.NewGuid().ToString("N");
    private readonly List<PeerProcess> _peers = [];

    public void Dispose()
    {
        foreach (var p in _peers) p.Dispose();
        IpcSharedMemory.TryRemoveStale(_name);
        IpcSharedMemory.TryRemoveStale(_name + "-back");
    }

    private PeerProcess Start(string role, params string[] args)
    {
        var p = PeerProcess.Start(role, args);
        lock (_peers) _peers.Add(p);
        return p;
    }

    private static long Check(long writer, long seq) => unchecked(seq * (long)0x9E3779B97F4A7C15UL) ^ (writer << 40) ^ 0x5bd1e995;

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public async Task Values_cross_to_another_process_and_back_in_order_and_close_crosses_after_the_drain()
    {
        const int N = 5_000;
        using var there = IpcSharedMemory.Create<long>(_name, capacity: 16);
        using var back = IpcSharedMemory.Create<long>(_name + "-back", capacity: 16);
        var echo = Start("shm-echo", _name, _name + "-back");
        await echo.WaitReadyAsync();
        var reading = Gor.Run(async () =>
        {
            // A select over the other process's replies and a local channel: the contract's select rule across processes.
            var local = new Chan<long>();
            var got = new List<long>();
            var sel = new Select();
            var r = sel.Receive(back.Receiver);
            sel.Receive(local);
            while (true)
            {
                Assert.Equal(0, await sel.WaitAsync());
                if (!r.Ok) return got;
                got.Add(r.Value);
            }
        });
        await Gor.Run(() => SendAll(there.Sender, N));
        AssertSequence(await reading, N);
        Assert.Equal(0, await echo.WaitForExitAsync());
    }

    /// <summary>
    /// A writer child dies at <paramref name="point"/> on its <paramref name="nth"/> message: everything it committed
    /// before arrives exactly once, the message it was writing never arrives (no torn value), and the ring goes on.
    /// </summary>
    [Theory]
    [InlineData("AfterClaim", 30)]
    [InlineData("MidCopy", 30)]
    [InlineData("BeforeCommit", 30)]
    [InlineData("BeforeCommit", 1)]
    public async Task A_writer_killed_at_a_chosen_step_loses_only_its_own_message_in_flight(string point, int nth)
    {
        using var ring = IpcSharedMemory.Create<(long W, long S, long C)>(_name, capacity: 4);
        var dying = Start("shm-writer", _name, "1", "0", point, S(nth));
        var received = new List<(long W, long S, long C)>();
        var reading = Gor.Run(async () =>
        {
            while (true)
            {
                var (v, ok) = await ring.Receiver.ReceiveOkAsync();
                if (!ok) return;
                received.Add(v);
            }
        });
        await dying.WaitForLineAsync(l => l.StartsWith("dying", StringComparison.Ordinal));
        Assert.NotEqual(0, await dying.WaitForExitAsync());
        // Progress after the death: another writer's values all arrive, behind the dead writer's slot.
        await Gor.Run(async () =>
        {
            for (long s = 0; s < 100; s++) await ring.Sender.SendAsync((2, s, Check(2, s)));
            ring.Sender.Close();
        });
        await reading;
        foreach (var (w, s, c) in received) Assert.True(c == Check(w, s), $"torn message ({w}, {s}, {c})");
        Assert.Equal(Enumerable.Range(0, nth - 1).Select(i => (long)i), received.Where(m => m.W == 1).Select(m => m.S));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), received.Where(m => m.W == 2).Select(m => m.S));
    }

    /// <summary>
    /// The wedge the death watch exists for: a writer child claims slot 0 and stalls (alive), the parent's sender
    /// fills the rest and parks for space behind that slot, and the parent's receiver parks waiting for its commit.
    /// Nothing will ring either of them; only the child's death (its pidfd, in the netpoller) can. Then both go on.
    /// </summary>
    [Fact]
    public async Task Waiters_parked_behind_a_writer_that_dies_are_woken_by_its_death()
    {
        using var ring = IpcSharedMemory.Create<(long W, long S, long C)>(_name, capacity: 2);
        var dying = Start("shm-writer", _name, "1", "0", "BeforeCommit", "1", "1500");
        await dying.WaitForLineAsync(l => l.StartsWith("dying", StringComparison.Ordinal)); // slot 0 is claimed, the child alive
        var receiving = Gor.Run(async () =>
        {
            var got = new List<long>();
            for (int i = 0; i < 5; i++) got.Add((await ring.Receiver.ReceiveAsync()).S);
            return got;
        });
        var sending = Gor.Run(async () =>
        {
            for (long s = 0; s < 5; s++) await ring.Sender.SendAsync((2, s, Check(2, s)));
        });
        Assert.NotEqual(0, await dying.WaitForExitAsync());
        await sending;
        Assert.Equal([0, 1, 2, 3, 4], await receiving);
    }

    /// <summary>A reader child killed right after taking a slot: the slot is freed (the ring does not fill up behind it) and only that message is lost.</summary>
    [Fact]
    public async Task A_reader_killed_after_taking_a_slot_frees_it_and_loses_only_that_message()
    {
        using var ring = IpcSharedMemory.Create<(long W, long S, long C)>(_name, capacity: 2);
        await ring.Sender.SendAsync((1, 0, Check(1, 0))).Within();
        var dying = Start("shm-reader", _name, "AfterTake", "1");
        await dying.WaitForLineAsync(l => l.StartsWith("dying", StringComparison.Ordinal));
        Assert.NotEqual(0, await dying.WaitForExitAsync());
        // Without the recovery the taken slot would stay taken, and the ring would fill for good after one value.
        var sending = Gor.Run(async () =>
        {
            for (long s = 1; s <= 6; s++) await ring.Sender.SendAsync((1, s, Check(1, s)));
            ring.Sender.Close();
        });
        var got = new List<long>();
        await Gor.Run(async () =>
        {
            await foreach (var m in ring.Receiver) got.Add(m.S);
        });
        await sending;
        Assert.Equal([1, 2, 3, 4, 5, 6], got);
    }

    [Fact]
    public async Task A_robust_mutex_held_by_a_process_killed_with_SIGKILL_goes_to_the_next_locker_with_the_abandoned_signal()
    {
        string name = _name + "-mutex";
        try
        {
            using var mine = IpcMutex.OpenOrCreate(name);
            var holder = Start("mutex-hold", name);
            await holder.WaitForLineAsync(l => l == "locked");
            Assert.False(mine.TryLock());
            var waiting = Gor.Run(async () =>
            {
                var e = await Assert.ThrowsAsync<AbandonedMutexException>(() => mine.LockAsync());
                Assert.Contains(name, e.Message, StringComparison.Ordinal);
            });
            holder.KillHard();
            await waiting;
            mine.Unlock(); // the abandoned signal came with the lock
            Assert.True(mine.TryLock()); // and it is reported once
            mine.Unlock();
        }
        finally
        {
            IpcMutex.Unlink(name);
        }
    }

    /// <summary>
    /// kill -9 at random moments: writer and reader children are killed and replaced while the parent reads too.
    /// Invariants: no torn message, none twice; every message a writer reported sent arrives, except at most its last
    /// when it was killed (still in its own outbox) and at most one per killed reader (taken, not yet printed); and
    /// after every kill the ring makes progress (more messages arrive). 200 kills in CI, 1,000 under WEFT_STRESS.
    /// </summary>
    [Fact]
    public async Task Random_kill_9_of_writers_and_readers_keeps_the_ring_exact_and_moving()
    {
        int kills = Environment.GetEnvironmentVariable("WEFT_STRESS") is { Length: > 0 } ? 1_000 : 200;
        const int Writers = 3, Readers = 2;
        var rng = new Random(17);
        var started = DateTime.UtcNow;
        using var ring = IpcSharedMemory.Create<(long W, long S, long C)>(_name, capacity: 8);
        var seen = new Dictionary<(long, long), int>();
        long parentReceived = 0;
        var parentReading = Weft.Tests.Channels.GoTask.Run(async () => // unbounded here: the test's own waits bound it
        {
            while (true)
            {
                var ((w, s, c), ok) = await ring.Receiver.ReceiveOkAsync();
                if (!ok) return;
                Assert.True(c == Check(w, s), $"torn message ({w}, {s}, {c}) in the parent");
                lock (seen) seen[(w, s)] = seen.GetValueOrDefault((w, s)) + 1;
                Interlocked.Increment(ref parentReceived);
            }
        });
        long nextWriter = 1;
        var writers = new List<(long Id, PeerProcess P)>();
        var readers = new List<PeerProcess>();
        var killedWriters = new HashSet<long>();
        var deadReaders = new List<PeerProcess>();
        int readerKills = 0;
        (long, PeerProcess) NewWriter()
        {
            long id = nextWriter++;
            return (id, Start("shm-writer", _name, S(id)));
        }
        for (int i = 0; i < Writers; i++) writers.Add(NewWriter());
        for (int i = 0; i < Readers; i++) readers.Add(Start("shm-reader", _name));
        long Progress() => Interlocked.Read(ref parentReceived); // the parent is one of the readers throughout

        for (int k = 0; k < kills; k++)
        {
            bool killWriter = rng.Next(5) < 3;
            await Task.Delay(rng.Next(0, 20));
            if (killWriter)
            {
                int i = rng.Next(writers.Count);
                writers[i].P.KillHard();
                killedWriters.Add(writers[i].Id);
                writers[i] = NewWriter();
            }
            else
            {
                int i = rng.Next(readers.Count);
                readers[i].KillHard();
                deadReaders.Add(readers[i]);
                readerKills++;
                readers[i] = Start("shm-reader", _name);
            }
            // Progress after every kill: more messages arrive (bounded wait, so a wedge fails the test).
            long before = Progress();
            var deadline = DateTime.UtcNow + TestTimeout.Default;
            while (Progress() < before + 5)
            {
                Assert.True(DateTime.UtcNow < deadline, $"no progress after kill {k + 1} ({(killWriter ? "writer" : "reader")})");
                await Task.Delay(2);
            }
        }

        double killing = (DateTime.UtcNow - started).TotalSeconds;
        // Stop the writers cleanly (SIGKILL too, but they count as killed), close, and let the readers drain.
        foreach (var (id, p) in writers)
        {
            p.KillHard();
            killedWriters.Add(id);
        }
        foreach (var r in readers) await r.WaitReadyAsync(); // attached before the close (closing lets the creator's name go)
        ring.Sender.Close();
        if (await Task.WhenAny(parentReading, Task.Delay(TestTimeout.Default)) != parentReading)
            Assert.Fail("the parent's receiver did not see the close: " + ring.Ring.Describe());
        await parentReading;
        foreach (var r in readers)
        {
            int code = await r.WaitForExitAsync();
            Assert.True(code == 0, $"a reader child exited with {code}: {r.Stderr}");
        }

        // Gather: what each writer reported sent, what every reader received (after each child's output is complete).
        foreach (var p in _peers) p.Process.WaitForExit();
        var sent = new Dictionary<long, long>(); // writer -> last sequence it reported sent
        foreach (var p in _peers)
        {
            foreach (string line in p.Lines)
            {
                string[] f = line.Split(' ');
                if (f[0] == "torn") Assert.Fail($"torn message in a reader child: {line}");
                if (f[0] == "r")
                {
                    var key = (long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture));
                    seen[key] = seen.GetValueOrDefault(key) + 1;
                }
            }
        }
        foreach (var p in _peers)
        {
            var args = p.Process.StartInfo.ArgumentList;
            if (args[1] != "shm-writer") continue;
            long id = long.Parse(args[3], CultureInfo.InvariantCulture);
            long last = -1;
            foreach (string line in p.Lines)
                if (line.StartsWith("c ", StringComparison.Ordinal)) last = long.Parse(line[2..], CultureInfo.InvariantCulture);
            sent[id] = last;
        }
        foreach (var (key, count) in seen) Assert.True(count == 1, $"message {key} arrived {count} times");
        int unexplained = 0;
        foreach (var (id, last) in sent)
        {
            for (long s = 0; s <= last; s++)
            {
                if (seen.ContainsKey((id, s))) continue;
                if (s == last && killedWriters.Contains(id)) continue; // its own outbox, lost with it
                unexplained++;
            }
        }
        foreach (var (w, s) in seen.Keys)
            Assert.True(sent.TryGetValue(w, out long last) && s <= last + 1, $"writer {w}'s message {s} arrived, yet it reported sending only up to {last}");
        Assert.True(unexplained <= readerKills, $"{unexplained} sent messages never arrived; killed readers can account for {readerKills}");
        output.WriteLine($"{kills} kills ({readerKills} readers), {sent.Values.Sum(v => v + 1)} messages sent, {seen.Count} received, {unexplained} lost with killed readers, {(DateTime.UtcNow - started).TotalSeconds:F1} s ({killing:F1} s killing)");
    }
}
