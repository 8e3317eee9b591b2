using System.Collections.Concurrent;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Docs;

/// <summary>
/// The certificates docs/security.md's openssl lines make (once for this class, in a temp folder the
/// commands run in, so <c>ca.crt</c>, <c>server.crt</c>, ... are where the page expects them).
/// </summary>
public sealed class DocCertificates : IAsyncLifetime
{
    private readonly TempDirectory _folder = new();

    public string Folder => _folder.Path;

    public async ValueTask InitializeAsync()
    {
        ExternalProgram.Require("openssl", "apt-get install openssl");
        await DocShell.RunAsync(DocPage.Block("docs/security.md", "openssl req -x509"), Folder, 6379);
    }

    public ValueTask DisposeAsync()
    {
        _folder.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>docs/security.md's commands as the page shows them (see <see cref="DocShell"/>).</summary>
public sealed class SecurityCommandTests(DocCertificates certificates) : IClassFixture<DocCertificates>
{
    private const string Page = "docs/security.md";

    [Fact]
    public async Task The_openssl_lines_make_a_CA_and_a_server_and_a_client_certificate_it_signed()
    {
        var verified = await DocShell.RunAsync("openssl verify -CAfile ca.crt server.crt client.crt", certificates.Folder, 6379);
        Assert.Equal("server.crt: OK\nclient.crt: OK\n", verified);
        var names = await DocShell.RunAsync("openssl x509 -in server.crt -noout -ext subjectAltName", certificates.Folder, 6379);
        Assert.Contains("DNS:localhost, IP Address:127.0.0.1", names, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requirepass_and_redis_cli_a_lines()
    {
        using var folder = new TempDirectory();
        var port = FreePort.Next();
        await using var server = DocShell.Start(DocPage.Command(Page, "notistream-server --requirepass"), folder.Path, port);
        await DocShell.WaitForPortAsync(server, port);

        Assert.Equal("0\n", await DocShell.RunAsync(DocPage.Command(Page, "redis-cli -a 's3cret' PUBLISH"), folder.Path, port));
        Assert.StartsWith("NOAUTH", await DocShell.RunAsync("redis-cli PUBLISH alerts hello", folder.Path, port), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_example_user_lines_load_and_give_each_user_its_rights()
    {
        using var folder = new TempDirectory();
        await File.WriteAllTextAsync(folder.File("notistream.conf"), DocPage.Block(Page, "user gateway on", "conf"), TestContext.Current.CancellationToken);
        var port = FreePort.Next();
        await using var server = DocShell.Start("notistream-server notistream.conf", folder.Path, port);
        await DocShell.WaitForPortAsync(server, port);

        async Task<string> Cli(string arguments) => await DocShell.RunAsync("redis-cli " + arguments, folder.Path, port);
        Assert.Equal("0\n", await Cli("--user gateway --pass gw-password PUBLISH alerts:disk full"));
        Assert.Equal("0\n", await Cli("--user gateway --pass gw-password PUBLISH builds/web green"));
        Assert.StartsWith("NOPERM", await Cli("--user gateway --pass gw-password PUBLISH home hi"), StringComparison.Ordinal);
        Assert.StartsWith("NOPERM", await Cli("--user gateway --pass gw-password XRANGE alerts:disk - +"), StringComparison.Ordinal);
        Assert.Equal("0\n", await Cli("--user laptop --pass laptop-password PUBLISH alerts:disk full"));
        Assert.StartsWith("NOPERM", await Cli("--user watcher --pass any PUBLISH public hi"), StringComparison.Ordinal);
        Assert.Equal("PONG\n", await Cli("-a admin-password PING"));
        Assert.StartsWith("NOAUTH", await Cli("PING"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_server_line_then_the_redis_cli_and_notistream_tls_lines()
    {
        var port = FreePort.Next();
        var tlsPort = DocShell.OtherFreePort(port);
        string Ports(string text) => text.Replace("6380", DocShell.Port(tlsPort), StringComparison.Ordinal).Replace("6379", DocShell.Port(port), StringComparison.Ordinal);
        await using var server = DocShell.Start(Ports(DocPage.Command(Page, "dotnet " + DocShell.ServerDll + " --tls-port 6380")), certificates.Folder, port);
        await DocShell.WaitForPortAsync(server, tlsPort);
        await DocShell.WaitForPortAsync(server, port);

        await TlsClientsReceiveAsync(port, tlsPort);
    }

    [Fact]
    public async Task Startserver_line_with_the_NOTISTREAM_TLS_variables()
    {
        var port = FreePort.Next();
        var tlsPort = DocShell.OtherFreePort(port);
        var webPort = DocShell.OtherFreePort(port, tlsPort);
        using var data = new TempDirectory();
        var line = DocPage.Command(Page, "NOTISTREAM_TLS_PORT=6380")
            .Replace("6380", DocShell.Port(tlsPort), StringComparison.Ordinal)
            .Replace("./startserver.sh", Path.Join(DocPage.Root, "startserver.sh"), StringComparison.Ordinal);
        var environment = new Dictionary<string, string?>
        {
            ["NOTISTREAM_PORT"] = DocShell.Port(port),
            ["NOTISTREAM_WEB_PORT"] = DocShell.Port(webPort),
            ["NOTISTREAM_DATA"] = data.Path,
            // The configuration the tests were built in, whose outputs are up to date, as the startserver.sh tests do.
            ["NOTISTREAM_CONFIGURATION"] = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name,
        };
        await using var script = DocShell.Start(line, certificates.Folder, port, environment);
        await script.WaitForOutputAsync("Stop:", TimeSpan.FromSeconds(120));

        await TlsClientsReceiveAsync(port, tlsPort);
        script.Terminate();
        Assert.Equal(0, await script.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Gateway_https_lines_with_Kestrel_variables_and_curl_cacert()
    {
        var curl = ExternalProgram.Require("curl", "apt-get install curl");
        Assert.NotNull(curl);
        await using var server = await NotistreamServer.StartAsync();
        var https = DocShell.OtherFreePort(server.Port);
        var block = DocPage.Block(Page, "Kestrel__Endpoints__Https__Url");
        Assert.Contains("dotnet " + DocShell.GatewayDll, block, StringComparison.Ordinal);
        var start = DocPage.Command(Page, "Kestrel__Endpoints__Https__Url=").Replace("8443", DocShell.Port(https), StringComparison.Ordinal);
        // The gateway publishes to the test server: NOTISTREAM_PORT is the one change besides the port.
        var environment = new Dictionary<string, string?> { ["NOTISTREAM_PORT"] = DocShell.Port(server.Port) };
        await using var gateway = DocShell.Start(start, certificates.Folder, server.Port, environment);
        await DocShell.WaitForPortAsync(gateway, https);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},allowAdmin=true").WithTimeout();
        var received = new ConcurrentQueue<string>();
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("alerts"), (_, message) => received.Enqueue(message!)).WithTimeout();
        await TaskTimeoutExtensions.WaitUntil(() => redis.GetDatabase().Execute("CLIENT", "LIST").ToString().Split('\n').Length >= 3, "the gateway to connect to the server");

        var answer = await DocShell.RunAsync(DocPage.Command(Page, "curl --cacert ca.crt").Replace("8443", DocShell.Port(https), StringComparison.Ordinal), certificates.Folder, server.Port);

        Assert.Contains("\"channel\":\"alerts\"", answer, StringComparison.Ordinal);
        await TaskTimeoutExtensions.WaitUntil(() => received.Contains("hi"), "the message published over HTTPS");
    }

    /// <summary>The page's redis-cli and notistream TLS lines, with the client certificate, each receive a message published on the plain port.</summary>
    private async Task TlsClientsReceiveAsync(int port, int tlsPort)
    {
        using var home = new TempDirectory();
        var clientEnvironment = new Dictionary<string, string?>
        {
            ["HOME"] = home.Path,
            ["XDG_CONFIG_HOME"] = home.File("config"),
            ["XDG_STATE_HOME"] = home.File("state"),
        };
        string Tls(string start) => DocPage.Command(Page, start).Replace("6380", DocShell.Port(tlsPort), StringComparison.Ordinal);
        await using var redisCli = DocShell.Start(Tls("redis-cli --tls"), certificates.Folder, port);
        await using var client = DocShell.Start(Tls("notistream --tls"), certificates.Folder, port, clientEnvironment);
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}").WithTimeout();
        var db = redis.GetDatabase();
        await TaskTimeoutExtensions.WaitUntil(
            () => (long)((RedisResult[])db.Execute("PUBSUB", "NUMSUB", "alerts")!)[1] == 2 || redisCli.HasExited || client.HasExited,
            "both TLS clients to subscribe", TimeSpan.FromSeconds(30));
        Assert.False(redisCli.HasExited, redisCli.AllOutput);
        Assert.False(client.HasExited, client.AllOutput);

        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal("alerts"), "over tls").WithTimeout();

        await redisCli.WaitForOutputAsync("message\nalerts\nover tls\n");
        await client.WaitForOutputAsync("over tls");
    }
}
