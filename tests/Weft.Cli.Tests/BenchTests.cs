using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Weft.Cli.Tests;

/// <summary>`weft bench --quick` prints the header and one table row per workload with Weft's and .NET's figures and the ratio; --json has every sample.</summary>
[Collection("weft")]
public class BenchTests
{
    [Fact]
    public async Task Quick_prints_a_header_and_a_table_row_per_workload_with_figures_and_ratios()
    {
        string json = Path.Combine(Path.GetTempPath(), $"weft-bench-{Guid.NewGuid():N}.json");
        try
        {
            string[] workloads = ["spawn", "pingpong", "mutex", "pool-latency"];
            var r = await Weft.Run(TimeSpan.FromMinutes(3), "bench", "--quick", "--filter", string.Join(',', workloads), "--json", json);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains("machine:", r.Stdout, StringComparison.Ordinal);
            Assert.Contains(".NET", r.Stdout, StringComparison.Ordinal);
            Assert.Matches("Weft ÷ .NET", r.Stdout);
            foreach (string w in workloads)
            {
                // │ name │ unit │ median │ min–max │ median │ min–max │ ... ratio× │
                Assert.Matches(new Regex($@"│ {Regex.Escape(w)}\s+│ \S+/?\S*\s+│\s+[\d,.]+ │\s+[\d,.]+–[\d,.]+ │\s+[\d,.]+ │.*[\d.]+× │"), r.Stdout);
            }
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var rows = doc.RootElement.GetProperty("workloads").EnumerateArray().ToList();
            Assert.Equal(workloads, rows.Select(x => x.GetProperty("name").GetString()));
            foreach (var row in rows)
            {
                Assert.Equal(1, row.GetProperty("weft").GetProperty("samples").GetArrayLength());
                Assert.True(row.GetProperty("weft").GetProperty("median").GetDouble() > 0);
                Assert.True(row.GetProperty("dotnet").GetProperty("median").GetDouble() > 0);
            }
        }
        finally
        {
            File.Delete(json);
        }
    }
}
