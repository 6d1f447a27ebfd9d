using System.Diagnostics.Metrics;

namespace Weft.Diagnostics;

/// <summary>
/// The one <see cref="Meter"/> that every Weft component reports to. Its name, <c>Weft</c>, is what
/// <c>dotnet-counters monitor --counters Weft</c> and OpenTelemetry's <c>AddMeter("Weft")</c> select.
/// </summary>
/// <remarks>
/// Instruments are observable (pull-based) wherever the value already exists as a field, so a process with no
/// listener attached pays nothing: the callbacks run only when a listener collects.
/// </remarks>
public static class WeftMeter
{
    /// <summary>The meter's name, <c>Weft</c>.</summary>
    public const string Name = "Weft";

    /// <summary>The shared meter instance.</summary>
    public static Meter Meter { get; } = new(Name, typeof(WeftMeter).Assembly.GetName().Version?.ToString());
}
