using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// A server certificate checked against a CA file instead of the system's roots: the name must match and
/// the chain must end at the file's certificates. The client's connections (RESP and HTTPS) and the
/// gateway's connections to the pub/sub server use it alike.
/// </summary>
internal static class CaFileTrust
{
    public static RemoteCertificateValidationCallback Callback(string caFile)
    {
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(caFile);
        return (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate));
        };
    }
}
