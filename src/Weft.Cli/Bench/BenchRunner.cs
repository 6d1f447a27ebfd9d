// `weft bench`: the workload suite of bench/Weft.Bench (the same Workload classes, referenced, not copied), each
// figure measured in a fresh child process as bench/Weft.Bench does, for `rounds` rounds that alternate Weft, its
// .NET baseline and Go (when `go` is on PATH and bench/go is found), so machine noise hits all three alike. The
// table shows medians with each figure's spread (min–max over the rounds' repetitions) and the ratios.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Weft.Bench;

namespace Weft.Cli.Bench;

internal sealed record BenchRow(string Name, string Unit, List<double> Weft, List<double> Baseline, List<double> Go);

internal static class BenchRunner
{
    /// <summary>The child side: `__child bench NAME weft|tpl quick|full` prints each repetition's figure on one line, or nothing without a baseline.</summary>
    public static int Child(string name, string which, string mode)
    {
        var w = Workloads.All().Single(x => x.Name == name);
        bool quick = mode == "quick";
        Func<double> run = which == "weft" ? w.RunWeft : () => w.RunBaseline()!.Value;
        if (which == "tpl" && w.RunBaseline() is null) return 0; // the call also warms the baseline up
        if (!quick && w.WarmUp)
        {
            var warm = Stopwatch.StartNew();
            do run(); while (warm.Elapsed < TimeSpan.FromSeconds(2));
        }
        var values = new List<double>();
        for (int i = 0; i < (quick ? 1 : w.Repetitions); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            values.Add(run());
        }
        Console.WriteLine(string.Join(' ', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        return 0;
    }

    public static List<double> Parse(string output) =>
        output.Split([' ', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToList();

    /// <summary>bench/go, looked for above the current folder and above this program's folder; null when absent.</summary>
    public static string? GoBenchDir()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string p = Path.Combine(d.FullName, "bench", "go", "run.sh");
                if (File.Exists(p)) return Path.GetDirectoryName(p);
            }
        }
        return null;
    }

    /// <summary>Runs bench/go/run.sh for the named workloads; "NAME.go VALUE UNIT" lines become NAME → value.</summary>
    public static Dictionary<string, double> RunGo(string dir, IEnumerable<string> names)
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(dir, "run.sh"), .. names]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        _ = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var d = new Dictionary<string, double>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length >= 2 && parts[0].EndsWith(".go", StringComparison.Ordinal) && double.TryParse(parts[1], CultureInfo.InvariantCulture, out double v))
                d[parts[0][..^3]] = v;
        }
        return d;
    }

    public static string GoVersion()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("go", "version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            string v = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return v;
        }
        catch (System.ComponentModel.Win32Exception) { return "go"; }
    }

    public static JsonObject Json(IEnumerable<BenchRow> rows, string machine, string runtime, int rounds, bool quick)
    {
        static JsonNode? Stats(List<double> v) => v.Count == 0 ? null : new JsonObject
        {
            ["median"] = Lab.Measure.Median(v),
            ["min"] = v.Min(),
            ["max"] = v.Max(),
            ["samples"] = new JsonArray(v.Select(x => (JsonNode)x).ToArray()),
        };
        return new JsonObject
        {
            ["tool"] = "weft bench",
            ["machine"] = machine,
            ["runtime"] = runtime,
            ["rounds"] = rounds,
            ["quick"] = quick,
            ["workloads"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Name,
                ["unit"] = r.Unit,
                ["weft"] = Stats(r.Weft),
                ["dotnet"] = Stats(r.Baseline),
                ["go"] = Stats(r.Go),
            }).ToArray()),
        };
    }
}
