namespace Notistream.Client.Notifications;

/// <summary>A notification backend.</summary>
internal interface INotifier
{
    /// <summary>For messages: "freedesktop (notify-send)".</summary>
    string Description { get; }

    /// <exception cref="NotifierException">the backend failed to show it.</exception>
    Task ShowAsync(Notification notification, CancellationToken cancellationToken);
}

internal sealed class NotifierException : Exception
{
    public NotifierException(string message)
        : base(message)
    {
    }

    public NotifierException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>The backends that start a program share how a failed run is reported.</summary>
internal abstract class ProcessNotifier : INotifier
{
    private readonly IProcessRunner _runner;

    protected ProcessNotifier(IProcessRunner runner)
    {
        _runner = runner;
    }

    /// <summary>A backend that has not answered in this time is stuck (e.g. no notification daemon).</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(10);

    public abstract string Description { get; }

    public abstract ProcessSpec BuildCommand(Notification notification);

    public async Task ShowAsync(Notification notification, CancellationToken cancellationToken)
    {
        var spec = BuildCommand(notification);
        ProcessResult result;
        try
        {
            result = await _runner.RunAsync(spec, Timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new NotifierException($"{Path.GetFileName(spec.FileName)} did not finish within {Timeout.TotalSeconds:0} s", ex);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new NotifierException($"{spec.FileName} could not be started: {ex.Message}", ex);
        }

        if (result.ExitCode != 0)
        {
            var detail = result.StandardError.Length > 0 ? $": {result.StandardError.Split('\n')[0]}" : string.Empty;
            throw new NotifierException($"{Path.GetFileName(spec.FileName)} exited with {result.ExitCode}{detail}");
        }
    }
}
