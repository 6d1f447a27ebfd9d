namespace Weft.Tests;

/// <summary>Every async test awaits through this, so a hang fails fast with a goroutine dump instead of stalling CI.</summary>
public static class TestTimeout
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static async Task Within(this Task task, TimeSpan? timeout = null)
    {
        try
        {
            await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {timeout ?? Default}.\n{Go.Dump()}");
        }
    }

    public static async Task<T> Within<T>(this Task<T> task, TimeSpan? timeout = null)
    {
        try
        {
            return await task.WaitAsync(timeout ?? Default);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Timed out after {timeout ?? Default}.\n{Go.Dump()}");
        }
    }

    public static Task Within(this ValueTask task, TimeSpan? timeout = null) => task.AsTask().Within(timeout);

    public static Task<T> Within<T>(this ValueTask<T> task, TimeSpan? timeout = null) => task.AsTask().Within(timeout);
}
