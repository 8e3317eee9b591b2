using System.Diagnostics;
using System.Threading.Channels;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>
/// <c>--exec "&lt;command&gt;"</c>: runs the person's command once per message, one at a time, through
/// the system shell. The message reaches it only through environment variables and stdin — never the
/// command line — so a message cannot inject shell syntax:
/// NOTISTREAM_CHANNEL, NOTISTREAM_PATTERN (empty unless a pattern matched), NOTISTREAM_MESSAGE (the raw
/// message; cut at 64 KiB, with NOTISTREAM_MESSAGE_TRUNCATED=1, the whole one is on stdin),
/// NOTISTREAM_TITLE, NOTISTREAM_BODY and NOTISTREAM_URL (as a notification would show them).
/// </summary>
internal sealed class ExecSink : IMessageSink
{
    public const int MaxVariableLength = 64 * 1024;

    private readonly string _command;
    private readonly HostPlatform _platform;
    private readonly Action<string> _report;
    private readonly TimeSpan _timeout;

    public ExecSink(string command, HostPlatform platform, Action<string> report, TimeSpan? timeout = null)
    {
        _command = command;
        _platform = platform;
        _report = report;
        _timeout = timeout ?? TimeSpan.FromSeconds(60);
    }

    public string Name => "--exec";

    public long Runs { get; private set; }

    public long Failures { get; private set; }

    /// <summary>Runs the command for each message; gaps and the end of a catch-up are not messages and run nothing.</summary>
    public async Task RunAsync(ChannelReader<IncomingMessage> reader, Action<IncomingMessage> delivered, CancellationToken cancellationToken)
    {
        await foreach (var message in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (message.Kind == IncomingKind.Message)
            {
                await RunOneAsync(message, cancellationToken).ConfigureAwait(false);
            }

            delivered(message);
        }
    }

    public ProcessStartInfo BuildStartInfo(IncomingMessage message)
    {
        var info = _platform == HostPlatform.Windows
            ? new ProcessStartInfo(Environment.GetEnvironmentVariable("ComSpec") ?? "cmd.exe") { ArgumentList = { "/d", "/s", "/c", _command } }
            : new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", _command } };
        info.UseShellExecute = false;
        info.RedirectStandardInput = true;

        var notification = MessageRenderer.Render(message);
        var payload = EnvironmentSafe(message.Payload);
        var truncated = payload.Length > MaxVariableLength;
        info.Environment["NOTISTREAM_CHANNEL"] = EnvironmentSafe(message.Channel);
        info.Environment["NOTISTREAM_PATTERN"] = EnvironmentSafe(message.Pattern ?? string.Empty);
        info.Environment["NOTISTREAM_MESSAGE"] = truncated ? payload[..MaxVariableLength] : payload;
        info.Environment["NOTISTREAM_MESSAGE_TRUNCATED"] = truncated ? "1" : "0";
        info.Environment["NOTISTREAM_TITLE"] = notification.Title;
        info.Environment["NOTISTREAM_BODY"] = notification.Body;
        info.Environment["NOTISTREAM_URL"] = notification.Url ?? string.Empty;
        return info;
    }

    private async Task RunOneAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        Runs++;
        Process? process = null;
        try
        {
            process = Process.Start(BuildStartInfo(message)) ?? throw new InvalidOperationException("the shell did not start");
            try
            {
                await process.StandardInput.WriteAsync(message.Payload.AsMemory(), cancellationToken).ConfigureAwait(false);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command does not read stdin.
            }

            await process.WaitForExitAsync(cancellationToken).WaitAsync(_timeout, cancellationToken).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                Fail($"--exec command exited with {process.ExitCode} for a message on {message.Channel}");
            }
        }
        catch (TimeoutException)
        {
            process?.Kill(entireProcessTree: true);
            Fail($"--exec command still running after {_timeout.TotalSeconds:0} s for a message on {message.Channel}; stopped it");
        }
        catch (OperationCanceledException)
        {
            process?.Kill(entireProcessTree: true);
            throw;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Fail($"--exec could not start the shell: {ex.Message}");
        }
        finally
        {
            process?.Dispose();
        }
    }

    private void Fail(string text)
    {
        Failures++;
        _report(text);
    }

    // An environment variable cannot hold NUL.
    private static string EnvironmentSafe(string value) => value.Contains('\0', StringComparison.Ordinal) ? value.Replace("\0", string.Empty, StringComparison.Ordinal) : value;
}
