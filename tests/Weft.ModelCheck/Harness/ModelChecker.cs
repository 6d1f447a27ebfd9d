// ModelChecker — a systematic scheduler (CHESS-style) for Weft's lock-free protocols.
//
// What it does. A test describes a small world (a run queue, a P, an M, sysmon) and two to four logical threads that
// act on it. The checker runs every logical thread on a real OS thread, but lets exactly one run at a time: a thread
// runs until it reaches a scheduling point (ModelPoint.Here() in the real source, a model lock, a wait), then stops
// there until the checker picks it again. At each point the checker chooses which thread goes next, and it explores
// those choices by depth-first search, one complete execution per schedule, replaying the prefix of choices each time.
// After every step (all threads stopped) it checks the test's invariant; after every execution, the final check.
// The first violation, exception, deadlock (every unfinished thread waits) or livelock (MaxSteps reached) fails the
// test with the schedule and the last steps of its trace.
//
// Search space. A choice that switches away from a thread that could have gone on is a preemption; a switch at a
// thread's end or wait is free. The search explores every schedule with at most PreemptionBound preemptions
// (iterative context bounding: most concurrency bugs need only one or two). With the tiny worlds of the tests the
// bounded space is small enough to explore completely; each test says which bound it used and asserts that the
// search was complete and explored more than zero schedules, so that a world that stopped reaching its points
// cannot pass silently. Replays must see the same choices at the same points, or the checker fails with
// "nondeterministic": the code under test must not read a real clock or a random source (World/ stands them in).
//
// What it does not do. It explores interleavings under sequential consistency: one thread's plain and volatile
// accesses happen in program order and are seen at once by all. Store buffering and other reorderings of the
// hardware are not modelled; the fences that rule them out (Processor's process-wide barrier, the release/acquire
// pairs of the run queue) carry their proof in the comments of their files. A point is placed before each access to
// shared memory that matters; the accesses between two points are one atomic step, so a missing point hides
// interleavings (a finer granularity than the real code has is impossible, a coarser one is a documented choice).
//
// Why not Microsoft.Coyote (1.7.11, served by the package mirror): Coyote controls the Tasks, locks and awaits that
// its binary rewriter instruments, and Weft's protocols are plain memory accesses through Interlocked and Volatile
// on dedicated threads; Coyote would run them uncontrolled. Rejected too: seeded random scheduling alone (it finds
// bugs but cannot say what it covered), and copying the protocols into the tests (the copy would be checked, not the
// code that ships). The real files are compiled into this project with WEFT_MODEL_CHECK defined; in Weft.dll every
// ModelPoint.Here() call is removed by the compiler.
//
// Monitors. A thread blocked on a real Monitor never reaches a point, so the checker cannot schedule around it.
// The scheduler lock of the runtime is a Monitor; a point reached while holding it does not switch (AtomicRegion),
// so its regions run atomically here, which is exactly what the lock guarantees against other holders (it loses
// only interleavings with lock-free readers inside those regions). Short runtime locks (WordLock) are replaced by a
// model lock whose waiters are known to the checker. A thread that does not come back within StepTimeout fails the
// test with the point it left from, instead of hanging CI.

using System.Diagnostics;
using System.Text;

namespace Weft.ModelCheck.Harness;

/// <summary>Bounds of one exploration.</summary>
public sealed class ModelOptions
{
    /// <summary>Schedules with at most this many preemptions are explored (all of them, unless MaxSchedules stops it).</summary>
    public int PreemptionBound { get; init; } = 2;

    /// <summary>Scheduling steps in one execution before it counts as a livelock.</summary>
    public int MaxSteps { get; init; } = 5_000;

    /// <summary>The search stops after this many schedules; the result then says it was not complete.</summary>
    public int MaxSchedules { get; init; } = 500_000;

    /// <summary>How long one thread may run between two points before the checker calls it stuck outside the model.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>One execution's world: its threads, the invariant checked after every step and the final check.</summary>
public sealed class ModelRun
{
    internal readonly List<(string Name, Action Body)> Threads = [];

    /// <summary>Checked after every scheduling step, while every thread is stopped at a point. Throw to fail.</summary>
    public Action? Invariant { get; set; }

