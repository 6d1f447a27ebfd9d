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
/// The other process of the ipc-shm rows: this program started again as <c>--ipc-shm-peer shm-echo DOWN UP</c> (each value
/// from DOWN goes back on UP, goroutine to goroutine) or <c>--ipc-shm-peer shm-sink DOWN UP</c> (counts DOWN to its close,
/// then sends the count on UP).
/// </summary>
public static class IpcShmPeer
{
    public static int Run(string[] args)
    {
        using var down = IpcSharedMemory.Open<ShmMsg64>(args[1]);
        using var up = IpcSharedMemory.Open<ShmMsg64>(args[2]);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try
            {
                long n = 0;
                while (true)
                {
                    var (m, ok) = await down.Receiver.ReceiveOkAsync();
                    if (!ok) break;
                    if (args[0] == "shm-echo") await up.Sender.SendAsync(m);
                    else n++;
                }
                if (args[0] == "shm-sink") await up.Sender.SendAsync(new ShmMsg64 { A = n });
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        done.Task.GetAwaiter().GetResult();
        return 0;
    }

    /// <summary>Creates the two rings, starts the peer in <paramref name="role"/>, runs <paramref name="body"/>, and cleans up.</summary>
    internal static double WithPeer(string role, int capacity, Func<IpcSharedMemory<ShmMsg64>, IpcSharedMemory<ShmMsg64>, double> body)
    {
        string name = $"weft-bench-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using var down = IpcSharedMemory.Create<ShmMsg64>(name + "-down", capacity);
        using var up = IpcSharedMemory.Create<ShmMsg64>(name + "-up", capacity);
        using var peer = Process.Start(PeerRoles.StartInfo("--ipc-shm-peer", role, name + "-down", name + "-up"))!;
        try
        {
            double result = body(down, up);
            if (role == "shm-echo") down.Sender.Close(); // the sink's body closes it itself, to learn the count
            if (!peer.WaitForExit(30_000)) throw new InvalidOperationException($"the {role} peer did not exit");
            if (peer.ExitCode != 0) throw new InvalidOperationException($"the {role} peer failed with exit code {peer.ExitCode}");
            return result;
        }
        finally
        {
            if (!peer.HasExited) peer.Kill();
        }
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
/// ring, blocking threads). Excludes the peer's start: the first round trip is waited for before the clock starts.
/// ipc-shm-spin: the same with the adaptive spin before parking (WEFT_SHM_SPIN); its C floor is ipc-shm-spin.c.
/// </summary>
public sealed class IpcShmRoundTrip(bool spin = false) : Workload
{
    private const int N = 20_000;
    public override string Name => spin ? "ipc-shm-spin" : "ipc-shm";
    public override bool OnlyByName => true;
    public override string Unit => "ns/roundtrip";
    public override int Repetitions => 3;

    public override double RunWeft()
    {
        // ipc-shm-spin: both processes spin up to 2,000 polls before parking (read once, when the ring type is first used;
        // each workload runs in a process of its own, and the peer inherits the variable).
        if (spin) Environment.SetEnvironmentVariable("WEFT_SHM_SPIN", "2000");
        return Play();
    }

    private static double Play() => IpcShmPeer.WithPeer("shm-echo", 64, (down, up) => IpcShmPeer.OnGoroutine(async () =>
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
    }));
}

/// <summary>
/// ipc-shm-throughput: one-way 64-byte messages per second from a goroutine into a 1,024-slot ring, received by a
/// goroutine in another process, to the peer's acknowledgement of the last. The C floor is ipc-shm-throughput.c.
/// </summary>
public sealed class IpcShmThroughput : Workload
{
    private const int N = 1_000_000;
    public override string Name => "ipc-shm-throughput";
    public override bool OnlyByName => true;
    public override string Unit => "msgs/s";
    public override int Repetitions => 3;

    public override double RunWeft() => IpcShmPeer.WithPeer("shm-sink", 1024, (down, up) => IpcShmPeer.OnGoroutine(async () =>
    {
        var m = new ShmMsg64 { B = 2 };
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < N; i++) await down.Sender.SendAsync(m);
        down.Sender.Close();
        var count = await up.Receiver.ReceiveAsync();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (count.A != N) throw new InvalidOperationException($"the peer received {count.A.ToString(CultureInfo.InvariantCulture)} of {N} messages");
        return N / seconds;
    }));
}
