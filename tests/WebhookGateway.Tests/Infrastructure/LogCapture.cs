using System.Collections.Concurrent;
using System.Diagnostics;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>
/// Keeps every log entry of a gateway under test, with its structured values, and writes it to the output
/// of the test that started the gateway, which the runner shows when that test fails.
/// </summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ITestOutputHelper? _output = TestContext.Current.TestOutputHelper;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Write(string category, LogLevel level, EventId eventId, string message, Exception? exception)
    {
        if (_output is null)
        {
            return;
        }

        try
        {
            _output.WriteLine($"[gateway +{_clock.ElapsedMilliseconds} ms] {level} {category[(category.LastIndexOf('.') + 1)..]}[{eventId.Id}]: {message}{(exception is null ? "" : Environment.NewLine + exception)}");
        }
        catch (InvalidOperationException)
        {
            // the test is over
        }
    }

    internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Values, Exception? Exception = null);

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value;
                }
            }

            var message = formatter(state, exception);
            capture.Entries.Enqueue(new LogEntry(category, logLevel, eventId, message, values, exception));
            capture.Write(category, logLevel, eventId, message, exception);
        }
    }
}
