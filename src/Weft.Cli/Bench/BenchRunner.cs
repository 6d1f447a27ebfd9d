// `weft bench`: the workload suite of bench/Weft.Bench (the same Workload classes, referenced, not copied), each
// figure measured in a fresh child process as bench/Weft.Bench does, for `rounds` rounds that alternate Weft, its
// .NET baseline, Go (when Go is installed and bench/go is found) and, for the IPC rows, the C floor of bench/ipc-c
// (when gcc is on PATH), so machine noise hits them all alike. The
// table shows medians with each figure's spread (min–max over the rounds' repetitions) and the ratios.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Weft.Bench;

namespace Weft.Cli.Bench;

internal sealed record BenchRow(string Name, string Unit, List<double> Weft, List<double> Baseline, List<double> Go, List<double> C);

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

    /// <summary>bench/<paramref name="folder"/>/run.sh, looked for above the current folder and above this program's folder; its folder, or null when absent.</summary>
    public static string? ScriptDir(string folder)
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string p = Path.Combine(d.FullName, "bench", folder, "run.sh");
                if (File.Exists(p)) return Path.GetDirectoryName(p);
            }
        }
        return null;
    }

    /// <summary>The rows bench/ipc-c/ipcfloor.c measures: the C floor of the IPC workloads of the same names.</summary>
    public static readonly IReadOnlySet<string> CRows = new HashSet<string>
    {
        "ipc-pipe", "ipc-unix", "ipc-mq", "ipc-tcp", "ipc-unix-throughput", "ipc-pipe-throughput", "ipc-shm", "ipc-shm-spin", "ipc-shm-throughput", "ipc-sem", "ipc-sem-async",
    };

    /// <summary>Runs bench/go/run.sh with <paramref name="go"/> for the named workloads; "NAME.go VALUE UNIT" lines become NAME → value.</summary>
    public static Dictionary<string, double> RunGo(string dir, string go, IEnumerable<string> names) =>
        RunScript(dir, [.. names], ".go", new Dictionary<string, string> { ["GO"] = go });

    /// <summary>Builds and runs bench/ipc-c/run.sh (the C floor) for the named rows, with <paramref name="roundTrips"/> per row; "NAME.c VALUE UNIT" lines become NAME → value.</summary>
    public static Dictionary<string, double> RunC(string dir, int roundTrips, IEnumerable<string> names) =>
        RunScript(dir, [roundTrips.ToString(CultureInfo.InvariantCulture), .. names], ".c", null);

    private static Dictionary<string, double> RunScript(string dir, string[] args, string suffix, Dictionary<string, string>? env)
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(dir, "run.sh"), .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (env is not null)
        {
            foreach (var (k, v) in env) psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"bench/{Path.GetFileName(dir)}/run.sh exited with {p.ExitCode}: {stderr.Result.Trim()}");
        var d = new Dictionary<string, double>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            if (parts.Length >= 2 && parts[0].EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(parts[1], CultureInfo.InvariantCulture, out double v))
                d[parts[0][..^suffix.Length]] = v;
        }
        return d;
    }

    public static string ToolVersion(string path, string args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(path, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            string v = p.StandardOutput.ReadToEnd().Split('\n')[0].Trim();
            p.WaitForExit();
            return v;
        }
        catch (System.ComponentModel.Win32Exception) { return Path.GetFileName(path); }
    }

    /// <summary>
    /// The workloads that <paramref name="filter"/> selects: comma-separated names or globs (<c>*</c>, <c>?</c>), e.g.
    /// <c>pingpong,ipc-*</c>. Without a filter, every workload except those that run only by name (the IPC rows).
    /// </summary>
    /// <exception cref="ArgumentException">A name or glob matches no workload; the message lists the known ones.</exception>
    public static List<Workload> Select(IReadOnlyList<Workload> all, string? filter)
    {
        if (filter is null) return all.Where(w => !w.OnlyByName).ToList();
        var patterns = filter.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (patterns.Length == 0) throw new ArgumentException("--filter is empty; give workload names or globs, comma-separated (e.g. pingpong,ipc-*)");
        var unmatched = patterns.Where(p => !all.Any(w => Matches(p, w.Name))).ToList();
        if (unmatched.Count > 0)
            throw new ArgumentException($"--filter: unknown workload '{string.Join("', '", unmatched)}' (no workload name matches); known: {string.Join(", ", all.Select(w => w.Name))}");
        return all.Where(w => patterns.Any(p => Matches(p, w.Name))).ToList();
    }

    private static bool Matches(string pattern, string name) =>
        System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(pattern, name, ignoreCase: false);

    /// <summary>A figure: one decimal below 1,000 (ns-scale figures), none above (µs-scale round trips, msgs/s), so a spread stays on one line.</summary>
    public static string Figure(double x) => Lab.Measure.N(x, Math.Abs(x) >= 1000 ? "#,0" : "#,0.0");

    /// <summary>The median of a column's samples, or "–" when it has none.</summary>
    public static string Cell(List<double> v) => v.Count == 0 ? "–" : Figure(Lab.Measure.Median(v));

    /// <summary>min–max of a column's samples, or "–".</summary>
    public static string Spread(List<double> v) => v.Count == 0 ? "–" : $"{Figure(v.Min())}–{Figure(v.Max())}";

    /// <summary>The ratio of two columns' medians, or "–" when either is empty.</summary>
    public static string Ratio(List<double> a, List<double> b) => a.Count == 0 || b.Count == 0 ? "–" : Lab.Measure.Ratio(Lab.Measure.Median(a) / Lab.Measure.Median(b));

    /// <summary>The table as Markdown: medians and the ratios, one row per workload, with the Go and C columns when they ran.</summary>
    public static string Markdown(IEnumerable<BenchRow> rows, bool go, bool c)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("| workload | unit | Weft | .NET baseline |").Append(go ? " Go |" : "").Append(c ? " C |" : "")
          .Append(go ? " Weft ÷ Go |" : "").Append(c ? " Weft ÷ C |" : "").AppendLine(" Weft ÷ .NET |");
        sb.Append("|---|---|---:|---:|").Append(go ? "---:|" : "").Append(c ? "---:|" : "").Append(go ? "---:|" : "").Append(c ? "---:|" : "").AppendLine("---:|");
        foreach (var r in rows)
        {
            sb.Append($"| {r.Name} | {r.Unit} | {Cell(r.Weft)} | {Cell(r.Baseline)} |");
            if (go) sb.Append($" {Cell(r.Go)} |");
            if (c) sb.Append($" {Cell(r.C)} |");
            if (go) sb.Append($" {Ratio(r.Weft, r.Go)} |");
            if (c) sb.Append($" {Ratio(r.Weft, r.C)} |");
            sb.AppendLine($" {Ratio(r.Weft, r.Baseline)} |");
        }
        return sb.ToString();
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
                ["c"] = Stats(r.C),
            }).ToArray()),
        };
    }
}