    /// <summary>Checked once every thread has finished. Throw to fail.</summary>
    public Action? Final { get; set; }

    public ModelRun Thread(string name, Action body)
    {
        Threads.Add((name, body));
        return this;
    }
}

/// <summary>What an exploration covered.</summary>
/// <param name="Schedules">Complete executions explored.</param>
/// <param name="Complete">Every schedule within the preemption bound was explored.</param>
/// <param name="MaxDecisions">The most scheduling choices with more than one option in one execution.</param>
/// <param name="MaxSteps">The most scheduling steps in one execution.</param>
/// <param name="Points">Every point some thread stopped at ("member:line" for a ModelPoint in the real source).</param>
public sealed record ModelResult(int Schedules, bool Complete, int MaxDecisions, int MaxSteps, IReadOnlySet<string> Points)
{
    /// <summary>True if some schedule stopped at a point in <paramref name="member"/>, i.e. ran that code.</summary>
    public bool Reached(string member) => Points.Any(p => p.StartsWith(member + ":", StringComparison.Ordinal));

    /// <summary>The members of <paramref name="members"/> that no schedule reached (empty when the model ran them all).</summary>
    public string[] NotReached(params string[] members) => [.. members.Where(m => !Reached(m))];

    public override string ToString() =>
        $"{Schedules} schedules ({(Complete ? "complete" : "stopped at the cap")}), at most {MaxDecisions} choices and {MaxSteps} steps in one";
}

/// <summary>The checker found a schedule that breaks the model.</summary>
public sealed class ModelCheckException(string message, Exception? inner) : Exception(message, inner);

/// <summary>Thrown at a point to unwind a thread whose execution is being abandoned.</summary>
internal sealed class ModelAbortException() : Exception("The model checker abandoned this execution.");

/// <summary>Throw from a thread body (or a stand-in it calls) to end that thread normally, e.g. an endless loop's last round.</summary>
public sealed class ModelThreadExitException() : Exception("A model thread ended its loop.");

public static class ModelChecker
{
    [ThreadStatic] private static Worker? t_worker;

    /// <summary>True while the current thread holds a lock the checker cannot see (set up by the world): points do not switch.</summary>
    public static Func<bool>? AtomicRegion { get; set; }

    /// <summary>True on a thread that the checker is running (a point there may switch).</summary>
    public static bool InModel => t_worker?.Exec is not null;

    /// <summary>A scheduling point: the current model thread stops here until the checker picks it again.</summary>
    public static void Point(string label)
    {
        var w = t_worker;
        if (w?.Exec is not { } exec) return;
        if (exec.Aborting) throw new ModelAbortException();
        if (AtomicRegion?.Invoke() == true) return;
        w.Label = label;
        exec.Back.Release();
        w.Go.Wait();
        if (exec.Aborting) throw new ModelAbortException();
    }

    /// <summary>
    /// Blocks the current model thread until <paramref name="condition"/> holds (the checker does not pick it before):
    /// a model lock or a wait that the checker can see. Outside the model the condition must already hold.
    /// </summary>
    public static void WaitUntil(Func<bool> condition, string label)
    {
        var w = t_worker;
        if (w?.Exec is null || AtomicRegion?.Invoke() == true)
        {
            if (!condition()) throw new InvalidOperationException($"{label}: would block outside the checker's control (setup code, or under a Monitor).");
            return;
        }
        while (!condition())
        {
            w.Waiting = condition;
            try { Point(label); }
            finally { w.Waiting = null; }
        }
    }

