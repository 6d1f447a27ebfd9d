using System.Diagnostics;

namespace Weft.Cli;

/// <summary>
/// Starts this program again (the same runtime and entry point) with other arguments, for a measurement that needs a
/// fresh process: a MaxProcs that is fixed per process, a .NET ThreadPool that earlier work has not grown, memory that
/// earlier work has not touched. The child's arguments start with <see cref="ChildVerb"/>, which `weft` answers
/// before its command parser, so children never show in help.
/// </summary>
internal static class SelfProcess
{
    public const string ChildVerb = "__child";

    /// <summary>Runs `weft __child ARGS` and returns its standard output.</summary>
    /// <exception cref="InvalidOperationException">The child failed or ran past <paramref name="timeout"/>; the message has its output.</exception>
    public static string RunChild(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") psi.ArgumentList.Add(typeof(SelfProcess).Assembly.Location);
        psi.ArgumentList.Add(ChildVerb);
        foreach (string a in args) psi.ArgumentList.Add(a);
        if (env is not null)
        {
            foreach (var (k, v) in env) psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"weft {ChildVerb} {string.Join(' ', psi.ArgumentList.Skip(1))} ran past {timeout.TotalSeconds:0} s");
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"weft {ChildVerb} {string.Join(' ', args)} exited with {p.ExitCode}: {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }
}
