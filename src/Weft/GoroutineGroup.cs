using System.Globalization;

namespace Weft;

/// <summary>
/// Goroutines that are in the same state, wait for the same thing and were started at the same place, counted
/// together: one line of a grouped dump (as Go's <c>pprof goroutine?debug=1</c>), so a report stays a few lines long
/// however many goroutines share an origin.
/// </summary>
public sealed class GoroutineGroup
{
    internal GoroutineGroup(string state, string? waitReason, string? createdAt, int count, TimeSpan longestWait)
    {
        State = state;
        WaitReason = waitReason;
        CreatedAt = createdAt;
        Count = count;
        LongestWait = longestWait;
    }

    /// <summary><c>runnable</c>, <c>running</c> or <c>waiting</c>.</summary>
    public string State { get; }

    /// <summary>What the goroutines wait for (<c>chan receive</c>, <c>select</c>, <c>mutex</c>, <c>foreign await</c>…), or null when they do not wait.</summary>
    public string? WaitReason { get; }

    /// <summary>Where the goroutines were started (<c>file:line</c> of the <c>Go.Run</c> call), or null if unknown.</summary>
    public string? CreatedAt { get; }

    /// <summary>How many goroutines the group holds (at least 1).</summary>
    public int Count { get; }

    /// <summary>The longest time any goroutine of the group has been waiting; zero when they do not wait.</summary>
    public TimeSpan LongestWait { get; }

    /// <summary>The group as one dump line, e.g. <c>1000 @ waiting, chan receive, up to 120 ms: created at Program.cs:12</c>.</summary>
    /// <returns>The line, without a line break.</returns>
    public override string ToString()
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"{Count} @ {State}");
        if (WaitReason is not null) s += string.Create(CultureInfo.InvariantCulture, $", {WaitReason}, up to {(long)LongestWait.TotalMilliseconds} ms");
        return s + ": created at " + (CreatedAt ?? "?");
    }
}
