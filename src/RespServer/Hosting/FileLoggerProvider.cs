using System.Text;
using Microsoft.Extensions.Logging;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// The <c>logfile</c> directive: one line per event appended to a file, as redis-server logs. As Redis
/// (serverLogRaw), the file is opened for every line and closed after it, so a log rotated by renaming
/// (logrotate without copytruncate) needs no signal: the next line creates the file again at its path,
/// and the renamed one is not held open. A line that cannot be written (the folder gone, the disk full)
/// is lost, as in Redis, rather than stopping the server.
/// </summary>
internal sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly string _path;
    private readonly object _lock = new();

    public FileLoggerProvider(string path)
    {
        _path = path;

        // Opened once here, so that a path that cannot be written stops start-up with the reason.
        using var check = Open();
    }

    public ILogger CreateLogger(string categoryName) => new FileLogger(this);

    public void Dispose()
    {
    }

    private FileStream Open() => new(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);

    private void Write(LogLevel level, string message, Exception? exception)
    {
        var mark = level switch
        {
            LogLevel.Trace or LogLevel.Debug => '.',
            LogLevel.Information => '*',
            _ => '#',
        };
        var line = Encoding.UTF8.GetBytes(
            $"{Environment.ProcessId}:M {DateTime.Now:dd MMM yyyy HH:mm:ss.fff} {mark} {message}{(exception is null ? "" : " " + exception)}\n");
        lock (_lock)
        {
            try
            {
                using var file = Open();
                file.Write(line);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // As Redis: the line is lost; the next one tries again.
            }
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
