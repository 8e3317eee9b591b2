using System.Text;
using Notistream.RespServer.Compat.Tests.Clients;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Tls;

/// <summary>
/// <c>redis-cli --tls</c> against our TLS port prints what it prints against redis-server's, with
/// the same tls-* directives (tls-auth-clients yes): the same replies with a client certificate,
/// the same refusals without one, with a stranger's, or in plain text.
/// </summary>
public sealed class RedisCliTlsTests(TlsServerPair servers) : IClassFixture<TlsServerPair>
{
    public static TheoryData<string> Commands =>
    [
        "ping", "echo h\u00e9llo", "publish nobody hi", "pubsub numsub a b", "-3 ping", "-3 pubsub numsub a",
        "config get tls-auth-clients", "config get tls-protocols", "config get tls-ca-cert-dir", "config get tls-key-file-pass",
        "--no-raw foo bar",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Same_reply_over_tls_with_a_client_certificate(string command)
    {
        string[] args = [.. TlsCli.WithClientCertificate(servers.Certificates), .. command.Split(' ')];
        var expected = await RedisCli.RunAsync(servers.RedisTlsPort, args);
        var actual = await RedisCli.RunAsync(servers.Ours.TlsPort, args);
        Assert.StartsWith("exit 0\n", expected, StringComparison.Ordinal);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Config_get_names_the_same_files()
    {
        string[] args = [.. TlsCli.WithClientCertificate(servers.Certificates), "config", "get", "tls-*-file"];
        var expected = await RedisCli.RunAsync(servers.RedisTlsPort, args);
        var actual = await RedisCli.RunAsync(servers.Ours.TlsPort, args);

        // Redis has more tls-*-file directives (client certificate for replication, DH params); ours are a subset.
        var ours = Pairs(actual);
        var redis = Pairs(expected);
        Assert.Equal(["tls-ca-cert-file", "tls-cert-file", "tls-key-file"], ours.Keys.Order(StringComparer.Ordinal));
        Assert.All(ours, pair => Assert.Equal(redis[pair.Key], pair.Value));
        Assert.Equal(servers.Certificates.ServerCertFile, ours["tls-cert-file"]);
    }

    [Fact]
    public async Task Both_refuse_a_client_without_a_certificate()
    {
        string[] args = [.. TlsCli.Trusting(servers.Certificates), "ping"];
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.RedisTlsPort, args));
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }

    [Fact]
    public async Task Both_refuse_a_certificate_from_another_ca()
    {
        string[] args = [.. TlsCli.WithStrangerCertificate(servers.Certificates), "ping"];
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.RedisTlsPort, args));
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }

    [Fact]
    public async Task Both_refuse_plain_text_on_the_tls_port_and_keep_serving()
    {
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.RedisTlsPort, ["ping"]));
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.Ours.TlsPort, ["ping"]));
        string[] args = [.. TlsCli.WithClientCertificate(servers.Certificates), "ping"];
        Assert.Equal("exit 0\nPONG\n", await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }

    [Fact]
    public async Task Both_refuse_a_server_certificate_the_client_does_not_trust()
    {
        // Trusting only the stranger's self-issued chain: the client refuses the server.
        string[] args = ["--tls", "--cacert", servers.Certificates.StrangerCertFile, "ping"];
        var expected = await RedisCli.RunAsync(servers.RedisTlsPort, args);
        var actual = await RedisCli.RunAsync(servers.Ours.TlsPort, args);
        Assert.Contains("certificate verify failed", expected, StringComparison.Ordinal);
        Assert.Equal(expected.Replace(servers.RedisTlsPort.ToString(), "<port>", StringComparison.Ordinal),
            actual.Replace(servers.Ours.TlsPort.ToString(), "<port>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_plain_port_still_answers_beside_tls()
    {
        Assert.Equal(await RedisCli.RunAsync(servers.RedisPort, ["ping"]), await RedisCli.RunAsync(servers.Ours.Port, ["ping"]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Subscriber_on_one_port_gets_what_is_published_on_the_other(bool subscribeOverTls)
    {
        var expected = await SubscribeAsync(servers.RedisPort, servers.RedisTlsPort, subscribeOverTls);
        var actual = await SubscribeAsync(servers.Ours.Port, servers.Ours.TlsPort, subscribeOverTls);
        Assert.Contains("done", expected, StringComparison.Ordinal);
        Assert.Equal(expected, actual);
    }

    private async Task<string> SubscribeAsync(int plainPort, int tlsPort, bool subscribeOverTls)
    {
        var channel = $"tls-{Guid.NewGuid():N}";
        var tlsArgs = TlsCli.WithClientCertificate(servers.Certificates);
        using var subscriber = subscribeOverTls
            ? RedisCli.Start(tlsPort, [.. tlsArgs, "subscribe", channel])
            : RedisCli.Start(plainPort, ["subscribe", channel]);
        var output = new StringBuilder();
        subscriber.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.Append(e.Data).Append('\n');
            }
        };
        subscriber.BeginOutputReadLine();
        try
        {
            async Task<string> Publish(string message) => subscribeOverTls
                ? await RedisCli.RunAsync(plainPort, ["publish", channel, message])
                : await RedisCli.RunAsync(tlsPort, [.. tlsArgs, "publish", channel, message]);

            await TaskTimeoutExtensions.WaitUntil(() => Publish("probe").GetAwaiter().GetResult() == "exit 0\n1\n", "redis-cli subscribed");
            foreach (var message in new[] { "hello", "two words", "\u00e9\u00e8", "done" })
            {
                Assert.Equal("exit 0\n1\n", await Publish(message));
            }

            await TaskTimeoutExtensions.WaitUntil(() =>
            {
                lock (output)
                {
                    return output.ToString().Contains("done", StringComparison.Ordinal);
                }
            }, "redis-cli printed the last message");
            lock (output)
            {
                // One "probe" arrives: the first publish that reached the subscriber ended the wait.
                return output.ToString().Replace(channel, "<channel>", StringComparison.Ordinal);
            }
        }
        finally
        {
            subscriber.Kill();
            await subscriber.WaitForExitAsync().WithTimeout();
        }
    }

    private static Dictionary<string, string> Pairs(string output)
    {
        var lines = output.Split('\n')[1..^1];
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < lines.Length; i += 2)
        {
            pairs[lines[i]] = lines[i + 1];
        }

        return pairs;
    }
}
