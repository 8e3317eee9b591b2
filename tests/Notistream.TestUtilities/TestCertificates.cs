using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Notistream.Testing;

/// <summary>
/// A throw-away PKI for TLS tests, written as PEM files to a temp folder: a CA, a server certificate
/// for 127.0.0.1 and localhost, a client certificate from the same CA, and a client certificate from
/// another CA (which the server must refuse). Keys are ECDSA P-256. Dispose deletes the folder.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public const string KeyPassword = "key-pass";

    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");

    public string ServerCertFile => Path.Combine(Directory, "server.crt");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    /// <summary>The server key encrypted (PKCS#8) with <see cref="KeyPassword"/>.</summary>
    public string ServerEncryptedKeyFile => Path.Combine(Directory, "server-encrypted.key");

    public string ClientCertFile => Path.Combine(Directory, "client.crt");

    public string ClientKeyFile => Path.Combine(Directory, "client.key");

    /// <summary>Issued by a CA the server does not trust.</summary>
    public string StrangerCertFile => Path.Combine(Directory, "stranger.crt");

    public string StrangerKeyFile => Path.Combine(Directory, "stranger.key");

    /// <summary>A folder holding only the CA certificate (tls-ca-cert-dir).</summary>
    public string CaDirectory => Path.Combine(Directory, "ca-dir");

    public static TestCertificates Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"notistream-tls-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(directory);
        var certificates = new TestCertificates(directory);
        System.IO.Directory.CreateDirectory(certificates.CaDirectory);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var ca = CreateCa("Notistream Test CA", caKey);
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(Path.Combine(certificates.CaDirectory, "ca.pem"), ca.ExportCertificatePem() + "\n");

        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        using (var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            using var server = Issue(ca, caKey, "localhost", serverKey, serverAuth: true, san.Build());
            File.WriteAllText(certificates.ServerCertFile, server.ExportCertificatePem() + "\n");
            File.WriteAllText(certificates.ServerKeyFile, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
            var pbe = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000);
            File.WriteAllText(certificates.ServerEncryptedKeyFile, serverKey.ExportEncryptedPkcs8PrivateKeyPem(KeyPassword, pbe) + "\n");
        }

        using (var clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            using var client = Issue(ca, caKey, "notistream-test-client", clientKey, serverAuth: false, null);
            File.WriteAllText(certificates.ClientCertFile, client.ExportCertificatePem() + "\n");
            File.WriteAllText(certificates.ClientKeyFile, clientKey.ExportPkcs8PrivateKeyPem() + "\n");
        }

        using var otherCaKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherCa = CreateCa("Some Other CA", otherCaKey);
        using (var strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            using var stranger = Issue(otherCa, otherCaKey, "stranger", strangerKey, serverAuth: false, null);
            File.WriteAllText(certificates.StrangerCertFile, stranger.ExportCertificatePem() + "\n");
            File.WriteAllText(certificates.StrangerKeyFile, strangerKey.ExportPkcs8PrivateKeyPem() + "\n");
        }

        return certificates;
    }

    /// <summary>The CA certificate (public part), e.g. for a custom trust store.</summary>
    public X509Certificate2 LoadCa() => X509Certificate2.CreateFromPem(File.ReadAllText(CaFile));

    /// <summary>The client certificate with its key, usable by SslStream.</summary>
    public X509Certificate2 LoadClient() => X509Certificate2.CreateFromPemFile(ClientCertFile, ClientKeyFile);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a file still open by a process that is exiting; the temp folder is cleaned eventually
        }
    }

    private static X509Certificate2 CreateCa(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, ECDsa caKey, string name, ECDsa key, bool serverAuth, X509Extension? san)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [serverAuth ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        var now = DateTimeOffset.UtcNow;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var generator = X509SignatureGenerator.CreateForECDsa(caKey);
        return request.Create(ca.SubjectName, generator, now.AddDays(-1), now.AddDays(29), serial);
    }
}
