namespace Notistream.Client.Config;

/// <summary>
/// TLS to the server. <see cref="CaFile"/> is the CA (PEM) the server's certificate must chain to;
/// without it the system's trust store decides. <see cref="CertFile"/> and <see cref="KeyFile"/> are
/// a client certificate for servers that require one (tls-auth-clients yes). Giving any file turns TLS on.
/// </summary>
internal sealed record TlsSettings
{
    public static TlsSettings Off { get; } = new();

    public bool Enabled { get; init; }

    public string? CaFile { get; init; }

    public string? CertFile { get; init; }

    public string? KeyFile { get; init; }

    /// <summary>What is wrong with these settings (a missing file, a certificate without its key) and under which name, or null.</summary>
    public (string Name, string Problem)? Check(string caName, string certName, string keyName)
    {
        if ((CertFile is null) != (KeyFile is null))
        {
            return CertFile is null ? (keyName, $"needs {certName} too") : (certName, $"needs {keyName} too");
        }

        foreach (var (name, path) in new[] { (caName, CaFile), (certName, CertFile), (keyName, KeyFile) })
        {
            if (path is not null && !File.Exists(path))
            {
                return (name, $"file '{path}' not found");
            }
        }

        return null;
    }

    /// <summary>With a file given, TLS is on even without "tls": true / --tls.</summary>
    public TlsSettings Normalized() => this with { Enabled = Enabled || CaFile is not null || CertFile is not null };
}
