using System.Collections;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Tls;

/// <summary>HTTPS through Kestrel's configuration, and the gateway's own connection to the pub/sub server's TLS port.</summary>
public sealed class GatewayTlsTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task Https_endpoint_from_kestrel_configuration_accepts_a_post()
    {
        var publisher = new RecordingPublisher();
        var logs = new LogCapture();
        // --web-port is given too: Kestrel's endpoints replace it rather than clash with it.
        await using var app = GatewayApplication.Create(
            [
                "--Kestrel:Endpoints:Https:Url", "https://127.0.0.1:0",
                "--Kestrel:Endpoints:Https:Certificate:Path", _certificates.ServerCertFile,
                "--Kestrel:Endpoints:Https:Certificate:KeyPath", _certificates.ServerKeyFile,
            ],
            new Hashtable { ["NOTISTREAM_WEB_PORT"] = "0" },
            builder =>
            {
                builder.Logging.ClearProviders().AddProvider(logs);
                builder.Services.AddSingleton<Publishing.IMessagePublisher>(publisher);
            });
        await app.StartAsync(Ct).WithTimeout();
        try
        {
            var address = Assert.Single(app.Urls);
            Assert.StartsWith("https://127.0.0.1:", address, StringComparison.Ordinal);

            using var ca = _certificates.LoadCa();
            using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, errors) => TrustedBy(ca, certificate, errors) };
            using var client = new HttpClient(handler) { BaseAddress = new Uri(address), Timeout = TaskTimeoutExtensions.DefaultTimeout };
            using var response = await client.PostAsync("/alerts", new StringContent("over https"), Ct);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var attempt = Assert.Single(publisher.Attempts);
            Assert.Equal("alerts", attempt.Channel);
            Assert.Equal("over https", Encoding.UTF8.GetString(attempt.Message));

            // Plain HTTP to the HTTPS port is not served.
            using var plain = new HttpClient { Timeout = TaskTimeoutExtensions.DefaultTimeout };
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.PostAsync(address.Replace("https", "http", StringComparison.Ordinal) + "/alerts", new StringContent("x"), Ct));
            Assert.Single(publisher.Attempts);
        }
        finally
        {
            await app.StopAsync(Ct).WithTimeout();
        }
    }

    [Fact]
    public async Task Publishes_to_the_servers_tls_port_with_a_client_certificate()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: true);
        await using var gateway = await GatewayHost.StartAsync(null, (IDictionary?)null,
            "--server", $"127.0.0.1:{server.TlsPort}",
            "--server-ca-file", _certificates.CaFile,
            "--server-cert", _certificates.ClientCertFile,
            "--server-key", _certificates.ClientKeyFile);
        await gateway.WaitUntilReadyAsync();
        await using var subscriber = await RespSubscriber.SubscribeAsync(server.Port, null, "deploys");

        using var response = await gateway.Client.PostAsync("/deploys", new StringContent("shipped"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("shipped", await subscriber.NextTextAsync("deploys"));
    }

    [Fact]
    public async Task Tls_settings_come_from_environment_variables_too()
    {
        var environment = new Hashtable
        {
            ["NOTISTREAM_TLS"] = "true",
            ["NOTISTREAM_CA_FILE"] = _certificates.CaFile,
            ["NOTISTREAM_CERT_FILE"] = _certificates.ClientCertFile,
            ["NOTISTREAM_KEY_FILE"] = _certificates.ClientKeyFile,
        };
        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), environment);
        var options = gateway.App.Services.GetRequiredService<IOptions<Notistream.Gateway.Options.GatewayOptions>>().Value;

        Assert.True(options.UsesServerTls);
        Assert.Equal(_certificates.CaFile, options.ServerCaFile);
        Assert.Equal(_certificates.ClientKeyFile, options.ServerKeyFile);
    }

    [Fact]
    public async Task Without_its_client_certificate_the_gateway_is_not_ready_and_answers_503()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: false);
        await using var gateway = await GatewayHost.StartAsync(null, (IDictionary?)null,
            "--server", $"127.0.0.1:{server.TlsPort}", "--server-ca-file", _certificates.CaFile, "--ConnectTimeoutMilliseconds", "1000");
        // The first connection attempt has ended (refused after the handshake) before asking.
        await Poll.UntilAsync(() => Task.FromResult(gateway.Logs.Entries.Any(e => e.EventId.Id == 3012)), "the first connection attempt to fail");

        using var response = await gateway.Client.PostAsync("/deploys", new StringContent("lost?"), Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var ready = await gateway.Client.GetAsync("/readyz", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Theory]
    [InlineData("--server-cert", "ServerCertFile and ServerKeyFile go together")]
    [InlineData("--server-ca-file", "ServerCaFile (--server-ca-file, NOTISTREAM_CA_FILE): file '/nonexistent/file.pem' not found.")]
    public void Bad_tls_settings_stop_start_up_with_the_setting_named(string flag, string message)
    {
        var path = flag == "--server-cert" ? _certificates.ClientCertFile : "/nonexistent/file.pem";
        var error = Assert.Throws<OptionsValidationException>(() => GatewayApplication.Create(["--urls", "http://127.0.0.1:0", flag, path], new Hashtable()));
        Assert.Contains(error.Failures, failure => failure.Contains(message, StringComparison.Ordinal));
    }

    private static bool TrustedBy(X509Certificate2 ca, X509Certificate2? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
