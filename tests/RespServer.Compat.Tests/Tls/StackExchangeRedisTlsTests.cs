using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Tls;

/// <summary>StackExchange.Redis with <c>ssl=true</c> against our TLS port: trust by CA, client certificates, pub/sub across ports.</summary>
public sealed class StackExchangeRedisTlsTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private NotistreamServer? _server;

    private NotistreamServer Server => _server!;

    public async ValueTask InitializeAsync() => _server = await NotistreamServer.StartTlsAsync(_certificates, plain: true).WithTimeout();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _certificates.Dispose();
    }

    [Fact]
    public async Task Client_certificate_from_pem_files_and_trust_issuer()
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{Server.TlsPort},ssl=true,abortConnect=true,connectTimeout=5000");
        options.TrustIssuer(_certificates.CaFile);
        options.SetUserPemCertificate(_certificates.ClientCertFile, _certificates.ClientKeyFile);
        await using var muxer = await ConnectionMultiplexer.ConnectAsync(options).WithTimeout();
        Assert.Equal("hi", (string?)await muxer.GetDatabase().ExecuteAsync("ECHO", "hi").WithTimeout());
    }

    [Fact]
    public async Task Certificate_validation_and_selection_callbacks_with_ssl_host()
    {
        using var ca = _certificates.LoadCa();
        using var client = _certificates.LoadClient();
        var options = ConfigurationOptions.Parse($"127.0.0.1:{Server.TlsPort},ssl=true,sslHost=localhost,abortConnect=true");
        var validated = 0;
        options.CertificateValidation += (_, certificate, _, errors) =>
        {
            Interlocked.Increment(ref validated);
            return certificate is not null && ChainsTo(ca, new X509Certificate2(certificate))
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
        };
        options.CertificateSelection += (_, _, _, _, _) => client;
        await using var muxer = await ConnectionMultiplexer.ConnectAsync(options).WithTimeout();
        await muxer.GetDatabase().PingAsync().WithTimeout();
        Assert.True(validated > 0);
    }

    [Fact]
    public async Task Without_a_client_certificate_the_connection_fails()
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{Server.TlsPort},ssl=true,abortConnect=true,connectTimeout=3000,connectRetry=1");
        options.TrustIssuer(_certificates.CaFile);
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(options).WithTimeout());

        // The refusal cost nothing: a client with a certificate is served.
        options.SetUserPemCertificate(_certificates.ClientCertFile, _certificates.ClientKeyFile);
        await using var muxer = await ConnectionMultiplexer.ConnectAsync(options).WithTimeout();
        await muxer.GetDatabase().PingAsync().WithTimeout();
    }

    [Theory]
    [InlineData(true, ",protocol=resp2")]
    [InlineData(false, ",protocol=resp2")]
    [InlineData(true, ",protocol=resp3")]
    [InlineData(false, ",protocol=resp3")]
    public async Task Pub_sub_between_the_tls_and_the_plain_port(bool subscribeOverTls, string protocol)
    {
        await using var tls = await ConnectTlsAsync(protocol);
        await using var plain = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Server.Port}{protocol}").WithTimeout();
        var (subscriber, publisher) = subscribeOverTls ? (tls, plain) : (plain, tls);

        var channel = RedisChannel.Literal($"tls-{Guid.NewGuid():N}");
        var queue = await subscriber.GetSubscriber().SubscribeAsync(channel).WithTimeout();
        const int count = 2000;
        var received = new List<string>(count);
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        queue.OnMessage(message =>
        {
            received.Add(message.Message!);
            if (received.Count == count)
            {
                all.TrySetResult();
            }
        });

        var publishes = Enumerable.Range(0, count).Select(i => publisher.GetSubscriber().PublishAsync(channel, $"m{i}")).ToArray();
        Assert.All(await Task.WhenAll(publishes).WithTimeout(), n => Assert.Equal(1, n));
        await all.Task.WithTimeout();
        Assert.Equal(Enumerable.Range(0, count).Select(i => $"m{i}"), received);
    }

    [Fact]
    public async Task A_large_payload_crosses_tls_intact()
    {
        await using var tls = await ConnectTlsAsync("");
        var payload = new byte[3 * 1024 * 1024 + 17];
        new Random(7).NextBytes(payload);
        var channel = RedisChannel.Literal("big");
        var queue = await tls.GetSubscriber().SubscribeAsync(channel).WithTimeout();
        await using var plain = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Server.Port}").WithTimeout();
        Assert.Equal(1, await plain.GetSubscriber().PublishAsync(channel, payload).WithTimeout());
        var message = await queue.ReadAsync().AsTask().WithTimeout();
        Assert.Equal(payload, (byte[])message.Message!);
    }

    private async Task<ConnectionMultiplexer> ConnectTlsAsync(string extra)
    {
        var options = ConfigurationOptions.Parse($"127.0.0.1:{Server.TlsPort},ssl=true,abortConnect=true{extra}");
        options.TrustIssuer(_certificates.CaFile);
        options.SetUserPemCertificate(_certificates.ClientCertFile, _certificates.ClientKeyFile);
        return await ConnectionMultiplexer.ConnectAsync(options).WithTimeout();
    }

    private static bool ChainsTo(X509Certificate2 ca, X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
