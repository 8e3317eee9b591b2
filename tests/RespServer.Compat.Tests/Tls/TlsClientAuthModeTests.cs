using Notistream.RespServer.Compat.Tests.Clients;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Tls;

/// <summary>tls-auth-clients optional: a client may go without a certificate, but one it shows must be valid — on both servers.</summary>
public sealed class OptionalClientCertificateTests(OptionalClientCertificatePair servers) : IClassFixture<OptionalClientCertificatePair>
{
    [Fact]
    public async Task Without_a_certificate_both_answer()
    {
        string[] args = [.. TlsCli.Trusting(servers.Certificates), "ping"];
        Assert.Equal("exit 0\nPONG\n", await RedisCli.RunAsync(servers.RedisTlsPort, args));
        Assert.Equal("exit 0\nPONG\n", await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }

    [Fact]
    public async Task With_a_valid_certificate_both_answer()
    {
        string[] args = [.. TlsCli.WithClientCertificate(servers.Certificates), "config", "get", "tls-auth-clients"];
        var expected = await RedisCli.RunAsync(servers.RedisTlsPort, args);
        Assert.Equal("exit 0\ntls-auth-clients\noptional\n", expected);
        Assert.Equal(expected, await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }

    [Fact]
    public async Task Both_refuse_a_certificate_from_another_ca()
    {
        string[] args = [.. TlsCli.WithStrangerCertificate(servers.Certificates), "ping"];
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.RedisTlsPort, args));
        TlsCli.AssertRefused(await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }
}

/// <summary>tls-auth-clients no: no client certificate is asked for.</summary>
public sealed class NoClientCertificateTests(NoClientCertificatePair servers) : IClassFixture<NoClientCertificatePair>
{
    [Fact]
    public async Task Without_a_certificate_both_answer()
    {
        string[] args = [.. TlsCli.Trusting(servers.Certificates), "config", "get", "tls-auth-clients"];
        var expected = await RedisCli.RunAsync(servers.RedisTlsPort, args);
        Assert.Equal("exit 0\ntls-auth-clients\nno\n", expected);
        Assert.Equal(expected, await RedisCli.RunAsync(servers.Ours.TlsPort, args));
    }
}
