using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>The server in-process on port 0 with every log line it writes captured, for tests that assert a log line.</summary>
internal sealed class LoggedServer : IAsyncDisposable, ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IHost? _host;

    public int Port => Context.BoundPort;

    public ServerContext Context => _host!.Services.GetRequiredService<ServerContext>();

    public IReadOnlyCollection<string> Lines => _lines;

    public static async Task<LoggedServer> StartAsync(params string[] args)
    {
        var server = new LoggedServer();
        var options = ConfigLoader.Load(["--port", "0", "--bind", "127.0.0.1", .. args]);
        server._host = RespServerHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Information).AddProvider(server));
        await server._host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return server;
    }

    ILogger ILoggerProvider.CreateLogger(string categoryName) => new Capture(_lines);

    void IDisposable.Dispose()
    {
    }

    public async ValueTask DisposeAsync()
    {
        var host = _host!;
        await host.StopAsync(TimeSpan.FromSeconds(10));
        host.Dispose();
    }

    private sealed class Capture(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => lines.Enqueue(formatter(state, exception));
    }
}
