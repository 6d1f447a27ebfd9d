using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/select5.go</c>. Go's program generates a program: one function per path through five
/// templates of a single send or receive, written either as a plain operation or as a select with a default before or
/// after the real case, dummy cases on a channel nobody uses and on a nil channel, and receives into several kinds of
/// destination. Here the same enumeration drives the operations directly, in one goroutine on a buffered channel.
/// </summary>
/// <remarks>
/// What carries over: the right case runs and no other (a default, wherever it was added, only when nothing else is
/// ready; a case on a nil or unused channel never); the value sent is the value received; and the order in which the
/// channel and value of each case are evaluated. Go evaluates every case's channel and value, in source order, on
/// entry to the select, and a receive's destination only once its case is chosen; here the channel and value are
/// evaluated where the case is added, and the destination in the code that runs for the chosen case.
/// </remarks>
public sealed class ChanSelect5
{
    // Go's generator enumerates every path through a template: each Choose(n) returns 0, 1, ..., n-1 on successive
    // runs, like an odometer whose last wheel turns fastest.
    private sealed class Paths
    {
        private readonly List<(int I, int N)> _choices = [];
        private int _cp = -1;
        private bool _def;

        public bool Maybe() => Choose(2) == 0;

        // At most one default per select: once one was placed, no other is offered.
        public bool MaybeDefault() => !_def && (_def = Maybe());

        public bool MustDefault() => !_def;

        private int Choose(int n)
        {
            if (_cp >= _choices.Count)
            {
                _choices.Add((0, n));
                _cp = _choices.Count;
                return 0;
            }
            Assert.True(n == _choices[_cp].N, "inconsistent choices");
            return _choices[_cp++].I;
        }

        public bool Next()
        {
            _def = false;
            if (_cp < 0)
            {
                _cp = 0;
                return true;
            }
            _cp = _choices.Count - 1;
            while (_cp >= 0 && _choices[_cp].I == _choices[_cp].N - 1) _cp--;
            if (_cp < 0)
            {
                _choices.Clear();
                return false;
            }
            _choices[_cp] = (_choices[_cp].I + 1, _choices[_cp].N);
            _choices.RemoveRange(_cp + 1, _choices.Count - _cp - 1);
            _cp = 0;
            return true;
        }
    }

    // Go's generated program's globals.
    private readonly Chan<int> _c = new(1); // buffered, so each test is a single goroutine
    private readonly Chan<int>? _nilch = null;
    private readonly Chan<int> _dummy = new();
    private readonly Dictionary<int, int> _m = [];
    private int _n = 1;
    private int _x;
    private object? _i;
    private int _order;
    private readonly CancellationTokenSource _blocked = new(TimeSpan.FromSeconds(10));

    // The destination of a receive that must not even be computed: Go's **(**int)(nil).
    private static ref int NilPointer() => ref System.Runtime.CompilerServices.Unsafe.NullRef<int>();

    private static ref int F(ref int p) => ref p;

    private void CheckOrder(int o)
    {
        Assert.True(o > _order, $"invalid order {o} after {_order}");
        _order = o;
    }

    private Chan<int>? Fc(Chan<int>? c, int o)
    {
        CheckOrder(o);
        return c;
    }

    private ref int Fp(ref int p, int o)
    {
        CheckOrder(o);
        return ref p;
    }

    private int Fn(int n, int o)
    {
        CheckOrder(o);
        return n;
    }

    private void Check()
    {
        Assert.True(_x == _n, $"have {_x} want {_n}");
        _n++;
    }

    // A select under construction: each case added with what runs when it is chosen.
    private sealed class Cases
    {
        public readonly Select Sel = new();
        private readonly Dictionary<int, Action> _bodies = [];

        public void Default(Action body) => _bodies[Sel.Default()] = body;

        public void Receive(Chan<int>? ch, Action<int> body)
        {
            var r = Sel.Receive(ch);
            _bodies[r.Index] = () => body(r.Value);
        }

        public void Send(Chan<int>? ch, int value, Action body) => _bodies[Sel.Send(ch, value).Index] = body;

        // Every select here has a ready case or a default: one that blocks is a failure, not a hang.
        public async Task Run(CancellationToken mustNotBlock)
        {
            int chosen;
            try
            {
                chosen = await Sel.WaitAsync(mustNotBlock);
            }
            catch (OperationCanceledException) when (mustNotBlock.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException("a select blocked although a case or its default was ready");
            }
            _bodies[chosen]();
        }
    }

    private static Action Fail(string what) => () => Assert.Fail(what);

    private static Action<int> FailOnValue(string what) => _ => Assert.Fail(what);

    // The dummy cases shared by the recv and send templates: on a channel nobody uses, and on a nil channel.
    private void DummyCases(Paths a, Cases s)
    {
        if (a.Maybe()) s.Send(_dummy, 1, Fail("dummy send"));
        if (a.Maybe()) s.Receive(_dummy, FailOnValue("dummy receive"));
        if (a.Maybe()) s.Send(_nilch, 1, Fail("nilch send"));
        if (a.Maybe()) s.Receive(_nilch, FailOnValue("nilch recv"));
    }

