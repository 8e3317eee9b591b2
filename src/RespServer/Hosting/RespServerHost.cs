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
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => new ServerContext(options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<CommandTable>();
        builder.Services.AddHostedService<RespServerService>();
        builder.Services.AddHostedService<MetricsListener>();
        return builder.Build();
    }
}
