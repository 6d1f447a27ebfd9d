using Microsoft.Extensions.DependencyInjection;
using Weft.Sync;

namespace Weft.Extensions.Hosting;

/// <summary>
/// Returned by <c>services.AddWeft()</c>: registers, at startup, the goroutine groups that graceful shutdown waits for
/// (see <see cref="WeftShutdown"/> for what waiting means and how the shutdown timeout bounds it).
/// </summary>
/// <example>
/// <code>
/// builder.Services.AddSingleton&lt;Crawler&gt;();
/// builder.Services.AddWeft()
///     .WaitOnShutdown("crawler", sp =&gt; sp.GetRequiredService&lt;Crawler&gt;().Workers);
/// </code>
/// </example>
public sealed class WeftBuilder
{
    internal WeftBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection that <c>AddWeft</c> was called on.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Waits on shutdown until the <see cref="WaitGroup"/> that <paramref name="group"/> returns is done.</summary>
    /// <param name="name">Names the group in log messages.</param>
    /// <param name="group">Resolves the group when the host stops (so the service holding it may be created lazily).</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> is null.</exception>
    /// <example><code>builder.Services.AddWeft().WaitOnShutdown("workers", sp =&gt; sp.GetRequiredService&lt;Pipeline&gt;().Workers);</code></example>
    public WeftBuilder WaitOnShutdown(string name, Func<IServiceProvider, WaitGroup> group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return WaitOnShutdown(name, (sp, ct) => group(sp).WaitAsync(ct));
    }

    /// <summary>Waits on shutdown until every function of the <see cref="ErrGroup"/> that <paramref name="group"/> returns has returned; its first error is logged.</summary>
    /// <param name="name">Names the group in log messages.</param>
    /// <param name="group">Resolves the group when the host stops.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> is null.</exception>
    /// <example><code>builder.Services.AddWeft().WaitOnShutdown("fetchers", sp =&gt; sp.GetRequiredService&lt;Crawler&gt;().Group);</code></example>
    public WeftBuilder WaitOnShutdown(string name, Func<IServiceProvider, ErrGroup> group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return WaitOnShutdown(name, (sp, ct) => group(sp).WaitAsync(ct));
    }

    /// <summary>Waits on shutdown for any work: <paramref name="wait"/> completes when the work is done.</summary>
    /// <param name="name">Names the work in log messages.</param>
    /// <param name="wait">Called when the host stops, with the container and a token cancelled when the host's
    /// shutdown timeout elapses.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="wait"/> is null.</exception>
    /// <example>
    /// <code>
    /// builder.Services.AddWeft().WaitOnShutdown("blocking pool", (sp, ct) =&gt;
    /// {
    ///     var pool = sp.GetRequiredService&lt;ThreadPoolExecutor&gt;();
    ///     pool.Shutdown();
    ///     return new ValueTask(pool.AwaitTerminationAsync(Timeout.InfiniteTimeSpan, ct));
    /// });
    /// </code>
    /// </example>
    public WeftBuilder WaitOnShutdown(string name, Func<IServiceProvider, CancellationToken, ValueTask> wait)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(wait);
        Services.AddSingleton(new ShutdownRegistration(name, wait));
        return this;
    }
}
