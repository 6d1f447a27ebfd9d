// Roles for pipes to a child process (src/Weft.Ipc/Children): the child opens the ends its parent passed in the
// environment (IpcChild.OpenReceiverFromParent / OpenSenderToParent) and does one thing with them. Every role runs
// its work as Weft's main goroutine, so the values cross goroutine to goroutine.
namespace Weft.Ipc.Peer;

internal static class PipeRoles
{
    private static void Ready()
    {
        Console.WriteLine("ready");
        Console.Out.Flush();
    }

    /// <summary>
    /// Forwards every int from the parent back to the parent, in order, then closes its sender when the parent's
    /// close frame arrives (the contract suite's cross-process flavour: the test sends and receives, the values cross
    /// this process). If the parent's stream ends without a close frame, exits 3 without closing.
    /// A line "blocked? Q" on stdin is answered "blocked Q" while the relay is parked sending to the parent (the
    /// pipe back is full), else "running Q": the parent's contract flavour fills its pipe only once the relay is stuck.
    /// </summary>
    [Role("pipe-relay")]
    public static Task<int> Relay(string[] args)
    {
        int parkedInSend = 0;
        var questions = new Thread(() =>
        {
            while (Console.ReadLine() is { } line)
            {
                if (!line.StartsWith("blocked? ", StringComparison.Ordinal)) continue;
                Console.WriteLine((Volatile.Read(ref parkedInSend) == 1 ? "blocked " : "running ") + line["blocked? ".Length..]);
                Console.Out.Flush();
            }
        }) { IsBackground = true };
        questions.Start();
        return Go.RunMain(async () =>
        {
            using var input = IpcChild.OpenReceiverFromParent(IpcCodec.Unmanaged<int>());
            var output = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<int>());
            Ready();
            await foreach (int v in input.Channel)
            {
                var send = output.Channel.SendAsync(v);
                if (send.IsCompleted)
                {
                    await send;
                    continue;
                }
                Volatile.Write(ref parkedInSend, 1);
                await send;
                Volatile.Write(ref parkedInSend, 0);
            }
            return Finish(input, output);
        });
    }

    /// <summary>The relay's end: a lost parent is exit code 3; else the close frame goes back and the exit code is 0.</summary>
    private static int Finish(IpcReceiver<int> input, IpcSender<int> output)
    {
        if (input.Error is not null)
        {
            Console.Error.WriteLine("parent lost: " + input.Error.Message);
            return 3;
        }
        output.Dispose();
        return 0;
    }

    /// <summary>The README's "worker" (the Processes example's child side), as written: each job's length goes back.</summary>
    [Role("readme-worker")]
    public static Task<int> ReadmeWorker(string[] args) => Go.RunMain(async () =>
    {
        using var jobs = IpcChild.OpenReceiverFromParent(IpcCodec.Utf8());
        using var lengths = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<long>());
        await foreach (var job in jobs.Channel) await lengths.Channel.SendAsync(job.Length);
        return 0;
    });

    /// <summary>Sends the longs 0..N-1 to the parent, closes its sender (the close frame) and exits 0.</summary>
    [Role("pipe-send-count")]
    public static Task<int> SendCount(string[] args) => Go.RunMain(async () =>
    {
        long n = long.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
        using var output = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<long>());
        Ready();
        for (long i = 0; i < n; i++) await output.Channel.SendAsync(i);
        output.Channel.Close();
        return 0;
    });

    /// <summary>Sends the longs 0..N-1, then exits at once without closing its sender (no close frame: the parent sees a lost peer).</summary>
    [Role("pipe-send-then-exit")]
    public static Task<int> SendThenExit(string[] args) => Go.RunMain(async () =>
    {
        long n = long.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
        var output = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<long>());
        for (long i = 0; i < n; i++) await output.Channel.SendAsync(i);
        Console.Out.Flush();
        Environment.Exit(0); // the kernel closes the descriptor: EOF with no close frame
        return 0;
    });

    /// <summary>Sends 0, 1, 2... to the parent until killed; prints "ready" once 100 values are out.</summary>
    [Role("pipe-send-forever")]
    public static Task<int> SendForever(string[] args) => Go.RunMain(async () =>
    {
        var output = IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<long>());
        for (long i = 0; ; i++)
        {
            await output.Channel.SendAsync(i);
            if (i == 100) Ready();
        }
    });

    /// <summary>
    /// Opens the channel from the parent, prints "ready", and reads nothing until a line arrives on stdin (the parent
    /// measures back-pressure meanwhile). Then receives until the close frame, checks that the longs are 0, 1, 2...
    /// and prints "received N" (or "out of order at I: V" and exits 1).
    /// </summary>
    [Role("pipe-stall-then-drain")]
    public static Task<int> StallThenDrain(string[] args) => Go.RunMain(async () =>
    {
        using var input = IpcChild.OpenReceiverFromParent(IpcCodec.Unmanaged<long>());
        Ready();
        await Task.Run(Console.ReadLine);
        long next = 0;
        await foreach (long v in input.Channel)
        {
            if (v != next)
            {
                Console.WriteLine($"out of order at {next}: {v}");
                return 1;
            }
            next++;
        }
        Console.WriteLine($"received {next}" + (input.Error is null ? "" : " error " + input.Error.GetType().Name));
        return 0;
    });

    /// <summary>Tries to open the channel named by args[0] ("from-parent" or "to-parent") and prints "opened" or "error TYPE: MESSAGE".</summary>
    [Role("pipe-open")]
    public static int Open(string[] args)
    {
        try
        {
            IDisposable end = args[0] == "from-parent"
                ? IpcChild.OpenReceiverFromParent(IpcCodec.Unmanaged<int>())
                : IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<int>());
            Console.WriteLine("opened");
            if (args.Length > 1 && args[1] == "twice")
            {
                try
                {
                    _ = args[0] == "from-parent"
                        ? (IDisposable)IpcChild.OpenReceiverFromParent(IpcCodec.Unmanaged<int>())
                        : IpcChild.OpenSenderToParent(IpcCodec.Unmanaged<int>());
                    Console.WriteLine("opened twice");
                }
                catch (Exception e)
                {
                    Console.WriteLine($"error {e.GetType().Name}: {e.Message}");
                }
            }
            end.Dispose();
        }
        catch (Exception e)
        {
            Console.WriteLine($"error {e.GetType().Name}: {e.Message}");
        }
        Console.Out.Flush();
        return 0;
    }
}
