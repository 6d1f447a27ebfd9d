using System.Collections.Concurrent;
using Weft.Sync;
using Xunit;
using Mutex = Weft.Sync.Mutex;
using Semaphore = Weft.Sync.Semaphore;

namespace Weft.Tests.Sync;

/// <summary>
/// Randomized cancellation torture over the locks (issue 13, bug 1). One thread cancels a shared
/// <see cref="CancellationTokenSource"/> every millisecond and installs a fresh one; workers (OS threads using the
/// blocking forms, goroutines using the async forms, or both) loop on acquire (with that token, an already-cancelled
/// one, or none) / release, catching <see cref="OperationCanceledException"/>. Asserted: exclusion (a counter checked
/// inside every critical section), every release after a successful acquire is accepted (no "Unlock of an unlocked
/// mutex"), every worker finishes (no waiter left asleep with the lock free), and the primitive is free and usable at
/// the end. Each run lasts <see cref="RunFor"/> (a few hundred ms; scaled by WEFT_STRESS).
/// </summary>
public class CancellationTortureTests
{
    private static readonly TimeSpan RunFor = TimeSpan.FromMilliseconds(250 * Stress.Factor);

    public enum Workers { Threads, Goroutines, Mixed }

    /// <summary>What is tortured: how to acquire and release it, and the invariant checked inside.</summary>
    internal abstract class Subject
    {
        private readonly ConcurrentQueue<string> _errors = new();

        public IReadOnlyCollection<string> Errors => _errors;

        public void Fail(string what)
        {
            if (_errors.Count < 20) _errors.Enqueue(what);
        }

        /// <summary>The kind of this iteration's acquire (writer or reader, a weight...).</summary>
        public virtual int Role(Random rng) => 0;

        public abstract void Acquire(int role, CancellationToken ct);

        public abstract ValueTask AcquireAsync(int role, CancellationToken ct);

        /// <summary>Checks the invariant on entry to the critical section, and leaves it.</summary>
        public abstract void Enter(int role);

        public abstract void Leave(int role);

        public abstract void Release(int role);

        /// <summary>After the run: nothing is held, and the primitive still works.</summary>
        public abstract void AssertFreeAndUsable();
    }

    private sealed class Exclusive
    {
        private int _inside;

        public void Enter(Subject s)
        {
            if (Interlocked.Increment(ref _inside) != 1) s.Fail("two holders inside the critical section at once");
        }

        public void Leave() => Interlocked.Decrement(ref _inside);
    }

    internal sealed class MutexSubject : Subject
    {
        public readonly Mutex Mu = new();
        private readonly Exclusive _x = new();

        public override void Acquire(int role, CancellationToken ct) => Mu.Lock(ct);
        public override ValueTask AcquireAsync(int role, CancellationToken ct) => Mu.LockAsync(ct);
        public override void Enter(int role) => _x.Enter(this);
        public override void Leave(int role) => _x.Leave();
        public override void Release(int role) => Mu.Unlock();

        public override void AssertFreeAndUsable()
        {
            Assert.False(Mu.IsLocked);
            Assert.True(Mu.TryLock());
            Mu.Unlock();
        }
    }

    internal sealed class RWMutexSubject(bool readers) : Subject
    {
        public readonly RWMutex Rw = new();
        private int _readers, _writers;

        public override int Role(Random rng) => readers && rng.Next(3) != 0 ? 1 : 0; // 1 = reader

        public override void Acquire(int role, CancellationToken ct)
        {
            if (role == 1) Rw.RLock(ct); else Rw.Lock(ct);
        }

        public override ValueTask AcquireAsync(int role, CancellationToken ct) => role == 1 ? Rw.RLockAsync(ct) : Rw.LockAsync(ct);

        public override void Enter(int role)
        {
            if (role == 1)
            {
                Interlocked.Increment(ref _readers);
                if (Volatile.Read(ref _writers) != 0) Fail("a reader inside with a writer");
            }
            else
            {
                if (Interlocked.Increment(ref _writers) != 1) Fail("two writers inside at once");
                if (Volatile.Read(ref _readers) != 0) Fail("a writer inside with a reader");
            }
        }

        public override void Leave(int role)
        {
            if (role == 1) Interlocked.Decrement(ref _readers); else Interlocked.Decrement(ref _writers);
        }

