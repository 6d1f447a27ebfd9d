namespace Weft.Tests;

/// <summary>
/// Scales stress-test iteration counts. The default run keeps the whole suite within minutes on two cores;
/// <c>WEFT_STRESS=N</c> (a whole number from 1 to 1000; <c>WEFT_STRESS=1</c> means 10) multiplies the counts for long runs.
/// </summary>
public static class Stress
{
    public static readonly int Factor = Parse(Environment.GetEnvironmentVariable("WEFT_STRESS"));

    public static int Scale(int n) => checked(n * Factor);

    private static int Parse(string? v)
    {
        if (string.IsNullOrEmpty(v)) return 1;
        if (!int.TryParse(v, out int f) || f < 1 || f > 1000)
            throw new InvalidOperationException($"WEFT_STRESS='{v}' is not valid: expected a whole number from 1 to 1000.");
        return f == 1 ? 10 : f;
    }
}
