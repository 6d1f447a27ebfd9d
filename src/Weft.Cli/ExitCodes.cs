namespace Weft.Cli;

/// <summary>The exit codes of `weft`.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The command ran and failed: an experiment or workload threw, a crawl did not fetch each page exactly once.</summary>
    public const int Failed = 1;
    /// <summary>The command line was wrong: an unknown command or flag, or a bad value.</summary>
    public const int Usage = 2;
}