    /// <summary>
    /// Explores the schedules of the world that <paramref name="setup"/> builds (called once per execution, on the
    /// calling thread, so every execution starts from a fresh world). Throws <see cref="ModelCheckException"/> at the
    /// first schedule that fails.
    /// </summary>
    public static ModelResult Explore(ModelOptions options, Func<ModelRun> setup)
    {
        var workers = new List<Worker>();
        var stack = new List<Decision>();
        int schedules = 0, maxDecisions = 0, maxSteps = 0;
        var points = new HashSet<string>();
        try
        {
            while (true)
            {
                var run = setup();
                while (workers.Count < run.Threads.Count) workers.Add(new Worker(workers.Count));
                var exec = new Execution();
                var threads = workers.Take(run.Threads.Count).ToArray();
                for (int i = 0; i < threads.Length; i++) threads[i].Prepare(run.Threads[i].Name, run.Threads[i].Body, exec);

                int steps = RunOne(options, run, exec, threads, stack, out int decisions, points);
                schedules++;
                maxDecisions = Math.Max(maxDecisions, decisions);
                maxSteps = Math.Max(maxSteps, steps);
                if (exec.Failure is { } failure)
                    throw new ModelCheckException(Describe(exec, threads, stack, schedules, failure), failure);

                if (!Backtrack(stack, options.PreemptionBound)) return new ModelResult(schedules, true, maxDecisions, maxSteps, points);
                if (schedules >= options.MaxSchedules) return new ModelResult(schedules, false, maxDecisions, maxSteps, points);
            }
        }
        finally
        {
            foreach (var w in workers) w.Quit();
        }
    }

    private static int RunOne(ModelOptions options, ModelRun run, Execution exec, Worker[] threads, List<Decision> stack, out int decisions, HashSet<string> points)
    {
        int current = -1, preemptions = 0, depth = 0, steps = 0;
        var enabled = new List<int>(threads.Length);
        while (exec.Failure is null)
        {
            if (run.Invariant is { } invariant && !Try(exec, "invariant", invariant)) break;
            enabled.Clear();
            bool allDone = true;
            for (int i = 0; i < threads.Length; i++)
            {
                var w = threads[i];
                if (w.Finished) continue;
                allDone = false;
                if (w.Waiting is not { } cond || cond()) enabled.Add(i);
            }
            if (allDone) break;
            if (enabled.Count == 0)
            {
                exec.Failure = new InvalidOperationException("Deadlock: every unfinished thread waits: " +
                    string.Join(", ", threads.Where(t => !t.Finished).Select(t => $"{t.Name} at {t.Label}")));
                break;
            }
            if (++steps > options.MaxSteps)
            {
                exec.Failure = new InvalidOperationException($"Livelock: no end after {options.MaxSteps} steps.");
                break;
            }

            bool currentEnabled = current >= 0 && enabled.Contains(current);
            int[] choices = currentEnabled ? [current, .. enabled.Where(i => i != current)] : [.. enabled];
            int pick = 0;
            if (choices.Length > 1)
            {
                if (depth < stack.Count)
                {
                    var d = stack[depth];
                    if (!d.Options.AsSpan().SequenceEqual(choices) || d.CurrentEnabled != currentEnabled)
                    {
                        exec.Failure = new InvalidOperationException(
                            $"Nondeterministic: at choice {depth} the replay found threads [{string.Join(",", choices)}] ready, the first run [{string.Join(",", d.Options)}]. Something under test reads a clock, a random source or a thread the checker does not control.");
                        break;
                    }
                    pick = d.Chosen;
                }
                else
                {
                    stack.Add(new Decision(choices, currentEnabled, preemptions));
                }
                depth++;
            }
            if (currentEnabled && pick > 0) preemptions++;
            int next = choices[pick];
            var t = threads[next];
            exec.Trace.Add($"{t.Name}: {t.Label}");
            points.Add(t.Label);
            current = next;
            if (!t.Resume(options.StepTimeout))
                throw new ModelCheckException(
                    $"Thread {t.Name} did not reach its next point within {options.StepTimeout.TotalSeconds} s after {t.Label}: it blocks outside the model (a Monitor, a real wait) or loops without a point. Trace:\n  " +
                    string.Join("\n  ", exec.Trace.TakeLast(40)), null);
        }
        // Every step was replayed as chosen; discard choices past this execution (a failed one stops early).
        if (stack.Count > depth) stack.RemoveRange(depth, stack.Count - depth);
        if (exec.Failure is null && run.Final is { } final) Try(exec, "final check", final);
        Abandon(exec, threads, options.StepTimeout);
        decisions = depth;
        return steps;
    }

