using System.Buffers.Binary;
using Weft.Ipc;
using Weft.Ipc.SharedMemory;
using Weft.Tests;
using Xunit;

namespace Weft.Ipc.Tests;

/// <summary>
/// The shared-memory ring (SharedMemory/ShmRing.cs): two mappings of one named segment, as two processes would have,
/// with threads writing and reading through either. Messages carry (writer, sequence, checksum), so a lost,
/// duplicated, torn or reordered message is detected rather than guessed.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ShmRingTests : IDisposable
{
    private readonly string _name = "weft-test-" + Guid.NewGuid().ToString("N");

    public void Dispose() => ShmRing.TryRemoveStale(_name);

    private static void Encode(Span<byte> m, int writer, long seq)
    {
        BinaryPrimitives.WriteInt32LittleEndian(m, writer);
        BinaryPrimitives.WriteInt64LittleEndian(m[4..], seq);
        BinaryPrimitives.WriteInt64LittleEndian(m[12..], Checksum(writer, seq));
    }

    private static long Checksum(int writer, long seq) => unchecked(seq * (long)0x9E3779B97F4A7C15UL) ^ ((long)writer << 40) ^ 0x5bd1e995;

    private static (int Writer, long Seq) Decode(ReadOnlySpan<byte> m)
    {
        Assert.Equal(20, m.Length);
        int w = BinaryPrimitives.ReadInt32LittleEndian(m);
        long s = BinaryPrimitives.ReadInt64LittleEndian(m[4..]);
        Assert.Equal(Checksum(w, s), BinaryPrimitives.ReadInt64LittleEndian(m[12..]));
        return (w, s);
    }

    [Fact]
    public void ManyWritersAndReaders_OverTwoMappings_EveryMessageArrivesOnce_InEachWritersOrder()
    {
        const int Writers = 3, Readers = 3, PerWriter = 20_000;
        using var a = ShmRing.Create(_name, capacity: 16, maxMessage: 20, fingerprint: 42);
        using var b = ShmRing.Open(_name, fingerprint: 42, capacity: 16, maxMessage: 20);
        var seen = new int[Writers, PerWriter];
        var threads = new List<Thread>();
        Exception? failure = null;
        for (int w = 0; w < Writers; w++)
        {
            int id = w;
            var ring = w % 2 == 0 ? a : b;
            threads.Add(new Thread(() =>
            {
                try
                {
                    Span<byte> m = stackalloc byte[20];
                    for (long s = 0; s < PerWriter; s++)
                    {
                        Encode(m, id, s);
                        ring.Write(m);
                    }
                }
                catch (Exception e) { failure ??= e; }
            }));
        }
        for (int r = 0; r < Readers; r++)
        {
            var ring = r % 2 == 0 ? b : a;
            threads.Add(new Thread(() =>
            {
                try
                {
                    var last = new long[Writers];
                    Array.Fill(last, -1);
                    var buffer = new byte[20];
                    while (ring.Read(buffer, out int length))
                    {
                        var (w, s) = Decode(buffer.AsSpan(0, length));
                        Assert.True(s > last[w], $"writer {w}'s message {s} came after {last[w]} to one reader");
                        last[w] = s;
                        Interlocked.Increment(ref seen[w, s]);
                    }
                }
                catch (Exception e) { failure ??= e; }
            }));
        }
        foreach (var t in threads) t.Start();
        for (int w = 0; w < Writers; w++) Assert.True(threads[w].Join(TestTimeout.Default), "a writer hung");
        a.Close(); // everything is committed: the readers drain it and then see the close
        for (int r = Writers; r < threads.Count; r++) Assert.True(threads[r].Join(TestTimeout.Default), "a reader hung");
        Assert.Null(failure);
        for (int w = 0; w < Writers; w++)
            for (int s = 0; s < PerWriter; s++)
                Assert.True(seen[w, s] == 1, $"writer {w}'s message {s} arrived {seen[w, s]} times");
    }

    [Fact]
    public void Close_KeepsWhatWasCommitted_ThenReportsClosed_AndRefusesWrites()
    {
        using var a = ShmRing.Create(_name, capacity: 4, maxMessage: 8, fingerprint: 1);
        using var b = ShmRing.Open(_name, fingerprint: 1);
        Assert.True(a.TryWrite([1]));
        Assert.True(a.TryWrite([2, 2]));
        b.Close();
        Assert.True(a.IsClosed);
        Assert.Throws<ChannelClosedException>(() => a.TryWrite([3]));
        var buffer = new byte[8];
        Assert.True(a.Read(buffer, out int n));
        Assert.Equal([1], buffer[..n]);
        Assert.True(b.Read(buffer, out n));
        Assert.Equal([2, 2], buffer[..n]);
        Assert.False(b.Read(buffer, out _));
        Assert.False(a.TryRead(buffer, out _, out bool closed));
        Assert.True(closed);
        a.Close(); // idempotent
    }

    [Fact]
    public void AFullRing_BlocksTheWriterUntilAReaderFreesASlot()
    {
        using var a = ShmRing.Create(_name, capacity: 2, maxMessage: 4, fingerprint: 7);
        using var b = ShmRing.Open(_name, fingerprint: 7);
        Assert.True(a.TryWrite([1]));
        Assert.True(a.TryWrite([2]));
        Assert.False(a.TryWrite([3]));
        var writer = new Thread(() => a.Write([3]));
        writer.Start();
        Assert.False(writer.Join(100)); // it waits: the ring is full
        var buffer = new byte[4];
        Assert.True(b.Read(buffer, out _));
        Assert.True(writer.Join(TestTimeout.Default), "the writer was not woken by the freed slot");
        Assert.True(b.Read(buffer, out _));
        Assert.Equal(2, buffer[0]);
        Assert.True(b.Read(buffer, out _));
        Assert.Equal(3, buffer[0]);
    }

    [Fact]
    public void AWaitingReader_IsWokenByAWriteThroughTheOtherMapping_AndByClose()
    {
        using var a = ShmRing.Create(_name, capacity: 4, maxMessage: 4, fingerprint: 7);
        using var b = ShmRing.Open(_name, fingerprint: 7);
        int got = -1;
        bool ended = false;
        var reader = new Thread(() =>
        {
            var buffer = new byte[4];
            if (b.Read(buffer, out _)) got = buffer[0];
            ended = !b.Read(buffer, out _);
        });
        reader.Start();
        Assert.False(reader.Join(100));
        a.Write([9]);
        a.Close();
        Assert.True(reader.Join(TestTimeout.Default), "the reader was not woken");
        Assert.Equal(9, got);
        Assert.True(ended, "the second read did not report the close");
    }

    [Fact]
    public void Cancellation_EndsABlockedReadAndABlockedWrite_WithoutTakingOrWritingAnything()
    {
        using var a = ShmRing.Create(_name, capacity: 2, maxMessage: 4, fingerprint: 7);
        using var cts = new CancellationTokenSource();
        Exception? readError = null;
        var reader = new Thread(() =>
        {
            try { a.Read(new byte[4], out _, cts.Token); }
            catch (Exception e) { readError = e; }
        });
        reader.Start();
        Assert.False(reader.Join(100));
        cts.Cancel();
        Assert.True(reader.Join(TestTimeout.Default), "the read ignored its cancellation");
        Assert.IsType<OperationCanceledException>(readError);

        Assert.True(a.TryWrite([1]));
        Assert.True(a.TryWrite([2]));
        using var cts2 = new CancellationTokenSource();
        Exception? writeError = null;
        var writer = new Thread(() =>
        {
            try { a.Write([3], cts2.Token); }
            catch (Exception e) { writeError = e; }
        });
        writer.Start();
        Assert.False(writer.Join(100));
        cts2.Cancel();
        Assert.True(writer.Join(TestTimeout.Default), "the write ignored its cancellation");
        Assert.IsType<OperationCanceledException>(writeError);
        Assert.Equal(2, a.Count);
        var buffer = new byte[4];
        Assert.True(a.TryRead(buffer, out _, out _));
        Assert.Equal(1, buffer[0]);
        Assert.True(a.TryRead(buffer, out _, out _));
        Assert.Equal(2, buffer[0]);
        Assert.False(a.TryRead(buffer, out _, out _));
    }

    [Fact]
    public void Open_RefusesAMismatch_NamingBothValues()
    {
        using var a = ShmRing.Create(_name, capacity: 8, maxMessage: 16, fingerprint: 0xAB);
        var e = Assert.Throws<InvalidDataException>(() => ShmRing.Open(_name, fingerprint: 0xCD));
        Assert.Contains("0x00000000000000ab", e.Message);
        Assert.Contains("0x00000000000000cd", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ShmRing.Open(_name, fingerprint: 0xAB, capacity: 16));
        Assert.Contains("8", e.Message);
        Assert.Contains("16", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ShmRing.Open(_name, fingerprint: 0xAB, maxMessage: 32));
        Assert.Contains("32", e.Message);
        var io = Assert.Throws<IpcException>(() => ShmRing.Open("weft-test-missing-" + Guid.NewGuid().ToString("N"), 1));
        Assert.Equal(2, io.Errno); // ENOENT
        io = Assert.Throws<IpcException>(() => ShmRing.Create(_name, 8, 16, 0xAB));
        Assert.Equal(17, io.Errno); // EEXIST
    }

    [Fact]
    public void TheSegmentIs0600_OwnedByThisUser_AndAnotherOwnerOrModeIsRefused()
    {
        using var a = ShmRing.Create(_name, capacity: 2, maxMessage: 4, fingerprint: 1);
        var mode = File.GetUnixFileMode("/dev/shm/" + _name);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        var e = Assert.Throws<InvalidDataException>(() => ShmRing.CheckOwner("/x", uid: 4242, mode: 0x180, me: 1000));
        Assert.Contains("uid 4242", e.Message);
        Assert.Contains("uid 1000", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ShmRing.CheckOwner("/x", uid: 1000, mode: 0x1B6, me: 1000));
        Assert.Contains("666", e.Message);
        ShmRing.CheckOwner("/x", uid: 1000, mode: 0x8180, me: 1000); // a regular file, 0600: accepted
    }

    [Fact]
    public void BadArguments_AreClearErrors()
    {
        Assert.Throws<ArgumentException>(() => ShmRing.Create("a/b", 2, 4, 1));
        Assert.Throws<ArgumentException>(() => ShmRing.Create("..", 2, 4, 1));
        Assert.Throws<ArgumentException>(() => ShmRing.Create("", 2, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShmRing.Create(_name, 3, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShmRing.Create(_name, 1, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShmRing.Create(_name, 2, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ShmRing.Create(_name, 1 << 20, 1 << 20, 1));
        using var a = ShmRing.Create(_name, capacity: 2, maxMessage: 4, fingerprint: 1);
        Assert.Throws<ArgumentException>(() => a.TryWrite(new byte[5]));
        Assert.Throws<ArgumentException>(() => a.TryRead(new byte[3], out _, out _));
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.TryWrite([1]));
        Assert.False(File.Exists("/dev/shm/" + _name)); // the creator unlinked it
        Assert.False(ShmRing.TryRemoveStale(_name));
    }
}
