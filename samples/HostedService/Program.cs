// Weft in a generic host (Weft.Extensions.Hosting): order-processing goroutines fed by a BackgroundService. The
// runtime settings come from appsettings.json's "Weft" section; an exception escaping a goroutine is logged and stops
// the host; on shutdown the host waits for the workers to drain the channel (up to its shutdown timeout).
//
//   dotnet run -c Release --project samples/HostedService [orders]
//
// The producer stops the application itself after the last order, so the run ends on its own; exits 0 when every
// order produced was processed.
using System.Globalization;
using HostedService;

int count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddSingleton(new OrderOptions(count));
builder.Services.AddSingleton<Orders>();
builder.Services.AddHostedService<OrderProducer>();
builder.Services.AddWeft()                                    // binds "Weft" from appsettings.json
    .WaitOnShutdown("order workers", sp => sp.GetRequiredService<Orders>().Workers);
// Export Weft's metrics too, with the OpenTelemetry packages:
//   builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(Weft.Diagnostics.WeftMeter.Name));

using var host = builder.Build();
var orders = host.Services.GetRequiredService<Orders>();
await host.RunAsync();

Console.WriteLine($"orders: produced {orders.Produced}, processed {orders.Processed}, processed after the stop signal {orders.AfterStop}");
return orders.Produced == count && orders.Processed == count ? 0 : 1;
