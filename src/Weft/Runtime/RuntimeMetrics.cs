using System.Diagnostics.Metrics;
using Weft.Diagnostics;

namespace Weft.Runtime;

/// <summary>
/// The scheduler's instruments on the <c>Weft</c> meter. All are observable: the values already exist as counters
/// the scheduler keeps for itself, and the callbacks run only when a listener collects, so an unobserved process
/// pays nothing.
/// </summary>
internal static class RuntimeMetrics
{
    private static int s_registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) != 0) return;
        var m = WeftMeter.Meter;
        m.CreateObservableUpDownCounter("weft.goroutines.live", () => (long)Registry.Live, "{goroutine}", "Goroutines started and not yet finished.");
        m.CreateObservableCounter("weft.goroutines.created", () => Registry.Created, "{goroutine}", "Goroutines started since the process began.");
        m.CreateObservableUpDownCounter("weft.scheduler.runnable", Runnable, "{goroutine}", "Goroutines waiting for a processor (global and local queues).");
        m.CreateObservableUpDownCounter("weft.scheduler.global_queue", () => (long)Scheduler.Global.Count, "{goroutine}", "Goroutines in the global run queue.");
        m.CreateObservableUpDownCounter("weft.scheduler.local_queue", LocalQueues, "{goroutine}", "Goroutines in each processor's local run queue (tag: proc).");
        m.CreateObservableCounter("weft.scheduler.steals", () => Scheduler.Steals, "{steal}", "Successful work steals between processors.");
        m.CreateObservableCounter("weft.scheduler.parks", () => Scheduler.Parks, "{park}", "Times a processor went idle.");
        m.CreateObservableCounter("weft.scheduler.unparks", () => Scheduler.Unparks, "{unpark}", "Times an idle thread was woken to run a processor.");
        m.CreateObservableCounter("weft.sysmon.handoffs", () => Scheduler.Retakes, "{handoff}", "Processors taken from a thread stuck in one goroutine step and handed to another.");
        m.CreateObservableUpDownCounter("weft.timers.pending", PendingTimers, "{timer}", "Timers (sleeps, After, Timer, Ticker) waiting in the per-processor heaps.");
        m.CreateObservableUpDownCounter("weft.scheduler.procs", () => (long)Scheduler.AllP.Length, "{proc}", "MaxProcs: processors that run goroutines in parallel.");
        m.CreateObservableUpDownCounter("weft.scheduler.threads", () => (long)Scheduler.ThreadCount, "{thread}", "Scheduler threads (Ms) created.");
    }

    private static long Runnable()
    {
        long n = Scheduler.Global.Count;
        foreach (var p in Scheduler.AllP) n += p.Runq.Count;
        return n;
    }

    private static IEnumerable<Measurement<long>> LocalQueues()
    {
        foreach (var p in Scheduler.AllP)
            yield return new Measurement<long>(p.Runq.Count, new KeyValuePair<string, object?>("proc", p.Id));
    }

    private static long PendingTimers()
    {
        long n = 0;
        foreach (var p in Scheduler.AllP) n += p.Timers.Count;
        return n;
    }
}
