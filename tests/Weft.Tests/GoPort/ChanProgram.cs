namespace Weft.Tests.GoPort;

/// <summary>
/// Runs a ported <c>test/chan</c> program, which in Go is a <c>main</c>, not a test function: main runs as a goroutine,
/// a panic in any goroutine (here: an exception, such as a failed assertion) fails the test, and a hang fails it after
/// the timeout with a goroutine dump.
/// </summary>
/// <remarks>
/// Some of these programs leave goroutines blocked for ever when main returns (a sieve's filters, a power series'
/// generators); Go's process exit ends them. Here the process goes on to the next test, so such goroutines pass
/// <see cref="Stop"/> to their channel operations: it is cancelled when main returns, and the
/// <see cref="OperationCanceledException"/> that ends them is expected.
/// </remarks>
internal sealed class ChanProgram
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChanProgram()
    {
    }

    /// <summary>Cancelled when main returns (or the program fails): the end of Go's process, for goroutines left blocked.</summary>
    public CancellationToken Stop => _stop.Token;

    /// <summary>Go's <c>go f()</c>: starts a goroutine whose exception fails the program.</summary>
    public void Go(Func<Task> body) => Weft.Go.Run(async () =>
    {
        try
        {
            await body();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The program is over: a goroutine it left blocked was told to end.
        }
        catch (Exception e)
        {
            _failed.TrySetException(e);
        }
    });

    /// <summary>Runs <paramref name="main"/> as a goroutine and completes when it returns; throws the first goroutine's failure.</summary>
    public static async Task Run(Func<ChanProgram, Task> main, TimeSpan? timeout = null)
    {
        var program = new ChanProgram();
        var returned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        program.Go(async () =>
        {
            await main(program);
            returned.TrySetResult();
        });
        try
        {
            await (await Task.WhenAny(returned.Task, program._failed.Task).Within(timeout));
        }
        finally
        {
            program._stop.Cancel();
        }
        // A goroutine that failed while main was returning still fails the program.
        if (program._failed.Task.IsFaulted) await program._failed.Task;
    }
}
