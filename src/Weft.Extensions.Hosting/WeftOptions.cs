namespace Weft.Extensions.Hosting;

/// <summary>
/// Weft's runtime settings in a host, bound from the configuration section <c>Weft</c> (<see cref="SectionName"/>)
/// by <c>services.AddWeft()</c> and applied when the host starts.
/// </summary>
/// <remarks>
/// <para>A setting left unset (null) keeps what Weft has without the host: its <c>WEFT_*</c> environment variable,
/// else Weft's default. A setting that is set wins over the environment variable.</para>
/// <para>Each setting applies while goroutines run, so the order of <c>Go.Run</c> calls and host start does not matter:
/// <see cref="MaxProcs"/> resizes the processor set (no queued goroutine is lost); <see cref="BlockingThreshold"/> and
/// <see cref="DeadlockDetection"/> are read by the scheduler's monitor thread on each tick.</para>
/// <para>A bad value (out of range, not a number, an unknown name or an unknown key in the section) stops the host
/// from starting with an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> that names the key, the
/// value and what is allowed.</para>
/// </remarks>
/// <example>
/// <code>
/// // appsettings.json
/// { "Weft": { "MaxProcs": 4, "BlockingThreshold": "00:00:00.020", "DeadlockDetection": "Report",
///             "UnhandledException": "StopHost" } }
/// </code>
/// </example>
public sealed class WeftOptions
{
    /// <summary>The configuration section that <c>AddWeft</c> binds: <c>Weft</c>.</summary>
    public const string SectionName = "Weft";

    /// <summary>
    /// The number of processors (Go's GOMAXPROCS), from 1 to 1024; <see cref="Go.MaxProcs"/>. Null keeps
    /// <c>WEFT_MAXPROCS</c> or <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public int? MaxProcs { get; set; }

    /// <summary>
    /// How long a goroutine may hold its thread without awaiting before its processor is handed to another thread,
    /// from 1 ms to 60 s; <see cref="Go.BlockingThreshold"/>. Configuration form: a <see cref="TimeSpan"/>,
    /// e.g. <c>"00:00:00.020"</c>. Null keeps <c>WEFT_BLOCKING_THRESHOLD_MS</c> or 10 ms.
    /// </summary>
    public TimeSpan? BlockingThreshold { get; set; }

    /// <summary>
    /// What Weft does when every goroutine is asleep: <c>Off</c>, <c>Report</c> or <c>Fail</c>;
    /// <see cref="Go.DeadlockDetection"/>. Null keeps <c>WEFT_DEADLOCK</c> or <c>Fail</c>. Detection runs only in a program
    /// started with <c>Go.Main</c>; there, a report goes to the <c>Weft</c> logger instead of standard error.
    /// </summary>
    public DeadlockDetection? DeadlockDetection { get; set; }

    /// <summary>
    /// What the host does when an exception escapes a goroutine; it is logged either way. Default
    /// <see cref="UnhandledGoroutineExceptionBehavior.StopHost"/>.
    /// </summary>
    public UnhandledGoroutineExceptionBehavior UnhandledException { get; set; } = UnhandledGoroutineExceptionBehavior.StopHost;

    /// <summary>What the configuration binder could not read; reported by the validator with the range errors.</summary>
    internal List<string> BindErrors { get; } = [];
}
