using System.Text;
using Weft.Runtime;

namespace Weft.Testing;

/// <summary>
/// Fails a test that ends with goroutines still alive (Go's goleak). Take a snapshot when the test starts; when it
/// ends, every goroutine started since must have finished, or <see cref="VerifyAsync"/> throws with a dump of them.
/// </summary>
/// <remarks>
/// Goroutines alive at <see cref="Start"/> are ignored. Goroutines that finish within the grace period count as
/// finished: a test that closes a channel and returns does not have to wait for its workers itself.
/// </remarks>
/// <example>
/// <code>
/// await using var leaks = LeakCheck.Start();
/// Go.Run(async () => await jobs.ReceiveAsync());   // never sent to: VerifyAsync (or DisposeAsync) throws
/// </code>
/// </example>
public sealed class LeakCheck : IAsyncDisposable
{
    private readonly HashSet<Goroutine> _before;
    private readonly TimeSpan _grace;
    private bool _verified;

    private LeakCheck(TimeSpan grace)
    {
        _grace = grace;
        _before = new HashSet<Goroutine>(Registry.Snapshot(), ReferenceEqualityComparer.Instance);
    }

    /// <summary>Snapshots the live goroutines.</summary>
    /// <param name="grace">How long <see cref="VerifyAsync"/> waits for stragglers to finish. Default 1 s.</param>
    /// <returns>The check; verify it (or dispose it) when the test ends.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="grace"/> is negative.</exception>
    public static LeakCheck Start(TimeSpan? grace = null)
    {
        var g = grace ?? TimeSpan.FromSeconds(1);
        if (g < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(grace), g, "The grace period must be zero or positive.");
        return new LeakCheck(g);
    }

    /// <summary>The goroutines started since <see cref="Start"/> that are still alive now.</summary>
    /// <returns>Their dump lines (empty when none leaked).</returns>
    public IReadOnlyList<string> Leaked()
    {
        var lines = new List<string>();
        long now = Environment.TickCount64;
        foreach (var g in Registry.Snapshot())
        {
            if (_before.Contains(g) || g.IsFinished) continue;
            var sb = new StringBuilder();
            g.DescribeTo(sb, now);
            lines.Add(sb.ToString().TrimEnd());
        }
        return lines;
    }

    /// <summary>Waits up to the grace period for goroutines started since <see cref="Start"/> to finish.</summary>
    /// <returns>A task that completes when none is left.</returns>
    /// <exception cref="GoroutineLeakException">Some are still alive after the grace period (thrown when awaited).</exception>
    public async Task VerifyAsync()
    {
        _verified = true;
        var deadline = DateTime.UtcNow + _grace;
        while (true)
        {
            var leaked = Leaked();
            if (leaked.Count == 0) return;
            if (DateTime.UtcNow >= deadline) throw new GoroutineLeakException(leaked);
            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Verifies, unless <see cref="VerifyAsync"/> already ran.</summary>
    /// <returns>A task that fails with <see cref="GoroutineLeakException"/> if goroutines leaked.</returns>
    public ValueTask DisposeAsync() => _verified ? ValueTask.CompletedTask : new ValueTask(VerifyAsync());
}
