using System.Runtime.CompilerServices;
using Xunit;

namespace Weft.Tests.Runtime;

/// <summary>The grouped goroutine summary that reports print (Go's pprof goroutine?debug=1).</summary>
public class DumpSummaryTests
{
    [Fact]
    public async Task TenThousandParkedGoroutinesTakeOneLinePerOrigin()
    {
        var gate = new Chan<int>();
        var sleepers = new Chan<int>();
        int line = 0;
        for (int i = 0; i < 10_000; i++)
        {
            line = Line(); Go.Run(async () => await gate.ReceiveAsync());
        }
        int sleepLine = 0;
        for (int i = 0; i < 3; i++)
        {
            sleepLine = Line(); Go.Run(async () => await sleepers.SendAsync(1));
        }
        string origin = $"{nameof(DumpSummaryTests)}.cs:{line}";
        string sleepOrigin = $"{nameof(DumpSummaryTests)}.cs:{sleepLine}";
        try
        {
            await GoroutineTests.Eventually(() => Go.DumpSummary().Contains($"10000 @ waiting, chan receive, up to "));
            string summary = Go.DumpSummary();
            var mine = summary.Split('\n').Where(l => l.Contains(origin, StringComparison.Ordinal)).ToList();
            Assert.Single(mine);
            Assert.StartsWith("10000 @ waiting, chan receive, up to ", mine[0]);
            var sending = summary.Split('\n').Where(l => l.Contains(sleepOrigin, StringComparison.Ordinal)).ToList();
            Assert.Single(sending);
            Assert.StartsWith("3 @ waiting, chan send", sending[0]);
            Assert.StartsWith("goroutines: ", summary);
            // Bounded: a handful of lines however many goroutines (other tests' goroutines may share the process).
            Assert.True(summary.Split('\n').Length < 50, summary);
        }
        finally
        {
            gate.Close();
            for (int i = 0; i < 3; i++) await sleepers.ReceiveAsync().AsTask().Within();
        }
    }

    [Fact]
    public void AGroupPrintsAsOneDumpLine()
    {
        var g = new GoroutineGroup("waiting", "select", "Program.cs:12", 1000, TimeSpan.FromMilliseconds(120));
        Assert.Equal("1000 @ waiting, select, up to 120 ms: created at Program.cs:12", g.ToString());
        Assert.Equal("2 @ runnable: created at ?", new GoroutineGroup("runnable", null, null, 2, TimeSpan.Zero).ToString());
    }

    private static int Line([CallerLineNumber] int line = 0) => line;
}
