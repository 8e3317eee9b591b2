using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Connections;

namespace Notistream.RespServer.Hosting;

/// <summary>Builds the server's host from redis-server-style arguments (used by Program and by tests).</summary>
internal static class RespServerHost
{
    public static IHost Build(RespServerOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Trace);
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
            return Finish(builder, options);
        }

        // Read at every log call, so CONFIG SET loglevel applies at once, as in Redis.
        builder.Logging.AddFilter((_, _, level) => level >= MinimumLevel(options.LogLevel));
        if (!string.IsNullOrEmpty(options.LogFile))
        {
            builder.Logging.AddProvider(new FileLoggerProvider(options.LogFile));
        }
        else if (SystemdSupport.LogsToJournal)
        {
            // One line per entry with its syslog priority, which journald reads; no colour, no timestamp.
            builder.Logging.AddSystemdConsole();
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "dd MMM yyyy HH:mm:ss.fff ";
            });
        }

        return Finish(builder, options);
    }

    /// <summary>Redis's log levels: debug, verbose, notice (the default), warning.</summary>
    private static LogLevel MinimumLevel(string logLevel) => logLevel switch
    {
        "debug" => LogLevel.Trace,
        "verbose" => LogLevel.Debug,
        "warning" => LogLevel.Warning,
        _ => LogLevel.Information,
    };

    private static IHost Finish(HostApplicationBuilder builder, RespServerOptions options)
    {
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        if (Supervision.Resolve(options.Supervised, Environment.GetEnvironmentVariable).Systemd)
        {
            // As Redis, the mode found is what CONFIG GET supervised answers from then on.
            options.Supervised = "systemd";
            options.SupervisedBySystemd = true;
            builder.Services.AddSystemdNotify();
        }

        builder.Services.AddHostedService<HangupIgnored>();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => new ServerContext(options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<CommandTable>();
        builder.Services.AddHostedService<RespServerService>();
        builder.Services.AddHostedService<MetricsListener>();
        return builder.Build();
    }

    /// <summary>
    /// SIGHUP, which by default ends a .NET process, is ignored as Redis ignores it: the log file needs no
    /// signal to be reopened, since it is opened for every line (<see cref="FileLoggerProvider"/>).
    /// </summary>
    private sealed class HangupIgnored : IHostedService, IDisposable
    {
        private System.Runtime.InteropServices.PosixSignalRegistration? _registration;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (!OperatingSystem.IsWindows())
            {
                _registration = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                    System.Runtime.InteropServices.PosixSignal.SIGHUP, context => context.Cancel = true);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _registration?.Dispose();
    }
}
