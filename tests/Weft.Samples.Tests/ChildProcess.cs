using System.Diagnostics;

namespace Weft.Samples.Tests;

/// <summary>Starts dotnet in a child process and collects its output, killing it past a deadline.</summary>
internal static class ChildProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string All => Stdout + Stderr;

        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    /// <summary>The repository root (the folder with Weft.slnx), found from the test assembly's folder.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The build configuration the tests were built in (Release or Debug): the samples were built in it too.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public static async Task<Result> RunDotnet(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string name in new[] { "WEFT_MAXPROCS", "WEFT_SCHEDTRACE", "WEFT_STACKSIZE", "WEFT_BLOCKING_THRESHOLD_MS", "WEFT_DEADLOCK" })
            psi.Environment.Remove(name);
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        if (env is not null)
        {
            foreach (var (k, v) in env) psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish within {timeout}.\n{await stdout}\n{await stderr}");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a sample's built program (samples/NAME/bin/CONFIGURATION/net10.0/NAME.dll) from a neutral folder.</summary>
    public static Task<Result> RunSample(string name, params string[] args)
    {
        string tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
        string dll = Path.Combine(RepoRoot, "samples", name, "bin", Configuration, tfm, name + ".dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"sample {name} is not built at {dll}", dll);
        return RunDotnet(Path.GetTempPath(), TimeSpan.FromSeconds(90), null, [dll, .. args]);
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Weft.slnx"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Weft.slnx above {AppContext.BaseDirectory}");
    }
}
