using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>
/// Port of Go's <c>test/chan/powser1.go</c>: Doug McIlroy's power series, each series a demand channel pair served by
/// its own goroutine, with selects over send and receive cases whose channels are switched off (set to nil) and on.
/// </summary>
/// <remarks>
/// The series code is here as <see cref="PowerSeries{T}"/>, generic in what flows on the data channels: this file
/// runs it on a channel of a value type (Go's <c>chan rat</c>), <c>ChanPowser2</c> on a channel of an interface
/// holding references (Go's <c>chan item</c> of <c>*rat</c>), which is what keeps Go's two files distinct tests.
/// Go's print mode (a command-line argument) and the functions only it or nothing uses (Monmul, Xmul, Mon, Binom,
/// Recip, Subst, eval, evaln) are left out: they check nothing.
/// </remarks>
public sealed class ChanPowser1
{
    /// <summary>A rational number. A zero denominator marks the end of a finite series (Go's <c>finis</c>).</summary>
    internal readonly record struct Rat(long Num, long Den)
    {
        public override string ToString() => Den == 1 ? Num.ToString() : $"{Num}/{Den}";
    }

    /// <summary>Rational arithmetic, as Go's <c>gcd</c>, <c>i2tor</c>, <c>add</c>, <c>mul</c> and friends.</summary>
    internal static class R
    {
        public static readonly Rat Zero = Itor(0), One = Itor(1), Finis = I2tor(1, 0);

        private static long Gcd(long u, long v) => u < 0 ? Gcd(-u, v) : u == 0 ? v : Gcd(v % u, u);

        public static Rat I2tor(long u, long v)
        {
            long g = Gcd(u, v);
            return v > 0 ? new Rat(u / g, v / g) : new Rat(-u / g, -v / g);
        }

        public static Rat Itor(long u) => I2tor(u, 1);

        public static bool End(Rat u) => u.Den == 0;

        public static Rat Add(Rat u, Rat v)
        {
            long g = Gcd(u.Den, v.Den);
            return I2tor(u.Num * (v.Den / g) + v.Num * (u.Den / g), u.Den * (v.Den / g));
        }

        public static Rat Mul(Rat u, Rat v)
        {
            long g1 = Gcd(u.Num, v.Den), g2 = Gcd(u.Den, v.Num);
            return new Rat(u.Num / g1 * (v.Num / g2), u.Den / g2 * (v.Den / g1));
        }

        public static Rat Neg(Rat u) => I2tor(-u.Num, u.Den);
    }

    /// <summary>
    /// The power series of Go's test, in goroutines and channels. A series is a <see cref="Dch"/>: a consumer sends a
    /// request on Req, the series' goroutine answers with the next coefficient on Dat. Every blocking operation takes
    /// the program's Stop token, because the generators run for ever (Go's process exit ends them).
    /// </summary>
    /// <typeparam name="T">What flows on the data channels.</typeparam>
    internal sealed class PowerSeries<T>(ChanProgram p, Func<Rat, T> wrap, Func<T, Rat> unwrap, Func<T, T, bool> eq)
    {
        private readonly CancellationToken _ct = p.Stop;
        private int _seqno;

        internal sealed class Dch
        {
            public readonly Chan<int> Req = new();
            public readonly Chan<T> Dat = new();
        }

        private int NextSeq() => Interlocked.Increment(ref _seqno);

        private static Dch[] MkDch2() => [new Dch(), new Dch()];

        // Serves one value of input to both outputs, which may be read at different rates. A generation is created
        // at the first demand for a value and dies once the value went to both; the newest generation serves
        // output[0], the oldest output[1], and a signal on the release channel hands output[1] to the next newer one.
        // The two outputs are swapped in the array all generations share, as Go swaps them through its pointer.
        private async Task DoSplit(Dch input, Dch[] output, Chan<int> wait)
        {
            bool both = false; // serve only output[0]
            var first = new Select();
            first.Receive(output[0].Req);
            var released = first.Receive(wait);
            if (await first.WaitAsync(_ct) == released.Index)
            {
                both = true;
                var second = new Select();
                second.Receive(output[0].Req);
                var other = second.Receive(output[1].Req);
                if (await second.WaitAsync(_ct) == other.Index) (output[0], output[1]) = (output[1], output[0]);
            }

            await input.Req.SendAsync(NextSeq(), _ct);
            var release = new Chan<int>();
            p.Go(() => DoSplit(input, output, release));
            T dat = (await input.Dat.ReceiveAsync(_ct))!; // the power-series channels are never closed
            await output[0].Dat.SendAsync(dat, _ct);
            if (!both) await wait.ReceiveAsync(_ct);
            await output[1].Req.ReceiveAsync(_ct);
            await output[1].Dat.SendAsync(dat, _ct);
            await release.SendAsync(0, _ct);
        }

