using System.Text;

namespace Notistream.Client.Notifications;

/// <summary>
/// Windows 10/11: a toast through Windows PowerShell and the WinRT ToastNotificationManager. The
/// script is fixed (passed as -EncodedCommand); title and body travel in environment variables and
/// enter the toast XML through CreateTextNode, so a message can inject neither PowerShell nor XML.
/// </summary>
internal sealed class WindowsToastNotifier : ProcessNotifier
{
    public const string TitleVariable = "NOTISTREAM_TOAST_TITLE";
    public const string BodyVariable = "NOTISTREAM_TOAST_BODY";

    // Windows PowerShell's own AppUserModelID: toasts need a registered app id to appear.
    private const string Script = """
        $ErrorActionPreference = 'Stop'
        [void][Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]
        $xml = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)
        $texts = $xml.GetElementsByTagName('text')
        [void]$texts.Item(0).AppendChild($xml.CreateTextNode($env:NOTISTREAM_TOAST_TITLE))
        [void]$texts.Item(1).AppendChild($xml.CreateTextNode($env:NOTISTREAM_TOAST_BODY))
        $toast = [Windows.UI.Notifications.ToastNotification]::new($xml)
        $appId = '{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe'
        [Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier($appId).Show($toast)
        """;

    private static readonly string EncodedScript = Convert.ToBase64String(Encoding.Unicode.GetBytes(Script));

    private readonly string _program;

    public WindowsToastNotifier(string program, IProcessRunner runner)
        : base(runner)
    {
        _program = program;
    }

    public override string Description => $"Windows toast ({Path.GetFileName(_program)})";

    public override ProcessSpec BuildCommand(Notification notification) =>
        new(_program, ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", EncodedScript])
        {
            Environment = new Dictionary<string, string>
            {
                [TitleVariable] = notification.Title,
                [BodyVariable] = notification.Body,
            },
        };
}
