using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// Running as a systemd service (the server and, through a linked copy of this file, the gateway).
/// <para>
/// Type=notify uses Microsoft.Extensions.Hosting.Systemd's <see cref="SystemdNotifier"/> and
/// <see cref="SystemdLifetime"/>, the two services its <c>AddSystemd</c> registers: READY=1 once every hosted
/// service has started (the listeners are bound in their StartAsync), STOPPING=1 when the host begins to stop.
/// <c>AddSystemd</c> itself turns them on only when the parent process is systemd; here the caller decides
/// (the server by its <c>supervised</c> directive, the gateway by NOTIFY_SOCKET), as Redis decides by
/// NOTIFY_SOCKET, so that the same binary notifies under systemd and a test can check it.
/// </para>
/// </summary>
internal static class SystemdSupport
{
    /// <summary>The datagram socket systemd gives a Type=notify service.</summary>
    public const string NotifySocketVariable = "NOTIFY_SOCKET";

    /// <summary>Whether systemd (or a test standing in for it) waits for READY=1.</summary>
    public static bool NotifySocketSet => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(NotifySocketVariable));

    /// <summary>
    /// Standard output goes to the journal: systemd sets JOURNAL_STREAM for a service whose output it
    /// connects to journald (StandardOutput=journal, the default), or the library finds systemd as the parent.
    /// Then each log entry is one line with its syslog priority (&lt;6&gt;...), no colour and no timestamp
    /// (the journal keeps its own).
    /// </summary>
    public static bool LogsToJournal =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM")) || SystemdHelpers.IsSystemdService();

    /// <summary>READY=1 and STOPPING=1 through NOTIFY_SOCKET, with SIGTERM, SIGINT and SIGQUIT stopping the host.</summary>
    public static IServiceCollection AddSystemdNotify(this IServiceCollection services)
    {
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<IHostLifetime, SystemdLifetime>();
        services.AddHostedService<InterruptStopsHost>();
        return services;
    }

    /// <summary>
    /// <see cref="SystemdLifetime"/> stops the host on SIGTERM only (what systemd sends); without this Ctrl-C
    /// or SIGQUIT on a process started by hand with NOTIFY_SOCKET set would end it without a clean stop,
    /// where the console lifetime it replaces stops cleanly.
    /// </summary>
    private sealed class InterruptStopsHost(IHostApplicationLifetime lifetime) : IHostedService, IDisposable
    {
        private PosixSignalRegistration? _interrupt;
        private PosixSignalRegistration? _quit;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            _quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, Stop);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
            _interrupt?.Dispose();
            _quit?.Dispose();
        }

        private void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            lifetime.StopApplication();
        }
    }
}
