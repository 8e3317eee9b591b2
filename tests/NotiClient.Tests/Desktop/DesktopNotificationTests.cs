using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Desktop;

/// <summary>
/// The client as installed, on a real (virtual) desktop: its notifications must reach the
/// freedesktop notification daemon as Notify calls with the right summary and body.
/// </summary>
public sealed class DesktopNotificationTests
{
    [Fact]
    public async Task A_published_message_becomes_a_Notify_call_on_the_session_bus()
    {
        await using var desktop = await DesktopSession.StartAsync();
        await using var server = await TestServer.StartAsync(ServerKind.Redis);
        await using var client = ChildProcess.StartClient(
            ["--host", "127.0.0.1", "--port", $"{server.Port}", "--channels", "deploys,ci/*"], desktop.Environment);
        await client.WaitForOutputAsync("notifications through freedesktop");
        await client.WaitForOutputAsync("connected to 127.0.0.1:");

        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").WithTimeout())
        {
            var subscriber = publisher.GetSubscriber();
            await subscriber.PublishAsync(RedisChannel.Literal("deploys"), """{"title":"Deploy finished","message":"api v2 is live <b> & ready","priority":"high"}""").WithTimeout();
            await subscriber.PublishAsync(RedisChannel.Literal("ci/build"), "--help -u low $(id) build 42 passed").WithTimeout();
        }

        var deploy = await desktop.WaitForNotifyAsync(n => n.Summary == "Deploy finished", "summary 'Deploy finished'");
        Assert.Equal(new NotifyCall("notistream", "Deploy finished", "api v2 is live &lt;b&gt; &amp; ready", "2"), deploy);

        var build = await desktop.WaitForNotifyAsync(n => n.Summary == "ci/build", "summary 'ci/build'");
        Assert.Equal(new NotifyCall("notistream", "ci/build", "--help -u low $(id) build 42 passed", "1"), build);
        Assert.DoesNotContain("falling back", client.AllOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("failed", client.AllOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_test_command_raises_one_notification()
    {
        await using var desktop = await DesktopSession.StartAsync();
        await using var client = ChildProcess.StartClient(["test"], desktop.Environment);
        Assert.Equal(0, await client.WaitForExitAsync());

        var call = await desktop.WaitForNotifyAsync(n => n.Summary == "notistream", "summary 'notistream'");
        Assert.Equal("Test notification: if you can read this, notifications work.", call.Body);
        Assert.Contains("sent a test notification through freedesktop", client.StandardError, StringComparison.Ordinal);
    }
}
