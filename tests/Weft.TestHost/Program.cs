// A child process for tests that must watch a process end: the default unhandled-exception path and
// environment-variable validation. Each scenario prints what the parent test asserts on.
using Weft;

switch (args.Length > 0 ? args[0] : "")
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
    case "deadlock":
    {
        // main waits on a WaitGroup; the only goroutine waits on a channel nobody will ever send on.
        var wg = new Weft.Sync.WaitGroup();
        var never = new Chan<int>();
        wg.Go(async () => await never.ReceiveAsync());
        wg.Wait();
        Console.WriteLine("returned"); // must never print
        return 0;
    }
    case "deadlock-report":
    {
        // The only goroutine waits on a channel that a plain thread (invisible to Weft) feeds 1.5 s later: Weft
        // reports "all goroutines are asleep" meanwhile (the default mode), and the program then goes on.
        var ch = new Chan<int>();
        var done = new ManualResetEventSlim();
        Go.Run(async () => { await ch.ReceiveAsync(); done.Set(); });
        Thread.Sleep(1500);
        ch.Send(1);
        done.Wait(TimeSpan.FromSeconds(10));
        Console.WriteLine("recovered");
        return 0;
    }
    case "nodeadlock":
    {
        // Asleep on a channel while real I/O and a timer are pending: not a deadlock. The I/O finishes and
        // sends, the timer fires, and the program ends normally.
        var ch = new Chan<int>();
        var wg = new Weft.Sync.WaitGroup();
        wg.Go(async () => await ch.ReceiveAsync());
        wg.Go(async () => { await Task.Delay(400); await ch.SendAsync(1); });
        wg.Go(async () => await Go.Sleep(TimeSpan.FromMilliseconds(600)));
        wg.Wait();
        Console.WriteLine("done");
        return 0;
    }
    default:
        Console.Error.WriteLine("usage: Weft.TestHost unhandled|maxprocs");
        return 2;
}
