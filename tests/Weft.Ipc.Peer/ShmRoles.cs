// Roles for the shared-memory channel's and the robust mutex's cross-process tests (tests/Weft.Ipc.Tests/
// ShmCrossProcessTests.cs) and for the ipc-shm benchmark's other process. Messages of the kill -9 tests are
// (writer, sequence, checksum) triples, so a torn or foreign message is detected by the checksum.
using Weft.Ipc.SharedMemory;

namespace Weft.Ipc.Peer;

internal static class ShmRoles
{
    /// <summary>The checksum of a kill-test message (the same function as in the tests).</summary>
    public static long Check(long writer, long seq) => unchecked(seq * (long)0x9E3779B97F4A7C15UL) ^ (writer << 40) ^ 0x5bd1e995;

    private static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    private static Task<int> RunGo(Func<Task<int>> body)
    {
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try { done.TrySetResult(await body()); }
            catch (Exception e) { done.TrySetException(e); }
        });
        return done.Task;
    }

    /// <summary>
    /// Stops this process with SIGKILL the <paramref name="nth"/> time the ring reaches <paramref name="point"/>
    /// (ShmRing.CrashHook, the test-only hook).
    /// </summary>
    private static void CrashAt(string? point, int nth, int stallMs = 0)
    {
        if (point is null or "none") return;
        var at = Enum.Parse<ShmCrashPoint>(point, ignoreCase: true);
        int left = nth;
        ShmRing.CrashHook = p =>
        {
            if (p == at && Interlocked.Decrement(ref left) == 0)
            {
                Say("dying " + p);
                if (stallMs > 0) Thread.Sleep(stallMs); // alive but stuck: others park behind this slot first
                Interop.Libc.Kill(Environment.ProcessId, 9);
                Thread.Sleep(Timeout.Infinite);
            }
        };
    }

    /// <summary>
    /// shm-writer NAME WRITER [COUNT] [CRASHPOINT] [NTH] [STALLMS]: sends (WRITER, seq, checksum) for seq = 0.. COUNT-1 (0: until
    /// killed) from a goroutine, printing "c SEQ" after each send completes; optionally dies at a crash point.
    /// </summary>
    [Role("shm-writer")]
    public static Task<int> Writer(string[] args)
    {
        string name = args[0];
        long writer = long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        long count = args.Length > 2 ? long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
        CrashAt(
            args.Length > 3 ? args[3] : null,
            args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 1,
            args.Length > 5 ? int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 0);
        var ring = IpcSharedMemory.Open<(long, long, long)>(name);
        Say("ready");
        return RunGo(async () =>
        {
            for (long seq = 0; count == 0 || seq < count; seq++)
            {
                await ring.Sender.SendAsync((writer, seq, Check(writer, seq)));
                Say("c " + seq);
                if (count == 0 && seq % 8 == 7) await Go.After(TimeSpan.FromMilliseconds(1)).ReceiveAsync(); // a steady pace, not a flood of lines
            }
            ring.Dispose();
            Say("done");
            return 0;
        });
    }

    /// <summary>
    /// shm-reader NAME [CRASHPOINT] [NTH]: receives kill-test messages until the ring closes, printing "r WRITER SEQ"
    /// for each (or "torn ..." if its checksum is wrong); optionally dies at a crash point (AfterTake).
    /// </summary>
    [Role("shm-reader")]
    public static Task<int> Reader(string[] args)
    {
        string name = args[0];
        CrashAt(args.Length > 1 ? args[1] : null, args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1);
        var ring = IpcSharedMemory.Open<(long, long, long)>(name);
        Say("ready");
        return RunGo(async () =>
        {
            while (true)
            {
                var ((w, s, c), ok) = await ring.Receiver.ReceiveOkAsync();
                if (!ok) break;
                Say(c == Check(w, s) ? $"r {w} {s}" : $"torn {w} {s} {c}");
            }
            ring.Dispose();
            Say("closed");
            return 0;
        });
    }

    /// <summary>shm-echo IN OUT: receives longs from ring IN and sends each to ring OUT; closes OUT when IN closes.</summary>
    [Role("shm-echo")]
    public static Task<int> Echo(string[] args)
    {
        var input = IpcSharedMemory.Open<long>(args[0]);
        var output = IpcSharedMemory.Open<long>(args[1]);
        Say("ready");
        return RunGo(async () =>
        {
            while (true)
            {
                var (v, ok) = await input.Receiver.ReceiveOkAsync();
                if (!ok) break;
                await output.Sender.SendAsync(v);
            }
            output.Sender.Close();
            input.Dispose();
            output.Dispose();
            return 0;
        });
    }

    /// <summary>mutex-hold NAME: locks the robust mutex NAME, prints "locked", and sleeps until killed.</summary>
    [Role("mutex-hold")]
    public static int MutexHold(string[] args)
    {
        var mutex = IpcMutex.OpenOrCreate(args[0]);
        mutex.Lock();
        Say("locked");
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(mutex);
        return 0;
    }
}
