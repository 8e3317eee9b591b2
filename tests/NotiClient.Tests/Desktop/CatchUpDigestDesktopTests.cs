using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Resume;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Desktop;

/// <summary>
/// A catch-up on a real (virtual) desktop: what was published while the client was away must reach the
/// notification daemon as one digest per channel, not one Notify call per message.
/// </summary>
public sealed class CatchUpDigestDesktopTests : IDisposable
{
    private readonly TempDirectory _state = new();

    public void Dispose() => _state.Dispose();

    [Fact]
    public async Task A_catch_up_of_many_messages_is_one_Notify_call_per_channel()
    {
        await using var desktop = await DesktopSession.StartAsync();
        await using var server = await NotistreamServer.StartAsync();
        var environment = desktop.Environment;
        environment["XDG_STATE_HOME"] = _state.Path;
        string[] args = ["--host", "127.0.0.1", "--port", $"{server.Port}", "--channels", "owner/*"];

        await using (var first = ChildProcess.StartClient(args, environment))
        {
            await first.WaitForOutputAsync("connected to 127.0.0.1:");
            first.Terminate();
            Assert.Equal(0, await first.WaitForExitAsync());
        }

        await ResumeEndToEndTests.PublishAsync(server.Port, [
            .. Enumerable.Range(1, 25).Select(i => ("owner/repo", $"push {i}")),
            .. Enumerable.Range(1, 12).Select(i => ("owner/app", $"deploy {i}")),
            ("owner/docs", "one page changed"),
        ]);

        await using var client = ChildProcess.StartClient(args, environment);
        await client.WaitForOutputAsync("notifications through freedesktop");
        await desktop.WaitForNotifyAsync(n => n.Body == "25 messages on owner/repo while you were away; latest: push 25", "the owner/repo digest");
        await desktop.WaitForNotifyAsync(n => n.Body == "12 messages on owner/app while you were away; latest: deploy 12", "the owner/app digest");
        await desktop.WaitForNotifyAsync(n => n.Summary == "owner/docs" && n.Body == "one page changed", "the single owner/docs message as itself");

        // Live again: the next message is a notification of its own, and nothing else came before it.
        await ResumeEndToEndTests.PublishAsync(server.Port, [("owner/repo", "live")]);
        await desktop.WaitForNotifyAsync(n => n.Body == "live", "the live message");
        var calls = desktop.NotifyCalls();
        Assert.Equal(2, calls.Count(c => c.Summary == "owner/repo"));
        Assert.Equal(1, calls.Count(c => c.Summary == "owner/app"));
        Assert.Equal(1, calls.Count(c => c.Summary == "owner/docs"));

        client.Terminate();
        Assert.Equal(0, await client.WaitForExitAsync());
        Assert.Contains("stopped: 39 message(s) received", client.StandardError, StringComparison.Ordinal);
        Assert.Contains("37 missed while away shown as 2 digest(s)", client.StandardError, StringComparison.Ordinal);
    }
}
