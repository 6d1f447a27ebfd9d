using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace Weft.Analyzers.Tests;

/// <summary>
/// WEFT0001 on the entry points that are synchronous by nature (no Task overload to bind to): it reports async work
/// they would drop, never work they run, and its code fix moves a call to the awaitable counterpart.
/// </summary>
public class DiscardedAsyncWorkTests
{
    private static Task<List<Diagnostic>> Weft0001(string body) =>
        Compiler.Diagnostics(body).ContinueWith(t => t.Result.Where(d => d.Id == DiscardedAsyncWorkAnalyzer.Id).ToList(), TaskScheduler.Default);

    [Theory]
    [InlineData("var once = new Once(); once.Do(async () => await Task.Delay(1));", "Once.Do", "async void")]
    [InlineData("var f = new OnceFunc(async () => await Task.Delay(1));", "new OnceFunc(...)", "async void")]
    [InlineData("var ch = new Chan<int>(); Go.AfterFunc(TimeSpan.Zero, () => ch.SendAsync(1));", "Go.AfterFunc", "'ValueTask' this lambda returns is discarded")]
    [InlineData("var once = new Once(); once.Do(() => Task.Delay(1));", "Once.Do", "'Task' this lambda returns is discarded")]
    [InlineData("Go.Blocking(async () => await Task.Delay(1));", "Go.Blocking", "infers 'T' as 'Task'")]
    [InlineData("var ch = new Chan<int>(); Go.Blocking(() => ch.SendAsync(1));", "Go.Blocking", "infers 'T' as 'ValueTask'")]
    [InlineData("var t = await Go.BlockingAsync(async () => { await Task.Delay(1); return 1; });", "Go.BlockingAsync", "infers 'T' as 'Task<int>'")]
    public async Task Reports_async_work_that_the_method_drops(string body, string subject, string why)
    {
        var d = Assert.Single(await Weft0001(body));
        string message = d.GetMessage();
        Assert.StartsWith($"'{subject}' ", message, StringComparison.Ordinal);
        Assert.Contains(why, message, StringComparison.Ordinal);
        Assert.Equal(DiagnosticSeverity.Warning, d.Severity);
    }

    [Theory]
    [InlineData("Go.Run(async () => await Task.Delay(1));")]
    [InlineData("var ch = new Chan<int>(); Go.Run(() => ch.SendAsync(1));")]
    [InlineData("var wg = new WaitGroup(); wg.Go(async () => await Task.Delay(1)); wg.Go(() => Console.WriteLine());")]
    [InlineData("var pool = new ThreadPoolExecutor(); pool.Execute(async () => await Task.Delay(1)); await pool.Submit(async () => 1);")]
    [InlineData("var pool = new ThreadPoolExecutor(); Task<int> t = await pool.Submit<Task<int>>(async () => 1);")] // written out: a choice
    [InlineData("var once = new OnceValue<Task<int>>(async () => 1);")] // a cached task is a legitimate value
    [InlineData("var once = new Once(); once.Do(() => Console.WriteLine()); await once.DoAsync(async () => await Task.Delay(1));")]
    [InlineData("bool e = Go.Blocking(() => System.IO.File.Exists(\"x\"));")]
    [InlineData("Go.AfterFunc(TimeSpan.Zero, async () => await Task.Delay(1));")] // binds to AfterFunc(Func<Task>)
    [InlineData("var timers = new ScheduledExecutor(); timers.Schedule(async () => await Task.Delay(1), TimeSpan.Zero);")]
    [InlineData("Action a = async () => await Task.Delay(1); a();")] // not Weft's business
    public async Task Is_silent_where_the_work_runs_to_completion_or_the_choice_is_explicit(string body) =>
        Assert.Empty(await Weft0001(body));

    [Fact]
    public async Task The_code_fix_awaits_the_async_counterpart()
    {
        var test = new CSharpCodeFixTest<DiscardedAsyncWorkAnalyzer, UseAsyncCounterpartCodeFix, DefaultVerifier>
        {
            ReferenceAssemblies = Compiler.NoPackages,
            TestCode = Compiler.Usings + """
                static class C
                {
                    static async Task Init(Once once)
                    {
                        once.Do({|WEFT0001:async () => await Task.Delay(1)|});
                    }

                    static void NotAsync(Once once)
                    {
                        once.Do({|WEFT0001:async () => await Task.Delay(1)|}); // no fix: the caller cannot await
                    }
                }
                """,
            FixedCode = Compiler.Usings + """
                static class C
                {
                    static async Task Init(Once once)
                    {
                        await once.DoAsync(async () => await Task.Delay(1));
                    }

                    static void NotAsync(Once once)
                    {
                        once.Do({|WEFT0001:async () => await Task.Delay(1)|}); // no fix: the caller cannot await
                    }
                }
                """,
        };
        test.TestState.AdditionalReferences.AddRange(Compiler.References);
        test.FixedState.AdditionalReferences.AddRange(Compiler.References);
        test.FixedState.MarkupHandling = MarkupMode.Allow; // the call in NotAsync keeps its diagnostic
        await test.RunAsync();
    }
}
