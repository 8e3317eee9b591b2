using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Resume;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>docs/client.md's <c>notistream --url</c> lines, as the page shows them (see <see cref="DocShell"/>), against this build's server and gateway.</summary>
public sealed class ClientUrlCommandTests
{
    [Fact]
    public async Task Client_url_lines_subscribe_through_the_gateway_with_and_without_a_token()
    {
        const string Token = "a-read-token";
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(server.Port);
        await using var tokenGateway = await TestGateway.StartAsync(server.Port, "--token", Token);
        using var folder = new TempDirectory();
        var state = new Dictionary<string, string?> { ["XDG_STATE_HOME"] = folder.File("state"), ["XDG_CONFIG_HOME"] = folder.File("config") };
        string Line(string start, TestGateway at) => DocPage.Command("docs/client.md", start).Replace("8080", DocShell.Port(at.Port), StringComparison.Ordinal);

        await using (var print = DocShell.Start(Line("notistream --url http://127.0.0.1:8080 --channels 'alerts,owner/*' --print", gateway), folder.Path, server.Port, state))
        {
            await print.WaitForOutputAsync($"connected to {gateway.Url}");
            await ResumeEndToEndTests.PublishAsync(server.Port, [("owner/repo", "pushed"), ("alerts", "disk full")]);
            await print.WaitForOutputAsync("owner/repo: pushed\nalerts: disk full\n");
        }

        var withToken = new Dictionary<string, string?>(state) { ["NOTISTREAM_TOKEN"] = Token };
        var tokenLine = Line("notistream --url http://127.0.0.1:8080 --channels alerts --password", tokenGateway);
        await using (var notify = DocShell.Start(tokenLine, folder.Path, server.Port, withToken))
        {
            await notify.WaitForOutputAsync($"connected to {tokenGateway.Url}");
            await ResumeEndToEndTests.PublishAsync(server.Port, [("alerts", "with the token")]);
            await notify.WaitForOutputAsync("with the token");
        }

        // Without the token the same line is refused: the token is what the line sends.
        await using var refused = DocShell.Start(tokenLine, folder.Path, server.Port, state);
        await refused.WaitForOutputAsync("the gateway requires a token");
    }
}
