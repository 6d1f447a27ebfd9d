// IpcSignal — Unix signals as channel values, Go's signal.Notify and signal.Stop, and sending a signal to another
// process without the PID-reuse race.
//
// What: Notify(ch, signals...) makes every later delivery of those signals to this process a TrySend of the signal's
// number on ch; Stop(ch) ends that, and when it returns no more values go to ch. A channel may be notified for
// several signals and a signal for several channels (each gets every delivery). A notified signal's default action
// (for SIGINT, SIGTERM and SIGQUIT: terminating the process) is cancelled while at least one channel is notified for
// it, as in Go (except SIGCHLD, SIGCONT and SIGWINCH, which terminate nothing and whose runtime handling, such as
// restoring the terminal, should go on); Stop of the last channel restores the runtime's default handling.
//
// Why a TrySend from the handler, and not a transport behind the channel (the seam every other endpoint uses): a
// signal is an event, not a message in a kernel buffer that a receiver could take on demand. The kernel keeps at most
// one pending instance of a standard signal, so there is nothing to take lazily: the delivery must be recorded when
// it happens, or it is gone. Go does the same (a process-wide handler that does a non-blocking send to each notified
// channel), and the same rule follows: the caller sizes the channel; a full channel drops the delivery rather than
// block the signal path. A closed channel drops it too (Go would panic in its signal goroutine; a library must not
// bring the process down from a handler thread).
//
// Delivery path: .NET's PosixSignalRegistration (its own signal thread reads what the async-signal-safe native
// handler wrote, then calls registered handlers on a managed thread), one registration per signal number, created by
// the first Notify for it and disposed by the Stop of its last channel. Raw numbers (SIGUSR1 = 10) are passed as
// (PosixSignal)10, which the runtime accepts; the signals .NET names get its negative enum values, so that its own
// handling of SIGINT/SIGQUIT/SIGTERM (context.Cancel) applies.
//
// Invariants: the table of registrations and channel lists is guarded by one lock, and the handler sends under it;
// so Stop, which takes it too, returns only after any delivery in flight to the stopped channel finished, and a
// delivery after Stop never sees the channel (Go's promise). TrySend never blocks (it may wake a receiver), so the
// lock is held briefly, and signals are rare. Handler → channel lock is the only lock order.
//
// Send(Process, signal) uses a pidfd: pidfd_open(pid) pins the process the PID names at that moment, and the
// signal goes through pidfd_send_signal to exactly that process. A Process object can outlive its process and its
// PID be given to a newcomer; checking Process.HasExited after the pidfd is open closes that window for a child of
// this process (it cannot be reaped, and its PID reused, while HasExited is still false). Send(pid, signal) is plain
// kill(2), for PIDs that came from elsewhere.
//
// Rejected:
//   * Console.CancelKeyPress / AppDomain.ProcessExit: two signals only, and no raw numbers;
//   * a pump goroutine per registration reading a signalfd: it needs the signal blocked in every thread, which .NET's
//     runtime does not allow, and it adds a hop for nothing;
//   * "Notify with no signals means every signal" (Go): the .NET runtime owns several signals (SIGSEGV, SIGPIPE,
//     glibc's real-time ones), so each signal is named, and those it owns are refused by number.

using System.Diagnostics;
using System.Runtime.InteropServices;
using Weft.Ipc.Interop;

namespace Weft.Ipc;

/// <summary>
/// Unix signals as channel values (Go's <c>signal.Notify</c> and <c>signal.Stop</c>), and sending signals to processes.
/// </summary>
/// <remarks>
/// <para>Delivery is a non-blocking send: size the channel for the bursts you expect; a delivery that finds the
/// channel full (or closed) is dropped, as in Go. Signals arrive while goroutines are parked, like any channel send.</para>
/// <para>While a channel is notified for <see cref="Interrupt"/>, <see cref="Terminate"/> or <see cref="Quit"/>, that
/// signal no longer ends the process: the program decides (Go's rule).</para>
/// </remarks>
/// <example><code>
/// var signals = new Chan&lt;int&gt;(1);
/// IpcSignal.Notify(signals, IpcSignal.Interrupt, IpcSignal.Terminate);
/// int sig = await signals.ReceiveAsync(); // shut down gracefully
/// IpcSignal.Stop(signals);
/// </code></example>
public static class IpcSignal
{
    /// <summary>SIGHUP (1): the terminal hung up; daemons use it to reload.</summary>
    public const int Hangup = 1;

