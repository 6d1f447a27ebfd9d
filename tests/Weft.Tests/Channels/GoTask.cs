namespace Weft.Tests.Channels;

/// <summary>Runs a body as a goroutine and exposes its end as a Task the test can await (with a timeout).</summary>
internal static class GoTask
{
    public static Task Run(Func<Task> body)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try
            {
                await body();
                tcs.TrySetResult();
            }
            catch (Exception e)
            {
                tcs.TrySetException(e);
            }
        });
        return tcs.Task;
    }

    public static Task<T> Run<T>(Func<Task<T>> body)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Go.Run(async () =>
        {
            try
            {
                tcs.TrySetResult(await body());
            }
            catch (Exception e)
            {
                tcs.TrySetException(e);
            }
        });
        return tcs.Task;
    }
}
