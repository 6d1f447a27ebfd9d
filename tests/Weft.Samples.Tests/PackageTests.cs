using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Xml.Linq;
using Weft.Tests;
using Xunit;
using Xunit.Abstractions;

namespace Weft.Samples.Tests;

/// <summary>
/// A fresh copy of the repository packs both packages into a local folder feed, and an application outside the
/// solution restores them from it, builds and runs. The copy is a new git repository with one commit and no tag, which
/// is what a fresh fork is: MinVer must still version it (0.0.0-alpha.0, then .N for N more commits).
/// </summary>
public class PackageTests(ITestOutputHelper output)
{
    private static readonly Guid s_embeddedSource = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    [Fact]
    public async Task A_fresh_copy_packs_both_packages_and_an_app_outside_the_solution_restores_them_and_runs()
    {
        string work = Directory.CreateTempSubdirectory("weft-package-").FullName;
        try
        {
            await PackAndUse(work).Within(TimeSpan.FromMinutes(8));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private async Task PackAndUse(string work)
    {
        var clock = Stopwatch.StartNew();
        string copy = Path.Combine(work, "weft");
        string feed = Path.Combine(work, "feed");
        CopyForPacking(ChildProcess.RepoRoot, copy);
        Git(copy, "init", "-q");
        Git(copy, "add", "-A");
        Git(copy, "-c", "user.name=weft-test", "-c", "user.email=weft-test@localhost", "commit", "-q", "-m", "snapshot");

        // As CI builds it (CI=true: ContinuousIntegrationBuild, deterministic paths).
        var ci = new Dictionary<string, string> { ["CI"] = "true" };
        var pack = await ChildProcess.RunDotnet(copy, TimeSpan.FromMinutes(5), ci, "pack", "pack.slnx", "-c", "Release", "-o", feed);
        Assert.True(pack.ExitCode == 0, pack.ToString());
        output.WriteLine($"copied and packed in {clock.Elapsed.TotalSeconds:F1} s");

        string weftPackage = Assert.Single(Directory.GetFiles(feed, "Weft.0*.nupkg"));
        string version = Path.GetFileNameWithoutExtension(weftPackage)["Weft.".Length..];
        Assert.StartsWith("0.0.0-alpha.0", version, StringComparison.Ordinal); // one commit, no tag: MinVer's default, no height
        Assert.True(File.Exists(Path.Combine(feed, $"Weft.Extensions.Hosting.{version}.nupkg")), string.Join(", ", Directory.GetFiles(feed)));
        CheckWeftPackage(weftPackage, Path.Combine(feed, $"Weft.{version}.snupkg"));
        CheckHostingPackage(Path.Combine(feed, $"Weft.Extensions.Hosting.{version}.nupkg"), version);

        // The application: implicit usings on, Weft's clashing names used bare, both packages from the folder feed.
        string app = Path.Combine(work, "app");
        WriteConsumer(app, feed, Path.Combine(work, "packages"), version);
        var noDirectoryFiles = new[] { "-p:ImportDirectoryBuildProps=false", "-p:ImportDirectoryBuildTargets=false" };
        var build = await ChildProcess.RunDotnet(app, TimeSpan.FromMinutes(3), null, ["build", "-c", "Release", .. noDirectoryFiles]);
        Assert.True(build.ExitCode == 0, build.ToString());
        // The analyzer inside the package ran: it flagged the async lambda given to Once.Do (a warning the app allows).
        Assert.Contains("warning WEFT0001", build.Stdout, StringComparison.Ordinal);
        output.WriteLine($"consumer restored and built at {clock.Elapsed.TotalSeconds:F1} s");
        var run = await ChildProcess.RunDotnet(app, TimeSpan.FromMinutes(1), null, Path.Combine(app, "bin", "Release", "net10.0", "Consumer.dll"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("types: Weft.Sync.Mutex Weft.Sync.Semaphore Weft.Timer", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("counted 10 under the mutex, at most 3 at once", run.Stdout, StringComparison.Ordinal);
        Assert.Contains($"weft {version}+", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("host stopped after waiting for: consumer group", run.Stdout, StringComparison.Ordinal);

        // With the aliases switched off the same code is ambiguous again: the opt-out works, and the aliases are what
        // made it compile.
        var optOut = await ChildProcess.RunDotnet(app, TimeSpan.FromMinutes(3), null,
            ["build", "-c", "Release", "--no-restore", "-p:WeftImplicitUsingAliases=false", "-o", Path.Combine(work, "optout"), .. noDirectoryFiles]);
        output.WriteLine($"opt-out build failed as expected at {clock.Elapsed.TotalSeconds:F1} s");
        Assert.NotEqual(0, optOut.ExitCode);
        Assert.Contains("CS0104", optOut.Stdout, StringComparison.Ordinal);
        Assert.Contains("'Mutex' is an ambiguous reference between", optOut.Stdout, StringComparison.Ordinal);
        Assert.Contains("'System.Threading.Mutex'", optOut.Stdout, StringComparison.Ordinal);
    }

    /// <summary>What packing needs: the root build files and src/, as git lists them (tracked or new, not ignored).</summary>
    private static void CopyForPacking(string repo, string copy)
    {
        string[] rootFiles = ["Directory.Build.props", "Directory.Build.targets", "LICENSE", "README.md", ".editorconfig", "global.json", "NuGet.config"];
        var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = repo };
        foreach (string a in new[] { "ls-files", "-z", "--cached", "--others", "--exclude-standard" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string listing = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        foreach (string file in listing.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!file.StartsWith("src/", StringComparison.Ordinal) && !rootFiles.Contains(file)) continue;
            string from = Path.Combine(repo, file);
            if (!File.Exists(from)) continue; // deleted in the working tree
            string to = Path.Combine(copy, file);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to);
        }
        File.WriteAllText(Path.Combine(copy, "pack.slnx"), """
            <Solution>
              <Project Path="src/Weft/Weft.csproj" />
              <Project Path="src/Weft.Extensions.Hosting/Weft.Extensions.Hosting.csproj" />
            </Solution>
            """);
    }

    private static void CheckWeftPackage(string nupkg, string snupkg)
    {
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
            foreach (string expected in new[] { "LICENSE", "README.md", "buildTransitive/Weft.targets", "lib/net10.0/Weft.dll", "lib/net10.0/Weft.xml", "analyzers/dotnet/cs/Weft.Analyzers.dll" })
                Assert.Contains(expected, entries);
            var meta = Nuspec(zip);
            Assert.Equal("MIT", meta.Element(meta.Name.Namespace + "license")?.Value);
            Assert.Equal("README.md", meta.Element(meta.Name.Namespace + "readme")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(meta.Element(meta.Name.Namespace + "authors")?.Value));
            Assert.Contains("goroutine", meta.Element(meta.Name.Namespace + "tags")?.Value, StringComparison.Ordinal);
            string description = meta.Element(meta.Name.Namespace + "description")!.Value;
            Assert.DoesNotContain("IPC", description, StringComparison.Ordinal); // not built yet: the package must not claim it
        }

        // Symbols: a portable PDB whose sources are embedded and whose paths are deterministic (/_/), as CI builds it.
        using var symbols = ZipFile.OpenRead(snupkg);
        var pdbEntry = symbols.Entries.Single(e => e.FullName == "lib/net10.0/Weft.pdb");
        using var pdbStream = new MemoryStream();
        using (var s = pdbEntry.Open()) s.CopyTo(pdbStream);
        pdbStream.Position = 0;
        using var provider = MetadataReaderProvider.FromPortablePdbStream(pdbStream);
        var pdb = provider.GetMetadataReader();
        var documents = pdb.Documents.Select(d => pdb.GetString(pdb.GetDocument(d).Name)).ToList();
        Assert.Contains(documents, d => d.EndsWith("Runtime/Scheduler.cs", StringComparison.Ordinal));
        Assert.All(documents, d => Assert.StartsWith("/_/", d, StringComparison.Ordinal));
        int embedded = pdb.CustomDebugInformation.Count(h => pdb.GetGuid(pdb.GetCustomDebugInformation(h).Kind) == s_embeddedSource);
        Assert.True(embedded >= documents.Count(d => d.EndsWith(".cs", StringComparison.Ordinal)), $"{embedded} embedded sources for {documents.Count} documents");
    }

    private static void CheckHostingPackage(string nupkg, string version)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        Assert.Contains("lib/net10.0/Weft.Extensions.Hosting.dll", zip.Entries.Select(e => e.FullName));
        Assert.Contains("README.md", zip.Entries.Select(e => e.FullName));
        var meta = Nuspec(zip);
        Assert.Equal("MIT", meta.Element(meta.Name.Namespace + "license")?.Value);
        var weftDependency = meta.Descendants(meta.Name.Namespace + "dependency").Single(d => (string?)d.Attribute("id") == "Weft");
        Assert.Equal(version, (string?)weftDependency.Attribute("version"));
    }

    private static XElement Nuspec(ZipArchive zip)
    {
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var s = entry.Open();
        return XDocument.Load(s).Root!.Elements().First(e => e.Name.LocalName == "metadata");
    }

    private static void WriteConsumer(string app, string feed, string packages, string version)
    {
        Directory.CreateDirectory(app);
        string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        // The local feed is added to the sources the machine already has (no <clear/>). Weft's packages restore into a
        // folder of this test's own, so a package left by an earlier run with the same version is never used; the
        // machine's global folder is a read-only fallback for everything else (Microsoft.Extensions.Hosting...).
        File.WriteAllText(Path.Combine(app, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="weft-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <WarningsNotAsErrors>WEFT0001</WarningsNotAsErrors>
                <RestorePackagesPath>{packages}</RestorePackagesPath>
                <RestoreFallbackFolders>{globalPackages}</RestoreFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Weft" Version="{version}" />
                <PackageReference Include="Weft.Extensions.Hosting" Version="{version}" />
                <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.12" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using System.Reflection;
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Hosting;
            using Microsoft.Extensions.Logging;
            using Weft;
            using Weft.Sync;

            var mu = new Mutex();                       // System.Threading.Mutex too, under implicit usings
            var sem = new Semaphore(3);                 // System.Threading.Semaphore too
            Timer t = Go.NewTimer(TimeSpan.FromMilliseconds(1)); // System.Threading.Timer too
            var wg = new WaitGroup();
            int count = 0, inside = 0, most = 0;
            for (int i = 0; i < 10; i++)
            {
                wg.Go(async () =>
                {
                    await sem.AcquireAsync();
                    int now = Interlocked.Increment(ref inside);
                    await mu.LockAsync();
                    count++;
                    most = Math.Max(most, now);
                    mu.Unlock();
                    await Go.Yield();
                    Interlocked.Decrement(ref inside);
                    sem.Release();
                });
            }
            await wg.WaitAsync();
            await t.C.ReceiveAsync();
            new Once().Do(async () => await Task.Yield()); // WEFT0001: the package's analyzer must say so

            var builder = Host.CreateApplicationBuilder(args);
            builder.Logging.ClearProviders();
            builder.Services.AddWeft().WaitOnShutdown("consumer group", _ => wg);
            using var host = builder.Build();
            await host.StartAsync();
            await host.StopAsync();

            string? weft = typeof(Go).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            Console.WriteLine($"types: {mu.GetType()} {sem.GetType()} {t.GetType()}");
            Console.WriteLine($"counted {count} under the mutex, at most {most} at once");
            Console.WriteLine($"weft {weft}");
            Console.WriteLine("host stopped after waiting for: consumer group");
            """);
    }

    private static void Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { UseShellExecute = false, WorkingDirectory = dir, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)}: {err}");
    }
}
