// Blocking work beside goroutines. Go hides blocking system calls by handing the processor to another thread; .NET
// code blocks in many places Weft cannot see (a synchronous driver, File.ReadAllBytes, a native call), so Weft offers
// three tools, each shown here:
//  1. ThreadPoolExecutor: a classic bounded thread pool (core/max threads, a bounded queue, a rejection policy) for
//     work that is blocking by nature, such as CPU-heavy or synchronous-I/O jobs.
//  2. Go.Blocking(() => ...): a goroutine that must block right now hands its processor on for the call, so the other
//     goroutines keep running on the remaining processors.
//  3. await Go.BlockingAsync(() => ...): the call runs on Go.BlockingExecutor and only the goroutine waits.
//
//   dotnet run -c Release --project samples/BlockingPool [jobs]
//
// Exits 0 when every job's result is right.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Weft;
using Weft.Sync;
using Weft.Threading;

int jobs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 64;
Go.MaxProcs = 2;

// 1. A bounded pool: 2 core threads, up to 4, a queue of 8; when all are busy and the queue is full, the submitting
//    thread runs the job itself (CallerRuns), which slows producers down instead of dropping work.
using var pool = new ThreadPoolExecutor(new ThreadPoolExecutorOptions
{
    Name = "hashers",
    CorePoolSize = 2,
    MaximumPoolSize = 4,
    QueueCapacity = 8,
    RejectionPolicy = RejectionPolicy.CallerRuns,
});
var hashes = new List<Task<string>>();
for (int i = 0; i < jobs; i++)
{
    int job = i;
    hashes.Add(pool.Submit(() => Hash(job)));
}
string[] results = await Task.WhenAll(hashes);
int correct = results.Where((h, i) => h == Hash(i)).Count();
pool.Shutdown();
bool terminated = await pool.AwaitTerminationAsync(TimeSpan.FromSeconds(30));
Console.WriteLine($"pool: {correct} of {jobs} hashes right, largest pool {pool.LargestPoolSize} threads, completed {pool.CompletedCount}, terminated {terminated}");

// 2 and 3. Goroutines that block, beside a heartbeat goroutine that keeps running meanwhile.
int beats = 0;
using var stopHeartbeat = new CancellationTokenSource();
var heartbeat = new WaitGroup();
heartbeat.Go(async () =>
{
    try
    {
        while (true)
        {
            await Go.Sleep(TimeSpan.FromMilliseconds(5), stopHeartbeat.Token);
            Interlocked.Increment(ref beats);
        }
    }
    catch (OperationCanceledException)
    {
    }
});

var blocking = new WaitGroup();
int inline = 0, offloaded = 0;
for (int i = 0; i < 4; i++)
{
    blocking.Go(() =>
    {
        Go.Blocking(() => Thread.Sleep(100));                   // 2: this thread blocks; its processor moves on
        Interlocked.Increment(ref inline);
        return Task.CompletedTask;
    });
    blocking.Go(async () =>
    {
        int n = await Go.BlockingAsync(() => ReadLength());     // 3: runs on Go.BlockingExecutor; only this goroutine waits
        if (n > 0) Interlocked.Increment(ref offloaded);
    });
}
await blocking.WaitAsync();
await stopHeartbeat.CancelAsync();
await heartbeat.WaitAsync();
Console.WriteLine($"goroutines: {inline} Go.Blocking calls and {offloaded} Go.BlockingAsync calls done; heartbeat ticked {beats} times meanwhile");

return correct == jobs && terminated && inline == 4 && offloaded == 4 ? 0 : 1;

static string Hash(int job)
{
    byte[] data = Encoding.UTF8.GetBytes($"job {job}");
    for (int round = 0; round < 1000; round++) data = SHA256.HashData(data);
    return Convert.ToHexString(data);
}

static int ReadLength()
{
    string path = Path.GetTempFileName();
    try
    {
        File.WriteAllText(path, "blocking file I/O");
        return File.ReadAllBytes(path).Length;
    }
    finally
    {
        File.Delete(path);
    }
}
