using System.Text;

namespace Notistream.Client.Notifications;

/// <summary>
/// Linux and BSD desktops: <c>notify-send</c> (libnotify), which sends the freedesktop
/// <c>org.freedesktop.Notifications.Notify</c> call on the session bus. Title and body come after
/// <c>--</c>, so text starting with '-' is never read as an option.
/// </summary>
internal sealed class FreedesktopNotifier : ProcessNotifier
{
    public const string AppName = "notistream";
    private readonly string _program;

    public FreedesktopNotifier(string program, IProcessRunner runner)
        : base(runner)
    {
        _program = program;
    }

    public override string Description => $"freedesktop ({_program})";

    public override ProcessSpec BuildCommand(Notification notification) => new(_program,
    [
        "--app-name=" + AppName,
        "--urgency=" + notification.Urgency switch
        {
            Urgency.Low => "low",
            Urgency.Critical => "critical",
            _ => "normal",
        },
        "--category=im.received",
        "--",
        notification.Title,
        EscapeMarkup(notification.Body),
    ]);

    /// <summary>
    /// Notification daemons read the body as a small markup language (&lt;b&gt;, &lt;a&gt;, entities);
    /// a message is text, so its &amp;, &lt; and &gt; are escaped. The summary is plain text by the spec.
    /// </summary>
    public static string EscapeMarkup(string text)
    {
        if (text.AsSpan().IndexOfAny("&<>") < 0)
        {
            return text;
        }

        return new StringBuilder(text)
            .Replace("&", "&amp;")
            .Replace("<", "&lt;")
            .Replace(">", "&gt;")
            .ToString();
    }
}
