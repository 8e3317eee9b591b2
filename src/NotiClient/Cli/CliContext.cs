using Notistream.Client.Config;
using Notistream.Client.Notifications;

namespace Notistream.Client.Cli;

/// <summary>Everything a command needs from outside; the real one for the program, fakes for tests.</summary>
internal sealed record CliContext(ClientConsole Console, HostEnvironment Host)
{
    public IServerProbe Probe { get; init; } = new Subscriptions.RedisServerProbe();

    public IProcessRunner ProcessRunner { get; init; } = Notifications.ProcessRunner.Instance;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public CoalescingOptions Coalescing { get; init; } = CoalescingOptions.Default;

    /// <summary>Where state files (cursors) go; null: the platform's state folder (<see cref="Resume.CursorStore.DefaultFolder"/>).</summary>
    public string? StateFolder { get; init; }

    public string ConfigPath(Overrides overrides) => overrides.ConfigPath is { Length: > 0 } given
        ? Path.GetFullPath(given)
        : ConfigPaths.DefaultConfigFile(Host);

    public void Error(string message)
    {
        Console.Error.WriteLine(StatusReporter.Prefix + message);
        Console.Error.Flush();
    }
}

internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>Could not do it: server unreachable, backend failed, questions not answered.</summary>
    public const int Failed = 1;

    /// <summary>Not configured or configured wrongly: the message says what to change.</summary>
    public const int ConfigurationError = 2;
}