    /// <summary>SIGINT (2): Ctrl+C.</summary>
    public const int Interrupt = 2;

    /// <summary>SIGQUIT (3): Ctrl+\.</summary>
    public const int Quit = 3;

    /// <summary>SIGKILL (9): cannot be caught; only for <see cref="Send(int, int)"/>.</summary>
    public const int Kill = 9;

    /// <summary>SIGUSR1 (10).</summary>
    public const int User1 = 10;

    /// <summary>SIGUSR2 (12).</summary>
    public const int User2 = 12;

    /// <summary>SIGTERM (15): the polite request to terminate.</summary>
    public const int Terminate = 15;

    /// <summary>SIGCHLD (17): a child stopped or exited.</summary>
    public const int Child = 17;

    /// <summary>SIGCONT (18): continue after a stop.</summary>
    public const int Continue = 18;

    /// <summary>SIGWINCH (28): the terminal's size changed.</summary>
    public const int WindowChanged = 28;

    private const int MaxSignal = 64; // SIGRTMAX on Linux

    private static readonly Lock s_gate = new();
    private static readonly Dictionary<int, Entry> s_entries = [];

    private sealed class Entry(int signal)
    {
        internal readonly int Signal = signal;
        internal readonly List<SendOnlyChan<int>> Channels = [];
        internal PosixSignalRegistration? Registration;
    }

    /// <summary>
    /// Sends the number of each later delivery of <paramref name="signals"/> to this process on
    /// <paramref name="channel"/>, without blocking: a delivery that finds the channel full or closed is dropped.
    /// </summary>
    /// <param name="channel">The channel to notify (give it a buffer: an unbuffered channel gets a signal only while a receiver waits).</param>
    /// <param name="signals">Signal numbers from 1 to 64: the constants of this class or raw Linux numbers. Not SIGKILL (9) or SIGSTOP (19), which cannot be caught, nor those the .NET runtime owns: SIGILL (4), SIGTRAP (5), SIGABRT (6), SIGBUS (7), SIGFPE (8), SIGSEGV (11), SIGPIPE (13) and glibc's SIGRTMIN and SIGRTMIN+1 (32, 33).</param>
    /// <exception cref="ArgumentException"><paramref name="channel"/> is nil, <paramref name="signals"/> is empty, or a number is out of range or not catchable (the message names it and says what is allowed).</exception>
    /// <exception cref="ArgumentNullException"><paramref name="signals"/> is null.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <exception cref="InvalidOperationException"><see cref="Interrupt"/> or <see cref="Quit"/> was named while this process ignores it because it started that way (a background job of a shell script): the .NET runtime installs no handler for it then, so it could never arrive. Go's Notify un-ignores it; this refuses instead of leaving the caller waiting.</exception>
    /// <remarks>Notifying a channel again for a signal it already gets changes nothing (one value per delivery).
    /// Registration does not wait, so there is nothing to cancel; <see cref="Stop"/> undoes it.</remarks>
    /// <example><code>
    /// var usr = new Chan&lt;int&gt;(4);
    /// IpcSignal.Notify(usr, IpcSignal.User1, IpcSignal.User2);
    /// </code></example>
    public static void Notify(SendOnlyChan<int> channel, params int[] signals)
    {
        if (channel.IsNil) throw new ArgumentException("Signals cannot be sent to a nil channel; pass a channel with a buffer.", nameof(channel));
        ArgumentNullException.ThrowIfNull(signals);
        if (signals.Length == 0)
        {
            throw new ArgumentException(
                "Name at least one signal (e.g. IpcSignal.Interrupt): Go's \"every signal\" form is not offered, because the .NET runtime owns several signals.",
                nameof(signals));
        }
        foreach (int signal in signals) CheckCatchable(signal, nameof(signals));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("IpcSignal needs Linux.");
        foreach (int signal in signals) CheckNotInheritedIgnored(signal);
        lock (s_gate)
        {
            foreach (int signal in signals)
            {
                if (!s_entries.TryGetValue(signal, out var entry))
                {
                    entry = new Entry(signal);
                    entry.Registration = PosixSignalRegistration.Create(ToPosixSignal(signal), context => Deliver(entry, context));
                    s_entries.Add(signal, entry);
                }
                if (!entry.Channels.Contains(channel)) entry.Channels.Add(channel);
            }
        }
    }

