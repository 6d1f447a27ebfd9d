namespace Weft.Bench;

/// <summary>The registry of workloads, in the order the suite runs them.</summary>
public static class Workloads
{
    public static List<Workload> All() =>
    [
        // runtime
        new SpawnWorkload(),
        new SpawnWorkload(withContext: true),
        new SleepersWorkload(),
        new ParkedWorkload(),
        // channels
        new PingPong(),
        new PingPong(withContext: true),
        new Spsc(),
        new Mpmc(),
        new SelectWorkload(),
        new SelectParkWorkload(),
        new Pairs(),
        // sync
        new MutexWorkload(),
        // thread pool
        new PoolLatency(), new PoolThroughput(),
        // IPC between processes (issue 16); they start a peer process, so they run only when asked for by name
        new IpcRoundTrip("unix"), new IpcRoundTrip("tcp"), new IpcUnixThroughput(), new IpcPipeWorkload(), new IpcPipeThroughput(), new IpcMqWorkload(),
        new IpcShmRoundTrip(), new IpcShmRoundTrip(spin: true), new IpcShmThroughput(), new IpcSemWorkload(), new IpcSemAsyncWorkload(),
        new IpcPipeInProcess(),
    ];
}
