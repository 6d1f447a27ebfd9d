using System.Runtime.CompilerServices;
using Weft.Sync;
using Xunit;

namespace Weft.Tests.GoPort;

/// <summary>Go's src/sync/oncefunc_test.go, ported: OnceFunc, OnceValue, OnceValues.</summary>
public class OnceFuncTest
{
    /// <summary>Bytes allocated on this thread by <paramref name="runs"/> calls of <paramref name="f"/>, after one warm-up call (Go's AllocsPerRun).</summary>
    private static long AllocatedPerRun(int runs, Action f)
    {
        f();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < runs; i++) f();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void TestOnceFunc()
    {
        int calls = 0;
        var f = new OnceFunc(() => calls++);
        long allocated = AllocatedPerRun(10, f.Invoke);
        Assert.Equal(1, calls);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TestOnceValue()
    {
        int calls = 0;
        var f = new OnceValue<int>(() => ++calls);
        long allocated = AllocatedPerRun(10, () => _ = f.Value);
        int value = f.Value;
        Assert.Equal(1, calls);
        Assert.Equal(1, value);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TestOnceValues()
    {
        int calls = 0;
        var f = new OnceValues<int, int>(() =>
        {
            calls++;
            return (calls, calls + 1);
        });
        long allocated = AllocatedPerRun(10, () => _ = f.Values);
        var (v1, v2) = f.Values;
        Assert.Equal(1, calls);
        Assert.Equal((1, 2), (v1, v2));
        Assert.Equal(0, allocated);
    }

    /// <summary>Each call of <paramref name="f"/> throws the same exception, which <paramref name="check"/> accepts, and the wrapped function ran once.</summary>
    private static void TestOncePanicWith(Func<int> calls, Action f, Action<string, Exception> check)
    {
        Exception? first = null;
        foreach (var label in new[] { "first time", "second time" })
        {
            var p = Record.Exception(f);
            Assert.True(p is not null, $"{label}: f did not throw");
            check(label, p);
            first ??= p;
            Assert.Same(first, p);
        }
        Assert.Equal(1, calls());
    }

    private static void TestOncePanicX(Func<int> calls, Action f) =>
        TestOncePanicWith(calls, f, (label, p) => Assert.True(p is InvalidOperationException { Message: "x" }, $"{label}: want x, got {p}"));

    [Fact]
    public void TestOnceFuncPanic()
    {
        int calls = 0;
        var f = new OnceFunc(() =>
        {
            calls++;
            throw new InvalidOperationException("x");
        });
        TestOncePanicX(() => calls, f.Invoke);
    }

    [Fact]
    public void TestOnceValuePanic()
    {
        int calls = 0;
        var f = new OnceValue<int>(() =>
        {
            calls++;
            throw new InvalidOperationException("x");
        });
        TestOncePanicX(() => calls, () => _ = f.Value);
    }

    [Fact]
    public void TestOnceValuesPanic()
    {
        int calls = 0;
        var f = new OnceValues<int, int>(() =>
        {
            calls++;
            throw new InvalidOperationException("x");
        });
        TestOncePanicX(() => calls, () => _ = f.Values);
    }

    /// <summary>Go's panic(nil); the nearest .NET form is <c>throw null</c>, which throws a NullReferenceException.</summary>
    [Fact]
    public void TestOnceFuncPanicNil()
    {
        int calls = 0;
        var f = new OnceFunc(() =>
        {
            calls++;
            throw null!;
        });
        TestOncePanicWith(() => calls, f.Invoke, (label, p) => Assert.True(p is NullReferenceException, $"{label}: want a null throw, got {p}"));
    }

    // TestOnceFuncGoexit does not apply: .NET has no runtime.Goexit (a goroutine ends only by returning or throwing).

    [Fact]
    public void TestOnceFuncPanicTraceback()
    {
        var f = new OnceFunc(OnceFuncPanic);
        var p = Record.Exception(f.Invoke);
        Assert.True(p is InvalidOperationException { Message: "x" }, $"want x, got {p}");
        Assert.Contains(nameof(OnceFuncPanic), p.StackTrace);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void OnceFuncPanic() => throw new InvalidOperationException("x");

    /// <summary>
    /// Bug 5: the function given to every Once form (and what it captured) is collectable once the first call ran it,
    /// whether it returned or threw, though the Once object itself is still alive.
    /// </summary>
    [Theory]
    [InlineData("OnceFunc")]
    [InlineData("OnceValue")]
    [InlineData("OnceValues")]
    [InlineData("OnceFunc panic")]
    [InlineData("OnceValue panic")]
    [InlineData("OnceValues panic")]
    [InlineData("OnceValue async")]
    [InlineData("OnceFunc async")]
    public void TestOnceXGC(string form)
    {
        var (f, buf) = Wrap(form);
        GcWaitFin();
        Assert.True(buf.IsAlive, "wrapped function garbage collected too early");
        Call(f);
        GcWaitFin();
        Assert.False(buf.IsAlive, "wrapped function should be garbage collected, but still live");
        Call(f);
        GC.KeepAlive(f);
    }

    /// <summary>Builds the Once form around a function that captures a buffer; not inlined, so no local of the test keeps the buffer alive.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (Action Call, WeakReference Buf) Wrap(string form)
    {
        var buf = new byte[1024];
        return (Capture(form, buf), new WeakReference(buf));
    }

    /// <summary>Only the wrapped functions capture <paramref name="buf"/>; the returned caller holds the Once object alone.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Action Capture(string form, byte[] buf) => form switch
    {
        "OnceFunc" => new OnceFunc(() => buf[0] = 1).Invoke,
        "OnceValue" => Caller(new OnceValue<object?>(() => { buf[0] = 1; return null; })),
        "OnceValues" => Caller(new OnceValues<object?, object?>(() => { buf[0] = 1; return (null, null); })),
        "OnceFunc panic" => new OnceFunc(() => { buf[0] = 1; throw new InvalidOperationException("test panic"); }).Invoke,
        "OnceValue panic" => Caller(new OnceValue<object?>(() => { buf[0] = 1; throw new InvalidOperationException("test panic"); })),
        "OnceValues panic" => Caller(new OnceValues<object?, object?>(() => { buf[0] = 1; throw new InvalidOperationException("test panic"); })),
        "OnceValue async" => AsyncCaller(new OnceValue<object?>(() => { buf[0] = 1; return null; })),
        "OnceFunc async" => AsyncCaller(new OnceFunc(() => buf[0] = 1)),
        _ => throw new ArgumentOutOfRangeException(nameof(form), form, "unknown form"),
    };

    private static Action Caller(OnceValue<object?> v) => () => _ = v.Value;

    private static Action Caller(OnceValues<object?, object?> v) => () => _ = v.Values;

    private static Action AsyncCaller(OnceValue<object?> v) => () => v.GetAsync().AsTask().Within().GetAwaiter().GetResult();

    private static Action AsyncCaller(OnceFunc f) => () => f.InvokeAsync().AsTask().Within().GetAwaiter().GetResult();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Call(Action f)
    {
        try { f(); }
        catch (InvalidOperationException) { }
    }

    private static void GcWaitFin()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    // BenchmarkOnceFunc and BenchmarkOnceValue are benchmarks, not tests.
}
