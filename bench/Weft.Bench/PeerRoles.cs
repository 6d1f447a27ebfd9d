using System.Diagnostics;
using System.Globalization;

namespace Weft.Bench;

/// <summary>
/// The roles a workload starts this program in: the other process of an IPC row (<c>--ipc-peer</c>,
/// <c>--ipc-pipe-peer</c>, <c>--ipc-shm-peer</c>, <c>--ipc-mq-peer</c>) and one measurement in a fresh process
/// (<c>--child NAME weft|tpl</c>). A workload starts <see cref="Environment.ProcessPath"/> again, so every program that
/// runs workloads (bench/Weft.Bench, and `weft bench` in src/Weft.Cli) answers these arguments first, through this one
/// method, before it parses its own command line.
/// </summary>
public static class PeerRoles
{
    /// <summary>
    /// How to start this program again with <paramref name="args"/>: the same runtime and entry point (through
    /// <c>dotnet PROGRAM.dll</c> when it was started so, not through the apphost), standard streams inherited.
    /// </summary>
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet") psi.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs the role <paramref name="args"/> name, if they name one.</summary>
    /// <returns>true, with the role's exit code in <paramref name="exitCode"/>, when <paramref name="args"/> named a role; false otherwise.</returns>
    public static bool TryRun(string[] args, out int exitCode)
    {
        exitCode = 0;
        if (args.Length == 0) return false;
        switch (args[0])
        {
            case "--ipc-peer" when args.Length == 4:
                exitCode = IpcBench.RunPeer(args[1..]); // Workloads/Ipc.cs: Unix socket and TCP rows
                return true;
            case "--ipc-pipe-peer" when args.Length >= 2:
                exitCode = IpcPipeWorkload.Peer(args[1..]); // Workloads/IpcPipe.cs: the child of the pipe rows
                return true;
            case "--ipc-shm-peer" when args.Length == 5:
                exitCode = IpcShmPeer.Run(args[1..]); // Workloads/IpcShm.cs
                return true;
            case "--ipc-mq-peer" when args.Length == 5:
                exitCode = IpcMqWorkload.Peer(args[1..]); // Workloads/IpcMq.cs
                return true;
            case "--child" when args.Length == 3:
                var workload = Workloads.All().Single(w => w.Name == args[1]);
                Console.WriteLine(workload.MeasureInThisProcess(args[2]).ToString(CultureInfo.InvariantCulture));
                return true;
            default:
                return false;
        }
    }
}
