// Experiment 1, create and switch: what one process, one thread and one goroutine cost to create and join, what a
// round-trip switch between two of them costs, and what each costs in memory.
//
// The switches are chosen so each crosses what the note says it crosses: two processes over a pipe (the child is
// `cat`, which echoes each byte as soon as it reads it: two kernel context switches and four syscalls a round trip),
// two threads over kernel semaphores (System.Threading.Semaphore blocks in a futex, unlike SemaphoreSlim, which spins
// first), and two goroutines over an unbuffered Weft channel (a park and a run-queue push, no kernel).
// Memory is measured as the process sees it: RSS growth for threads and goroutines (the managed heap growth is shown
// too, since that is what a goroutine is), and each child process's PSS (its share of pages, not counting what it
// shares with its siblings twice).
using System.Diagnostics;
using System.Globalization;

namespace Weft.Cli.Lab.Experiments;

internal sealed class CreateAndSwitch : IExperiment
{
    public string Id => "create-switch";
    public string Title => "1. Create and switch";

    public ExperimentResult Run(LabContext ctx)
    {
        var r = new ExperimentResult
        {
            Id = Id,
            Title = Title,
            Claim = "A goroutine switch is cheap because it never enters the kernel; processes and threads are switched by the kernel, which costs more.",
            Measured = "Create+join of one unit (mean over a batch); a round-trip switch (process: a byte to `cat` and back over pipes; thread: two kernel semaphores; goroutine: an unbuffered channel); memory per unit with 1, 1,000 and 100,000 units alive (processes capped).",
        };
        var f = r.Figures;

        ctx.Step("create: processes", 0.02);
        f["process.create_ns"] = Measure.NsPerOp(ctx.Size(5, 40), () => { using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!; p.WaitForExit(); });
        ctx.Step("create: threads", 0.1);
        f["thread.create_ns"] = Measure.NsPerOp(ctx.Size(300, 5_000), () => { var t = new Thread(static () => { }); t.Start(); t.Join(); });
        ctx.Step("create: goroutines", 0.15);
        f["goroutine.create_ns"] = GoroutineCreate(ctx.Size(20_000, 500_000));

        ctx.Step("switch: process over a pipe", 0.2);
        f["process.switch_ns"] = ProcessSwitch(ctx.Size(300, 10_000));
        ctx.Step("switch: threads over semaphores", 0.3);
        f["thread.switch_ns"] = ThreadSwitch(ctx.Size(3_000, 100_000));
        ctx.Step("switch: goroutines over a channel", 0.4);
        f["goroutine.switch_ns"] = GoroutineSwitch(ctx.Size(50_000, 1_000_000));

        int[] goCounts = ctx.Size(new[] { 1, 1_000, 10_000 }, new[] { 1, 1_000, 100_000 });
        int[] threadCounts = ctx.Size(new[] { 1, 200 }, new[] { 1, 1_000 });
        int[] procCounts = ctx.Size(new[] { 1, 4 }, new[] { 1, 50 });
        foreach (int n in goCounts)
        {
            ctx.Step($"memory: {n:#,0} goroutines", 0.5);
            var (rss, heap) = GoroutineMemory.Parked(n);
            f[$"goroutine.rss_per_unit.{n}"] = rss;
            f[$"goroutine.heap_per_unit.{n}"] = heap;
        }
        foreach (int n in threadCounts)
        {
            ctx.Step($"memory: {n:#,0} threads", 0.7);
            var m = GoroutineMemory.BlockedThreads(n, TimeSpan.FromSeconds(30), long.MaxValue);
            f[$"thread.rss_per_unit.{n}"] = m.RssPerUnit;
            f[$"thread.virtual_per_unit.{n}"] = m.VirtualPerUnit;
        }
        foreach (int n in procCounts)
        {
            ctx.Step($"memory: {n} processes", 0.85);
            f[$"process.pss_per_unit.{n}"] = ProcessMemory(n);
        }

        ctx.Step("Go twin", 0.95);
        var go = GoTwin.Run(ctx);

        var cols = new List<string> { "", "process", "thread", "goroutine (Weft)" };
        if (go is not null) cols.Add("goroutine (Go)");
        string GoCell(string key) => go is not null && go.TryGetValue(key, out double v) ? (key.Contains("bytes", StringComparison.Ordinal) ? Measure.Bytes(v) : Measure.Ns(v)) : "–";
        var rows = new List<IReadOnlyList<string>>
        {
            Row(["create + join", Measure.Ns(f["process.create_ns"]), Measure.Ns(f["thread.create_ns"]), Measure.Ns(f["goroutine.create_ns"])], go is null ? null : GoCell("create_ns")),
            Row(["round-trip switch", Measure.Ns(f["process.switch_ns"]), Measure.Ns(f["thread.switch_ns"]), Measure.Ns(f["goroutine.switch_ns"])], go is null ? null : GoCell("switch_ns")),
        };
        foreach (int n in goCounts.Union(threadCounts).Union(procCounts).Order())
        {
            string P(string key) => f.TryGetValue(key, out double v) ? Measure.Bytes(v) : "–";
            rows.Add(Row([$"memory per unit, {n:#,0} alive", P($"process.pss_per_unit.{n}"), P($"thread.rss_per_unit.{n}"), P($"goroutine.heap_per_unit.{n}")],
                go is null ? null : GoCell($"bytes_per_unit.{n}")));
        }
        r.Tables.Add(new ResultTable("Cost of one unit", cols, rows));
        r.Notes.Add($"Goroutine memory is the growth of the live managed heap (what a parked goroutine is; RSS moves in 4 KiB pages, too coarse for one): the RSS growth at the largest count is {Measure.Bytes(f[$"goroutine.rss_per_unit.{goCounts[^1]}"])} per goroutine. Thread memory is RSS growth; each thread also reserves {Measure.Bytes(f[$"thread.virtual_per_unit.{threadCounts[^1]}"])} of address space for its stack. Process memory is each `sleep` child's PSS.");
        if (go is null) r.Notes.Add("No Go column: Go is not installed (no `go` on PATH or in /usr/lib/go-1.NN).");
        else r.Notes.Add("Go's memory is the growth of its stacks in use and live heap (runtime.MemStats StackInuse + HeapAlloc); – where the collector freed more than the goroutines took.");
        if (go is not null) foreach (var (k, v) in go) f["go." + k] = v;

        var cats = new List<string> { "create + join", "round-trip switch" };
        var series = new List<Series>
        {
            new("process", [f["process.create_ns"], f["process.switch_ns"]]),
            new("thread", [f["thread.create_ns"], f["thread.switch_ns"]]),
            new("goroutine (Weft)", [f["goroutine.create_ns"], f["goroutine.switch_ns"]]),
        };
        if (go is not null) series.Add(new("goroutine (Go)", [go.GetValueOrDefault("create_ns", double.NaN), go.GetValueOrDefault("switch_ns", double.NaN)]));
        r.Charts.Add(new Chart("Create and switch (log scale)", "ns", "bar", cats, series, LogScale: true));

        double g = f["goroutine.switch_ns"], t = f["thread.switch_ns"], p = f["process.switch_ns"];
        string figures = $"goroutine {Measure.Ns(g)}, thread {Measure.Ns(t)}, process {Measure.Ns(p)} a round trip";
        if (g * 3 <= t && g * 3 <= p) { r.Verdict = Verdict.Holds; r.Reason = $"{figures}: a goroutine switch is {Measure.Ratio(t / g)} cheaper than a thread's and {Measure.Ratio(p / g)} cheaper than a process's."; }
        else if (g < t && g < p) { r.Verdict = Verdict.HoldsWithCaveat; r.Reason = $"{figures}: the goroutine switch is the cheapest, but by less than 3× ({Measure.Ratio(t / g)} against threads, {Measure.Ratio(p / g)} against processes)."; }
        else { r.Verdict = Verdict.DoesNotHold; r.Reason = $"{figures}: the goroutine switch was not the cheapest on this machine."; }
        return r;
    }

