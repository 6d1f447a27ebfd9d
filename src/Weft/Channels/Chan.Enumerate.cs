// Chan<T> as IAsyncEnumerable: `await foreach` receives until the channel is closed and drained.

using System.Runtime.CompilerServices;

namespace Weft;

public sealed partial class Chan<T> : IAsyncEnumerable<T>
{
    /// <summary>Receives values until the channel is closed and drained (Go's <c>for v := range ch</c>).</summary>
    /// <param name="cancellationToken">Ends the enumeration with <see cref="OperationCanceledException"/>; no value is lost.</param>
    /// <returns>The enumerator.</returns>
    /// <example><code>await foreach (var v in ch) Console.WriteLine(v);</code></example>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) => new Enumerator(this, cancellationToken);

    private sealed class Enumerator(Chan<T> channel, CancellationToken token) : IAsyncEnumerator<T>
    {
        public T Current { get; private set; } = default!;

        public ValueTask<bool> MoveNextAsync()
        {
            if (channel.TryReceive(out var v, out bool ok))
            {
                Current = v!; // default only when ok is false, and then MoveNextAsync returns false
                return new ValueTask<bool>(ok);
            }
            return Slow();
        }

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
        private async ValueTask<bool> Slow()
        {
            var (v, ok) = await channel.ReceiveOkAsync(token);
            Current = v!;
            return ok;
        }

        public ValueTask DisposeAsync() => default;
    }
}
