using Xunit;

namespace Weft.Analyzers.Tests;

/// <summary>
/// Issue 15, item 3: every Weft entry point that takes user code either binds async work to an overload that runs it
/// to completion, or rejects it at compile time. Each case compiles a snippet against Weft.dll and asserts the
/// overload chosen (so a later overload that wins instead, or a lost OverloadResolutionPriority, fails here).
/// </summary>
public class OverloadTests
{
    private const string Setup = """
        var closed = new Chan<int>(); closed.Close();
        var ch = new Chan<int>(1);
        var pool = new ThreadPoolExecutor();
        var wg = new WaitGroup();
        var g = new ErrGroup();
        var timers = new ScheduledExecutor();

        """;

    [Theory]
    // The three cases of the issue.
    [InlineData("/*here*/Go.Run(() => closed.SendAsync(1));", "Go.Run(Func<ValueTask>)")]
    [InlineData("int r = await /*here*/pool.Submit(async () => { await Task.Delay(10); return 1; });", "ThreadPoolExecutor.Submit<int>(Func<Task<int>>)")]
    [InlineData("await /*here*/pool.Submit(async () => await Task.Delay(200));", "ThreadPoolExecutor.Submit(Func<Task>)")]
    // Go.Run
    [InlineData("/*here*/Go.Run(async () => await Task.Delay(1));", "Go.Run(Func<Task>)")]
    [InlineData("/*here*/Go.Run(() => Task.Delay(1));", "Go.Run(Func<Task>)")]
    [InlineData("/*here*/Go.Run(() => Console.WriteLine());", "Go.Run(Action)")]
    [InlineData("/*here*/Go.Run(ch, static async c => await c.SendAsync(1));", "Go.Run<Chan<int>>(Chan<int>, Func<Chan<int>, Task>)")]
    [InlineData("/*here*/Go.Run(ch, static c => c.SendAsync(1));", "Go.Run<Chan<int>>(Chan<int>, Func<Chan<int>, ValueTask>)")]
    // WaitGroup.Go
    [InlineData("/*here*/wg.Go(() => ch.SendAsync(1));", "WaitGroup.Go(Func<ValueTask>)")]
    [InlineData("/*here*/wg.Go(async () => await ch.SendAsync(1));", "WaitGroup.Go(Func<Task>)")]
    [InlineData("/*here*/wg.Go(() => Console.WriteLine());", "WaitGroup.Go(Action)")]
    // ErrGroup
    [InlineData("/*here*/g.Go(async () => await Task.Delay(1));", "ErrGroup.Go(Func<Task>, CancellationToken)")]
    [InlineData("/*here*/g.Go(async token => await Task.Delay(1, token));", "ErrGroup.Go(Func<CancellationToken, Task>, CancellationToken)")]
    [InlineData("/*here*/g.Go(() => closed.SendAsync(1));", "ErrGroup.Go(Func<ValueTask>, CancellationToken)")]
    [InlineData("/*here*/g.Go(token => ch.SendAsync(1, token));", "ErrGroup.Go(Func<CancellationToken, ValueTask>, CancellationToken)")]
    [InlineData("/*here*/g.TryGo(async token => await Task.Delay(1, token));", "ErrGroup.TryGo(Func<CancellationToken, Task>)")]
    [InlineData("/*here*/g.TryGo(() => ch.SendAsync(1));", "ErrGroup.TryGo(Func<ValueTask>)")]
    [InlineData("await /*here*/g.GoAsync(token => ch.SendAsync(1, token));", "ErrGroup.GoAsync(Func<CancellationToken, ValueTask>, CancellationToken)")]
    // ThreadPoolExecutor
    [InlineData("/*here*/pool.Execute(async () => await Task.Delay(1));", "ThreadPoolExecutor.Execute(Func<Task>)")]
    [InlineData("/*here*/pool.Execute(() => ch.SendAsync(1));", "ThreadPoolExecutor.Execute(Func<ValueTask>)")]
    [InlineData("/*here*/pool.Execute(() => Console.WriteLine());", "ThreadPoolExecutor.Execute(Action)")]
    [InlineData("int n = await /*here*/pool.Submit(() => ch.ReceiveAsync());", "ThreadPoolExecutor.Submit<int>(Func<ValueTask<int>>)")]
    [InlineData("await /*here*/pool.Submit(() => ch.SendAsync(1));", "ThreadPoolExecutor.Submit(Func<ValueTask>)")]
    [InlineData("int n = await /*here*/pool.Submit(() => 5);", "ThreadPoolExecutor.Submit<int>(Func<int>)")]
    [InlineData("await /*here*/pool.Submit(() => Console.WriteLine());", "ThreadPoolExecutor.Submit(Action)")]
    // ScheduledExecutor
    [InlineData("/*here*/timers.Schedule(async () => await Task.Delay(1), TimeSpan.Zero);", "ScheduledExecutor.Schedule(Func<Task>, TimeSpan)")]
    [InlineData("/*here*/timers.ScheduleAtFixedRate(() => ch.SendAsync(1), TimeSpan.Zero, TimeSpan.FromSeconds(1));", "ScheduledExecutor.ScheduleAtFixedRate(Func<ValueTask>, TimeSpan, TimeSpan)")]
    [InlineData("/*here*/timers.ScheduleWithFixedDelay(async () => await Task.Delay(1), TimeSpan.Zero, TimeSpan.FromSeconds(1));", "ScheduledExecutor.ScheduleWithFixedDelay(Func<Task>, TimeSpan, TimeSpan)")]
    [InlineData("/*here*/timers.Schedule(() => Console.WriteLine(), TimeSpan.Zero);", "ScheduledExecutor.Schedule(Action, TimeSpan)")]
    public void Async_work_binds_to_an_overload_that_runs_it_to_completion(string call, string expected) =>
        Assert.Equal(expected, Compiler.Bound(Setup + call));

    [Theory]
    // Where no async overload exists, async work is a compile error rather than a dropped task.
    [InlineData("var sf = new SingleFlight<string, int>(); sf.Do(\"k\", async () => 1);")]
    [InlineData("var sf = new SingleFlight<string, int>(); await sf.DoAsync(\"k\", () => new ValueTask<int>(1));")]
    [InlineData("var once = new OnceValue<int>(async () => 1);")]
    [InlineData("var once = new OnceValues<int, int>(async () => (1, 2));")]
    [InlineData("await new Once().DoAsync(() => new ValueTask());")]
    public void Async_work_without_an_awaiting_overload_does_not_compile(string call)
    {
        // Errors of converting the lambda to the parameter's delegate type, not of a typo in the snippet.
        var errors = Compiler.Compile(call).GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error).ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains(e.Id, new[] { "CS4010", "CS1662", "CS0029", "CS1503", "CS1643" }));
    }
}
