// A child process for tests that must watch a process end: the default unhandled-exception path, deadlock
// detection and environment-variable validation. Each scenario prints what the parent test asserts on.
// A scenario named "<name>@main" runs its body under Go.Main instead of on the plain main thread.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Weft;
using Weft.Testing;

string[] parts = (args.Length > 0 ? args[0] : "").Split('@');
bool underMain = parts.Length > 1 && parts[1] == "main";
if (FalseAlarms.Find(parts[0]) is { } falseAlarm) return FalseAlarms.Run(falseAlarm, underMain);

switch (parts[0])
{
    case "unhandled":
    {
        // Two goroutines parked forever so the dump has something to list, then one that throws.
        var never = new TaskCompletionSource();
        Go.Run(async () => await never.Task);
        Go.Run(async () => await Go.Sleep(TimeSpan.FromHours(1)));
        Go.Run(async () =>
        {
            while (!Go.Dump().Contains("waiting, sleep")) await Go.Sleep(TimeSpan.FromMilliseconds(1));
            throw new InvalidOperationException("boom from a goroutine");
        });
        Thread.Sleep(TimeSpan.FromSeconds(30));
        Console.WriteLine("still alive"); // must never print
        return 0;
    }
    case "maxprocs":
        try
        {
            var done = new ManualResetEventSlim();
            Go.Run(() => done.Set());
            done.Wait(TimeSpan.FromSeconds(10));
            Console.WriteLine("maxprocs=" + Go.MaxProcs);
            return 0;
        }
        catch (InvalidOperationException ex)
        {
            Console.WriteLine("error: " + ex.Message);
            return 3;
        }
    case "sigquit":
    {
        using var registration = Go.DumpOnQuitSignal();
        Go.Run(async () => await Go.Sleep(TimeSpan.FromHours(1)));
        while (!Go.Dump().Contains("waiting, sleep")) Thread.Sleep(1);
        Console.WriteLine("ready");
        Console.Out.Flush();
        Thread.Sleep(TimeSpan.FromSeconds(30));
        return 0;
    }
    case "schedtrace":
    {
        var done = new ManualResetEventSlim();
        Go.Run(async () => { await Go.Sleep(TimeSpan.FromMilliseconds(120)); done.Set(); });
        done.Wait(TimeSpan.FromSeconds(10));
        return 0;
    }
    case "gomain-deadlock":
        // A real deadlock in a Go program: main waits on a WaitGroup whose goroutines wait on a channel nobody
        // sends on. 10,000 of them, started from one line, so the report must group them.
        return Go.Main(async () =>
        {
            var wg = new Weft.Sync.WaitGroup();
            var never = new Chan<int>();
            for (int i = 0; i < 10_000; i++)
            {
                wg.Add(1);
                Go.Run(async () => { await never.ReceiveAsync(); wg.Done(); });
            }
            await wg.WaitAsync();
            Console.WriteLine("returned"); // must never print
        });
    case "gomain-late-deadlock":
        // The deadlock comes only after a plain thread, which might have sent, exits without touching Weft: the
        // detector keeps looking while the thread lives, and reports once it is gone.
        return Go.Main(async () =>
        {
            var never = new Chan<int>();
            new Thread(() => Thread.Sleep(700)) { Name = "sleeper" }.Start();
            await never.ReceiveAsync();
        });
    case "gomain-deadlock-after-work":
        // Goroutines work for a while (a plain thread feeds them, then exits) and then deadlock.
        return Go.Main(async () =>
        {
            var ch = new Chan<int>();
            var feeder = new Thread(() => { for (int i = 0; i < 50; i++) { Thread.Sleep(10); ch.Send(i); } });
            feeder.Start();
            int sum = 0;
            for (int i = 0; i < 50; i++) sum += await ch.ReceiveAsync();
            Console.WriteLine("sum=" + sum);
            Console.Out.Flush();
            await ch.ReceiveAsync(); // nobody sends any more
        });
    case "gomain-deadlock-event":
    {
        // The report routed through Go.DeadlockDetected: handled, so nothing is printed, and still exit code 2.
        Go.DeadlockDetected += (_, e) =>
        {
            Console.WriteLine($"handled: {e.Message} goroutines={e.GoroutineCount} groups={e.Groups.Count} mode={e.Mode}");
            foreach (var g in e.Groups) Console.WriteLine("group: " + g);
            Console.Out.Flush();
            e.Handled = true;
        };
        return Go.Main(async () =>
        {
            var never = new Chan<int>();
            Go.Run(async () => await never.SendAsync(1));
            await never.ReceiveAsync(); // receives the 1
            await never.ReceiveAsync(); // and then waits forever
        });
    }
    case "gomain-deadlock-report":
    {
        // Report mode: printed once, and the program goes on. Once the report is on standard error, code that is
        // not a goroutine rescues it.
        var rescue = new Chan<int>(1);
        var stderr = Console.Error;
        Console.SetError(new AfterWrite(stderr, text =>
        {
            if (text.Contains("deadlock!", StringComparison.Ordinal)) Task.Run(() => rescue.Send(1));
        }));
        return Go.Main(async () =>
        {
            await rescue.ReceiveAsync();
            Console.WriteLine("recovered");
        });
    }
    case "gomain-exit":
        // Main returning ends the program, even with goroutines still running (Go's rule); its result is the exit code.
        return Go.Main(async () =>
        {
            Go.Run(async () => { while (true) await Go.Sleep(TimeSpan.FromMilliseconds(5)); });
            Go.Run(async () => await new Chan<int>().ReceiveAsync());
            await Go.Sleep(TimeSpan.FromMilliseconds(20));
            Console.WriteLine("main returns");
            return 7;
        });
    case "gomain-throw":
        // An exception escaping main leaves Go.Main with its original stack trace.
        return Go.Main(async () =>
        {
            await Go.Sleep(TimeSpan.FromMilliseconds(1));
            ThrowFromMain.Throw();
        });
    case "gomain-async":
        return await Go.RunMain(async () =>
        {
            var ch = new Chan<int>();
            Go.Run(async () => await ch.SendAsync(5));
            return await ch.ReceiveAsync();
        });
    case "gomain-twice":
        Go.Main(async () => await Go.Sleep(TimeSpan.FromMilliseconds(1)));
        try
        {
            Go.Main(async () => await Go.Sleep(TimeSpan.FromMilliseconds(1)));
            return 0;
        }
        catch (InvalidOperationException ex)
        {
            Console.WriteLine("error: " + ex.Message);
            return 3;
        }
    case "cancelled":
    {
        // A goroutine that stops because its token was cancelled ends quietly; a stray OperationCanceledException
        // (no cancelled token) is unhandled, with the frame that threw it in the report.
        var cts = new CancellationTokenSource();
        var quiet = new ManualResetEventSlim();
        Go.Run(async () =>
        {
            try { await Go.Sleep(TimeSpan.FromHours(1), cts.Token); }
            finally { quiet.Set(); }
        });
        cts.Cancel();
        quiet.Wait(TimeSpan.FromSeconds(10));
        Thread.Sleep(200); // time for a wrong crash to happen
        Console.WriteLine("cancelled quietly");
        Console.Out.Flush();
        Go.Run(async () =>
        {
            await Go.Sleep(TimeSpan.FromMilliseconds(1));
            ThrowFromMain.ThrowStrayCancellation();
        });
        Thread.Sleep(TimeSpan.FromSeconds(30));
        Console.WriteLine("still alive"); // must never print
        return 0;
    }
    case "nodeadlock":
        // Under Go.Main, asleep on a channel while real I/O and a timer are pending: not a deadlock. The I/O
        // finishes and sends, the timer fires, and the program ends normally.
        return Go.Main(async () =>
        {
            var ch = new Chan<int>();
            var wg = new Weft.Sync.WaitGroup();
            wg.Go(async () => await ch.ReceiveAsync());
            wg.Go(async () => { await Task.Delay(400); await ch.SendAsync(1); });
            wg.Go(async () => await Go.Sleep(TimeSpan.FromMilliseconds(600)));
            await wg.WaitAsync();
            Console.WriteLine("done");
        });
    default:
        Console.Error.WriteLine("usage: Weft.TestHost <scenario>[@main] (see Program.cs)");
        return 2;
}

