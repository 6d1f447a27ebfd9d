using Microsoft.Extensions.Logging;

namespace Weft.Extensions.Hosting.Tests;

/// <summary>A logger provider that keeps every entry, so a test can wait for the one it expects.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly List<LogEntry> _entries = []; // guarded by _lock
    private readonly List<(Func<LogEntry, bool> Match, TaskCompletionSource<LogEntry> Done)> _waiters = []; // guarded by _lock

    public IReadOnlyList<LogEntry> Entries
    {
        get { lock (_lock) return [.. _entries]; }
    }

    /// <summary>Completes with the first entry, past or future, that <paramref name="match"/> accepts.</summary>
    public Task<LogEntry> WaitFor(Func<LogEntry, bool> match)
    {
        var done = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            var seen = _entries.FirstOrDefault(match);
            if (seen is not null) done.SetResult(seen);
            else _waiters.Add((match, done));
        }
        return done.Task;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(LogEntry entry)
    {
        List<TaskCompletionSource<LogEntry>> ready = [];
        lock (_lock)
        {
            _entries.Add(entry);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (!_waiters[i].Match(entry)) continue;
                ready.Add(_waiters[i].Done);
                _waiters.RemoveAt(i);
            }
        }
        foreach (var r in ready) r.TrySetResult(entry);
    }

    private sealed class Logger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => owner.Add(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception), exception));
    }
}

public sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception)
{
    /// <summary>Logged by Weft.Extensions.Hosting (category <c>Weft</c>), not by the host itself.</summary>
    public bool IsWeft => Category == "Weft";
}
