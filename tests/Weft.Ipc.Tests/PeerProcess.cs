using System.Diagnostics;
using Weft.Tests;

namespace Weft.Ipc.Tests;

/// <summary>
/// The other process of a cross-process test: <c>dotnet Weft.Ipc.Peer.dll &lt;role&gt; args</c>, with stdout and
/// stderr captured. Roles live in tests/Weft.Ipc.Peer, one file per mechanism. Every wait is bounded, and Dispose
/// kills the peer if it is still running, so a test that fails midway leaves no process behind.
/// </summary>
internal sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly SemaphoreSlim _lines = new(0);

    private PeerProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stdout) _stdout.Add(e.Data);
            _lines.Release();
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The peer's process, e.g. for its Id or for Kill.</summary>
    public Process Process => _process;

    /// <summary>What the peer has written to stderr so far (for failure messages).</summary>
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>The command line that runs <paramref name="role"/>: pass it to an API that starts a child itself.</summary>
    public static ProcessStartInfo StartInfo(string role, params string[] args)
    {
        // tests/Weft.Ipc.Tests/bin/<Configuration>/net10.0/ -> tests/Weft.Ipc.Peer/bin/<Configuration>/net10.0/
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string tfm = baseDir.Name, configuration = baseDir.Parent!.Name;
        string peer = Path.Combine(baseDir.Parent!.Parent!.Parent!.Parent!.FullName, "Weft.Ipc.Peer", "bin", configuration, tfm, "Weft.Ipc.Peer.dll");
        if (!File.Exists(peer)) throw new FileNotFoundException($"the peer is not built at {peer}", peer);
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(peer);
        psi.ArgumentList.Add(role);
        foreach (string a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        return psi;
    }

    /// <summary>Starts the peer in <paramref name="role"/>.</summary>
    public static PeerProcess Start(string role, params string[] args) => Adopt(Process.Start(StartInfo(role, args))!);

    /// <summary>Takes over a peer that an API started from <see cref="StartInfo"/> (stdout and stderr redirected).</summary>
    public static PeerProcess Adopt(Process process) => new(process);

    /// <summary>Writes one line to the peer's stdin.</summary>
    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits for the next stdout line that satisfies <paramref name="match"/>; fails on timeout or exit.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan? timeout = null)
    {
        int seen = 0;
        var deadline = DateTime.UtcNow + (timeout ?? TestTimeout.Default);
        while (true)
        {
            lock (_stdout)
                for (; seen < _stdout.Count; seen++)
                    if (match(_stdout[seen])) return _stdout[seen];
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new TimeoutException($"peer printed no matching line; stdout: [{string.Join(" | ", Lines)}], stderr: {Stderr}");
            if (!await _lines.WaitAsync(left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200)) && _process.HasExited)
            {
                _process.WaitForExit(); // drains the output handlers
                lock (_stdout) if (seen < _stdout.Count) continue;
                throw new InvalidOperationException($"peer exited with {_process.ExitCode} before a matching line; stdout: [{string.Join(" | ", Lines)}], stderr: {Stderr}");
            }
        }
    }

    /// <summary>Waits for the peer's "ready" line.</summary>
    public Task WaitReadyAsync(TimeSpan? timeout = null) => WaitForLineAsync(l => l == "ready", timeout);

    /// <summary>Every stdout line so far.</summary>
    public string[] Lines { get { lock (_stdout) return [.. _stdout]; } }

    /// <summary>Waits for the peer to exit and returns its exit code; kills it and fails on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TestTimeout.Default);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"peer did not exit; stdout: [{string.Join(" | ", Lines)}], stderr: {Stderr}");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Sends SIGKILL to the peer (kill -9) and waits for it to be gone.</summary>
    public void KillHard()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(TestTimeout.Default);
    }

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.Dispose();
        _lines.Dispose();
    }
}