        private async Task SplitInto(Dch input, Dch[] output)
        {
            var release = new Chan<int>();
            p.Go(() => DoSplit(input, output, release));
            await release.SendAsync(0, _ct);
        }

        private async Task Put(T dat, Dch output)
        {
            await output.Req.ReceiveAsync(_ct);
            await output.Dat.SendAsync(dat, _ct);
        }

        private async Task<T> GetItem(Dch input)
        {
            await input.Req.SendAsync(NextSeq(), _ct);
            return (await input.Dat.ReceiveAsync(_ct))!;
        }

        public async Task<Rat> Get(Dch input) => unwrap(await GetItem(input));

        // One value from each of two series, asking both at once: a select of two sends (the requests) and two
        // receives (the answers), each case switched off once done and each answer switched on once asked for.
        private async Task<T[]> Get2(Dch in0, Dch in1)
        {
            var sel = new Select();
            var req0 = sel.Send(in0.Req, 0);
            var req1 = sel.Send(in1.Req, 0);
            var dat0 = sel.Receive<T>(null);
            var dat1 = sel.Receive<T>(null);
            var output = new T[2];
            for (int n = 4; n > 0; n--)
            {
                req0.Value = req1.Value = NextSeq();
                int i = await sel.WaitAsync(_ct);
                if (i == req0.Index)
                {
                    dat0.Channel = in0.Dat;
                    req0.Channel = null;
                }
                else if (i == req1.Index)
                {
                    dat1.Channel = in1.Dat;
                    req1.Channel = null;
                }
                else if (i == dat0.Index)
                {
                    output[0] = dat0.Value!;
                    dat0.Channel = null;
                }
                else
                {
                    output[1] = dat1.Value!;
                    dat1.Channel = null;
                }
            }
            return output;
        }

        private async Task Copy(Dch input, Dch output)
        {
            while (true)
            {
                await output.Req.ReceiveAsync(_ct);
                await output.Dat.SendAsync(await GetItem(input), _ct);
            }
        }

        private Dch Spawn(Func<Dch, Task> body)
        {
            var z = new Dch();
            p.Go(() => body(z));
            return z;
        }

        public Dch Rep(Rat c) => Spawn(async z =>
        {
            while (true) await Put(wrap(c), z);
        });

        public Dch[] Split(Dch u)
        {
            var uu = MkDch2();
            p.Go(() => SplitInto(u, uu));
            return uu;
        }

        public Dch Add(Dch u, Dch v) => Spawn(async z =>
        {
            while (true)
            {
                await z.Req.ReceiveAsync(_ct);
                var uv = await Get2(u, v);
                Rat a = unwrap(uv[0]), b = unwrap(uv[1]);
                switch ((R.End(a) ? 1 : 0) + (R.End(b) ? 2 : 0))
                {
                    case 0:
                        await z.Dat.SendAsync(wrap(R.Add(a, b)), _ct);
                        break;
                    case 1:
                        await z.Dat.SendAsync(uv[1], _ct);
                        await Copy(v, z);
                        break;
                    case 2:
                        await z.Dat.SendAsync(uv[0], _ct);
                        await Copy(u, z);
                        break;
                    case 3:
                        await z.Dat.SendAsync(wrap(R.Finis), _ct);
                        break;
                }
            }
        });

        public Dch Cmul(Rat c, Dch u) => Spawn(async z =>
        {
            while (true)
            {
                await z.Req.ReceiveAsync(_ct);
                var x = await Get(u);
                if (R.End(x)) break;
                await z.Dat.SendAsync(wrap(R.Mul(c, x)), _ct);
            }
            await z.Dat.SendAsync(wrap(R.Finis), _ct);
        });

        public Dch Sub(Dch u, Dch v) => Add(u, Cmul(R.Neg(R.One), v));

        // U = u + x*UU, V = v + x*VV, so UV = u*v + x*(u*VV + v*UU) + x*x*UU*VV.
        public Dch Mul(Dch u, Dch v) => Spawn(async z =>
        {
            await z.Req.ReceiveAsync(_ct);
            var uv = await Get2(u, v);
            Rat a = unwrap(uv[0]), b = unwrap(uv[1]);
            if (R.End(a) || R.End(b))
            {
                await z.Dat.SendAsync(wrap(R.Finis), _ct);
                return;
            }
            await z.Dat.SendAsync(wrap(R.Mul(a, b)), _ct);
            var uu = Split(u);
            var vv = Split(v);
            var w = Add(Cmul(a, vv[0]), Cmul(b, uu[0]));
            await z.Req.ReceiveAsync(_ct);
            await z.Dat.SendAsync(await GetItem(w), _ct);
            await Copy(Add(w, Mul(uu[1], vv[1])), z);
        });

