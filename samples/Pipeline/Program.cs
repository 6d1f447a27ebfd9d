// A worker pipeline, as in Go's "pipelines and cancellation" pattern: a generator goroutine, a fan-out of workers
// that square each number, a fan-in that sums the squares. Weft.Sync's Mutex, Semaphore and Go's Timer are used by
// their Go names under implicit usings (the package's global using aliases make them Weft's).
//
//   dotnet run -c Release --project samples/Pipeline [items] [workers]
//
// Prints one line per worker and a summary; exits 0 when every item arrived exactly once. It runs under Go.Main, so
// it is a Go program: if its goroutines ever all waited on each other, it would end with Go's deadlock message and
// exit code 2 instead of hanging.
using Weft;
using Weft.Sync;

int items = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
int workers = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 4;
return Go.Main(() => Run(items, workers));

static async Task<int> Run(int items, int workers)
{
    var numbers = Generate(items);
    var squares = new Chan<long>(capacity: 64);
    var perWorker = new int[workers];
    var statsLock = new Mutex();        // Weft.Sync.Mutex, not System.Threading.Mutex
    var checksums = new Semaphore(2);   // at most two workers in the "expensive" stage at once
    long checksum = 0;

    var wg = new WaitGroup();
    for (int w = 0; w < workers; w++)
    {
        int id = w;
        wg.Go(async () =>
        {
            await foreach (int n in numbers)            // for n := range numbers
            {
                long square = (long)n * n;
                if (n % 1000 == 0)
                {
                    await checksums.AcquireAsync();
                    try { Interlocked.Add(ref checksum, square % 97); }
                    finally { checksums.Release(); }
                }
                await squares.SendAsync(square);
                await statsLock.LockAsync();
                perWorker[id]++;
                statsLock.Unlock();
            }
        });
    }
    Go.Run(async () =>                                  // close the output once every worker is done
    {
        await wg.WaitAsync();
        squares.Close();
    });

    Timer deadline = Go.NewTimer(TimeSpan.FromMinutes(1)); // Weft.Timer, not System.Threading.Timer
    var sel = new Select();
    var next = sel.Receive(squares);
    var late = sel.Receive(deadline.C);
    long sum = 0;
    int received = 0;
    while (true)
    {
        int chosen = await sel.WaitAsync();
        if (chosen == late.Index)
        {
            Console.WriteLine("pipeline: timed out");
            return 1;
        }
        if (!next.Ok) break;                            // squares closed and drained
        sum += next.Value;
        received++;
    }
    deadline.Stop();

    long expected = 0;
    for (long i = 1; i <= items; i++) expected += i * i;
    for (int w = 0; w < workers; w++) Console.WriteLine($"worker {w}: {perWorker[w]} items");
    Console.WriteLine($"pipeline: {received} of {items} items, sum of squares {sum} (expected {expected}), checksum {checksum}");
    return received == items && sum == expected && perWorker.Sum() == items ? 0 : 1;
}

// Go's generator: a goroutine owns the channel and closes it when done; callers only receive.
static ReceiveOnlyChan<int> Generate(int count)
{
    var ch = new Chan<int>();
    Go.Run(async () =>
    {
        for (int i = 1; i <= count; i++) await ch.SendAsync(i);
        ch.Close();
    });
    return ch;
}