    /// <summary>
    /// Stops every notification to <paramref name="channel"/>. When this returns, no more signal values go to it (a
    /// delivery in flight has finished). A signal that no channel is notified for any more gets its default handling back.
    /// </summary>
    /// <param name="channel">The channel given to <see cref="Notify"/>; one that never was is ignored.</param>
    /// <exception cref="ArgumentException"><paramref name="channel"/> is nil.</exception>
    /// <remarks>Does not close the channel, and does not wait for anything but a delivery in flight (nothing to cancel).</remarks>
    /// <example><code>IpcSignal.Stop(usr);</code></example>
    public static void Stop(SendOnlyChan<int> channel)
    {
        if (channel.IsNil) throw new ArgumentException("A nil channel is never notified; pass the channel given to Notify.", nameof(channel));
        List<Entry>? emptied = null;
        lock (s_gate)
        {
            foreach (var entry in s_entries.Values)
            {
                if (entry.Channels.Remove(channel) && entry.Channels.Count == 0) (emptied ??= []).Add(entry);
            }
            if (emptied is null) return;
            foreach (var entry in emptied) s_entries.Remove(entry.Signal);
        }
        // Outside the lock: the runtime's Dispose must never wait on a handler that waits for s_gate. A handler of a
        // disposed registration that still runs finds its entry's list empty.
        foreach (var entry in emptied) entry.Registration!.Dispose();
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to <paramref name="process"/> through a pidfd, so that it reaches that
    /// process and never another one that was given its PID after it exited.
    /// </summary>
    /// <param name="process">A started process (a child of this one gets the full guarantee; see remarks).</param>
    /// <param name="signal">A signal number from 1 to 64 (e.g. <see cref="Terminate"/>, <see cref="Kill"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="process"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="signal"/> is not from 1 to 64.</exception>
    /// <exception cref="InvalidOperationException">The process was never started, or has exited (nothing was sent).</exception>
    /// <exception cref="IpcException">pidfd_open or pidfd_send_signal failed (e.g. EPERM: another user's process; ESRCH: it is gone; ENOSYS: a kernel before 5.3); the message names the call and the error.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>The process is pinned by pidfd_open, then checked with <see cref="Process.HasExited"/>: a child of this
    /// process cannot be reaped (and its PID reused) while that is still false, so the signal reaches that child. For
    /// a process that is not a child the check is as good as .NET's own. Sending does not wait: nothing to cancel.</remarks>
    /// <example><code>
    /// using var child = Process.Start("sleep", "60");
    /// IpcSignal.Send(child, IpcSignal.Terminate);
    /// </code></example>
    public static void Send(Process process, int signal)
    {
        ArgumentNullException.ThrowIfNull(process);
        CheckRange(signal, nameof(signal));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("IpcSignal needs Linux.");
        int pid = process.Id; // InvalidOperationException when never started
        long pidfd = Libc.Syscall(Libc.SYS_pidfd_open, pid, 0, 0, 0);
        if (pidfd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ESRCH || process.HasExited) throw Exited(pid);
            throw Errno.Fail("pidfd_open", null, errno);
        }
        using var fd = new FileDescriptor((int)pidfd);
        if (process.HasExited) throw Exited(pid);
        if (Libc.Syscall(Libc.SYS_pidfd_send_signal, pidfd, signal, 0, 0) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.ESRCH) throw Exited(pid);
            throw Errno.Fail("pidfd_send_signal", null, errno);
        }

