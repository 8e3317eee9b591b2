using System.Globalization;
using System.Net.Sockets;
using System.Net;
using Notistream.RespServer.Compat.Tests.Clients;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Tls;

/// <summary>
/// What start-up does with the tls-* directives: bad files stop it with a message naming them, and
/// the variants (encrypted key, CA folder, TLS only) work. Also: a stalled handshake holds nothing up.
/// </summary>
public sealed class TlsStartupTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    public static TheoryData<string, string[], string> BadSettings => new()
    {
        { "missing certificate", ["--tls-cert-file", "/nonexistent/server.crt"], "certificate file '/nonexistent/server.crt': No such file or directory" },
        { "missing key", ["--tls-key-file", "/nonexistent/server.key"], "private key file '/nonexistent/server.key': No such file or directory" },
        { "missing CA", ["--tls-ca-cert-file", "/nonexistent/ca.crt"], "CA certificate file '/nonexistent/ca.crt': No such file or directory" },
        { "no certificate", ["--tls-cert-file", ""], "no tls-cert-file configured" },
        { "no CA while clients must authenticate", ["--tls-ca-cert-file", ""], "either tls-ca-cert-file or tls-ca-cert-dir must be specified" },
        { "missing CA folder", ["--tls-ca-cert-dir", "/nonexistent/cas"], "CA certificate directory '/nonexistent/cas' does not exist" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task A_bad_setting_stops_start_up_with_a_clear_message(string what, string[] args, string message)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(args));
        Assert.Contains("Failed to configure TLS", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    [Fact]
    public async Task A_key_that_does_not_match_the_certificate_is_named()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync("--tls-key-file", _certificates.StrangerKeyFile));
        Assert.Contains($"'{_certificates.ServerCertFile}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{_certificates.StrangerKeyFile}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_is_not_pem_is_named()
    {
        var garbage = Path.Combine(_certificates.Directory, "garbage.crt");
        await File.WriteAllTextAsync(garbage, "not a certificate\n");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync("--tls-ca-cert-file", garbage));
        Assert.Contains($"'{garbage}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--tls-auth-clients", "maybe", "argument(s) must be one of the following: no, yes, optional")]
    [InlineData("--tls-protocols", "TLSv1", "TLSv1 is not supported")]
    [InlineData("--tls-protocols", "SSLv3", "Invalid tls-protocols specified")]
    [InlineData("--tls-port", "70000", "argument must be between 0 and 65535 inclusive")]
    public async Task A_malformed_directive_is_refused_as_config_errors_are(string flag, string value, string message)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => NotistreamServer.StartAsync(flag, value));
        Assert.Contains($"at '{flag} {value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_encrypted_key_loads_with_its_password()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: false,
            "--tls-key-file", _certificates.ServerEncryptedKeyFile, "--tls-key-file-pass", TestCertificates.KeyPassword);
        Assert.Equal("exit 0\nPONG\n", await RedisCli.RunAsync(server.TlsPort, [.. TlsCli.WithClientCertificate(_certificates), "ping"]));

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            StartAsync("--tls-key-file", _certificates.ServerEncryptedKeyFile, "--tls-key-file-pass", "wrong"));
        Assert.Contains($"'{_certificates.ServerEncryptedKeyFile}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ca_folder_authenticates_clients()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: false,
            "--tls-ca-cert-file", "", "--tls-ca-cert-dir", _certificates.CaDirectory);
        Assert.Equal("exit 0\nPONG\n", await RedisCli.RunAsync(server.TlsPort, [.. TlsCli.WithClientCertificate(_certificates), "ping"]));
        TlsCli.AssertRefused(await RedisCli.RunAsync(server.TlsPort, [.. TlsCli.WithStrangerCertificate(_certificates), "ping"]));
    }

    [Fact]
    public async Task Port_0_beside_tls_port_means_tls_only()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: false);
        Assert.Equal(0, server.Port);
        var reply = await RedisCli.RunAsync(server.TlsPort, [.. TlsCli.WithClientCertificate(_certificates), "config", "get", "port"]);
        Assert.Equal("exit 0\nport\n0\n", reply);
    }

    [Fact]
    public async Task Tls_directives_cannot_be_changed_at_run_time()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: true);
        var reply = await RedisCli.RunAsync(server.Port, ["config", "set", "tls-auth-clients", "no"]);
        Assert.Equal("exit 0\nERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - can't set immutable config\n\n", reply);
    }

    [Fact]
    public async Task A_stalled_handshake_does_not_hold_up_other_clients()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: false);
        using var silent = await ConnectRawAsync(server.TlsPort);
        using var partial = await ConnectRawAsync(server.TlsPort);
        await partial.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 });

        Assert.Equal("exit 0\nPONG\n", await RedisCli.RunAsync(server.TlsPort, [.. TlsCli.WithClientCertificate(_certificates), "ping"]));
    }

    [Fact]
    public async Task Handshakes_in_flight_count_against_maxclients()
    {
        await using var server = await NotistreamServer.StartTlsAsync(_certificates, plain: false, "--maxclients", "2");
        string[] ping = [.. TlsCli.WithClientCertificate(_certificates), "ping"];
        using (var first = await ConnectRawAsync(server.TlsPort))
        using (var second = await ConnectRawAsync(server.TlsPort))
        {
            // Accepted in order: the two silent ones hold both slots while they handshake.
            TlsCli.AssertRefused(await RedisCli.RunAsync(server.TlsPort, ping));
        }

        await TaskTimeoutExtensions.WaitUntil(() => RedisCli.RunAsync(server.TlsPort, ping).GetAwaiter().GetResult() == "exit 0\nPONG\n",
            "served once the stalled handshakes are gone");
    }

    private async Task StartAsync(params string[] args)
    {
        string[] all =
        [
            "--tls-port", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--tls-cert-file", _certificates.ServerCertFile,
            "--tls-key-file", _certificates.ServerKeyFile,
            "--tls-ca-cert-file", _certificates.CaFile,
            .. args,
        ];
        await using var server = await NotistreamServer.StartAsync(all);
    }

    private static async Task<Socket> ConnectRawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port)).WithTimeout();
        return socket;
    }
}
