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

    [Fact]
    public async Task Ipc_rows_run_when_a_glob_selects_them_with_their_peer_processes_and_the_C_floor_beside_them_when_gcc_is_there()
    {
        // ipc-mq starts `weft --ipc-mq-peer` as its other process, so this also pins that `weft` answers the peer roles.
        string json = Path.Combine(Path.GetTempPath(), $"weft-bench-{Guid.NewGuid():N}.json");
        try
        {
            var r = await Weft.Run(TimeSpan.FromMinutes(3), "bench", "--quick", "--filter", "ipc-m*,ipc-se?", "--json", json);
            Assert.True(r.ExitCode == 0, r.ToString());
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var rows = doc.RootElement.GetProperty("workloads").EnumerateArray().ToList();
            Assert.Equal(["ipc-mq", "ipc-sem"], rows.Select(x => x.GetProperty("name").GetString()));
            bool gcc = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "gcc")));
            foreach (var row in rows)
            {
                Assert.True(row.GetProperty("weft").GetProperty("median").GetDouble() > 0, row.ToString());
                Assert.Equal(JsonValueKind.Null, row.GetProperty("dotnet").ValueKind); // .NET has no message queue and no named semaphore on Linux
                if (gcc) Assert.True(row.GetProperty("c").GetProperty("median").GetDouble() > 0, row.ToString());
            }
            if (gcc) Assert.Contains("Weft ÷ C", r.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task A_glob_that_matches_no_workload_is_an_error_and_help_tells_of_globs()
    {
        var r = await Weft.Run(TimeSpan.FromSeconds(60), "bench", "--filter", "ipc-nothing*");
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains("--filter: unknown workload 'ipc-nothing*'", r.Stderr, StringComparison.Ordinal);
        var help = await Weft.Run(TimeSpan.FromSeconds(60), "bench", "--help");
        Assert.Contains("ipc-*", help.Stdout, StringComparison.Ordinal);
    }
}
