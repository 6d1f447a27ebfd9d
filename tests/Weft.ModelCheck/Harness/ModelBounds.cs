namespace Weft.ModelCheck.Harness;

/// <summary>
/// The preemption bound of a model test: the test's own (sized so the whole project runs in well under a minute on
/// two cores), raised by WEFT_MODEL_PREEMPTIONS for a deeper local run (a lower value leaves a test's own bound: each
/// test asserts that its schedules reach both sides of its race, which the smallest bounds do not).
/// </summary>
public static class ModelBounds
{
    public const string Variable = "WEFT_MODEL_PREEMPTIONS";

    public static int Preemptions(int testDefault)
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(value)) return testDefault;
        if (int.TryParse(value.Trim(), out int n) && n is >= 0 and <= 8) return Math.Max(n, testDefault);
        throw new InvalidOperationException($"{Variable}='{value}' is not valid: expected a whole number of preemptions from 0 to 8 (unset: each test's own bound).");
    }
}
