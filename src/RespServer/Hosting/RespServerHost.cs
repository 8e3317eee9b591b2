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
        builder.Logging.SetMinimumLevel(options.LogLevel switch
        {
            "debug" => LogLevel.Trace,
            "verbose" => LogLevel.Debug,
            "warning" => LogLevel.Warning,
            _ => LogLevel.Information,
        });
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }
        else if (!string.IsNullOrEmpty(options.LogFile))
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

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => new ServerContext(options, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<CommandTable>();
        builder.Services.AddHostedService<RespServerService>();
        return builder.Build();
    }
}
