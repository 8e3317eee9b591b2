using Notistream.Testing;

namespace Notistream.RespServer.Compat.Tests.Tls;

/// <summary>redis-cli over TLS: <c>--tls --cacert</c> with the test CA, optionally a client certificate.</summary>
internal static class TlsCli
{
    public static string[] Trusting(TestCertificates certificates) => ["--tls", "--cacert", certificates.CaFile];

    public static string[] WithClientCertificate(TestCertificates certificates) =>
        [.. Trusting(certificates), "--cert", certificates.ClientCertFile, "--key", certificates.ClientKeyFile];

    public static string[] WithStrangerCertificate(TestCertificates certificates) =>
        [.. Trusting(certificates), "--cert", certificates.StrangerCertFile, "--key", certificates.StrangerKeyFile];

    /// <summary>What a refused client sees from either server: the handshake or the first read fails.</summary>
    public static void AssertRefused(string output)
    {
        Xunit.Assert.StartsWith("exit 1\n", output, StringComparison.Ordinal);
        Xunit.Assert.DoesNotContain("PONG", output, StringComparison.Ordinal);
        Xunit.Assert.Matches("(Error: (Server closed the connection|Connection reset by peer))|Could not connect to Redis", output);
    }
}
