using System.Globalization;

namespace Notistream.Client.Notifications;

/// <summary>
/// The fallback when no desktop backend works (a server over SSH, a Raspberry Pi): one line per
/// notification on the terminal, with the terminal bell.
/// </summary>
internal sealed class ConsoleNotifier : INotifier
{
    private readonly TextWriter _output;
    private readonly bool _bell;
    private readonly TimeProvider _time;

    public ConsoleNotifier(TextWriter output, bool bell, TimeProvider? time = null)
    {
        _output = output;
        _bell = bell;
        _time = time ?? TimeProvider.System;
    }

    public string Description => "console";

    public Task ShowAsync(Notification notification, CancellationToken cancellationToken)
    {
        var stamp = _time.GetLocalNow().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        var body = notification.Body.Replace("\n", "\n           ", StringComparison.Ordinal);
        lock (_output)
        {
            _output.WriteLine($"{(_bell ? "\a" : string.Empty)}[{stamp}] {notification.Title}: {body}");
            _output.Flush();
        }

        return Task.CompletedTask;
    }
}