    private static bool Try(Execution exec, string what, Action check)
    {
        try
        {
            check();
            return true;
        }
        catch (Exception e)
        {
            exec.Failure = new InvalidOperationException($"The {what} failed: {e.Message}", e);
            return false;
        }
    }

    /// <summary>Unwinds every unfinished thread (its next point throws) so the workers are free for the next execution.</summary>
    private static void Abandon(Execution exec, Worker[] threads, TimeSpan timeout)
    {
        exec.Aborting = true;
        foreach (var w in threads)
        {
            if (!w.Finished && !w.Resume(timeout))
                throw new ModelCheckException($"Thread {w.Name} did not unwind within {timeout.TotalSeconds} s from {w.Label}.", null);
        }
    }

    /// <summary>Moves to the next schedule: the deepest choice with an untried option within the preemption bound.</summary>
    private static bool Backtrack(List<Decision> stack, int bound)
    {
        while (stack.Count > 0)
        {
            var top = stack[^1];
            int next = top.Chosen + 1;
            if (next < top.Options.Length && (!top.CurrentEnabled || top.PreemptionsBefore < bound))
            {
                top.Chosen = next;
                return true;
            }
            stack.RemoveAt(stack.Count - 1);
        }
        return false;
    }

    private static string Describe(Execution exec, Worker[] threads, List<Decision> stack, int schedule, Exception failure)
    {
        var sb = new StringBuilder();
        sb.Append($"Schedule {schedule} fails ({schedule - 1} explored before it passed): {failure.GetType().Name}: {failure.Message}\n");
        sb.Append("Threads: ").AppendJoin(", ", threads.Select((t, i) => $"{i}={t.Name}")).Append('\n');
        sb.Append("Threads picked at each choice: ").AppendJoin(" ", stack.Select(d => threads[d.Options[d.Chosen]].Name)).Append('\n');
        sb.Append("Last steps (thread: the point it resumed from):\n  ");
        sb.AppendJoin("\n  ", exec.Trace.TakeLast(60));
        return sb.ToString();
    }

    private sealed class Decision(int[] options, bool currentEnabled, int preemptionsBefore)
    {
        public readonly int[] Options = options;
        public readonly bool CurrentEnabled = currentEnabled;
        public readonly int PreemptionsBefore = preemptionsBefore;
        public int Chosen;
    }

    private sealed class Execution
    {
        public readonly SemaphoreSlim Back = new(0);
        public readonly List<string> Trace = [];
        public volatile bool Aborting;
        public volatile Exception? Failure;
    }

    /// <summary>A real thread that runs one logical thread per execution, reused across executions.</summary>
    private sealed class Worker
    {
        public readonly SemaphoreSlim Go = new(0);
        private readonly Thread _thread;
        private Action? _body;
        private bool _quit;
        public Execution? Exec;
        public string Name = "";
        public string Label = "start";
        public Func<bool>? Waiting;
        public volatile bool Finished;

        public Worker(int index)
        {
            _thread = new Thread(Main) { IsBackground = true, Name = "model-" + index };
            _thread.Start();
        }

        public void Prepare(string name, Action body, Execution exec)
        {
            Name = name;
            _body = body;
            Exec = exec;
            Label = "start";
            Waiting = null;
            Finished = false;
        }

        /// <summary>Lets the thread run to its next point (or its end) and waits for it.</summary>
        public bool Resume(TimeSpan timeout)
        {
            var exec = Exec!;
            Go.Release();
            return exec.Back.Wait(timeout);
        }

        public void Quit()
        {
            _quit = true;
            Go.Release();
        }

        private void Main()
        {
            t_worker = this;
            while (true)
            {
                Go.Wait();
                if (_quit) return;
                var exec = Exec!;
                try
                {
                    if (!exec.Aborting) _body!();
                }
                catch (ModelAbortException) { }
                catch (ModelThreadExitException) { }
                catch (Exception e)
                {
                    // An exception while the execution is being abandoned is the unwinding's, not a finding.
                    if (!exec.Aborting) exec.Failure ??= new InvalidOperationException($"Thread {Name} threw after {Label}: {e.GetType().Name}: {e.Message}", e);
                }
                _body = null;
                Finished = true;
                exec.Back.Release();
            }
        }
    }
}
