namespace Weft.Bench;

/// <summary>The registry of workloads, in the order the suite runs them.</summary>
public static class Workloads
{
    public static List<Workload> All() =>
    [
        // runtime
        // channels
        // sync
        // thread pool
        new PoolLatency(), new PoolThroughput(),
    ];
}
