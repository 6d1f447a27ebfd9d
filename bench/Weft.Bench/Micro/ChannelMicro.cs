using BenchmarkDotNet.Attributes;

namespace Weft.Bench.Micro;

/// <summary>
/// Allocation proof for the channel hot paths (STYLE 12): steady-state send/receive (synchronous fast path and
/// parked hand-off through the pooled waiter), the blocking thread forms (parked on the thread's ThreadParker) and a
/// 4-case select, async and blocking, must show 0 B/op.
/// Run: dotnet run -c Release --project bench/Weft.Bench -- --micro --filter '*ChannelMicro*' --job short
/// </summary>
[MemoryDiagnoser]
public class ChannelMicro
{
    private const int Ops = 1024;
    private Chan<int> _buffered = null!;
    private Chan<int> _unbuffered = null!;
    private Chan<int> _oneSlot = null!;
    private Chan<int>[] _four = null!;
    private Select _select = null!;
    private ReceiveCase<int>[] _cases = null!;
    private System.Threading.Channels.Channel<int> _bcl = null!;

    [GlobalSetup]
    public void Setup()
    {
        _buffered = new Chan<int>(Ops);
        _unbuffered = new Chan<int>();
        _oneSlot = new Chan<int>(1);
        _four = Enumerable.Range(0, 4).Select(_ => new Chan<int>(1)).ToArray();
        foreach (var c in _four) c.TrySend(0);
        _select = new Select();
        _cases = _four.Select(c => _select.Receive(c)).ToArray();
        _bcl = System.Threading.Channels.Channel.CreateBounded<int>(Ops);
    }

    [Benchmark(OperationsPerInvoke = Ops, Baseline = true)]
    public async Task BclBoundedWriteRead()
    {
        for (int i = 0; i < Ops; i++) await _bcl.Writer.WriteAsync(i);
        for (int i = 0; i < Ops; i++) await _bcl.Reader.ReadAsync();
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task BufferedSendReceive()
    {
        for (int i = 0; i < Ops; i++) await _buffered.SendAsync(i);
        for (int i = 0; i < Ops; i++) await _buffered.ReceiveAsync();
    }

    /// <summary>A receiver parks (pooled waiter) and the send hands the value off to it: the slow path.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int UnbufferedParkedHandOff()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            var r = _unbuffered.ReceiveAsync();  // parks
            _unbuffered.TrySend(i);                 // hands off and wakes it
            while (!r.IsCompleted) Thread.SpinWait(1);
            sum += r.Result;
        }
        return sum;
    }

    /// <summary>
    /// The System.Threading.Channels adapters: a readiness wait parks (pooled ReadyWaiter), a send wakes it, the
    /// reader takes the value; then WriteAsync/ReadAsync through the buffer.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int AdapterWaitToReadParkedThenTryRead()
    {
        var reader = _oneSlot.AsChannelReader();
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            var ready = reader.WaitToReadAsync();  // parks
            _oneSlot.TrySend(i);                    // buffers and wakes it
            while (!ready.IsCompleted) Thread.SpinWait(1);
            if (ready.Result && reader.TryRead(out int v)) sum += v;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public async Task AdapterWriteReadBuffered()
    {
        var writer = _buffered.AsChannelWriter();
        var reader = _buffered.AsChannelReader();
        for (int i = 0; i < Ops; i++) await writer.WriteAsync(i);
        for (int i = 0; i < Ops; i++) await reader.ReadAsync();
    }

    /// <summary>Blocking thread forms, non-waiting: Send into buffer space, Receive from the buffer.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int BlockingBufferedSendReceive()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++) _buffered.Send(i);
        for (int i = 0; i < Ops; i++) sum += _buffered.Receive();
        return sum;
    }

    /// <summary>
    /// Blocking thread forms that park: a round trip with an echo thread over two unbuffered channels, so every
    /// Send and Receive waits on the thread's parker. The echo thread's allocations count too (MemoryDiagnoser
    /// reads the process-wide total).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int BlockingUnbufferedRoundTrip()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            _ping.Send(i);
            sum += _pong.Receive();
        }
        return sum;
    }

    /// <summary>A 4-case Select.Wait that parks the thread and is completed by the echo thread's send.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int BlockingSelect4Parked()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            _ping.Send(i);
            sum += _blockingSelect.Wait();
        }
        return sum;
    }

    private Chan<int> _ping = null!, _pong = null!;
    private Select _blockingSelect = null!;
    private Thread? _echo;

    [GlobalSetup(Targets = [nameof(BlockingUnbufferedRoundTrip), nameof(BlockingSelect4Parked)])]
    public void SetupEcho()
    {
        Setup();
        _ping = new Chan<int>();
        _pong = new Chan<int>();
        _blockingSelect = MakeParked(_pong);
        _echo = new Thread(() =>
        {
            while (true)
            {
                int v = _ping.Receive(out bool ok);
                if (!ok) return;
                _pong.Send(v);
            }
        }) { IsBackground = true, Name = "echo" };
        _echo.Start();
    }

    [GlobalCleanup(Targets = [nameof(BlockingUnbufferedRoundTrip), nameof(BlockingSelect4Parked)])]
    public void StopEcho()
    {
        _ping.Close();
        _echo?.Join();
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public int Select4Ready()
    {
        int sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            int k = _select.Wait();
            sum += _cases[k].Value;
            _four[k].TrySend(i);
        }
        return sum;
    }

    /// <summary>A 4-case select that parks and is completed by a send: the blocking path.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public int Select4Parked()
    {
        int sum = 0;
        var empty = _unbuffered;
        var sel = _parkedSelect ??= MakeParked(empty);
        for (int i = 0; i < Ops; i++)
        {
            var w = sel.WaitAsync();
            empty.TrySend(i);
            while (!w.IsCompleted) Thread.SpinWait(1);
            sum += w.Result;
        }
        return sum;
    }

    private Select? _parkedSelect;

    private static Select MakeParked(Chan<int> ch)
    {
        var s = new Select();
        s.Receive(ch);
        s.Receive(new Chan<int>());
        s.Receive(new Chan<int>());
        s.Receive(new Chan<int>());
        return s;
    }
}
