using System.Text.Json;
using Xunit;

namespace Weft.Cli.Tests;

/// <summary>Help runs nothing and exits 0; a wrong command line exits 2 with an error that names what was wrong.</summary>
[Collection("weft")]
public class CommandLineTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("--help")]
    [InlineData("lab", "--help")]
    [InlineData("bench", "--help")]
    [InlineData("crawl", "--help")]
    public async Task Help_exits_0_and_runs_nothing(params string[] args)
    {
        string json = Path.Combine(Path.GetTempPath(), $"weft-help-{Guid.NewGuid():N}.json");
        // --json beside --help: had anything run, the file would exist.
        var r = await Weft.Run(s_timeout, args[0] is "--help" or "crawl" ? args : [.. args, "--json", json]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("USAGE:", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Verdict:", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("round 1", r.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("pages fetched", r.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(json), "help ran the command: it wrote " + json);
    }

    [Theory]
    [InlineData("Unknown option 'bogus'", "lab", "--bogus")]
    [InlineData("Unknown option 'bogus'", "bench", "--quick", "--bogus")]
    [InlineData("Unknown command 'nope'", "nope")]
    [InlineData("--only: unknown experiment 'nope'", "lab", "--only", "nope")]
    [InlineData("--filter: unknown workload 'nope'", "bench", "--filter", "nope")]
    [InlineData("--rounds 0: must be 1 to 100", "bench", "--rounds", "0")]
    [InlineData("is not an absolute http or https address", "crawl", "not-a-url")]
    [InlineData("--compare crawls the embedded demo site only", "crawl", "http://127.0.0.1:9/", "--compare")]
    public async Task A_wrong_command_line_exits_2_with_an_error_naming_it(string error, params string[] args)
    {
        var r = await Weft.Run(s_timeout, args);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.Contains(error, r.Stderr, StringComparison.Ordinal);
        Assert.Contains("weft --help", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Verdict:", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_to_standard_output_leaves_it_to_the_json_alone()
    {
        var r = await Weft.Run(s_timeout, "lab", "--quick", "--only", "locks", "--json=-");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var doc = JsonDocument.Parse(r.Stdout); // nothing but the document
        Assert.Equal("locks", Assert.Single(doc.RootElement.GetProperty("experiments").EnumerateArray().ToList()).GetProperty("id").GetString());
        Assert.Contains("Verdict:", r.Stderr, StringComparison.Ordinal); // the view went to standard error
    }
}
