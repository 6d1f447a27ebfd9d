// UnmanagedCodec — an unmanaged T as its own bytes (MemoryMarshal.Write/Read): no allocation, one copy each way.
// The fingerprint hashes (FNV-1a) the codec's kind, the type's size and its instance fields' types in declaration
// order, recursively, so two processes built with different layouts of "the same" struct refuse each other at the
// hello instead of reading garbage. Field names are left out on purpose: renaming a field does not change the bytes.

using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Weft.Ipc.Framing;

internal sealed class UnmanagedCodec<T> : IpcCodec<T>
    where T : unmanaged
{
    internal static readonly UnmanagedCodec<T> Instance = new();

    private readonly ulong _fingerprint = Fnv.Hash("unmanaged:" + Unsafe.SizeOf<T>() + Layout(typeof(T)));

    public override string Name => $"Unmanaged<{typeof(T).Name}>";

    internal override ulong Fingerprint => _fingerprint;

    internal override int Encode(T value, Span<byte> destination)
    {
        if (destination.Length < Unsafe.SizeOf<T>()) return -1;
        MemoryMarshal.Write(destination, in value);
        return Unsafe.SizeOf<T>();
    }

    internal override long EncodedLength(T value) => Unsafe.SizeOf<T>();

    internal override T Decode(ReadOnlySpan<byte> payload, out string? error)
    {
        if (payload.Length != Unsafe.SizeOf<T>())
        {
            error = $"A {Name} payload is {Unsafe.SizeOf<T>()} bytes; this frame had {payload.Length}.";
            return default;
        }
        error = null;
        return MemoryMarshal.Read<T>(payload);
    }

    /// <summary>The field types in declaration order, recursively: "{System.Int32,System.Double}".</summary>
    private static string Layout(Type t)
    {
        if (t.IsPrimitive || t.IsEnum || t.IsPointer) return t.FullName ?? t.Name;
        var fields = t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
        var parts = new string[fields.Length];
        for (int i = 0; i < fields.Length; i++) parts[i] = Layout(fields[i].FieldType);
        return "{" + string.Join(",", parts) + "}";
    }
}

/// <summary>FNV-1a, 64 bits: a stable hash (string.GetHashCode is randomised per process).</summary>
internal static class Fnv
{
    internal static ulong Hash(string text)
    {
        ulong h = 14695981039346656037;
        foreach (char c in text)
        {
            h = (h ^ (byte)c) * 1099511628211;
            h = (h ^ (byte)(c >> 8)) * 1099511628211;
        }
        return h;
    }
}
