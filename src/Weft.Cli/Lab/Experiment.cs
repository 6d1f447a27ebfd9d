namespace Weft.Cli.Lab;

/// <summary>
/// One claim of the note as an experiment. Run measures on this machine and returns the result with its verdict;
/// it reports progress through <see cref="LabContext.Step"/> and never writes to the console.
/// </summary>
internal interface IExperiment
{
    string Id { get; }
    string Title { get; }
    ExperimentResult Run(LabContext context);
}

/// <summary>What an experiment may use: the size (quick or full), progress, and this program for child processes.</summary>
internal sealed class LabContext(bool quick, Action<string, double> step, CancellationToken cancellationToken)
{
    public bool Quick { get; } = quick;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Reports what the experiment does now and how far it is (0 to 1).</summary>
    public void Step(string what, double fraction) => step(what, Math.Clamp(fraction, 0, 1));

    /// <summary>Picks the quick or the full size.</summary>
    public T Size<T>(T quickValue, T fullValue) => Quick ? quickValue : fullValue;
}

/// <summary>The experiments, in the note's order.</summary>
internal static class ExperimentList
{
    public static IReadOnlyList<IExperiment> All() =>
    [
        new Experiments.CreateAndSwitch(),
        new Experiments.GoroutineMemory(),
        new Experiments.IpcExperiment(),
        new Experiments.IoBound(),
        new Experiments.PoolScenario(),
        new Experiments.Parallelism(),
        new Experiments.Locks(),
    ];
}
