using Microsoft.Extensions.Logging;

namespace Notistream.RespServer.Hosting;

/// <summary>The <c>logfile</c> directive: one line per event appended to a file, as redis-server logs.</summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly object _lock = new();

    public FileLoggerProvider(string path)
    {
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this);

    public void Dispose() => _writer.Dispose();

    private void Write(LogLevel level, string message, Exception? exception)
    {
        var mark = level switch
        {
            LogLevel.Trace or LogLevel.Debug => '.',
            LogLevel.Information => '*',
            _ => '#',
        };
        lock (_lock)
        {
            _writer.WriteLine($"{Environment.ProcessId}:M {DateTime.Now:dd MMM yyyy HH:mm:ss.fff} {mark} {message}{(exception is null ? "" : " " + exception)}");
        }
    }

    private sealed class FileLogger(FileLoggerProvider provider) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => provider.Write(logLevel, formatter(state, exception), exception);
    }
}
