using System.Diagnostics;
using System.Net;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.EndToEnd;

/// <summary>
/// The whole path a user relies on: <c>curl</c> posts a form to the webhook gateway, the gateway
/// publishes to our server, the client raises a notification, and the Notify call is seen on the bus.
/// </summary>
public sealed class WebhookToDesktopTests
{
    [Fact]
    public async Task Curl_form_post_reaches_the_desktop_as_a_notification()
    {
        var curl = ExternalProgram.Require("curl", "apt-get install curl");
        await using var desktop = await DesktopSession.StartAsync();
        await using var server = await TestServer.StartAsync(ServerKind.Notistream);
        var (gateway, webPort) = await StartGatewayAsync(server.Port);
        await using var gatewayProcess = gateway;

        await using var client = ChildProcess.StartClient(["--host", "127.0.0.1", "--port", $"{server.Port}", "--channels", "owner/*"], desktop.Environment);
        await client.WaitForOutputAsync("notifications through freedesktop");
        await client.WaitForOutputAsync("connected to 127.0.0.1:");

        using var post = Process.Start(new ProcessStartInfo(curl)
        {
            ArgumentList =
            {
                "--silent", "--show-error", "--output", "/dev/null", "--write-out", "%{http_code}",
                "--data-urlencode", "channel=owner/repo", "--data-urlencode", "message=Deploy of api v2 finished",
                $"http://127.0.0.1:{webPort}/",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var status = await post.StandardOutput.ReadToEndAsync().WithTimeout();
        await post.WaitForExitAsync().WithTimeout();
        Assert.True(status.StartsWith('2'), $"gateway answered {status}: {await post.StandardError.ReadToEndAsync()}\n{gateway.AllOutput}");

        var call = await desktop.WaitForNotifyAsync(n => n.Summary == "owner/repo", "summary 'owner/repo'");
        Assert.Equal(new NotifyCall("notistream", "owner/repo", "Deploy of api v2 finished", "1"), call);
    }

    private static async Task<(ChildProcess Gateway, int Port)> StartGatewayAsync(int serverPort)
    {
        var assembly = Path.Join(AppContext.BaseDirectory, "notistream-gateway.dll");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort.Next();
            var gateway = ChildProcess.Start(ChildProcess.DotNet, [assembly, "--server", $"127.0.0.1:{serverPort}", "--web-port", $"{port}"], new Dictionary<string, string?>());
            try
            {
                await TaskTimeoutExtensions.WaitUntil(() => gateway.HasExited || IsReady(http, port), $"the gateway to be ready on {port}:\n{gateway.AllOutput}", TimeSpan.FromSeconds(30));
                if (!gateway.HasExited)
                {
                    return (gateway, port);
                }
            }
            catch (TimeoutException) when (attempt < 2)
            {
            }

            await gateway.DisposeAsync();
            if (attempt >= 2)
            {
                throw new InvalidOperationException($"the gateway did not start:\n{gateway.AllOutput}");
            }
        }
    }

    private static bool IsReady(HttpClient http, int port)
    {
        try
        {
            using var response = http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")).GetAwaiter().GetResult();
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }
}
