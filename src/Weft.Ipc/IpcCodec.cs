// IpcCodec — the codecs Weft.Ipc ships: unmanaged values copied as their bytes, byte arrays, UTF-8 strings, and
// JSON through System.Text.Json's source generator (Framing/ has one file per codec).

using System.Text.Json.Serialization.Metadata;
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

    /// <summary>
    /// Byte arrays of up to <paramref name="maxLength"/> bytes, each received as a new array (one allocation per
    /// received message; <see cref="PooledBytes"/> allocates none).
    /// </summary>
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

    /// <summary>
    /// Byte runs of up to <paramref name="maxLength"/> bytes, each received into an array rented from
    /// <paramref name="pool"/>: nothing is allocated per message in steady state, where <see cref="Bytes"/> allocates
    /// one array per received message. The receiver owns each received segment's array and returns it to the pool
    /// (<c>pool.Return(segment.Array!)</c>) when done with it, once; an array it does not return is only garbage.
    /// The wire format is <see cref="Bytes"/>'s, so either end may use either codec.
    /// </summary>
    /// <param name="maxLength">The longest run; also give the endpoint a maximum frame size at least this large.</param>
    /// <param name="pool">Where received arrays come from; <see cref="System.Buffers.ArrayPool{T}.Shared"/> when null.</param>
    /// <returns>The codec.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not from 0 to 16 MiB.</exception>
    /// <remarks>
    /// A received array may be longer than the segment (the pool's sizes): read <c>segment.AsSpan()</c>, never the
    /// whole array. Sending copies the segment's bytes, so once the send completed the sender may reuse or return its
    /// own array. A default segment (no array), or a longer one, closes the sending endpoint with an error frame.
    /// </remarks>
    /// <example><code>
    /// var (sender, receiver) = IpcPipe.Create(IpcCodec.PooledBytes(maxLength: 4096), maxFrameSize: 4096);
    /// var segment = await receiver.Channel.ReceiveAsync();
    /// Use(segment.AsSpan());
    /// ArrayPool&lt;byte&gt;.Shared.Return(segment.Array!);
    /// </code></example>
    public static IpcCodec<ArraySegment<byte>> PooledBytes(int maxLength = FrameFormat.DefaultMaxFrameSize, System.Buffers.ArrayPool<byte>? pool = null) =>
        new PooledBytesCodec(CheckMaxLength(maxLength), pool ?? System.Buffers.ArrayPool<byte>.Shared);

    /// <summary>Strings as UTF-8, of up to <paramref name="maxLength"/> bytes, each received as a new string.</summary>
    /// <param name="maxLength">The longest encoding in bytes, 0 to 16 MiB; also give the endpoint a maximum frame size at least this large.</param>
    /// <returns>The codec.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not from 0 to 16 MiB.</exception>
    /// <remarks>A lone surrogate is sent as U+FFFD. A null or too long string closes the sending endpoint with an error
    /// frame; a received payload that is not valid UTF-8 closes the receiving endpoint with an <see cref="IpcProtocolException"/>.</remarks>
    /// <example><code>var (sender, receiver) = IpcPipe.Create(IpcCodec.Utf8(maxLength: 1024), maxFrameSize: 1024);</code></example>
    public static IpcCodec<string> Utf8(int maxLength = FrameFormat.DefaultMaxFrameSize) => new Utf8Codec(CheckMaxLength(maxLength));

    /// <summary>
    /// Values as JSON, through the <see cref="JsonTypeInfo{T}"/> that System.Text.Json's source generator made for
    /// <typeparamref name="T"/> (no reflection: trimming- and AOT-safe). The fingerprint covers the type's name and
    /// its properties' names and types, so ends built with different contracts refuse each other at the hello.
    /// </summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="typeInfo">From a <c>JsonSerializerContext</c>, e.g. <c>AppJson.Default.Order</c>.</param>
    /// <param name="maxLength">The longest JSON in bytes, 0 to 16 MiB; also give the endpoint a maximum frame size at least this large.</param>
    /// <returns>The codec.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="typeInfo"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is not from 0 to 16 MiB.</exception>
    /// <remarks>A value whose JSON is too long closes the sending endpoint with an error frame; a received payload
    /// that is not the JSON of a <typeparamref name="T"/> closes the receiving endpoint with an <see cref="IpcProtocolException"/>.</remarks>
    /// <example><code>
    /// [JsonSerializable(typeof(Order))] partial class AppJson : JsonSerializerContext { }
    /// var (sender, receiver) = IpcPipe.Create(IpcCodec.Json(AppJson.Default.Order));
    /// </code></example>
    public static IpcCodec<T> Json<T>(JsonTypeInfo<T> typeInfo, int maxLength = FrameFormat.DefaultMaxFrameSize)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return new JsonCodec<T>(typeInfo, CheckMaxLength(maxLength));
    }

    private static int CheckMaxLength(int maxLength, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(maxLength))] string? name = null)
    {
        if (maxLength < 0 || maxLength > FrameFormat.MaxFrameSizeLimit)
        {
            throw new ArgumentOutOfRangeException(name, maxLength,
                $"A codec's maximum length must be from 0 to {FrameFormat.MaxFrameSizeLimit} bytes; it was {maxLength}.");
        }
        return maxLength;
    }
}
