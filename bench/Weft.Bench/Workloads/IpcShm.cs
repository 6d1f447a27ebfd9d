using System.Diagnostics;
using System.Globalization;
using Weft.Ipc;

namespace Weft.Bench;

/// <summary>A 64-byte message, copied raw (an unmanaged struct), as in the C floor (bench/ipc-c/ipcfloor.c).</summary>
[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential, Size = 64)]
internal struct ShmMsg64
{
    public long A, B;
}

/// <summary>
/// The other process of the ipc-shm rows: this program started again as <c>--ipc-shm-peer shm-echo DOWN UP PARENT</c> (each
/// value from DOWN goes back on UP, goroutine to goroutine) or <c>--ipc-shm-peer shm-sink DOWN UP PARENT</c> (counts the
/// values from DOWN and answers each one marked last, B = -1, with the count since the previous answer). It is started
/// once per measuring process and kept for every repetition, so that the harness's warm-up warms both processes (a
/// peer started per repetition ran its first messages as tier-0 code inside the measured time). It exits when DOWN
/// closes, which the measuring process does at its exit, or when PARENT exits (killed, it closes nothing).
/// </summary>
public static class IpcShmPeer
{
    public static int Run(string[] args)
    {
        var parent = Process.GetProcessById(int.Parse(args[3], CultureInfo.InvariantCulture));
        new Thread(() => { parent.WaitForExit(); Environment.Exit(0); }) { IsBackground = true, Name = "parent watch" }.Start();
        using var down = IpcSharedMemory.Open<ShmMsg64>(args[1]);
        using var up = IpcSharedMemory.Open<ShmMsg64>(args[2]);
        bool echo = args[0] == "shm-echo";
        return OnGoroutine(async () =>
        {
            long n = 0;
            while (true)
            {
                var (m, ok) = await down.Receiver.ReceiveOkAsync();
                if (!ok) return 0;
                if (echo)
                {
                    await up.Sender.SendAsync(m);
                    continue;
                }
                n++;
                if (m.B == -1)
                {
                    await up.Sender.SendAsync(new ShmMsg64 { A = n });
                    n = 0;
                }
            }
        });
    }

    /// <summary>Creates the two rings of <paramref name="capacity"/> slots and starts the peer in <paramref name="role"/>, kept until this process exits.</summary>
    internal static (IpcSharedMemory<ShmMsg64> Down, IpcSharedMemory<ShmMsg64> Up) StartKept(string role, int capacity)
    {
        string name = $"weft-bench-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var down = IpcSharedMemory.Create<ShmMsg64>(name + "-down", capacity);
        var up = IpcSharedMemory.Create<ShmMsg64>(name + "-up", capacity);
        Process.Start(PeerRoles.StartInfo("--ipc-shm-peer", role, name + "-down", name + "-up", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)))!.Dispose();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            down.Sender.Close(); // the peer's end; the creator's Dispose unlinks both names
            down.Dispose();
            up.Dispose();
        };
        return (down, up);
    }

    /// <summary>Runs <paramref name="body"/> as a goroutine and waits for it.</summary>
    internal static T OnGoroutine<T>(Func<Task<T>> body)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try { done.SetResult(await body()); }
            catch (Exception e) { done.SetException(e); }
        });
        return done.Task.GetAwaiter().GetResult();
    }
}

/// <summary>
/// ipc-shm: a 64-byte round trip between two processes over two shared-memory channels, goroutine to goroutine
/// (send on one ring, the peer's goroutine receives and sends back on the other). The C floor is ipc-shm.c (a futex
/// ring, blocking threads). Excludes the peer's start: 1,000 round trips run before the clock starts.
/// ipc-shm-spin: the same with the adaptive spin before parking (WEFT_SHM_SPIN); its C floor is ipc-shm-spin.c.
/// </summary>
public sealed class IpcShmRoundTrip(bool spin = false) : Workload
{
    private const int N = 20_000;
    public override string Name => spin ? "ipc-shm-spin" : "ipc-shm";
    public override bool OnlyByName => true;
    public override string Unit => "ns/roundtrip";
    public override int Repetitions => 3;

    private (IpcSharedMemory<ShmMsg64> Down, IpcSharedMemory<ShmMsg64> Up)? _rings;

    public override double RunWeft()
    {
        // ipc-shm-spin: both processes spin up to 20,000 polls before parking, one PAUSE apart (read once, when the ring
        // type is first used; each workload runs in a process of its own, and the peer inherits the variable).
        if (spin) Environment.SetEnvironmentVariable("WEFT_SHM_SPIN", "20000");
        var (down, up) = _rings ??= IpcShmPeer.StartKept("shm-echo", 64);
        return IpcShmPeer.OnGoroutine(async () =>
        {
            var m = new ShmMsg64 { A = 1 };
            for (int i = 0; i < 1_000; i++)
            {
                await down.Sender.SendAsync(m);
                m = await up.Receiver.ReceiveAsync();
            }
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < N; i++)
            {
                await down.Sender.SendAsync(m);
                m = await up.Receiver.ReceiveAsync();
            }
            return Stopwatch.GetElapsedTime(start).TotalNanoseconds / N;
        });
    }
}

/// <summary>
/// ipc-shm-throughput: one-way 64-byte messages per second from a goroutine into a 1,024-slot ring, received by a
/// goroutine in another process, to the peer's acknowledgement of the last. The C floor is ipc-shm-throughput.c (a
/// 64-slot futex ring).
/// </summary>
public sealed class IpcShmThroughput : Workload
{
    private const int N = 1_000_000;
    public override string Name => "ipc-shm-throughput";
    public override bool OnlyByName => true;
    public override string Unit => "msgs/s";
    public override int Repetitions => 3;

    private (IpcSharedMemory<ShmMsg64> Down, IpcSharedMemory<ShmMsg64> Up)? _rings;

    public override double RunWeft()
    {
        var (down, up) = _rings ??= IpcShmPeer.StartKept("shm-sink", 1024);
        return IpcShmPeer.OnGoroutine(async () =>
        {
            var m = new ShmMsg64 { B = 2 };
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < N - 1; i++) await down.Sender.SendAsync(m);
            await down.Sender.SendAsync(new ShmMsg64 { B = -1 }); // the last: the sink answers it with its count
            var count = await up.Receiver.ReceiveAsync();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (count.A != N) throw new InvalidOperationException($"the peer received {count.A.ToString(CultureInfo.InvariantCulture)} of {N} messages");
            return N / seconds;
        });
    }
}
