using Weft;
using Weft.Sync;

namespace HostedService;

public sealed record OrderOptions(int Count);

/// <summary>A channel of orders and the worker goroutines that process them until it is closed and drained.</summary>
public sealed class Orders
{
    private readonly Chan<int> _queue = new(capacity: 64);
    private readonly IHostApplicationLifetime _lifetime;
    private int _produced, _processed, _afterStop;

    public Orders(IHostApplicationLifetime lifetime)
    {
        _lifetime = lifetime;
        for (int i = 0; i < 4; i++)
        {
            Workers.Go(async () =>
            {
                await foreach (int order in _queue)
                {
                    await Go.Sleep(TimeSpan.FromMilliseconds(2)); // the work
                    Interlocked.Increment(ref _processed);
                    if (_lifetime.ApplicationStopping.IsCancellationRequested) Interlocked.Increment(ref _afterStop);
                }
            });
        }
    }

    public WaitGroup Workers { get; } = new();
    public int Produced => Volatile.Read(ref _produced);
    public int Processed => Volatile.Read(ref _processed);
    public int AfterStop => Volatile.Read(ref _afterStop);

    public async ValueTask AddAsync(int order)
    {
        await _queue.SendAsync(order);
        Interlocked.Increment(ref _produced);
    }

    /// <summary>No more orders: the workers finish what is queued, then return.</summary>
    public void Complete() => _queue.Close();
}

/// <summary>Feeds the orders, then asks the host to stop; the workers drain the rest during shutdown.</summary>
public sealed class OrderProducer(Orders orders, OrderOptions options, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            for (int i = 0; i < options.Count && !stoppingToken.IsCancellationRequested; i++) await orders.AddAsync(i);
        }
        finally
        {
            orders.Complete();
        }
        lifetime.StopApplication();
    }
}
