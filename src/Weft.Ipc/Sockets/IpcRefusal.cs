// IpcRefusal — a connection a Unix socket listener closed because of who was at the other end (SocketSetup.cs has
// the rule). Reported on the listener's Refusals channel, so a program can log it, alert on it, or select on it.

namespace Weft.Ipc;

/// <summary>A peer that a listener refused (its uid was not this user's and not allowed), as the kernel reported it.</summary>
/// <example><code>
/// await foreach (IpcRefusal r in listener.Refusals) logger.LogWarning("refused {Refusal}", r);
/// </code></example>
public sealed class IpcRefusal
{
    internal IpcRefusal(string endpoint, int processId, uint userId, uint groupId, string reason)
    {
        Endpoint = endpoint;
        ProcessId = processId;
        UserId = userId;
        GroupId = groupId;
        Reason = reason;
        Time = DateTimeOffset.UtcNow;
    }

    /// <summary>The listener's socket path.</summary>
    public string Endpoint { get; }

    /// <summary>The peer's process id when it connected (SO_PEERCRED).</summary>
    public int ProcessId { get; }

    /// <summary>The peer's user id (SO_PEERCRED).</summary>
    public uint UserId { get; }

    /// <summary>The peer's group id (SO_PEERCRED).</summary>
    public uint GroupId { get; }

    /// <summary>Why it was refused.</summary>
    public string Reason { get; }

    /// <summary>When it was refused (UTC).</summary>
    public DateTimeOffset Time { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Endpoint}: refused pid {ProcessId} (uid {UserId}, gid {GroupId}) at {Time:O}: {Reason}";
}
