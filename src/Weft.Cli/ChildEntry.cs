using System.Globalization;
using Weft.Cli.Lab.Experiments;

namespace Weft.Cli;

/// <summary>The hidden entry points of the child processes that `weft` starts of itself (see <see cref="SelfProcess"/>).</summary>
internal static class ChildEntry
{
    public static int Run(string[] args)
    {
        bool quick = args.Length > 2 && args[2] == "quick";
        return args switch
        {
            ["pool", var which, _] => PoolScenario.Child(which, quick),
            ["parallel", var which, _] => Parallelism.Child(which, quick),
            ["memory", var n, _] => GoroutineMemory.Child(int.Parse(n, CultureInfo.InvariantCulture)),
            ["bench", var name, var which, var mode] => Bench.BenchRunner.Child(name, which, mode),
            _ => Unknown(args),
        };
    }

    private static int Unknown(string[] args)
    {
        Console.Error.WriteLine($"weft {SelfProcess.ChildVerb}: unknown child job '{string.Join(' ', args)}'");
        return ExitCodes.Usage;
    }
}
