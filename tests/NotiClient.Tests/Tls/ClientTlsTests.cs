using System.Text;
using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Client.Tests.Integration;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.Client.Tests.Tls;

/// <summary>The client over TLS against our server's TLS port (client certificate required), and its TLS settings.</summary>
public sealed class ClientTlsTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private readonly TempDirectory _home = new();
    private readonly LockedStringWriter _out = new();
    private readonly LockedStringWriter _err = new();
    private NotistreamServer? _server;

    private NotistreamServer Server => _server!;

    public async ValueTask InitializeAsync() => _server = await NotistreamServer.StartTlsAsync(_certificates, plain: true);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificates.Dispose();
        _home.Dispose();
    }

    private TlsSettings ClientTls => new()
    {
        Enabled = true,
        CaFile = _certificates.CaFile,
        CertFile = _certificates.ClientCertFile,
        KeyFile = _certificates.ClientKeyFile,
    };

    [Fact]
    public async Task Subscribes_over_tls_and_receives_what_is_published_on_the_plain_port()
    {
        var config = SubscriptionTests.Config(Server.TlsPort, "alerts") with { Tls = ClientTls };
        var target = new RecordingTarget();
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        var worker = new SubscriptionWorker(config, target, observer).RunAsync(stop.Token);
        await TaskTimeoutExtensions.WaitUntil(() => observer.Count("connected") == 1, "connected; events: " + string.Join(" | ", observer.Events));

        await using (var publisher = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Server.Port}").WithTimeout())
        {
            Assert.Equal(1, await publisher.GetSubscriber().PublishAsync(RedisChannel.Literal("alerts"), "over tls").WithTimeout());
        }

        await TaskTimeoutExtensions.WaitUntil(() => target.Messages.Count == 1, "the message");
        Assert.Equal("over tls", target.Messages[0].Payload);
        await stop.CancelAsync();
        await worker.WithTimeout();
    }

    [Fact]
    public async Task Send_with_tls_flags_publishes_over_tls()
    {
        await using var subscriber = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Server.Port}").WithTimeout();
        var queue = await subscriber.GetSubscriber().SubscribeAsync(RedisChannel.Literal("alerts")).WithTimeout();

        Assert.Equal(0, await RunAsync("send", "--host", "127.0.0.1", "--port", $"{Server.TlsPort}", "--tls", "--ca-file", _certificates.CaFile,
            "--cert", _certificates.ClientCertFile, "--key", _certificates.ClientKeyFile, "alerts", "hello"));
        Assert.Contains($"sent to alerts on 127.0.0.1:{Server.TlsPort}: 1 subscriber(s) received it", _out.ToString(), StringComparison.Ordinal);
        Assert.Equal("hello", (string?)(await queue.ReadAsync().AsTask().WithTimeout()).Message);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_server_refuses_and_the_reason_says_so()
    {
        Assert.Equal(ExitCodes.Failed, await RunAsync("send", "--host", "127.0.0.1", "--port", $"{Server.TlsPort}", "--ca-file", _certificates.CaFile, "alerts", "hi"));
        Assert.Contains($"cannot send to 127.0.0.1:{Server.TlsPort}: the server closed the TLS connection (does it require a client certificate?",
            _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_certificate_from_an_untrusted_ca_is_refused()
    {
        Assert.Equal(ExitCodes.Failed, await RunAsync("send", "--host", "127.0.0.1", "--port", $"{Server.TlsPort}", "--ca-file", _certificates.StrangerCertFile,
            "--cert", _certificates.ClientCertFile, "--key", _certificates.ClientKeyFile, "alerts", "hi"));
        Assert.Contains("the server's TLS certificate is not trusted", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_without_its_key_is_a_configuration_error()
    {
        Assert.Equal(ExitCodes.ConfigurationError, await RunAsync("send", "--tls", "--cert", _certificates.ClientCertFile, "alerts", "hi"));
        Assert.Contains("--cert: needs --key too", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_ca_file_is_named()
    {
        Assert.NotEqual(0, await RunAsync("send", "--ca-file", "/nonexistent/ca.crt", "alerts", "hi"));
        Assert.Contains("--ca-file: file '/nonexistent/ca.crt' not found", _err.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_config_file_holds_tls_settings_with_paths_relative_to_it()
    {
        var path = Path.Join(_home.Path, "config.json");
        File.Copy(_certificates.CaFile, Path.Join(_home.Path, "ca.crt"));
        var json = """{ "host": "example.org", "channels": ["a"], "caFile": "ca.crt" }""";
        var config = ConfigFile.Parse(path, Encoding.UTF8.GetBytes(json));
        Assert.True(config.Tls.Enabled);
        Assert.Equal(Path.Join(_home.Path, "ca.crt"), config.Tls.CaFile);

        var withClient = config with { Tls = ClientTls };
        Assert.Equal(withClient.Tls, ConfigFile.Parse(path, ConfigFile.Serialize(withClient)).Tls);
        Assert.DoesNotContain("\"tls\"", Encoding.UTF8.GetString(ConfigFile.Serialize(new ClientConfig())), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "channels": ["a"], "tls": "yes" }""", "field \"tls\": must be true or false (got a string)")]
    [InlineData("""{ "channels": ["a"], "tls": true, "keyFile": "k.pem" }""", "field \"keyFile\": needs certFile too")]
    [InlineData("""{ "channels": ["a"], "caFile": "" }""", "field \"caFile\": must be a file path")]
    [InlineData("""{ "channels": ["a"], "caFile": "missing.crt" }""", "field \"caFile\": file '")]
    public void Bad_tls_settings_in_the_config_file_name_the_field(string json, string message)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigFile.Parse(Path.Join(_home.Path, "config.json"), Encoding.UTF8.GetBytes(json)));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private Task<int> RunAsync(params string[] args)
    {
        var variables = new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = _home.Path, ["HOME"] = _home.Path };
        var console = new ClientConsole(new StringReader(""), _out, _err, false, IsOutputTerminal: false, ReadSecret: null);
        var context = new CliContext(console, TestHosts.Fake(HostPlatform.Linux, variables));
        return CliApp.RunAsync(args, context).WithTimeout();
    }
}
