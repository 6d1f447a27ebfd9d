using System.Globalization;
using BenchmarkDotNet.Running;
using Weft.Bench;

// Usage:
//   dotnet run -c Release --project bench/Weft.Bench -- [--baseline] [--in-process] [--metrics-listener] [WORKLOAD...]
//   dotnet run -c Release --project bench/Weft.Bench -- --micro [BenchmarkDotNet args]
// Prints exactly one line per workload, "NAME VALUE UNIT" (median of the repetitions), and with --baseline
// a second line "NAME.tpl VALUE UNIT" measured on .NET's own Task/ThreadPool/Channels.
//
// Each of those lines is measured in a process of its own (this program started again with --isolated NAME
// weft|tpl), as BenchmarkDotNet does: the JIT compiles the code that every workload shares (the goroutine step
// loop, the channel operations, the BCL's async plumbing) once, with the profile of whatever ran first, so in one
// process each figure depended on the workloads before it (ping-pong: about 110 ns alone, 120-130 after the
// runtime workloads and the baselines). --in-process measures everything in this process instead, in order.
if (args.Length > 0 && args[0] == "--micro")
{
    BenchmarkSwitcher.FromAssembly(typeof(Workload).Assembly).Run(args[1..]);
    return 0;
}

// The roles a workload starts this program in (an IPC row's peer, a measurement in a fresh process).
if (PeerRoles.TryRun(args, out int roleExit)) return roleExit;

if (args.Length >= 3 && args[0] == "--isolated")
{
    // One line of the suite, measured in this fresh process (see the top). With tpl, prints nothing if the
    // workload has no baseline.
    if (args.Contains("--metrics-listener")) StartMetricsListener();
    var workload = Workloads.All().Single(w => w.Name == args[1]);
    if (args[2] == "weft") Print(workload.Name, Measure(workload.WarmUp, workload.Repetitions, () => workload.RunWeft()), workload.Unit);
    else if (workload.RunBaseline() is not null)
        Print(workload.Name + ".tpl", Measure(workload.WarmUp, workload.Repetitions, () => workload.RunBaseline()!.Value), workload.Unit);
    return 0;
}

const string Usage = """
    usage: dotnet run -c Release --project bench/Weft.Bench -- [--baseline] [--in-process] [--metrics-listener] [WORKLOAD...]
           dotnet run -c Release --project bench/Weft.Bench -- --micro [BenchmarkDotNet arguments]
    Prints "NAME VALUE UNIT" per workload (the median of its repetitions); --baseline adds "NAME.tpl VALUE UNIT" on .NET's
    own primitives. Without WORKLOAD, runs every workload except the IPC rows, which start other processes and run
    only when named. `weft bench` shows the same suite as a table, with Go and the C floor beside it.
    """;
string[] flags = ["--baseline", "--in-process", "--metrics-listener"];
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(Usage);
    Console.WriteLine($"workloads: {string.Join(", ", Workloads.All().Select(w => w.Name + (w.OnlyByName ? " (by name)" : "")))}");
    return 0;
}
foreach (string a in args.Where(a => a.StartsWith('-') && !flags.Contains(a)))
{
    Console.Error.WriteLine($"unknown option '{a}'; allowed: {string.Join(", ", flags)}, --micro (first), --help");
    Console.Error.WriteLine(Usage);
    return 2;
}

bool baseline = args.Contains("--baseline");
bool inProcess = args.Contains("--in-process");
if (inProcess && args.Contains("--metrics-listener")) StartMetricsListener();
string[] names = args.Where(a => !a.StartsWith('-')).ToArray();
var all = Workloads.All();
foreach (var n in names)
{
    if (!all.Any(w => w.Name == n))
    {
        Console.Error.WriteLine($"unknown workload '{n}'; known: {string.Join(", ", all.Select(w => w.Name))}");
        return 2;
    }
}

string[] passOn = args.Contains("--metrics-listener") ? ["--metrics-listener"] : [];
foreach (var w in all.Where(w => names.Length == 0 ? !w.OnlyByName : names.Contains(w.Name)))
{
    if (!inProcess)
    {
        Console.Write(ChildProcess.Run(["--isolated", w.Name, "weft", .. passOn], w.Name));
        if (baseline) Console.Write(ChildProcess.Run(["--isolated", w.Name, "tpl", .. passOn], w.Name + ".tpl"));
        continue;
    }
    Print(w.Name, Measure(w.WarmUp, w.Repetitions, () => w.RunWeft()), w.Unit);
    if (baseline && w.RunBaseline() is not null) // the first call also warms up, or says there is no baseline
    {
        Print(w.Name + ".tpl", Measure(w.WarmUp, w.Repetitions, () => w.RunBaseline()!.Value), w.Unit);
    }
}
return 0;

static void StartMetricsListener()
{
    // Attach a listener to the Weft meter that collects every 100 ms, to measure what observing costs.
    var listener = new System.Diagnostics.Metrics.MeterListener();
    listener.InstrumentPublished = (inst, l) => { if (inst.Meter.Name == Weft.Diagnostics.WeftMeter.Name) l.EnableMeasurementEvents(inst); };
    long sink = 0;
    listener.SetMeasurementEventCallback<long>((_, v, _, _) => sink += v);
    listener.Start();
    new Thread(() => { while (true) { Thread.Sleep(100); listener.RecordObservableInstruments(); } }) { IsBackground = true }.Start();
}

static double Measure(bool warmUp, int reps, Func<double> run)
{
    // Warm up for at least two seconds, not one run: .NET compiles a method at tier 0 first and re-compiles it with
    // full optimisation (and profile-guided) only after it has been called for a while, and most workloads here
    // finish in a fraction of that. Go, the comparison, is compiled ahead of time.
    if (warmUp)
    {
        var warm = System.Diagnostics.Stopwatch.StartNew();
        do run(); while (warm.Elapsed < TimeSpan.FromSeconds(2));
    }
    var values = new List<double>();
    for (int i = 0; i < reps; i++)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        values.Add(run());
    }
    values.Sort();
    return values[values.Count / 2];
}

static void Print(string name, double value, string unit) =>
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {value:0.0} {unit}"));
