namespace Notistream.Client.Notifications;

/// <summary>
/// macOS: <c>osascript</c> running a fixed script that reads title and body from its argument list
/// (<c>on run argv</c>). The text never becomes AppleScript source, so quotes in a message cannot
/// break out of a string literal.
/// </summary>
internal sealed class MacOsNotifier : ProcessNotifier
{
    private readonly string _program;

    public MacOsNotifier(string program, IProcessRunner runner)
        : base(runner)
    {
        _program = program;
    }

    public override string Description => $"macOS ({_program})";

    public override ProcessSpec BuildCommand(Notification notification) => new(_program,
    [
        "-e", "on run argv",
        "-e", "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e", "end run",
        "--",
        notification.Title,
        notification.Body,
    ]);
}