        public override void Release(int role)
        {
            if (role == 1) Rw.RUnlock(); else Rw.Unlock();
        }

        public override void AssertFreeAndUsable()
        {
            Assert.True(Rw.TryLock());
            Assert.False(Rw.TryRLock());
            Rw.Unlock();
            Assert.True(Rw.TryRLock());
            Assert.True(Rw.TryRLock());
            Assert.False(Rw.TryLock());
            Rw.RUnlock();
            Rw.RUnlock();
            Assert.True(Rw.TryLock());
            Rw.Unlock();
        }
    }

    internal sealed class SemaphoreSubject : Subject
    {
        private const int Capacity = 3;
        public readonly Semaphore Sem = new(Capacity);
        private long _inside;

        public override int Role(Random rng) => rng.Next(0, Capacity + 1); // the weight, 0 included

        public override void Acquire(int role, CancellationToken ct) => Sem.Acquire(role, ct);
        public override ValueTask AcquireAsync(int role, CancellationToken ct) => Sem.AcquireAsync(role, ct);

        public override void Enter(int role)
        {
            if (Interlocked.Add(ref _inside, role) > Capacity) Fail("more tokens out than the capacity");
        }

        public override void Leave(int role) => Interlocked.Add(ref _inside, -role);
        public override void Release(int role) => Sem.Release(role);

        public override void AssertFreeAndUsable()
        {
            Assert.Equal(Capacity, Sem.Available);
            Assert.True(Sem.TryAcquire(Capacity));
            Sem.Release(Capacity);
        }
    }

    /// <summary>
    /// Cond: a waiter holds the mutex, waits (cancellably or not) and must hold the mutex again when Wait returns or
    /// throws; the others signal or broadcast under the mutex. A worker waits only while some other worker is not
    /// waiting, and every non-waiting iteration signals, so a waiter left asleep means a lost wake-up.
    /// </summary>
    internal sealed class CondSubject : Subject
    {
        public readonly Mutex Mu = new();
        public readonly Cond Cond;
        private readonly Exclusive _x = new();

        public CondSubject() => Cond = new Cond(Mu);

        public override int Role(Random rng) => rng.Next(4); // 0 wait, 1 signal, 2 broadcast, 3 plain section

        public override void Acquire(int role, CancellationToken ct)
        {
            Mu.Lock();
            if (role != 0) return;
            // A cancelled Wait throws with the mutex held again: for the harness the section is entered either way.
            try { Cond.Wait(ct); }
            catch (OperationCanceledException) { }
            CheckHeld();
        }

        public override async ValueTask AcquireAsync(int role, CancellationToken ct)
        {
            await Mu.LockAsync();
            if (role != 0) return;
            try { await Cond.WaitAsync(ct); }
            catch (OperationCanceledException) { }
            CheckHeld();
        }

        private void CheckHeld()
        {
            if (!Mu.IsLocked) Fail("Cond.Wait returned (or threw) without the mutex held");
        }

        public override void Enter(int role)
        {
            _x.Enter(this);
            if (role == 1) Cond.Signal();
            else if (role == 2) Cond.Broadcast();
        }

        public override void Leave(int role) => _x.Leave();
        public override void Release(int role) => Mu.Unlock();

        public override void AssertFreeAndUsable()
        {
            Assert.True(Mu.TryLock());
            Cond.Broadcast();
            Mu.Unlock();
        }
    }

