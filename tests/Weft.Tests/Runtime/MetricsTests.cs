using System.Diagnostics.Metrics;
using Xunit;

namespace Weft.Tests.Runtime;

public class MetricsTests
{
    private static Dictionary<string, List<(long value, string? proc)>> Collect()
    {
        var seen = new Dictionary<string, List<(long, string?)>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (inst, l) => { if (inst.Meter.Name == "Weft") l.EnableMeasurementEvents(inst); };
        listener.SetMeasurementEventCallback<long>((inst, value, tags, _) =>
        {
            string? proc = null;
            foreach (var t in tags) if (t.Key == "proc") proc = t.Value?.ToString();
            if (!seen.TryGetValue(inst.Name, out var list)) seen[inst.Name] = list = [];
            list.Add((value, proc));
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public async Task TheWeftMeterReportsTheSchedulersCounters()
    {
        var release = new Chan<int>();
        int parked = 0;
        for (int i = 0; i < 200; i++) Go.Run(async () => { Interlocked.Increment(ref parked); await release.ReceiveAsync(); });
        for (int i = 0; i < 50; i++) Go.Run(async () => await Go.Sleep(TimeSpan.FromMinutes(10), CancellationToken.None));
        await GoroutineTests.Eventually(() => Volatile.Read(ref parked) == 200);
        var m = Collect();
        foreach (var name in new[]
        {
            "weft.goroutines.live", "weft.goroutines.created", "weft.scheduler.runnable", "weft.scheduler.global_queue",
            "weft.scheduler.local_queue", "weft.scheduler.steals", "weft.scheduler.parks", "weft.scheduler.unparks",
            "weft.sysmon.handoffs", "weft.timers.pending", "weft.scheduler.procs", "weft.scheduler.threads",
        })
        {
            Assert.True(m.ContainsKey(name), $"instrument {name} missing");
        }
        Assert.True(m["weft.goroutines.live"][0].value >= 250);
        Assert.True(m["weft.goroutines.created"][0].value >= 250);
        Assert.True(m["weft.timers.pending"][0].value >= 50);
        Assert.Equal(Go.MaxProcs, m["weft.scheduler.local_queue"].Count);
        Assert.All(m["weft.scheduler.local_queue"], q => Assert.NotNull(q.proc));
        Assert.Equal(Go.MaxProcs, m["weft.scheduler.procs"][0].value);
        release.Close();
    }
}
