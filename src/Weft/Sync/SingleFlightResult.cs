using System.Runtime.ExceptionServices;

namespace Weft.Sync;

/// <summary>
/// What one caller of a <see cref="SingleFlight{TKey, TValue}"/> flight got (Go's <c>singleflight.Result</c>): the
/// value or the exception, and whether the result was shared with other callers.
/// </summary>
/// <typeparam name="TValue">The result's type.</typeparam>
/// <remarks>
/// Returned by <see cref="SingleFlight{TKey, TValue}.DoResultAsync"/> and <see cref="SingleFlight{TKey, TValue}.DoResult"/>,
/// and delivered by <see cref="SingleFlight{TKey, TValue}.DoChan"/>'s channel, so a failure travels as a value (Go's
/// <c>Err</c>) rather than being thrown at the receiver. <see cref="Value"/> rethrows it.
/// </remarks>
/// <example>
/// <code>
/// var r = await flights.DoResultAsync(url, () =&gt; http.GetStringAsync(url));
/// if (r.Exception is null) Console.WriteLine($"{r.Value.Length} bytes, shared: {r.Shared}");
/// </code>
/// </example>
public readonly struct SingleFlightResult<TValue>
{
    private readonly TValue _value;
    private readonly ExceptionDispatchInfo? _error;

    internal SingleFlightResult(TValue value, ExceptionDispatchInfo? error, bool shared)
    {
        _value = value;
        _error = error;
        Shared = shared;
    }

    /// <summary>The flight's value.</summary>
    /// <exception cref="Exception">The exception the flight's function threw, rethrown with its original stack trace.</exception>
    /// <example><code>string page = result.Value;</code></example>
    public TValue Value
    {
        get
        {
            _error?.Throw();
            return _value;
        }
    }

    /// <summary>The exception the flight's function threw (Go's <c>Err</c>), or null if it returned a value.</summary>
    public Exception? Exception => _error?.SourceException;

    /// <summary>
    /// True if the result was given to more than one caller (Go's <c>Shared</c>): always for a caller that joined a
    /// flight in progress; for the caller that started it, when any other caller joined before it ended.
    /// </summary>
    public bool Shared { get; }
}
