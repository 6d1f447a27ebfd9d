// Experiment 3, IPC: a 64-byte round trip and one-way throughput for every mechanism Weft.Ipc has, ranked. The note
// says shared memory is the fastest; the verdict compares it with the others when Weft.Ipc has it.
//
// The mechanisms are one list (Mechanisms()): each entry opens its endpoints and is measured by the same code, so a
// mechanism added to Weft.Ipc is one more entry. Both ends live in this process, on two goroutines (or two threads for
// the blocking semaphore): every message still crosses the kernel, but no process switch is counted, which experiment
// 1 measures on its own. An in-process Weft channel is the reference row: what a message costs without the kernel.
using System.Diagnostics;
using Weft.Ipc;

namespace Weft.Cli.Lab.Experiments;

internal sealed class IpcExperiment : IExperiment
{
    private const int PayloadBytes = 64;

    public string Id => "ipc";
    public string Title => "3. IPC";

    /// <summary>One mechanism: its name and how to measure it (round-trip ns, messages per second or NaN).</summary>
    internal sealed record Mechanism(string Name, bool IsIpc, Func<int, int, TimeSpan, (double RoundTripNs, double MessagesPerSecond)> Run, string? Note = null, bool CarriesData = true);

    internal static IReadOnlyList<Mechanism> Mechanisms() =>
    [
        new("Weft channel (no IPC)", false, (n, m, d) => OverChannels(() => { var a = new Chan<byte[]>(64); var b = new Chan<byte[]>(64); return (a, a, b, b, () => { }); }, n, m, d)),
        new("pipe", true, (n, m, d) => OverChannels(() =>
        {
            var (s1, r1) = IpcPipe.Create(IpcCodec.Bytes(PayloadBytes));
            var (s2, r2) = IpcPipe.Create(IpcCodec.Bytes(PayloadBytes));
            return (s1.Channel, r1.Channel, s2.Channel, r2.Channel, () => { s1.Dispose(); r1.Dispose(); s2.Dispose(); r2.Dispose(); });
        }, n, m, d)),
        new("Unix socket pair", true, (n, m, d) => OverChannels(() =>
        {
            var (a, b) = IpcSocketPair.Create(IpcCodec.Bytes(PayloadBytes));
            return (a.Sender.Channel, b.Receiver.Channel, b.Sender.Channel, a.Receiver.Channel, () => { a.Dispose(); b.Dispose(); });
        }, n, m, d)),
        new("FIFO", true, (n, m, d) => OverChannels(() =>
        {
            string dir = Directory.CreateTempSubdirectory("weft-lab-fifo-").FullName;
            var (s1, r1) = OpenFifo(Path.Combine(dir, "a"));
            var (s2, r2) = OpenFifo(Path.Combine(dir, "b"));
            return (s1.Channel, r1.Channel, s2.Channel, r2.Channel, () => { s1.Dispose(); r1.Dispose(); s2.Dispose(); r2.Dispose(); Directory.Delete(dir, true); });
        }, n, m, d)),
        new("message queue", true, (n, m, d) => OverChannels(() =>
        {
            string a = $"weft-lab-{Environment.ProcessId}-a", b = $"weft-lab-{Environment.ProcessId}-b";
            var r1 = IpcMessageQueue.CreateReceiver(a, IpcCodec.Bytes(PayloadBytes), 8, 128);
            var s1 = IpcMessageQueue.OpenSender(a, IpcCodec.Bytes(PayloadBytes));
            var r2 = IpcMessageQueue.CreateReceiver(b, IpcCodec.Bytes(PayloadBytes), 8, 128);
            var s2 = IpcMessageQueue.OpenSender(b, IpcCodec.Bytes(PayloadBytes));
            return (s1.Channel, r1.Channel, s2.Channel, r2.Channel, () => { s1.Dispose(); r1.Dispose(); s2.Dispose(); r2.Dispose(); });
        }, n, m, d)),
        new("Unix socket", true, (n, m, d) => OverChannels(() =>
        {
            string path = IpcSocket.UnixPath($"weft-lab-{Environment.ProcessId}-{Guid.NewGuid():N}");
            var listener = IpcSocket.ListenUnix(path, IpcCodec.Bytes(PayloadBytes));
            var (client, server) = Connect(listener, () => IpcSocket.ConnectUnixAsync(path, IpcCodec.Bytes(PayloadBytes)));
            return (client.Sender.Channel, server.Receiver.Channel, server.Sender.Channel, client.Receiver.Channel, () => { client.Dispose(); server.Dispose(); listener.Dispose(); });
        }, n, m, d), "listener and connect: accept is a channel"),
        new("TCP (loopback)", true, (n, m, d) => OverChannels(() =>
        {
            var listener = IpcSocket.ListenTcp(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0), IpcCodec.Bytes(PayloadBytes));
            var (client, server) = Connect(listener, () => IpcSocket.ConnectTcpAsync(listener.EndPoint!, IpcCodec.Bytes(PayloadBytes)));
            return (client.Sender.Channel, server.Receiver.Channel, server.Sender.Channel, client.Receiver.Channel, () => { client.Dispose(); server.Dispose(); listener.Dispose(); });
        }, n, m, d), "NoDelay"),
        new("shared memory", true, (n, m, d) => OverChannels(() =>
        {
            string name = $"weft-lab-{Environment.ProcessId}-{Guid.NewGuid():N}";
            var a = IpcSharedMemory.Create(name + "-a", IpcCodec.Bytes(PayloadBytes), 64, PayloadBytes);
            var b = IpcSharedMemory.Create(name + "-b", IpcCodec.Bytes(PayloadBytes), 64, PayloadBytes);
            return (a.Sender, a.Receiver, b.Sender, b.Receiver, () => { a.Dispose(); b.Dispose(); });
        }, n, m, d), "a ring in a named segment; parked goroutines are woken by a doorbell"),
        new("semaphore", true, (n, _, _) => (SemaphoreRoundTrip(n), double.NaN), "no payload: a wake-up only", CarriesData: false),
        new("signal", true, (n, _, _) => (SignalRoundTrip(Math.Max(10, n / 10)), double.NaN), "no payload, and signals of one kind coalesce: no throughput", CarriesData: false),
    ];

    /// <summary>A connection to <paramref name="listener"/>: the accept (a receive on Connections) waits while the client connects.</summary>
    private static (IpcDuplex<byte[]> Client, IpcDuplex<byte[]> Server) Connect(IpcListener<byte[]> listener, Func<ValueTask<IpcDuplex<byte[]>>> connect)
    {
        var accept = listener.Connections.ReceiveAsync().AsTask();
        var client = connect().AsTask().WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        var server = accept.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult() ?? throw new IOException("the listener closed before it accepted the connection");
        return (client, server);
    }

    public ExperimentResult Run(LabContext ctx)
    {
        int n = ctx.Size(300, 10_000), m = ctx.Size(3_000, 200_000);
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "Shared memory is the fastest IPC; every other mechanism copies data through the kernel.",
            Measured = $"For each mechanism in Weft.Ipc: the mean of {n:#,0} round trips of a {PayloadBytes}-byte message between two goroutines of this process (echoed back), and {m:#,0} messages sent one way as fast as the receiver takes them.",
        };
        var mechanisms = Mechanisms();
        var rows = new List<(Mechanism M, double Rtt, double Tput)>();
        for (int i = 0; i < mechanisms.Count; i++)
        {
            var mech = mechanisms[i];
            ctx.Step(mech.Name, (double)i / mechanisms.Count);
            double rtt, tput;
            try
            {
                (rtt, tput) = mech.Run(n, m, ctx.Size(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(60)));
            }
            catch (Exception e) when (e is OperationCanceledException or IpcException or IOException or TimeoutException)
            {
                // One mechanism failing (or stalling past its deadline) is a finding for its row, not the end of the experiment.
                (rtt, tput) = (double.NaN, double.NaN);
                mech = mech with { Note = $"failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}" };
                r.Notes.Add($"{mech.Name}: {mech.Note}");
            }
            rows.Add((mech, rtt, tput));
            string key = mech.Name.Replace(' ', '_');
            r.Figures[$"{key}.roundtrip_ns"] = rtt;
            if (!double.IsNaN(tput)) r.Figures[$"{key}.msgs_per_s"] = tput;
        }
        var ranked = rows.OrderBy(x => x.M.IsIpc).ThenBy(x => double.IsNaN(x.Rtt)).ThenBy(x => x.Rtt).ToList();
        int rank = 0;
        r.Tables.Add(new ResultTable("Ranked by round trip", ["rank", "mechanism", "64 B round trip", "one-way msgs/s", "note"],
            ranked.Select(x => (IReadOnlyList<string>)[x.M.IsIpc ? (++rank).ToString(System.Globalization.CultureInfo.InvariantCulture) : "ref", x.M.Name, Measure.Ns(x.Rtt), Measure.N(x.Tput), x.M.Note ?? ""]).ToList()));
        r.Charts.Add(new Chart("64-byte round trip (log scale)", "ns", "bar", ranked.Select(x => x.M.Name).ToList(), [new("round trip", ranked.Select(x => (double?)x.Rtt).ToList())], LogScale: true));

        // The claim is about moving data: a semaphore or a signal carries none, so they are ranked but not compared.
        var ipc = ranked.Where(x => x.M.IsIpc && x.M.CarriesData && !double.IsNaN(x.Rtt)).ToList();
        var shm = ipc.FirstOrDefault(x => x.M.Name == "shared memory");
        if (ipc.Count == 0)
        {
            r.Verdict = Verdict.NotChecked;
            r.Reason = $"every IPC mechanism failed here (see the notes); the in-process channel took {Measure.Ns(rows[0].Rtt)}.";
            return r;
        }
        var fastest = ipc[0];
        if (shm.M is null)
        {
            r.Verdict = Verdict.NotChecked;
            r.Reason = $"shared memory could not be measured here (see the notes). Of those measured, {fastest.M.Name} is the fastest ({Measure.Ns(fastest.Rtt)} a round trip) and {ipc[^1].M.Name} the slowest ({Measure.Ns(ipc[^1].Rtt)}); the in-process channel takes {Measure.Ns(rows[0].Rtt)}.";
        }
        else if (fastest.M == shm.M)
        {
            r.Verdict = Verdict.Holds;
            r.Reason = $"shared memory: {Measure.Ns(shm.Rtt)} a round trip, the fastest; next is {ipc[1].M.Name} at {Measure.Ns(ipc[1].Rtt)}.";
        }
        else
        {
            r.Verdict = Verdict.DoesNotHold;
            r.Reason = $"{fastest.M.Name} ({Measure.Ns(fastest.Rtt)}) beat shared memory ({Measure.Ns(shm.Rtt)}) here.";
        }
        return r;
    }

    private static (IpcSender<byte[]>, IpcReceiver<byte[]>) OpenFifo(string path)
    {
        var receiver = IpcFifo.OpenReceiverAsync(path, IpcCodec.Bytes(PayloadBytes)).AsTask();
        var sender = IpcFifo.OpenSenderAsync(path, IpcCodec.Bytes(PayloadBytes)).AsTask();
        return (sender.GetAwaiter().GetResult(), receiver.GetAwaiter().GetResult());
    }

    /// <summary>Round trips, then one-way throughput, over two channel pairs (request and reply).</summary>
    private static (double, double) OverChannels(Func<(SendOnlyChan<byte[]> ReqSend, ReceiveOnlyChan<byte[]> ReqRecv, SendOnlyChan<byte[]> RespSend, ReceiveOnlyChan<byte[]> RespRecv, Action Dispose)> open, int n, int m, TimeSpan deadlineAfter)
    {
        var (reqS, reqR, respS, respR, dispose) = open();
        try
        {
            var result = new Chan<(double, double)>(1);
            int roundTrips = 0, oneWay = 0, echoed = 0; // progress, for the message of a stall
            Go.Run(async () =>
            {
                byte[] payload = new byte[PayloadBytes];
                const int Warm = 50;
                Go.Run(async () =>
                {
                    for (int i = 0; i < n + Warm; i++) { await respS.SendAsync((await reqR.ReceiveAsync())!); Volatile.Write(ref echoed, i + 1); }
                });
                for (int i = 0; i < Warm; i++) { await reqS.SendAsync(payload); await respR.ReceiveAsync(); }
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < n; i++) { await reqS.SendAsync(payload); await respR.ReceiveAsync(); Volatile.Write(ref roundTrips, i + 1); }
                double rtt = Stopwatch.GetElapsedTime(start).TotalNanoseconds / n;

                var received = new Chan<bool>(1);
                Go.Run(async () =>
                {
                    for (int i = 0; i < m; i++) { await reqR.ReceiveAsync(); Volatile.Write(ref oneWay, i + 1); }
                    await received.SendAsync(true);
                });
                start = Stopwatch.GetTimestamp();
                for (int i = 0; i < m; i++) await reqS.SendAsync(payload);
                await received.ReceiveAsync();
                double tput = m / Stopwatch.GetElapsedTime(start).TotalSeconds;
                await result.SendAsync((rtt, tput));
            });
            using var deadline = new CancellationTokenSource(deadlineAfter);
            try
            {
                return result.Receive(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{n:#,0} round trips and {m:#,0} one-way messages did not finish within {deadlineAfter.TotalSeconds:0} s (a stalled endpoint): {Volatile.Read(ref roundTrips):#,0} timed round trips done, {Volatile.Read(ref echoed):#,0} echoed, {Volatile.Read(ref oneWay):#,0} one-way received");
            }
        }
        finally
        {
            dispose();
        }
    }

    private static double SemaphoreRoundTrip(int n)
    {
        string a = $"weft-lab-{Environment.ProcessId}-sa", b = $"weft-lab-{Environment.ProcessId}-sb";
        using var ping = IpcSemaphore.Create(a, 0);
        using var pong = IpcSemaphore.Create(b, 0);
        try
        {
            var peer = new Thread(() => { for (int i = 0; i < n + 50; i++) { ping.Acquire(); pong.Release(); } }) { IsBackground = true };
            peer.Start();
            for (int i = 0; i < 50; i++) { ping.Release(); pong.Acquire(); }
            double ns = Measure.NsPerOp(n, () => { ping.Release(); pong.Acquire(); });
            peer.Join();
            return ns;
        }
        finally
        {
            IpcSemaphore.Unlink(a);
            IpcSemaphore.Unlink(b);
        }
    }

    private static double SignalRoundTrip(int n)
    {
        // SIGUSR1 to this process, echoed as SIGUSR2 by a goroutine: each is a real kill(2) and a handler delivery.
        var usr1 = new Chan<int>(1);
        var usr2 = new Chan<int>(1);
        IpcSignal.Notify(usr1, IpcSignal.User1);
        IpcSignal.Notify(usr2, IpcSignal.User2);
        try
        {
            int pid = Environment.ProcessId;
            Go.Run(async () =>
            {
                for (int i = 0; i < n + 10; i++) { await usr1.ReceiveAsync(); IpcSignal.Send(pid, IpcSignal.User2); }
            });
            var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)).Token;
            for (int i = 0; i < 10; i++) { IpcSignal.Send(pid, IpcSignal.User1); usr2.Receive(timeout); }
            return Measure.NsPerOp(n, () => { IpcSignal.Send(pid, IpcSignal.User1); usr2.Receive(timeout); });
        }
        finally
        {
            IpcSignal.Stop(usr1);
            IpcSignal.Stop(usr2);
        }
    }
}
