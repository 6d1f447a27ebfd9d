namespace Weft.Cli;

/// <summary>Finding the programs `weft` compares against (go, gcc) the way a shell would.</summary>
internal static class Executables
{
    /// <summary>The first <paramref name="name"/> in a directory of PATH, or null.</summary>
    public static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
