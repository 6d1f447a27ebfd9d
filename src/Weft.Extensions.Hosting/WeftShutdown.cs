using Microsoft.Extensions.Logging;
using Weft.Sync;

namespace Weft.Extensions.Hosting;

/// <summary>
/// What the host waits for when it stops: the goroutine groups the application registered, either at startup through
/// <see cref="WeftBuilder.WaitOnShutdown(string, Func{IServiceProvider, WaitGroup})"/> or at run time through
/// <see cref="Register(string, Func{CancellationToken, ValueTask})"/> on this service (inject it).
/// </summary>
/// <remarks>
/// <para>When the host stops, after <c>IHostApplicationLifetime.ApplicationStopping</c> has been signalled (the cue for
/// the goroutines to finish), every registered wait runs at once. The host's shutdown timeout
/// (<c>HostOptions.ShutdownTimeout</c>, 30 s by default) bounds them all: a group that has not finished by then is
/// named in a warning and left running, and the host goes on stopping.</para>
/// <para>A group that ends with an error (an <see cref="ErrGroup"/>'s first exception) is logged as an error; it does
/// not stop the others from being waited for.</para>
/// </remarks>
/// <example>
/// <code>
/// public sealed class Importer(WeftShutdown shutdown)
/// {
///     public void StartBatch(IEnumerable&lt;string&gt; files, CancellationToken stopping)
///     {
///         var g = new ErrGroup(stopping);
///         foreach (var f in files) g.Go(() =&gt; ImportAsync(f, g.Token));
///         shutdown.Register("import batch", g); // dispose the returned registration once the batch is done
///     }
/// }
/// </code>
/// </example>
public sealed class WeftShutdown
{
    private readonly Lock _lock = new();
    private readonly List<Entry> _entries = []; // guarded by _lock
    private readonly IServiceProvider _services;

    internal WeftShutdown(IEnumerable<ShutdownRegistration> registrations, IServiceProvider services)
    {
        _services = services;
        foreach (var r in registrations) _entries.Add(new Entry(r.Name, r.Wait, null));
    }

    /// <summary>Registers a wait that shutdown awaits.</summary>
    /// <param name="name">Names the work in log messages (e.g. "crawler workers").</param>
    /// <param name="wait">Completes when the work is done. It receives a token that is cancelled when the host's
    /// shutdown timeout elapses; the wait should then return (throwing <see cref="OperationCanceledException"/> is
    /// fine). It is awaited with that token as well, so a wait that ignores it only keeps running in the background.</param>
    /// <returns>Disposing it removes the registration (do so when the work is over, so it is not kept alive).</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="wait"/> is null.</exception>
    /// <example><code>using var reg = shutdown.Register("pool", ct => new ValueTask(pool.AwaitTerminationAsync(Timeout.InfiniteTimeSpan, ct)));</code></example>
    public IDisposable Register(string name, Func<CancellationToken, ValueTask> wait)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(wait);
        var entry = new Entry(name, null, wait);
        lock (_lock) _entries.Add(entry);
        return new Registration(this, entry);
    }

    /// <summary>Registers a <see cref="WaitGroup"/>: shutdown waits until its counter is zero.</summary>
    /// <param name="name">Names the group in log messages.</param>
    /// <param name="group">The group.</param>
    /// <returns>Disposing it removes the registration.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> is null.</exception>
    /// <example><code>shutdown.Register("workers", wg);</code></example>
    public IDisposable Register(string name, WaitGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return Register(name, group.WaitAsync);
    }

    /// <summary>Registers an <see cref="ErrGroup"/>: shutdown waits until every function of it has returned, and logs its first error.</summary>
    /// <param name="name">Names the group in log messages.</param>
    /// <param name="group">The group.</param>
    /// <returns>Disposing it removes the registration.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> is null.</exception>
    /// <example><code>shutdown.Register("fetchers", errGroup);</code></example>
    public IDisposable Register(string name, ErrGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return Register(name, group.WaitAsync);
    }

    /// <summary>Awaits every registered wait until <paramref name="cancellationToken"/> (the host's shutdown timeout) ends; never throws.</summary>
    internal async Task WaitAllAsync(ILogger logger, CancellationToken cancellationToken)
    {
        Entry[] entries;
        lock (_lock) entries = [.. _entries];
        if (entries.Length == 0) return;
        WeftLog.WaitingOnShutdown(logger, entries.Length, string.Join(", ", entries.Select(e => e.Name)));
        var finished = await Task.WhenAll(entries.Select(e => WaitOneAsync(e, logger, cancellationToken))).ConfigureAwait(false);
        var unfinished = entries.Where((_, i) => !finished[i]).Select(e => e.Name).ToArray();
        if (unfinished.Length > 0) WeftLog.ShutdownGaveUp(logger, unfinished.Length, string.Join(", ", unfinished));
    }

    private async Task<bool> WaitOneAsync(Entry entry, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var wait = entry.Wait is not null ? entry.Wait(cancellationToken)
                : entry.Factory!(_services, cancellationToken);
            await wait.AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
#pragma warning disable CA1031 // one group's failure is logged and must not hide the others or fail the host's stop
        catch (Exception e)
#pragma warning restore CA1031
        {
            WeftLog.ShutdownWaitFailed(logger, e, entry.Name);
            return true;
        }
    }

    private void Remove(Entry entry)
    {
        lock (_lock) _entries.Remove(entry);
    }

    private sealed record Entry(string Name, Func<IServiceProvider, CancellationToken, ValueTask>? Factory, Func<CancellationToken, ValueTask>? Wait);

    private sealed class Registration(WeftShutdown owner, Entry entry) : IDisposable
    {
        public void Dispose() => owner.Remove(entry);
    }
}

/// <summary>A wait registered at startup by <see cref="WeftBuilder"/>; resolved from the container when the host stops.</summary>
internal sealed record ShutdownRegistration(string Name, Func<IServiceProvider, CancellationToken, ValueTask> Wait);