        static InvalidOperationException Exited(int pid) =>
            new($"Process {pid} has exited; no signal was sent (its PID may already belong to another process).");
    }

    /// <summary>Sends <paramref name="signal"/> to the process with id <paramref name="pid"/> (kill(2)).</summary>
    /// <param name="pid">A process id, greater than 0 (process groups, 0 and -1 are refused).</param>
    /// <param name="signal">A signal number from 1 to 64.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pid"/> is not positive, or <paramref name="signal"/> is not from 1 to 64.</exception>
    /// <exception cref="IpcException">kill failed (ESRCH: no such process; EPERM: not allowed); the message names the call and the error.</exception>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    /// <remarks>A bare PID can be reused once its process exited and was reaped; prefer <see cref="Send(Process, int)"/>
    /// for your own children. Does not wait: nothing to cancel.</remarks>
    /// <example><code>IpcSignal.Send(Environment.ProcessId, IpcSignal.User1);</code></example>
    public static void Send(int pid, int signal)
    {
        if (pid <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(pid), pid,
                $"A process id must be greater than 0; it was {pid} (0 and negative ids name process groups, which this method does not signal).");
        }
        CheckRange(signal, nameof(signal));
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("IpcSignal needs Linux.");
        if (Libc.Kill(pid, signal) != 0) throw Errno.Fail($"kill({pid}, {signal})");
    }

    /// <summary>The handler: one TrySend per notified channel, under the table's lock (see the essay).</summary>
    private static void Deliver(Entry entry, PosixSignalContext context)
    {
        // Notified: the program decides (Go's rule), for SIGINT/SIGTERM/SIGQUIT and raw numbers (whose default is to
        // terminate) too. SIGCHLD, SIGCONT and SIGWINCH end nothing by default, and the runtime's own handling of them
        // (reaping child processes, restoring the terminal) must still run, so they are not cancelled.
        context.Cancel = entry.Signal is not (Child or Continue or WindowChanged);
        lock (s_gate)
        {
            foreach (var channel in entry.Channels)
            {
                try
                {
                    channel.TrySend(entry.Signal); // full: dropped, as in Go
                }
                catch (ChannelClosedException)
                {
                    // closed: dropped (Go would panic on its signal goroutine)
                }
            }
        }
    }

    private static void CheckRange(int signal, string paramName)
    {
        if (signal < 1 || signal > MaxSignal)
        {
            throw new ArgumentOutOfRangeException(paramName, signal,
                $"A signal number must be from 1 to {MaxSignal} (Linux); it was {signal}.");
        }
    }

    /// <summary>
    /// Refuses SIGINT and SIGQUIT when this process started with them ignored. A shell starts a background job of a
    /// script (no job control) with both ignored, and the .NET runtime, so that its own child processes keep that
    /// disposition, installs no handler for an ignored SIGINT or SIGQUIT: a registration would never hear one, and
    /// a program waiting on the channel would wait for ever. Go's Notify un-ignores the signal instead; .NET gives no
    /// way to do that safely, so the caller is told, at once, rather than left waiting.
    /// </summary>
    private static void CheckNotInheritedIgnored(int signal)
    {
        if (signal is not (Interrupt or Quit) || !IsIgnored(signal)) return;
        string name = signal == Interrupt ? "SIGINT (2)" : "SIGQUIT (3)";
        throw new InvalidOperationException(
            $"{name} is ignored by this process: it started that way (a shell starts a background job of a script with " +
            "SIGINT and SIGQUIT ignored), and the .NET runtime installs no handler for an ignored SIGINT or SIGQUIT, so " +
            "the channel would never receive it. Start the process with the signal's default action (in the foreground, " +
            "or after 'trap - INT QUIT' in the parent shell) to notify it.");
    }

    /// <summary>Whether <paramref name="signal"/>'s disposition is SIG_IGN now (the SigIgn mask of /proc/self/status).</summary>
    private static bool IsIgnored(int signal)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (!line.StartsWith("SigIgn:", StringComparison.Ordinal)) continue;
            ulong mask = ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
            return (mask & (1UL << (signal - 1))) != 0;
        }
        return false;
    }

    private static void CheckCatchable(int signal, string paramName)
    {
        CheckRange(signal, paramName);
        string? why = signal switch
        {
            9 => "SIGKILL (9) cannot be caught",
            19 => "SIGSTOP (19) cannot be caught",
            4 or 5 or 6 or 7 or 8 or 11 => $"signal {signal} reports a fault that the .NET runtime handles itself",
            13 => "SIGPIPE (13) is ignored by the .NET runtime, which reports a broken pipe as an error instead",
            32 or 33 => $"signal {signal} is reserved by glibc (SIGRTMIN and SIGRTMIN+1, used for threads)",
            _ => null,
        };
        if (why is not null)
        {
            throw new ArgumentException(
                $"{why}, so it cannot be notified on a channel. Allowed: 1 to 64 except 4-9, 11, 13, 19, 32 and 33.", paramName);
        }
    }

    /// <summary>The runtime's name for the signals it knows (so its own handling applies), else the raw number.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static PosixSignal ToPosixSignal(int signal) => signal switch
    {
        1 => PosixSignal.SIGHUP,
        2 => PosixSignal.SIGINT,
        3 => PosixSignal.SIGQUIT,
        15 => PosixSignal.SIGTERM,
        17 => PosixSignal.SIGCHLD,
        18 => PosixSignal.SIGCONT,
        20 => PosixSignal.SIGTSTP,
        21 => PosixSignal.SIGTTIN,
        22 => PosixSignal.SIGTTOU,
        28 => PosixSignal.SIGWINCH,
        _ => (PosixSignal)signal,
    };
}
