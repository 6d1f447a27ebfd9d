using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Weft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Weft to a generic host (<c>Host.CreateApplicationBuilder</c>, <c>WebApplication.CreateBuilder</c>).</summary>
public static class WeftServiceCollectionExtensions
{
    /// <summary>
    /// Adds Weft: <see cref="WeftOptions"/> bound from the configuration section <c>Weft</c> and validated when the
    /// host starts, then applied to the runtime; unhandled goroutine exceptions and deadlock reports logged through
    /// <c>ILogger</c> (category <c>Weft</c>); graceful shutdown that waits for the groups registered on the returned
    /// builder or with <see cref="WeftShutdown"/>. Calling it again adds nothing twice.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <returns>A builder to register what shutdown waits for.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <remarks>
    /// Export Weft's metrics with OpenTelemetry by adding its meter:
    /// <c>builder.Services.AddOpenTelemetry().WithMetrics(m =&gt; m.AddMeter(WeftMeter.Name));</c>
    /// </remarks>
    /// <example>
    /// <code>
    /// var builder = Host.CreateApplicationBuilder(args);
    /// builder.Services.AddSingleton&lt;Pipeline&gt;();
    /// builder.Services.AddWeft().WaitOnShutdown("pipeline", sp =&gt; sp.GetRequiredService&lt;Pipeline&gt;().Workers);
    /// await builder.Build().RunAsync();
    /// </code>
    /// </example>
    public static WeftBuilder AddWeft(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<WeftOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<WeftOptions>, WeftOptionsBinder>(
            static sp => new WeftOptionsBinder(sp.GetService<IConfiguration>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WeftOptions>, WeftOptionsValidator>());
        services.TryAddSingleton(static sp => new WeftShutdown(sp.GetServices<ShutdownRegistration>(), sp));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WeftHostedService>());
        return new WeftBuilder(services);
    }

    /// <summary>
    /// Adds Weft as <see cref="AddWeft(IServiceCollection)"/> does, then applies <paramref name="configure"/> on top of
    /// the <c>Weft</c> section (code wins over configuration; the result is validated the same way).
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Sets options in code.</param>
    /// <returns>A builder to register what shutdown waits for.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is null.</exception>
    /// <example><code>builder.Services.AddWeft(o =&gt; o.DeadlockDetection = DeadlockDetection.Fail);</code></example>
    public static WeftBuilder AddWeft(this IServiceCollection services, Action<WeftOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddWeft();
        services.Configure(configure);
        return builder;
    }
}
