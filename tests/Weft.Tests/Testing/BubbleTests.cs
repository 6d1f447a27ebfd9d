using Weft.Testing;
using Xunit;

namespace Weft.Tests.Testing;

/// <summary>Bubbles, tested with bubbles: virtual time, WaitIdle, seeds that replay and explore, deadlocks.</summary>
public class BubbleTests
{
    [Fact]
    public async Task AnHourOfSleepPassesInVirtualTime()
    {
        DateTimeOffset after = default;
        await Bubble.Run(async b =>
        {
            Assert.Equal(Bubble.Epoch, b.Now);
            await Go.Sleep(TimeSpan.FromHours(1));
            after = b.Now;
        }).Within();
        Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(1), after);
    }

    [Fact]
    public async Task SleepersWakeInDeadlineOrderAtTheirVirtualDeadline()
    {
        var woke = new List<(int hours, DateTimeOffset at)>();
        await Bubble.Run(async b =>
        {
            foreach (int h in new[] { 3, 1, 2 })
            {
                Go.Run(async () =>
                {
                    await Go.Sleep(TimeSpan.FromHours(h));
                    woke.Add((h, b.Now));
                });
            }
            await Go.Sleep(TimeSpan.FromHours(4));
        }).Within();
        Assert.Equal(new[] { 1, 2, 3 }, woke.Select(w => w.hours));
        Assert.All(woke, w => Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(w.hours), w.at));
    }

    [Fact]
    public async Task WaitIdleReturnsOnceOthersAreBlockedWithoutMovingTime()
    {
        int parked = 0;
        DateTimeOffset at = default;
        await Bubble.Run(async b =>
        {
            for (int i = 0; i < 10; i++)
            {
                Go.Run(async () =>
                {
                    for (int k = 0; k < 5; k++) await Go.Yield();
                    parked++;
                    await Go.Sleep(TimeSpan.FromMinutes(1));
                });
            }
            await b.WaitIdleAsync();
            Assert.Equal(10, parked);
            at = b.Now;
        }).Within();
        Assert.Equal(Bubble.Epoch, at);
    }

    private static async Task<string> Trace(int seed)
    {
        var events = new List<string>();
        await Bubble.Run(async () =>
        {
            for (int g = 0; g < 5; g++)
            {
                int id = g;
                Go.Run(async () =>
                {
                    for (int k = 0; k < 4; k++)
                    {
                        events.Add($"{id}.{k}");
                        await Go.Yield();
                    }
                });
            }
            await Go.Sleep(TimeSpan.FromSeconds(1));
        }, seed).Within();
        return string.Join(" ", events);
    }

    [Fact]
    public async Task TheSameSeedReplaysTheSameInterleaving()
    {
        string first = await Trace(seed: 1234);
        string second = await Trace(seed: 1234);
        Assert.Equal(first, second);
        Assert.Equal(20, first.Split(' ').Length);
    }

    [Fact]
    public async Task DifferentSeedsExploreDifferentInterleavings()
    {
        var traces = new HashSet<string>();
        for (int seed = 0; seed < 10; seed++) traces.Add(await Trace(seed));
        Assert.True(traces.Count > 1, "ten seeds all produced one interleaving");
    }

    /// <summary>A deliberately racy withdrawal: check the balance, yield, then act.</summary>
    private static async Task RacyWithdrawals(Bubble b)
    {
        int balance = 100;
        int done = 0;
        for (int i = 0; i < 2; i++)
        {
            Go.Run(async () =>
            {
                if (balance >= 100)
                {
                    await Go.Yield();
                    balance -= 100;
                }
                done++;
            });
        }
        while (done < 2) await Go.Yield();
        if (balance < 0) throw new InvalidOperationException($"overdrawn: balance {balance}");
    }

    [Fact]
    public async Task ExploreFindsARealRaceAndItsSeedReplays()
    {
        var ex = await Assert.ThrowsAsync<BubbleSeedException>(() => Bubble.Explore(RacyWithdrawals, seeds: 1000)).Within();
        Assert.True(ex.Tried <= 1000);
        Assert.Contains("overdrawn", ex.Message);
        Assert.Contains($"seed: {ex.Seed}", ex.Message);
        // Replaying the reported seed fails the same way, every time.
        for (int i = 0; i < 3; i++)
        {
            var again = await Assert.ThrowsAsync<InvalidOperationException>(() => Bubble.Run(RacyWithdrawals, ex.Seed)).Within();
            Assert.Contains("overdrawn", again.Message);
        }
    }

    [Fact]
    public async Task ExplorePassesACorrectBody()
    {
        int n = await Bubble.Explore(async b =>
        {
            int balance = 100;
            Go.Run(async () => { await Go.Yield(); balance -= 50; });
            await Go.Sleep(TimeSpan.FromSeconds(1));
            Assert.Equal(50, balance);
        }, seeds: 50).Within();
        Assert.Equal(50, n);
    }

    [Fact]
    public async Task ADeadlockFailsWithADumpOfEveryGoroutine()
    {
        var ex = await Assert.ThrowsAsync<DeadlockException>(() => Bubble.Run(async b =>
        {
            Go.Run(async () => await Go.Sleep(Timeout.InfiniteTimeSpan));
            await Go.Sleep(TimeSpan.FromMinutes(5));
            await Go.Sleep(Timeout.InfiniteTimeSpan);
        }, seed: 9)).Within();
        Assert.Equal(9, ex.Seed);
        Assert.Contains("every goroutine in the bubble is blocked", ex.Message);
        var lines = ex.Message.Split('\n').Where(l => l.StartsWith("goroutine ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.All(lines, l => Assert.Contains("waiting, sleep", l));
        Assert.All(lines, l => Assert.Contains(nameof(BubbleTests) + ".cs:", l));
        // The spawned goroutine has waited the full five virtual minutes.
        Assert.Contains(lines, l => l.Contains("300000 ms virtual"));
    }

    [Fact]
    public async Task GoroutinesLeftBlockedAfterTheBodyReturnsAreADeadlock()
    {
        var ex = await Assert.ThrowsAsync<DeadlockException>(() => Bubble.Run(() =>
        {
            Go.Run(async () => await Go.Sleep(Timeout.InfiniteTimeSpan));
            return Task.CompletedTask;
        })).Within();
        Assert.Contains("body returned", ex.Message);
    }

    [Fact]
    public async Task ForeignAwaitsAreAllowedAndHoldTimeStill()
    {
        DateTimeOffset afterDelay = default;
        string? text = null;
        await Bubble.Run(async b =>
        {
            Go.Run(async () => await Go.Sleep(TimeSpan.FromHours(1)));
            await Task.Delay(30);                         // real time; the hour-long sleeper must not fire meanwhile
            afterDelay = b.Now;
            string path = Path.GetTempFileName();
            await File.WriteAllTextAsync(path, "io");
            text = await File.ReadAllTextAsync(path);
            File.Delete(path);
        }).Within();
        Assert.Equal(Bubble.Epoch, afterDelay);
        Assert.Equal("io", text);
    }

    [Fact]
    public async Task TheBubblesTimeProviderRunsOnVirtualTime()
    {
        DateTimeOffset fired = default;
        await Bubble.Run(async b =>
        {
            await Task.Delay(TimeSpan.FromHours(2), b.TimeProvider);
            fired = b.TimeProvider.GetUtcNow();
        }).Within();
        Assert.Equal(Bubble.Epoch + TimeSpan.FromHours(2), fired);
    }

    [Fact]
    public async Task AnExceptionInABubbleGoroutineFailsTheBubble()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Bubble.Run(async () =>
        {
            Go.Run(() => throw new FormatException("inner"));
            await Go.Sleep(TimeSpan.FromSeconds(1));
        })).Within();
        Assert.IsType<FormatException>(ex.InnerException);
    }

    [Fact]
    public async Task WaitIdleFromOutsideTheBubbleIsAClearError()
    {
        Bubble? captured = null;
        await Bubble.Run(b => { captured = b; return Task.CompletedTask; }).Within();
        var ex = Assert.Throws<InvalidOperationException>(() => { _ = captured!.WaitIdleAsync(); });
        Assert.Contains("from a goroutine in this bubble", ex.Message);
    }
}
