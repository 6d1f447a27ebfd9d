using System.Globalization;

namespace Weft.Runtime;

/// <summary>
/// Runtime settings: read once from the environment, validated, and overridable through <see cref="Go"/> before the
/// scheduler starts (MaxProcs also while it runs). A bad value is an error that names the variable, the value and
/// what is allowed; it is never replaced by a silent default.
/// </summary>
internal sealed class RuntimeConfig
{
    public const int MaxProcsLimit = 1024;
    public const int MinStackSize = 256 * 1024;
    public const long MaxStackSize = 1L << 30;

    public const string MaxProcsVariable = "WEFT_MAXPROCS";
    public const string StackSizeVariable = "WEFT_STACKSIZE";
    public const string BlockingThresholdVariable = "WEFT_BLOCKING_THRESHOLD_MS";
    public const string NetpollSpinVariable = "WEFT_NETPOLL_SPIN_US";
    public const int MaxNetpollSpinMicroseconds = 1000;

    public int MaxProcs { get; set; }
    public int StackSize { get; set; }
    public TimeSpan BlockingThreshold { get; set; }
    public TimeSpan NetpollSpin { get; set; }
    public TimeSpan? SchedTrace { get; set; }
    public DeadlockDetection Deadlock { get; set; }
    public bool FlowExecutionContext { get; set; } = true;

    private static RuntimeConfig? s_current;
    private static readonly Lock s_lock = new();

    /// <summary>The settings, read from the environment on first use. Throws if a variable is invalid.</summary>
    public static RuntimeConfig Current
    {
        get
        {
            var c = Volatile.Read(ref s_current);
            if (c is not null) return c;
            lock (s_lock)
            {
                return s_current ??= FromEnvironment(Environment.GetEnvironmentVariable);
            }
        }
    }

    public static RuntimeConfig FromEnvironment(Func<string, string?> get) => new()
    {
        MaxProcs = ParseMaxProcs(get(MaxProcsVariable)),
        StackSize = ParseStackSize(get(StackSizeVariable)),
        BlockingThreshold = ParseThreshold(get(BlockingThresholdVariable)),
        NetpollSpin = ParseNetpollSpin(get(NetpollSpinVariable)),
        SchedTrace = Runtime.SchedTrace.Parse(get(Runtime.SchedTrace.Variable)),
        Deadlock = DeadlockDetector.Parse(get(DeadlockDetector.Variable)),
        FlowExecutionContext = ContextFlow.Parse(get(ContextFlow.Variable)),
    };

    public static int ParseMaxProcs(string? value)
    {
        if (value is null) return Math.Min(Environment.ProcessorCount, MaxProcsLimit);
        if (!int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1 || n > MaxProcsLimit)
            throw new InvalidOperationException(
                $"{MaxProcsVariable}='{value}' is not valid: expected a whole number of processors from 1 to {MaxProcsLimit} (unset it to use Environment.ProcessorCount, {Environment.ProcessorCount}).");
        return n;
    }

    public static int ParseStackSize(string? value)
    {
        const int Default = 16 * 1024 * 1024;
        if (value is null) return Default;
        string v = value.Trim();
        long mult = 1;
        if (v.Length > 0 && char.ToLowerInvariant(v[^1]) is 'k' or 'm' or 'g')
        {
            mult = char.ToLowerInvariant(v[^1]) switch { 'k' => 1024, 'm' => 1024 * 1024, _ => 1024 * 1024 * 1024 };
            v = v[..^1];
        }
        if (!long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > MaxStackSize / mult || n * mult < MinStackSize)
            throw new InvalidOperationException(
                $"{StackSizeVariable}='{value}' is not valid: expected a stack size in bytes, or with a k/m/g suffix, from 256k to 1g (default 16m).");
        return (int)(n * mult);
    }

    public static TimeSpan ParseThreshold(string? value)
    {
        if (value is null) return TimeSpan.FromMilliseconds(10);
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) || !(ms >= 1) || ms > 60_000)
            throw new InvalidOperationException(
                $"{BlockingThresholdVariable}='{value}' is not valid: expected milliseconds from 1 to 60000 (default 10).");
        return TimeSpan.FromMilliseconds(ms);
    }

    /// <summary>The poller M's longest spin before it blocks in epoll_wait (Netpoll.cs, "The spin"): whole microseconds.</summary>
    public static TimeSpan ParseNetpollSpin(string? value)
    {
        if (value is null) return TimeSpan.FromMicroseconds(20);
        if (!int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int us) || us < 0 || us > MaxNetpollSpinMicroseconds)
            throw new InvalidOperationException(
                $"{NetpollSpinVariable}='{value}' is not valid: expected whole microseconds from 0 (no spin) to {MaxNetpollSpinMicroseconds} (default 20).");
        return TimeSpan.FromMicroseconds(us);
    }
}
