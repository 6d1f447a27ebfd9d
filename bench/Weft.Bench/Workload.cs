namespace Weft.Bench;

/// <summary>
/// One named workload of the suite. <see cref="RunWeft"/> returns the figure for Weft; <see cref="RunBaseline"/>
/// returns the same figure measured on .NET's own primitives (Task, ThreadPool, System.Threading.Channels), or
/// null where no baseline is defined. Each call is one measurement; the harness repeats it and prints the median.
/// </summary>
public abstract class Workload
{
    public abstract string Name { get; }
    public abstract string Unit { get; }

    /// <summary>How many measured repetitions the harness takes (after one warm-up).</summary>
    public virtual int Repetitions => 5;

    /// <summary>Whether a warm-up run precedes the measured ones.</summary>
    public virtual bool WarmUp => true;

    /// <summary>Whether the workload runs only when named on the command line (the IPC rows start other processes).</summary>
    public virtual bool OnlyByName => false;

    public abstract double RunWeft();
    public virtual double? RunBaseline() => null;

    /// <summary>
    /// One measurement in a fresh process (<c>--child NAME weft|tpl</c>), for figures that depend on process-wide
    /// state a previous run leaves behind: RSS that never shrinks back, or the .NET ThreadPool's injected threads.
    /// </summary>
    protected double InFreshProcess(string which) =>
        double.Parse(ChildProcess.Run(["--child", Name, which], $"{Name} child ({which})").Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What a <c>--child</c> process measures; only workloads that use <see cref="InFreshProcess"/> override it.</summary>
    public virtual double MeasureInThisProcess(string which) =>
        throw new NotSupportedException($"{Name} does not measure in a child process.");
}

/// <summary>Starts this program again with other arguments (same runtime, same environment) and returns what it printed.</summary>
internal static class ChildProcess
{
    /// <exception cref="InvalidOperationException">The child exited with a non-zero code; <paramref name="what"/> names it.</exception>
    public static string Run(string[] args, string what)
    {
        var psi = PeerRoles.StartInfo(args);
        psi.RedirectStandardOutput = true;
        using var p = System.Diagnostics.Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} failed with exit code {p.ExitCode}: {output}");
        return output;
    }
}