/// <summary>Writes through to another writer, then tells <c>after</c> what was written.</summary>
internal sealed class AfterWrite(TextWriter inner, Action<string> after) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(value);

    public override void Write(string? value)
    {
        inner.Write(value);
        inner.Flush();
        after(value ?? "");
    }

    public override void WriteLine(string? value)
    {
        inner.WriteLine(value);
        inner.Flush();
        after(value ?? "");
    }
}

internal static class ThrowFromMain
{
    public static void Throw() => throw new InvalidOperationException("boom from main");

    public static void ThrowStrayCancellation() => throw new OperationCanceledException("stray cancellation");
}

/// <summary>
/// Programs that are alive while every goroutine waits for code that is not a goroutine (issue 15's list). Each
/// prints "done: ..." with what it checked; none may be reported as deadlocked, with or without Go.Main.
/// </summary>
internal static class FalseAlarms
{
    public static Func<Task<string>>? Find(string name) => name switch
    {
        "fa-delay" => MainThreadDelaysThenSends,
        "fa-thread" => PlainThreadSleepsThenSends,
        "fa-taskrun" => TaskRunDelaysThenSends,
        "fa-mutex" => PlainThreadHoldsMutex,
        "fa-http" => HttpListenerFeedsChannel,
        "fa-poolthread" => ThreadStartedFromThePoolSends,
        "fa-longrunning" => LongRunningTaskSends,
        _ => null,
    };

    public static int Run(Func<Task<string>> body, bool underMain)
    {
        string result = underMain
            ? RunUnderMain(body)
            : body().GetAwaiter().GetResult();
        Console.WriteLine("done: " + result);
        return 0;
    }

    private static string RunUnderMain(Func<Task<string>> body)
    {
        string result = "";
        int code = Go.Main(async () => { result = await body(); });
        return code == 0 ? result : "exit " + code;
    }

