// JsonCodec<T> — values as JSON through System.Text.Json's source generator: the caller passes the JsonTypeInfo<T>
// its JsonSerializerContext generated, so no reflection runs and the codec is trimming- and AOT-safe.
//
// Encoding writes through a per-thread ArrayBufferWriter (reused, so steady state allocates only what the
// serializer itself does), then copies into the frame; a value whose JSON is larger than the frame or the codec's
// maximum fails the send with the usual error frame (StreamSenderBase). Decoding is JsonSerializer.Deserialize over
// the payload span; malformed JSON, or JSON of another shape, is an IpcProtocolException on that endpoint, naming
// the serializer's message (which gives the path and byte position).
//
// The fingerprint hashes the type's full name, its JSON kind and its properties' JSON names and types in order, so
// two builds that disagree on the contract refuse each other at the hello. It cannot see custom converters or
// naming policies applied elsewhere; give both ends the same context.
//
// Rejected: the reflection-based JsonSerializer overloads (not trimming-safe, and slow to start); MemoryPack (a
// faster binary format, but a dependency and a contract that is not readable by other languages).

using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Weft.Ipc.Framing;

internal sealed class JsonCodec<T> : IpcCodec<T>
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? s_buffer;
    [ThreadStatic]
    private static Utf8JsonWriter? s_writer;

    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly int _maxLength;

    internal JsonCodec(JsonTypeInfo<T> typeInfo, int maxLength)
    {
        _typeInfo = typeInfo;
        _maxLength = maxLength;
        Fingerprint = Fnv.Hash("json:" + Contract(typeInfo));
    }

    public override string Name => $"Json<{typeof(T).Name}>(max {_maxLength})";

    internal override ulong Fingerprint { get; }

    internal override int Encode(T value, Span<byte> destination)
    {
        var json = Serialize(value);
        if (json.Length > _maxLength || json.Length > destination.Length) return -1;
        json.CopyTo(destination);
        return json.Length;
    }

    internal override long EncodedLength(T value) => Serialize(value).Length;

    private ReadOnlySpan<byte> Serialize(T value)
    {
        var buffer = s_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var writer = s_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        JsonSerializer.Serialize(writer, value, _typeInfo);
        writer.Flush();
        return buffer.WrittenSpan;
    }

    internal override T Decode(ReadOnlySpan<byte> payload, out string? error)
    {
        if (payload.Length > _maxLength)
        {
            error = $"A {Name} payload is at most {_maxLength} bytes; this frame had {payload.Length}.";
            return default!;
        }
        try
        {
            T? value = JsonSerializer.Deserialize(payload, _typeInfo);
            error = null;
            return value!;
        }
        catch (JsonException ex)
        {
            error = $"A {Name} payload of {payload.Length} bytes is not the JSON of a {typeof(T).Name}: {ex.Message}";
            return default!;
        }
    }

    /// <summary>"Namespace.Type:Object{id:System.Int32,name:System.String}" — what both ends must agree on.</summary>
    private static string Contract(JsonTypeInfo info)
    {
        var sb = new StringBuilder(info.Type.FullName).Append(':').Append(info.Kind);
        if (info.Kind == JsonTypeInfoKind.Object)
        {
            sb.Append('{');
            foreach (var p in info.Properties) sb.Append(p.Name).Append(':').Append(p.PropertyType.FullName).Append(',');
            sb.Append('}');
        }
        return sb.ToString();
    }
}
