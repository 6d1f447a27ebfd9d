using System.Diagnostics;
using Xunit;

namespace Weft.Tests.Channels;

/// <summary>
/// Waits, bounded, until a channel has a live parked counterpart, so that a test can make sure an operation parked
/// before it acts instead of sleeping and hoping. Uses the readiness waits of the System.Threading.Channels adapters,
/// which count only nodes still waiting (a select's losing node, not yet dequeued by its owner, does not count).
/// </summary>
internal static class Parked
{
    /// <summary>
    /// How long a wake-up that is due may take before the test calls it lost: far beyond any real wake-up, yet short
    /// enough that a lost one fails by assertion before mutation testing would call the run a hang.
    /// </summary>
    public static readonly TimeSpan Prompt = TimeSpan.FromSeconds(3);

    /// <summary>Until a receive on <paramref name="ch"/> could complete: a value is buffered, or a sender (or a select's send case) waits.</summary>
    public static void Sender<T>(Chan<T> ch) =>
        Assert.True(ch.AsChannelReader().WaitToReadAsync().AsTask().Wait(TestTimeout.Default), "Timed out waiting for a parked sender.");

    /// <summary>Until a send on <paramref name="ch"/> could complete: there is room, or a receiver (or a select's receive case) waits.</summary>
    public static void Receiver<T>(Chan<T> ch) =>
        Assert.True(ch.AsChannelWriter().WaitToWriteAsync().AsTask().Wait(TestTimeout.Default), "Timed out waiting for a parked receiver.");

    /// <summary>Spins (then sleeps) until <paramref name="condition"/> holds; fails after <paramref name="limit"/> (default: the test timeout).</summary>
    public static void Until(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        var clock = Stopwatch.StartNew();
        var spin = new SpinWait();
        while (!condition())
        {
            DebugAsserts.ThrowIfViolated();
            if (clock.Elapsed > (limit ?? TestTimeout.Default)) Assert.Fail($"Timed out after {limit ?? TestTimeout.Default} waiting until {what}.");
            spin.SpinOnce();
        }
    }
}
