namespace Weft.Testing;

/// <summary>
/// <see cref="Bubble.Explore"/> found a seed under which the test body fails. Replay it with
/// <c>Bubble.Run(body, seed: ex.Seed)</c>: the same seed gives the same interleaving.
/// </summary>
public sealed class BubbleSeedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="seed">The failing seed.</param>
    /// <param name="tried">How many seeds ran, the failing one included.</param>
    /// <param name="inner">The failure.</param>
    public BubbleSeedException(int seed, int tried, Exception inner)
        : base($"The test failed with seed {seed} (after {tried} seed(s)); replay it with Bubble.Run(body, seed: {seed}). {inner.GetType().Name}: {inner.Message}", inner)
    {
        Seed = seed;
        Tried = tried;
    }

    /// <summary>The seed that reproduces the failure.</summary>
    public int Seed { get; }

    /// <summary>How many seeds ran, the failing one included.</summary>
    public int Tried { get; }
}