    private static IReadOnlyList<string> Row(string[] cells, string? go) => go is null ? cells : [.. cells, go];

    private static double GoroutineCreate(int n)
    {
        // Each goroutine is started and joined (its completion received) before the next, as the thread and process
        // rows do; started from a goroutine, as Go's main would.
        var done = new Chan<double>();
        Go.Run(async () =>
        {
            var exited = new Chan<bool>(1);
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++)
            {
                Go.Run(exited, static c => { c.TrySend(true); });
                await exited.ReceiveAsync();
            }
            await done.SendAsync(Stopwatch.GetElapsedTime(start).TotalNanoseconds / n);
        });
        return done.Receive();
    }

    private static double ProcessSwitch(int n)
    {
        using var cat = Process.Start(new ProcessStartInfo("cat") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false })!;
        var input = cat.StandardInput.BaseStream;
        var output = cat.StandardOutput.BaseStream;
        byte[] one = [42];
        byte[] back = new byte[1];
        void RoundTrip()
        {
            input.Write(one);
            input.Flush();
            if (output.Read(back) != 1) throw new InvalidOperationException("cat closed its output");
        }
        for (int i = 0; i < Math.Min(n, 100); i++) RoundTrip();
        double ns = Measure.NsPerOp(n, RoundTrip);
        cat.StandardInput.Close();
        cat.WaitForExit();
        return ns;
    }

    private static double ThreadSwitch(int n)
    {
        using var ping = new System.Threading.Semaphore(0, 1);
        using var pong = new System.Threading.Semaphore(0, 1);
        var peer = new Thread(() => { for (int i = 0; i < n + 100; i++) { ping.WaitOne(); pong.Release(); } }) { IsBackground = true };
        peer.Start();
        for (int i = 0; i < 100; i++) { ping.Release(); pong.WaitOne(); }
        double ns = Measure.NsPerOp(n, () => { ping.Release(); pong.WaitOne(); });
        peer.Join();
        return ns;
    }

    private static double GoroutineSwitch(int n)
    {
        var result = new Chan<double>(1);
        Go.Run(async () =>
        {
            var ping = new Chan<int>();
            var pong = new Chan<int>();
            Go.Run(async () =>
            {
                for (int i = 0; i < n + 1_000; i++) await pong.SendAsync(await ping.ReceiveAsync() + 1);
            });
            for (int i = 0; i < 1_000; i++) { await ping.SendAsync(i); await pong.ReceiveAsync(); }
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < n; i++) { await ping.SendAsync(i); await pong.ReceiveAsync(); }
            await result.SendAsync(Stopwatch.GetElapsedTime(start).TotalNanoseconds / n);
        });
        return result.Receive();
    }

    private static double ProcessMemory(int n)
    {
        var children = new List<Process>();
        try
        {
            for (int i = 0; i < n; i++) children.Add(Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!);
            Thread.Sleep(200); // let each finish exec and touch its pages
            var pss = children.Select(c => Measure.Pss(c.Id)).Where(v => v > 0).ToList();
            return pss.Count == 0 ? double.NaN : pss.Average();
        }
        finally
        {
            foreach (var c in children)
            {
                try { c.Kill(); c.WaitForExit(); } catch (InvalidOperationException) { }
                c.Dispose();
            }
        }
    }
}

