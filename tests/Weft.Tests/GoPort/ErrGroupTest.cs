using Weft.Sync;
using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>golang.org/x/sync's errgroup/errgroup_test.go, ported (a Go error is an exception thrown by the function).</summary>
public class ErrGroupTest
{
    // ExampleGroup_justErrors fetches real URLs and checks no output: it is documentation, not a test.
    // ExampleGroup_pipeline (errgroup_example_md5all_test.go) walks the file system and checks no output either.

    private static Func<string, CancellationToken, Task<string>> FakeSearch(string kind) =>
        (query, _) => Task.FromResult($"{kind} result for \"{query}\"");

    /// <summary>Go's ExampleGroup_parallel, whose Output block makes it a test.</summary>
    [Fact]
    public async Task ExampleGroup_parallel()
    {
        async Task<string[]> Google(string query, CancellationToken ct)
        {
            var g = new ErrGroup(ct);
            var searches = new[] { FakeSearch("web"), FakeSearch("image"), FakeSearch("video") };
            var results = new string[searches.Length];
            for (int i = 0; i < searches.Length; i++)
            {
                int index = i;
                g.Go(async () => results[index] = await searches[index](query, g.Token));
            }
            await g.WaitAsync();
            return results;
        }

        var output = await Google("golang", CancellationToken.None).Within();
        Assert.Equal(new[] { "web result for \"golang\"", "image result for \"golang\"", "video result for \"golang\"" }, output);
    }

    private static Func<Task> Returning(Exception? err) => () => err is null ? Task.CompletedTask : Task.FromException(err);

    private static async Task<Exception?> WaitError(ErrGroup g)
    {
        try
        {
            await g.WaitAsync().AsTask().Within();
            return null;
        }
        catch (Exception e) when (e is not TimeoutException)
        {
            return e;
        }
    }

    [Fact]
    public async Task TestZeroGroup()
    {
        var err1 = new InvalidOperationException("errgroup_test: 1");
        var err2 = new InvalidOperationException("errgroup_test: 2");
        Exception?[][] cases = [[], [null], [err1], [err1, null], [err1, null, err2]];
        foreach (var errs in cases)
        {
            var g = new ErrGroup();
            Exception? firstErr = null;
            for (int i = 0; i < errs.Length; i++)
            {
                g.Go(Returning(errs[i]));
                firstErr ??= errs[i];
                Assert.Same(firstErr, await WaitError(g));
            }
        }
    }

    [Fact]
    public async Task TestWithContext()
    {
        var errDoom = new InvalidOperationException("group_test: doomed");
        (Exception?[] errs, Exception? want)[] cases = [([], null), ([null], null), ([errDoom], errDoom), ([errDoom, null], errDoom)];
        foreach (var (errs, want) in cases)
        {
            var g = new ErrGroup(CancellationToken.None);
            foreach (var err in errs) g.Go(Returning(err));
            Assert.Same(want, await WaitError(g));
            Assert.True(g.Token.IsCancellationRequested, "the group's token was not cancelled");
        }
    }

    [Fact]
    public async Task TestTryGo()
    {
        var g = new ErrGroup();
        const int n = 42;
        g.SetLimit(42);
        var ch = new Chan<int>();
        Func<Task> fn = async () => await ch.SendAsync(0);
        for (int i = 0; i < n; i++) Assert.True(g.TryGo(fn), $"TryGo should succeed but got fail at {i}-th call.");
        Assert.False(g.TryGo(fn), "TryGo is expected to fail but succeeded.");
        Go.Run(async () =>
        {
            for (int i = 0; i < n; i++) await ch.ReceiveAsync();
        });
        await g.WaitAsync().Within();

        Assert.True(g.TryGo(fn), "TryGo should success but got fail after all goroutines.");
        Go.Run(async () => await ch.ReceiveAsync());
        await g.WaitAsync().Within();

        // Switch limit.
        g.SetLimit(1);
        Assert.True(g.TryGo(fn), "TryGo should success but got failed.");
        Assert.False(g.TryGo(fn), "TryGo should fail but succeeded.");
        Go.Run(async () => await ch.ReceiveAsync());
        await g.WaitAsync().Within();

        // Block all calls.
        g.SetLimit(0);
        for (int i = 0; i < 1 << 10; i++) Assert.False(g.TryGo(fn), "TryGo should fail but got succeeded.");
        await g.WaitAsync().Within();
    }

    [Fact]
    public async Task TestGoLimit()
    {
        const int limit = 10;
        var g = new ErrGroup();
        g.SetLimit(limit);
        int active = 0;
        await Task.Run(() =>
        {
            for (int i = 0; i <= 1 << 10; i++)
            {
                g.Go(async () =>
                {
                    int n = Interlocked.Increment(ref active);
                    if (n > limit) throw new InvalidOperationException($"saw {n} active goroutines; want ≤ {limit}");
                    await Go.Sleep(TimeSpan.FromMicroseconds(1)); // give other goroutines a chance to increment active
                    Interlocked.Decrement(ref active);
                });
            }
        }).Within();
        await g.WaitAsync().Within();
    }

    /// <summary>Go's context.Cause(ctx) is <see cref="ErrGroup.Cause"/>; Go's context.Canceled is an <see cref="OperationCanceledException"/> for the group's own token.</summary>
    [Fact]
    public async Task TestCancelCause()
    {
        var errDoom = new InvalidOperationException("group_test: doomed");
        (Exception?[] errs, Exception? want)[] cases = [([], null), ([null], null), ([errDoom], errDoom), ([errDoom, null], errDoom)];
        foreach (var (errs, want) in cases)
        {
            var g = new ErrGroup(CancellationToken.None);
            foreach (var err in errs) g.TryGo(Returning(err));
            Assert.Same(want, await WaitError(g));
            if (want is null)
            {
                var canceled = Assert.IsType<OperationCanceledException>(g.Cause);
                Assert.Equal(g.Token, canceled.CancellationToken);
            }
            else
            {
                Assert.Same(want, g.Cause);
            }
        }
    }

    // BenchmarkGo is a benchmark, not a test.
}
