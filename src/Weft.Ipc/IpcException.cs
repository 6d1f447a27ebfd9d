// IpcException — a system call made for an IPC endpoint failed. It carries what a caller needs to act on the
// failure without parsing the message: the call, the path (if any) and errno. Interop/Errno.cs builds it.

namespace Weft.Ipc;

/// <summary>
/// A system call made by an IPC endpoint failed. The message names the call, the path (if any) and the system's
/// text for the error, e.g. <c>pipe2 failed: Too many open files (EMFILE, errno 24).</c>
/// </summary>
/// <example><code>
/// try { var (w, r) = IpcPipe.Create&lt;int&gt;(); }
/// catch (IpcException e) when (e.Errno == 24) { Console.Error.WriteLine("out of file descriptors: " + e.Message); }
/// </code></example>
public class IpcException : IOException
{
    /// <summary>Creates an exception for errno <paramref name="errno"/> from <paramref name="call"/>.</summary>
    /// <param name="call">The system call that failed, e.g. <c>pipe2</c>.</param>
    /// <param name="path">The path the call was about, or null.</param>
    /// <param name="errno">The errno value the call left.</param>
    /// <param name="message">The full message.</param>
    public IpcException(string call, string? path, int errno, string message)
        : base(message)
    {
        Call = call;
        Path = path;
        Errno = errno;
    }

    /// <summary>The system call that failed, e.g. <c>pipe2</c> or <c>write</c>.</summary>
    public string Call { get; }

    /// <summary>The path the call was about (a FIFO, a socket file), or null when it had none.</summary>
    public string? Path { get; }

    /// <summary>The errno value the call left (Linux numbering).</summary>
    public int Errno { get; }
}
