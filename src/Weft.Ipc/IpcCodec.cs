// IpcCodec — the codecs Weft.Ipc ships: unmanaged values copied as their bytes, and byte arrays. JSON
// (source-generated System.Text.Json) comes with the cross-process work of issue 16.

using Weft.Ipc.Framing;

namespace Weft.Ipc;

/// <summary>The codecs for IPC endpoints.</summary>
/// <example><code>
/// var (sender, receiver) = IpcPipe.Create(IpcCodec.Unmanaged&lt;int&gt;());
/// var (bytesOut, bytesIn) = IpcPipe.Create(IpcCodec.Bytes(maxLength: 4096), maxFrameSize: 4096);
/// </code></example>
public static class IpcCodec
{
    /// <summary>
    /// Values of an unmanaged type, copied as their bytes (<c>MemoryMarshal</c>): no allocation per message. The
    /// fingerprint comes from the type's size and its fields' types, so both ends must agree on the struct's layout.
    /// </summary>
    /// <typeparam name="T">An unmanaged type: primitives, enums, and structs of them, without references.</typeparam>
    /// <returns>The codec (one instance per type).</returns>
    /// <remarks>Pointers and <c>nint</c> fields copy their numbers, which mean nothing in another process.</remarks>
    /// <example><code>var codec = IpcCodec.Unmanaged&lt;(int Id, double Price)&gt;();</code></example>
    public static IpcCodec<T> Unmanaged<T>()
        where T : unmanaged => UnmanagedCodec<T>.Instance;

    /// <summary>Byte arrays of up to <paramref name="maxLength"/> bytes, each received as a new array.</summary>
    /// <param name="maxLength">The longest array; also give the endpoint a maximum frame size at least this large.</param>
    /// <returns>The codec.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not from 0 to 16 MiB.</exception>
    /// <remarks>A send of a longer array closes the sending endpoint with an error frame that names the sizes.</remarks>
    /// <example><code>var codec = IpcCodec.Bytes(maxLength: 1024);</code></example>
    public static IpcCodec<byte[]> Bytes(int maxLength = FrameFormat.DefaultMaxFrameSize)
    {
        if (maxLength < 0 || maxLength > FrameFormat.MaxFrameSizeLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength,
                $"A byte codec's maximum length must be from 0 to {FrameFormat.MaxFrameSizeLimit} bytes; it was {maxLength}.");
        }
        return new BytesCodec(maxLength);
    }
}