        public Dch Diff(Dch u) => Spawn(async z =>
        {
            await z.Req.ReceiveAsync(_ct);
            if (!R.End(await Get(u)))
            {
                for (int i = 1; ; i++)
                {
                    var x = await Get(u);
                    if (R.End(x)) break;
                    await z.Dat.SendAsync(wrap(R.Mul(R.Itor(i), x)), _ct);
                    await z.Req.ReceiveAsync(_ct);
                }
            }
            await z.Dat.SendAsync(wrap(R.Finis), _ct);
        });

        // Integrates, with c the constant of integration.
        public Dch Integ(Rat c, Dch u) => Spawn(async z =>
        {
            await Put(wrap(c), z);
            bool done = false;
            for (int i = 1; !done; i++)
            {
                await z.Req.ReceiveAsync(_ct);
                var x = await Get(u);
                done = R.End(x);
                await z.Dat.SendAsync(wrap(R.Mul(R.I2tor(1, i), x)), _ct);
            }
            await z.Dat.SendAsync(wrap(R.Finis), _ct);
        });

        // Z = exp(U) for U with constant term 0: DZ = Z*DU, integrated. The series feeds back into itself.
        public async Task<Dch> Exp(Dch u)
        {
            var zz = MkDch2();
            await SplitInto(Integ(R.One, Mul(zz[0], Diff(u))), zz);
            return zz[1];
        }

        // U(c0 * x^n): each coefficient times c0^i, followed by n-1 zeros.
        public Dch MonSubst(Dch u, Rat c0, int n) => Spawn(async z =>
        {
            var c = R.One;
            while (true)
            {
                await z.Req.ReceiveAsync(_ct);
                var x = await Get(u);
                await z.Dat.SendAsync(wrap(R.Mul(x, c)), _ct);
                c = R.Mul(c, c0);
                if (R.End(x))
                {
                    await z.Dat.SendAsync(wrap(R.Finis), _ct);
                    break;
                }
                for (int i = 1; i < n; i++)
                {
                    await z.Req.ReceiveAsync(_ct);
                    await z.Dat.SendAsync(wrap(R.Zero), _ct);
                }
            }
        });

        private async Task Check(Dch u, Rat c, int count, string what)
        {
            for (int i = 0; i < count; i++)
            {
                T r = await GetItem(u);
                Assert.True(eq(r, wrap(c)), $"{what}: got {unwrap(r)}, should get {c}");
            }
        }

        private async Task CheckA(Dch u, Rat[] a, string what)
        {
            for (int i = 0; i < a.Length; i++) await Check(u, a[i], 1, $"{what}[{i}]");
        }

        private const int N = 10;

        /// <summary>The checks of Go's main, in its order.</summary>
        public async Task RunChecks()
        {
            var ones = Rep(R.One);
            var twos = Rep(R.Itor(2));
            await Check(ones, R.One, 5, "Ones");
            // Go passes a count of 0 for these three (its comments show the terms it meant); 10 terms are checked here.
            await Check(Add(ones, ones), R.Itor(2), N, "Add Ones Ones");
            await Check(Add(ones, twos), R.Itor(3), N, "Add Ones Twos");
            var a = new Rat[N];
            for (int i = 0; i < N; i++) a[i] = R.Itor(i + 1);
            await CheckA(Diff(ones), a, "Diff"); // 1 2 3 4 5
            a[0] = R.Zero; // the constant of integration
            for (int i = 1; i < N; i++) a[i] = R.I2tor(1, i);
            await CheckA(Integ(R.Zero, ones), a, "Integ"); // 0 1 1/2 1/3 1/4 1/5
            await Check(Cmul(R.Neg(R.One), twos), R.Itor(-2), 10, "CMul"); // -2 -2 -2 -2 -2
            await Check(Sub(ones, twos), R.Itor(-1), N, "Sub Ones Twos"); // -1 -1 -1 -1 -1
            for (int i = 0; i < N; i++) a[i] = R.Itor(i + 1);
            await CheckA(Mul(ones, ones), a, "Mul"); // 1 2 3 4 5
            a = [R.Itor(1), R.Itor(1), R.I2tor(3, 2), R.I2tor(13, 6), R.I2tor(73, 24), R.I2tor(167, 40),
                R.I2tor(4051, 720), R.I2tor(37633, 5040), R.I2tor(43817, 4480), R.I2tor(4596553, 362880)];
            await CheckA(await Exp(ones), a, "Exp"); // 1 1 3/2 13/6 73/24
            for (int c = 1, i = 0; i < N; i++)
            {
                if (i % 2 == 0)
                {
                    a[i] = R.Zero;
                }
                else
                {
                    a[i] = R.I2tor(c, i);
                    c = -c;
                }
            }
            await CheckA(Integ(R.Zero, MonSubst(ones, R.Neg(R.One), 2)), a, "ATan"); // 0 1 0 -1/3 0 1/5
        }
    }

    [Fact]
    public async Task powser1()
    {
        await ChanProgram.Run(p => new PowerSeries<Rat>(p, r => r, r => r, (x, y) => x == y).RunChecks());
    }
}