    // Send n, receive it one way or another into x, check that they match.
    private async Task Recv(Paths a)
    {
        await _c.SendAsync(_n);
        if (a.Maybe())
        {
            _x = await _c.ReceiveAsync();
        }
        else
        {
            var s = new Cases();
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            // Receive from c into different destinations: direct, indirect, a new variable, an interface, a map.
            if (a.Maybe()) s.Receive(_c, v => _x = v);
            else if (a.Maybe()) s.Receive(_c, v => F(ref _x) = v);
            else if (a.Maybe()) s.Receive(_c, v => { int y = v; _x = y; });
            else if (a.Maybe()) s.Receive(_c, v => { _i = v; _x = (int)_i; });
            else s.Receive(_c, v => { _m[13] = v; _x = _m[13]; });
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            DummyCases(a, s);
            await s.Run(_blocked.Token);
        }
        Check();
    }

    // As Recv, checking the order in which the channel, the value and the destination of each case are evaluated.
    private async Task RecvOrder(Paths a)
    {
        _order = 0;
        await _c.SendAsync(_n);
        if (a.Maybe())
        {
            // Outside a select, left to right: the destination, then the channel. (A buffered value: no blocking.)
            Fp(ref _x, 1) = Fc(_c, 2)!.Receive();
        }
        else if (a.Maybe())
        {
            _m[Fn(13, 1)] = Fc(_c, 2)!.Receive();
            _x = _m[13];
        }
        else
        {
            var s = new Cases();
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            // Inside a select the destination waits until the case is chosen: after every channel and value.
            if (a.Maybe()) s.Receive(Fc(_c, 1), v => Fp(ref _x, 100) = v);
            else if (a.Maybe()) s.Receive(Fc(_c, 1), v => { int y = v; _x = y; });
            else if (a.Maybe()) s.Receive(Fc(_c, 1), v => { _i = v; _x = (int)_i; });
            else s.Receive(Fc(_c, 1), v => { _m[Fn(13, 100)] = v; _x = _m[13]; });
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            if (a.Maybe()) s.Send(Fc(_dummy, 2), Fn(1, 3), Fail("dummy send"));
            if (a.Maybe()) s.Receive(Fc(_dummy, 4), FailOnValue("dummy receive"));
            if (a.Maybe()) s.Send(Fc(_nilch, 5), Fn(1, 6), Fail("nilch send"));
            if (a.Maybe()) s.Receive(Fc(_nilch, 7), FailOnValue("nilch recv"));
            await s.Run(_blocked.Token);
        }
        Check();
    }

    // Send n one way or another, receive it into x, check that they match.
    private async Task Send(Paths a)
    {
        if (a.Maybe())
        {
            await _c.SendAsync(_n);
        }
        else
        {
            var s = new Cases();
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            s.Send(_c, _n, () => { });
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            DummyCases(a, s);
            await s.Run(_blocked.Token);
        }
        _x = await _c.ReceiveAsync();
        Check();
    }

    // As Send, checking the order of evaluation.
    private async Task SendOrder(Paths a)
    {
        _order = 0;
        if (a.Maybe())
        {
            await Fc(_c, 1)!.SendAsync(Fn(_n, 2));
        }
        else
        {
            var s = new Cases();
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            s.Send(Fc(_c, 1), Fn(_n, 2), () => { });
            if (a.MaybeDefault()) s.Default(Fail("nonblock"));
            if (a.Maybe()) s.Send(Fc(_dummy, 3), Fn(1, 4), Fail("dummy send"));
            if (a.Maybe()) s.Receive(Fc(_dummy, 5), FailOnValue("dummy receive"));
            if (a.Maybe()) s.Send(Fc(_nilch, 6), Fn(1, 7), Fail("nilch send"));
            if (a.Maybe()) s.Receive(Fc(_nilch, 8), FailOnValue("nilch recv"));
            await s.Run(_blocked.Token);
        }
        _x = await _c.ReceiveAsync();
        Check();
    }

    // Combinations of cases that are never ready, and a default: a receive must not touch its destination.
    private async Task Nonblock(Paths a)
    {
        _x = _n;
        var s = new Cases();
        if (a.MaybeDefault()) s.Default(() => { });
        if (a.Maybe()) s.Send(_dummy, 1, Fail("dummy <- 1"));
        if (a.Maybe()) s.Send(_nilch, 1, Fail("nilch <- 1"));
        if (a.Maybe()) s.Receive(_dummy, FailOnValue("<-dummy"));
        if (a.Maybe()) s.Receive(_dummy, v => { _x = v; Assert.Fail("<-dummy x"); });
        if (a.Maybe()) s.Receive(_dummy, v => { NilPointer() = v; Assert.Fail("<-dummy (and didn't crash saving result!)"); });
        if (a.Maybe()) s.Receive(_nilch, FailOnValue("<-nilch"));
        if (a.Maybe()) s.Receive(_nilch, v => { _x = v; Assert.Fail("<-nilch x"); });
        if (a.Maybe()) s.Receive(_nilch, v => { NilPointer() = v; Assert.Fail("<-nilch (and didn't crash saving result!)"); });
        if (a.MustDefault()) s.Default(() => { });
        await s.Run(_blocked.Token);
        Check();
    }

    [Fact]
    public async Task select5()
    {
        int cases = 0;
        await ChanProgram.Run(async _ =>
        {
            foreach (var template in new Func<Paths, Task>[] { Recv, Send, RecvOrder, SendOrder, Nonblock })
            {
                var a = new Paths();
                while (a.Next())
                {
                    await template(a);
                    cases++;
                }
            }
        });
        // The paths through the templates: recv 1 + 3*5*16, send 1 + 3*16, recvOrder 2 + 3*4*16, sendOrder 1 + 3*16,
        // nonblock 2*256 (the default either first or last).
        Assert.Equal(241 + 49 + 194 + 49 + 512, cases);
        Assert.Equal(cases + 1, _n);
    }
}