    /// <summary>4 workers wait in await foreach while the producer awaits Task.Delay between sends.</summary>
    private static async Task<string> MainThreadDelaysThenSends()
    {
        var jobs = new Chan<int>();
        var results = new Chan<int>(8);
        var wg = new Weft.Sync.WaitGroup();
        for (int w = 0; w < 4; w++)
        {
            wg.Add(1);
            Go.Run(async () =>
            {
                await foreach (var j in jobs) await results.SendAsync(j * 2);
                wg.Done();
            });
        }
        int sum = 0;
        for (int j = 1; j <= 3; j++)
        {
            await Task.Delay(300);
            await jobs.SendAsync(j);
            sum += await results.ReceiveAsync();
        }
        jobs.Close();
        await wg.WaitAsync();
        return "sum=" + sum;
    }

    /// <summary>A plain Thread sleeps 1.5 s and then sends.</summary>
    private static async Task<string> PlainThreadSleepsThenSends()
    {
        var ch = new Chan<int>();
        var got = new Chan<int>(1);
        Go.Run(async () => await got.SendAsync(await ch.ReceiveAsync()));
        var t = new Thread(() => { Thread.Sleep(1500); ch.Send(41); });
        t.Start();
        return "got=" + (await got.ReceiveAsync() + 1);
    }

    /// <summary>Task.Run(async () => { await Task.Delay(1500); await c.SendAsync(1); }).</summary>
    private static async Task<string> TaskRunDelaysThenSends()
    {
        var c = new Chan<int>();
        var got = new Chan<int>(1);
        Go.Run(async () => await got.SendAsync(await c.ReceiveAsync()));
        _ = Task.Run(async () => { await Task.Delay(1500); await c.SendAsync(1); });
        return "got=" + await got.ReceiveAsync();
    }

    /// <summary>A plain thread holds a Weft Mutex for 1.5 s while goroutines wait to lock it.</summary>
    private static async Task<string> PlainThreadHoldsMutex()
    {
        var mu = new Weft.Sync.Mutex();
        var locked = new ManualResetEventSlim();
        var t = new Thread(() =>
        {
            mu.Lock();
            locked.Set();
            Thread.Sleep(1500);
            mu.Unlock();
        });
        t.Start();
        locked.Wait();
        int count = 0;
        var wg = new Weft.Sync.WaitGroup();
        for (int i = 0; i < 3; i++)
        {
            wg.Add(1);
            Go.Run(async () =>
            {
                await mu.LockAsync();
                count++;
                mu.Unlock();
                wg.Done();
            });
        }
        await wg.WaitAsync();
        return "count=" + count;
    }

    /// <summary>
    /// A plain thread started from a ThreadPool thread (so Linux names it like a pool worker) sleeps, then sends;
    /// the pool itself is idle meanwhile.
    /// </summary>
    private static async Task<string> ThreadStartedFromThePoolSends()
    {
        var ch = new Chan<int>();
        var got = new Chan<int>(1);
        Go.Run(async () => await got.SendAsync(await ch.ReceiveAsync()));
        await Task.Run(() => new Thread(() => { Thread.Sleep(1500); ch.Send(7); }).Start());
        return "got=" + await got.ReceiveAsync();
    }

    /// <summary>A LongRunning task (a dedicated thread, not pool work) sleeps, then sends.</summary>
    private static async Task<string> LongRunningTaskSends()
    {
        var ch = new Chan<int>();
        var got = new Chan<int>(1);
        Go.Run(async () => await got.SendAsync(await ch.ReceiveAsync()));
        _ = Task.Factory.StartNew(() => { Thread.Sleep(1500); ch.Send(8); }, TaskCreationOptions.LongRunning);
        return "got=" + await got.ReceiveAsync();
    }

    /// <summary>
    /// An HTTP server (HttpListener) whose handlers feed a channel that goroutines read; a client posts three
    /// requests, 500 ms apart. The accept loop runs as it would in an ASP.NET Core app: not a goroutine.
    /// </summary>
    private static async Task<string> HttpListenerFeedsChannel()
    {
        int port = FreePort();
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var orders = new Chan<string>();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                var ctx = await listener.GetContextAsync();
                string body = await new StreamReader(ctx.Request.InputStream).ReadToEndAsync();
                await orders.SendAsync(body);
                ctx.Response.StatusCode = 204;
                ctx.Response.Close();
            }
        });
        var seen = new Chan<string>(3);
        for (int i = 0; i < 2; i++) Go.Run(async () => { await foreach (var o in orders) await seen.SendAsync(o); });
        _ = Task.Run(async () =>
        {
            using var client = new HttpClient();
            for (int i = 1; i <= 3; i++)
            {
                await Task.Delay(500);
                using var r = await client.PostAsync($"http://127.0.0.1:{port}/", new StringContent("order" + i, Encoding.UTF8));
                r.EnsureSuccessStatusCode();
            }
        });
        var got = new List<string>();
        for (int i = 0; i < 3; i++) got.Add(await seen.ReceiveAsync() ?? "(closed)");
        got.Sort(StringComparer.Ordinal);
        listener.Stop();
        return string.Join(",", got);
    }

    private static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
