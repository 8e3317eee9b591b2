namespace Notistream.RespServer.Hosting;

/// <summary>
/// The <c>supervised</c> directive, as Redis 7.0 reads it (redisIsSupervised): <c>no</c> (the default) never
/// talks to a service manager; <c>systemd</c> sends READY=1 and STOPPING=1 to NOTIFY_SOCKET; <c>auto</c> picks
/// upstart when UPSTART_JOB is set, else systemd when NOTIFY_SOCKET is set, else none. Redis supervises
/// upstart by stopping itself with SIGSTOP until upstart continues it; that is not done here: <c>upstart</c>
/// is accepted, logged as unsupported and runs as <c>no</c>.
/// </summary>
internal static class Supervision
{
    public const string Error = "argument(s) must be one of the following: upstart, systemd, auto, no";

    /// <summary>What to do, and the line Redis logs about it (null: nothing).</summary>
    internal readonly record struct Decision(bool Systemd, string? Notice, string? Warning);

    public static bool IsMode(string text) => text.ToLowerInvariant() is "upstart" or "systemd" or "auto" or "no";

    public static Decision Resolve(string mode, Func<string, string?> environment)
    {
        var systemdSocket = !string.IsNullOrEmpty(environment(SystemdSupport.NotifySocketVariable));
        if (mode == "auto")
        {
            if (!string.IsNullOrEmpty(environment("UPSTART_JOB")))
            {
                mode = "upstart";
            }
            else if (systemdSocket)
            {
                mode = "systemd";
            }
        }

        return mode switch
        {
            "systemd" when systemdSocket => new(true,
                "Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.", null),
            "systemd" => new(false, null, "systemd supervision error: NOTIFY_SOCKET not found!"),
            "upstart" => new(false, null, "upstart supervision is not supported (Redis stops itself with SIGSTOP for upstart): running as with supervised no"),
            _ => new(false, null, null),
        };
    }
}
