using Xunit;

namespace Weft.Cli.Tests;

/// <summary>The tool packs, installs from the local nupkg with `dotnet tool install --tool-path`, and the installed `weft` runs.</summary>
[Collection("weft-tool")] // packing is mostly restore and disk: it runs beside the other tests
public class ToolPackageTests
{
    [Fact]
    public async Task The_tool_packs_installs_from_a_local_folder_and_runs()
    {
        string work = Directory.CreateTempSubdirectory("weft-tool-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed"), tools = Path.Combine(work, "tools");
            // --no-build: the test run already built src/Weft.Cli in this configuration.
            var pack = await Weft.Run("dotnet", ["pack", Path.Combine(Weft.RepoRoot, "src", "Weft.Cli"), "-c", Weft.Configuration, "--no-build", "-o", feed], Weft.RepoRoot, TimeSpan.FromMinutes(3));
            Assert.True(pack.ExitCode == 0, pack.ToString());
            string nupkg = Assert.Single(Directory.GetFiles(feed, "Weft.Cli.*.nupkg"));
            string version = Path.GetFileNameWithoutExtension(nupkg)["Weft.Cli.".Length..];

            var install = await Weft.Run("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed, "--version", version, "Weft.Cli"], work, TimeSpan.FromMinutes(3));
            Assert.True(install.ExitCode == 0, install.ToString());

            var help = await Weft.Run(Path.Combine(tools, "weft"), ["--help"], work, TimeSpan.FromMinutes(1));
            Assert.True(help.ExitCode == 0, help.ToString());
            Assert.Contains("weft [OPTIONS] <COMMAND>", help.Stdout, StringComparison.Ordinal);
            var locks = await Weft.Run(Path.Combine(tools, "weft"), ["lab", "--quick", "--only", "locks"], work, TimeSpan.FromMinutes(1));
            Assert.True(locks.ExitCode == 0, locks.ToString());
            Assert.Contains("Verdict:", locks.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
