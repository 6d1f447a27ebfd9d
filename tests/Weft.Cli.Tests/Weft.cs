using System.Diagnostics;

namespace Weft.Cli.Tests;

/// <summary>Runs the built `weft` (src/Weft.Cli/bin/CONFIGURATION/net10.0/Weft.Cli.dll) and collects its output, killing it past a deadline.</summary>
public static class Weft
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    public static string Dll => Path.Combine(RepoRoot, "src", "Weft.Cli", "bin", Configuration, "net10.0", "Weft.Cli.dll");

    public static Task<Result> Run(TimeSpan timeout, params string[] args) => Run("dotnet", [Dll, .. args], Path.GetTempPath(), timeout);

    public static async Task<Result> Run(string program, string[] args, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? env = null)
    {
        if (program == "dotnet" && !File.Exists(Dll)) throw new FileNotFoundException($"weft is not built at {Dll}", Dll);
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        foreach (string name in new[] { "WEFT_MAXPROCS", "WEFT_SCHEDTRACE", "WEFT_STACKSIZE", "WEFT_BLOCKING_THRESHOLD_MS", "WEFT_DEADLOCK" })
            psi.Environment.Remove(name);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
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
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish within {timeout}.\n{await stdout}\n{await stderr}");
        }
        return new Result(p.ExitCode, await stdout, await stderr);
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
