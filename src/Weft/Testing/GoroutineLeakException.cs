namespace Weft.Testing;

/// <summary>A test ended with goroutines still alive; the message lists each with what it waits for and where it was started.</summary>
public sealed class GoroutineLeakException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="leaked">One dump line per leaked goroutine.</param>
    public GoroutineLeakException(IReadOnlyList<string> leaked)
        : base($"{leaked.Count} goroutine(s) leaked:{Environment.NewLine}{string.Join(Environment.NewLine, leaked)}") => Leaked = leaked;

    /// <summary>One dump line per leaked goroutine.</summary>
    public IReadOnlyList<string> Leaked { get; }
}