/// <summary>The Go column: a small Go program, written to a temporary folder and run with `go run` when Go is installed.</summary>
internal static class GoTwin
{
    /// <summary>
    /// `go` on PATH, else the newest of Debian's versioned installs (/usr/lib/go-1.NN/bin/go, which the golang-1.NN-go
    /// packages put off PATH); null when neither exists.
    /// </summary>
    public static string? GoPath()
    {
        if (Executables.OnPath("go") is { } onPath) return onPath;
        if (!Directory.Exists("/usr/lib")) return null;
        return Directory.EnumerateDirectories("/usr/lib", "go-1.*")
            .Select(d => (Dir: d, Minor: int.TryParse(Path.GetFileName(d)["go-1.".Length..], CultureInfo.InvariantCulture, out int m) ? m : -1))
            .Where(x => x.Minor >= 0 && File.Exists(Path.Combine(x.Dir, "bin", "go")))
            .OrderByDescending(x => x.Minor)
            .Select(x => Path.Combine(x.Dir, "bin", "go"))
            .FirstOrDefault();
    }

    /// <summary>create_ns, switch_ns and bytes_per_unit.N from Go, or null without Go (or if it failed: noted).</summary>
    public static Dictionary<string, double>? Run(LabContext ctx)
    {
        string? go = GoPath();
        if (go is null) return null;
        string dir = Directory.CreateTempSubdirectory("weft-lab-go-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "main.go"), Source);
            var psi = new ProcessStartInfo(go, ["run", "main.go", ctx.Quick ? "quick" : "full"]) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.Environment["GOTOOLCHAIN"] = "local";
            psi.Environment["GO111MODULE"] = "off";
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit(120_000);
            if (p.ExitCode != 0) return null;
            var d = new Dictionary<string, double>();
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Split(' ');
                if (parts.Length == 2 && double.TryParse(parts[1], CultureInfo.InvariantCulture, out double v)) d[parts[0]] = v;
            }
            return d;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
        finally { Directory.Delete(dir, recursive: true); }
    }

    private const string Source = """
        package main

        import (
        	"fmt"
        	"os"
        	"runtime"
        	"time"
        )

        func main() {
        	quick := len(os.Args) > 1 && os.Args[1] == "quick"
        	n := 500000
        	counts := []int{1, 1000, 100000}
        	if quick {
        		n = 20000
        		counts = []int{1, 1000, 10000}
        	}
        	done := make(chan bool, 1)
        	start := time.Now()
        	for i := 0; i < n; i++ {
        		go func() { done <- true }()
        		<-done
        	}
        	fmt.Printf("create_ns %.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
        	ping, pong := make(chan int), make(chan int)
        	go func() {
        		for v := range ping {
        			pong <- v + 1
        		}
        	}()
        	start = time.Now()
        	for i := 0; i < n; i++ {
        		ping <- i
        		<-pong
        	}
        	fmt.Printf("switch_ns %.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
        	close(ping)
        	for _, c := range counts {
        		var before, after runtime.MemStats
        		runtime.GC()
        		runtime.ReadMemStats(&before)
        		block := make(chan bool)
        		for i := 0; i < c; i++ {
        			go func() { <-block }()
        		}
        		runtime.GC()
        		runtime.ReadMemStats(&after)
        		// Stacks in use plus the live heap (the g records): what the parked goroutines hold, as the Weft
        		// column counts its live managed heap. Sys would say 0 while the runtime still has reserved room.
        		grown := int64(after.StackInuse+after.HeapAlloc) - int64(before.StackInuse+before.HeapAlloc)
        		if grown >= 0 { // below zero, the collector freed more than one goroutine took: no figure
        			fmt.Printf("bytes_per_unit.%d %.1f\n", c, float64(grown)/float64(c))
        		}
        		close(block)
        	}
        }
        """;
}
