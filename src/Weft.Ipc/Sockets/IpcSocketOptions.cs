// IpcSocketOptions — the settings of a socket listener or connect (IpcSocket.cs): frame size, backlog, who may
// connect, and whether TCP may leave loopback. One class for both kinds and both sides, so code that switches
// between a Unix socket and TCP keeps its settings; each property says where it applies.

using Weft.Ipc.Framing;

namespace Weft.Ipc;

/// <summary>Settings for <see cref="IpcSocket"/>'s listeners and connects. Every property has a safe default.</summary>
/// <example><code>
/// var options = new IpcSocketOptions { MaxFrameSize = 4096, AllowedUids = [1001] };
/// using var listener = IpcSocket.ListenUnix(IpcSocket.UnixPath("app.sock"), IpcCodec.Utf8(), options);
/// </code></example>
public sealed class IpcSocketOptions
{
    internal static readonly IpcSocketOptions Default = new();

    /// <summary>The largest payload of one frame, 1 to 16 MiB (default 64 KiB). Both ends must use the same value, or the hello refuses the larger side.</summary>
    public int MaxFrameSize { get; init; } = FrameFormat.DefaultMaxFrameSize;

    /// <summary>Listeners: the kernel's queue of connections not yet accepted, 1 to 65535 (default 128).</summary>
    public int Backlog { get; init; } = 128;

    /// <summary>
    /// Unix sockets: uids besides this process's own that may be at the other end (SO_PEERCRED). A listener refuses
    /// any other peer and reports it (<see cref="IpcListener{T}.Refusals"/>); a connect refuses a listener of
    /// another uid with <see cref="UnauthorizedAccessException"/>. Null or empty: this user only. Ignored by TCP,
    /// which has no peer credentials.
    /// </summary>
    public IReadOnlyCollection<uint>? AllowedUids { get; init; }

    /// <summary>TCP: allow an address other than loopback (default false: such an address is refused with <see cref="ArgumentException"/>). A TCP peer is not authenticated.</summary>
    public bool AllowNonLoopback { get; init; }

    /// <summary>Listeners: how many refusals <see cref="IpcListener{T}.Refusals"/> buffers, 0 to 65536 (default 64). Refusals beyond it are dropped from the channel and counted in <see cref="IpcListener{T}.RefusalsDropped"/>; <see cref="IpcListener{T}.RefusedCount"/> counts them all.</summary>
    public int RefusalCapacity { get; init; } = 64;

    internal void Validate(bool listener, string paramName = "options")
    {
        FrameFormat.CheckMaxFrameSize(MaxFrameSize, paramName);
        if (!listener) return;
        if (Backlog is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(paramName, Backlog, $"IpcSocketOptions.Backlog (a listener's backlog) must be from 1 to 65535; it was {Backlog}.");
        }
        if (RefusalCapacity is < 0 or > 65536)
        {
            throw new ArgumentOutOfRangeException(paramName, RefusalCapacity, $"IpcSocketOptions.RefusalCapacity (the refusal channel's capacity) must be from 0 to 65536; it was {RefusalCapacity}.");
        }
    }
}
