using System.Diagnostics;
using System.Globalization;
using Weft.Ipc;

namespace Weft.Bench;

// The message-queue and semaphore rows of issues 16 and 17, as bench/ipc-c/ipcfloor.c measures their floors.
//   ipc-mq    Weft: a goroutine sends a 64-byte value on a POSIX message queue (IpcMessageQueue) to another process,
//             whose goroutine sends it back on a second queue; ns per round trip. No .tpl row: .NET has no message
//             queue.
//   ipc-sem   Weft: an uncontended Acquire then Release of a named POSIX semaphore (IpcSemaphore), from a thread; ns
//             per pair. No .tpl row: .NET's named Semaphore is not supported on Linux.
//   ipc-sem-async  Weft: the same pair from a goroutine, with AcquireAsync (its sem_trywait fast path; the await
//             completes synchronously) then Release; ns per pair. The C floor is the same sem_wait/sem_post pair.
// The peer is started once per measuring process and kept for every repetition; it exits when its queue closes
// or the measuring process ends.

/// <summary>ipc-mq: Weft's 64-byte round trip between two processes over two POSIX message queues, goroutine to goroutine.</summary>
public sealed class IpcMqWorkload : Workload
{
    private static readonly IpcCodec<Msg64> Codec = IpcCodec.Unmanaged<Msg64>();
    private IpcSender<Msg64>? _down;
    private IpcReceiver<Msg64>? _up;

    public override string Name => "ipc-mq";
    public override string Unit => "ns/roundtrip";
    public override bool OnlyByName => true;

    public override double RunWeft()
    {
        if (_down is null) Start();
        var down = _down!.Channel;
        var up = _up!.Channel;
        return IpcBench.OnGoroutine(async () =>
        {
            var m = default(Msg64);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < IpcBench.Rounds; i++)
            {
                await down.SendAsync(m);
                m = await up.ReceiveAsync();
            }
            return sw.Elapsed.TotalNanoseconds / IpcBench.Rounds;
        });
    }

    private void Start()
    {
        string name = $"/weft-bench-{Environment.ProcessId}";
        // The creator unlinks each name when its endpoint is released; the peer's descriptors keep the queues alive.
        _down = IpcMessageQueue.CreateSender(name + "-down", Codec, capacity: 8, maxMessageSize: 64);
        _up = IpcMessageQueue.CreateReceiver(name + "-up", Codec, capacity: 8, maxMessageSize: 64);
        Process.Start(PeerRoles.StartInfo("--ipc-mq-peer", "echo", name + "-down", name + "-up", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)))!.Dispose();
        // A queue has no EOF: the close message at exit is what ends the peer (and the peer watches this process too).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { _down?.Dispose(); _up?.Dispose(); };
    }

    /// <summary>
    /// The peer (<c>--ipc-mq-peer echo DOWN UP PARENT</c>): each value from DOWN goes back on UP until DOWN closes. A
    /// queue has no EOF, so a parent that dies without its close message would leave the peer waiting, holding the
    /// output pipe the parent's own parent reads to its end: the peer also exits when PARENT does.
    /// </summary>
    public static int Peer(string[] args)
    {
        var parent = Process.GetProcessById(int.Parse(args[3], CultureInfo.InvariantCulture));
        new Thread(() => { parent.WaitForExit(); Environment.Exit(0); }) { IsBackground = true, Name = "parent watch" }.Start();
        using var down = IpcMessageQueue.OpenReceiver(args[1], Codec);
        using var up = IpcMessageQueue.OpenSender(args[2], Codec);
        return IpcBench.OnGoroutine(async () =>
        {
            await foreach (var m in down.Channel) await up.Channel.SendAsync(m);
            return 0;
        });
    }
}

/// <summary>ipc-sem: an uncontended acquire and release of a named POSIX semaphore, in ns per pair.</summary>
public sealed class IpcSemWorkload : Workload
{
    internal const int Pairs = 1_000_000;

    public override string Name => "ipc-sem";
    public override string Unit => "ns/op";
    public override bool OnlyByName => true;

    public override double RunWeft() => WithSemaphore(sem =>
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Pairs; i++)
        {
            sem.Acquire();
            sem.Release();
        }
        return sw.Elapsed.TotalNanoseconds / Pairs;
    });

    /// <summary>Runs <paramref name="body"/> with a fresh semaphore of one permit, already unlinked (the handle keeps it; nothing is left behind).</summary>
    internal static double WithSemaphore(Func<IpcSemaphore, double> body)
    {
        string name = $"weft-bench-sem-{Environment.ProcessId}";
        using var sem = IpcSemaphore.Create(name, 1);
        IpcSemaphore.Unlink(name);
        return body(sem);
    }
}

/// <summary>ipc-sem-async: an uncontended AcquireAsync and Release of a named POSIX semaphore from a goroutine, in ns per pair.</summary>
public sealed class IpcSemAsyncWorkload : Workload
{
    public override string Name => "ipc-sem-async";
    public override string Unit => "ns/op";
    public override bool OnlyByName => true;

    public override double RunWeft() => IpcSemWorkload.WithSemaphore(sem => IpcBench.OnGoroutine(async () =>
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < IpcSemWorkload.Pairs; i++)
        {
            await sem.AcquireAsync();
            sem.Release();
        }
        return sw.Elapsed.TotalNanoseconds / IpcSemWorkload.Pairs;
    }));
}
