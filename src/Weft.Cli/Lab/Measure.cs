using System.Diagnostics;
using System.Globalization;

namespace Weft.Cli.Lab;

/// <summary>Small measuring helpers shared by the experiments: process memory from /proc, percentiles, formatting.</summary>
internal static class Measure
{
    /// <summary>This process's resident set size in bytes (VmRSS).</summary>
    public static long Rss() => StatusField("/proc/self/status", "VmRSS:");

    /// <summary>This process's virtual size in bytes (VmSize): what thread stacks reserve.</summary>
    public static long VirtualSize() => StatusField("/proc/self/status", "VmSize:");

    /// <summary>A process's proportional set size (shared pages divided among their users), or -1 if it is gone.</summary>
    public static long Pss(int pid)
    {
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal)) return KiB(line);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return -1;
    }

    private static long StatusField(string path, string field)
    {
        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith(field, StringComparison.Ordinal)) return KiB(line);
        }
        return 0;
    }

    private static long KiB(string line) =>
        long.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;

    /// <summary>A full, compacting collection, so a managed-heap delta counts live objects only.</summary>
    public static long LiveManagedBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0) return double.NaN;
        int i = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(i, 0, sorted.Count - 1)];
    }

    public static double Median(IEnumerable<double> values)
    {
        var s = values.OrderBy(v => v).ToList();
        return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>Times <paramref name="n"/> calls of <paramref name="op"/>; nanoseconds per call.</summary>
    public static double NsPerOp(int n, Action op)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < n; i++) op();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / n;
    }

    public static string Ns(double ns) => ns switch
    {
        double.NaN => "–",
        < 1_000 => ns.ToString("0", CultureInfo.InvariantCulture) + " ns",
        < 1_000_000 => (ns / 1_000).ToString("0.0", CultureInfo.InvariantCulture) + " µs",
        < 1_000_000_000 => (ns / 1_000_000).ToString("0.0", CultureInfo.InvariantCulture) + " ms",
        _ => (ns / 1_000_000_000).ToString("0.00", CultureInfo.InvariantCulture) + " s",
    };

    public static string Bytes(double b) => b switch
    {
        double.NaN => "–",
        < 10_000 => b.ToString("#,0", CultureInfo.InvariantCulture) + " B",
        < 10_000_000 => (b / 1024).ToString("#,0.0", CultureInfo.InvariantCulture) + " KiB",
        < 10_000_000_000 => (b / 1024 / 1024).ToString("#,0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (b / 1024 / 1024 / 1024).ToString("#,0.00", CultureInfo.InvariantCulture) + " GiB",
    };

    public static string N(double v, string format = "#,0") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    public static string Ratio(double v) => double.IsNaN(v) || double.IsInfinity(v) ? "–" : v.ToString(v < 10 ? "0.00" : "#,0", CultureInfo.InvariantCulture) + "×";
}