    /// <summary>
    /// Runs the torture: <paramref name="workers"/> says who loops (4 threads, 4 goroutines, or 2 and 2), for
    /// <see cref="RunFor"/>, then waits (with a timeout) for every worker to stop, and checks the subject.
    /// </summary>
    internal static async Task Torture(Subject s, Workers workers, TimeSpan? runFor = null, Func<Task>? whileStopping = null)
    {
        var current = new CancellationTokenSource();
        bool stop = false;
        long acquired = 0, cancelled = 0;
        var canceller = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                var old = Interlocked.Exchange(ref current, new CancellationTokenSource());
                old.Cancel();
                Thread.Sleep(1);
            }
        }) { IsBackground = true, Name = "canceller" };

        CancellationToken PickToken(Random rng) => rng.Next(4) switch
        {
            0 => default,
            1 => new CancellationToken(true),
            _ => Volatile.Read(ref current).Token,
        };

        void Done(int role)
        {
            s.Enter(role);
            if (role % 2 == 0) Thread.SpinWait(20);
            s.Leave(role);
            try { s.Release(role); }
            catch (Exception e) { s.Fail($"release after a successful acquire threw: {e.Message}"); }
            Interlocked.Increment(ref acquired);
        }

        void ThreadLoop(int seed)
        {
            var rng = new Random(seed);
            while (!Volatile.Read(ref stop))
            {
                int role = s.Role(rng);
                try { s.Acquire(role, PickToken(rng)); }
                catch (OperationCanceledException) { Interlocked.Increment(ref cancelled); continue; }
                Done(role);
            }
        }

        async Task GoroutineLoop(int seed)
        {
            var rng = new Random(seed);
            int n = 0;
            while (!Volatile.Read(ref stop))
            {
                int role = s.Role(rng);
                try { await s.AcquireAsync(role, PickToken(rng)); }
                catch (OperationCanceledException) { Interlocked.Increment(ref cancelled); continue; }
                Done(role);
                if (++n % 64 == 0) await Go.Yield();
            }
        }

        int threads = workers switch { Workers.Threads => 4, Workers.Mixed => 2, _ => 0 };
        int goroutines = 4 - threads;
        var tasks = new List<Task>();
        for (int i = 0; i < threads; i++)
        {
            int seed = i;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            new Thread(() =>
            {
                try { ThreadLoop(seed); done.SetResult(); }
                catch (Exception e) { done.SetException(e); }
            }) { IsBackground = true, Name = $"torture-{seed}" }.Start();
            tasks.Add(done.Task);
        }
        for (int i = 0; i < goroutines; i++)
        {
            int seed = 100 + i;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Go.Run(async () =>
            {
                try { await GoroutineLoop(seed); done.SetResult(); }
                catch (Exception e) { done.SetException(e); }
            });
            tasks.Add(done.Task);
        }
        canceller.Start();
        await Task.Delay(runFor ?? RunFor);
        Volatile.Write(ref stop, true);
        var all = Task.WhenAll(tasks);
        // Go's slack for a loaded machine, but never past WEFT_TEST_TIMEOUT: under mutation testing a hang must fail here.
        var bound = TestTimeout.AtMost(TimeSpan.FromSeconds(20));
        if (whileStopping is not null)
        {
            var until = DateTime.UtcNow + bound;
            while (!all.IsCompleted && DateTime.UtcNow < until)
            {
                await whileStopping().Within();
                await Task.WhenAny(all, Task.Delay(1));
            }
        }
        try
        {
            await all.Within(bound);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"Workers hung; errors seen before: [{string.Join("; ", s.Errors)}]\n{e.Message}");
        }
        Assert.Empty(s.Errors);
        Assert.True(Interlocked.Read(ref acquired) > 0, "No acquire ever succeeded.");
        s.AssertFreeAndUsable();
    }

    [Theory]
    [InlineData(Workers.Threads)]
    [InlineData(Workers.Goroutines)]
    [InlineData(Workers.Mixed)]
    public Task RWMutex_Lock_RandomCancellation(Workers workers) => Torture(new RWMutexSubject(readers: false), workers);

    [Theory]
    [InlineData(Workers.Threads)]
    [InlineData(Workers.Goroutines)]
    [InlineData(Workers.Mixed)]
    public Task RWMutex_LockAndRLock_RandomCancellation(Workers workers) => Torture(new RWMutexSubject(readers: true), workers);

    [Theory]
    [InlineData(Workers.Threads)]
    [InlineData(Workers.Goroutines)]
    [InlineData(Workers.Mixed)]
    public Task Mutex_RandomCancellation(Workers workers) => Torture(new MutexSubject(), workers);

    [Theory]
    [InlineData(Workers.Threads)]
    [InlineData(Workers.Mixed)]
    public Task Semaphore_RandomCancellation(Workers workers) => Torture(new SemaphoreSubject(), workers);

    [Theory]
    [InlineData(Workers.Threads)]
    [InlineData(Workers.Mixed)]
    public Task Cond_RandomCancellation(Workers workers)
    {
        var s = new CondSubject();
        // Waiters without a token may still be asleep when the run stops: broadcast until every worker is out.
        return Torture(s, workers, whileStopping: async () =>
        {
            await s.Mu.LockAsync();
            s.Cond.Broadcast();
            s.Mu.Unlock();
        });
    }
}
