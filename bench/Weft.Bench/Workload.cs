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

    public abstract double RunWeft();
    public virtual double? RunBaseline() => null;
}
