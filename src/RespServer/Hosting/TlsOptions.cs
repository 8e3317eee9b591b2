namespace Notistream.RespServer.Hosting;

/// <summary>tls-auth-clients: whether a TLS client must present a certificate signed by the CA.</summary>
internal enum TlsAuthClients
{
    /// <summary>Required (Redis's default): a client without a valid certificate is refused.</summary>
    Yes,

    /// <summary>Not asked for.</summary>
    No,

    /// <summary>Asked for; a client may go without, but a certificate it presents must be valid.</summary>
    Optional,
}

/// <summary>
/// The tls-* directives, named and defaulted as redis.conf does. TLS is off while <see cref="Port"/>
/// is 0. Read once at start-up: the certificates are loaded then, so CONFIG SET cannot change them.
/// </summary>
internal sealed class TlsOptions
{
    /// <summary>tls-port: TLS listener port; 0 (the default) means no TLS listener.</summary>
    public int Port { get; set; }

    /// <summary>tls-cert-file: the server certificate in PEM, optionally followed by its intermediates.</summary>
    public string CertFile { get; set; } = "";

    /// <summary>tls-key-file: the server's private key in PEM (PKCS#8, PKCS#1 or SEC1; encrypted PKCS#8 with tls-key-file-pass).</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>tls-key-file-pass: password of an encrypted key file.</summary>
    public string KeyFilePass { get; set; } = "";

    /// <summary>tls-ca-cert-file: CA certificates (PEM) that client certificates must chain to.</summary>
    public string CaCertFile { get; set; } = "";

    /// <summary>tls-ca-cert-dir: a folder of CA certificates (PEM files), in addition to or instead of the file.</summary>
    public string CaCertDir { get; set; } = "";

    public TlsAuthClients AuthClients { get; set; } = TlsAuthClients.Yes;

    /// <summary>tls-protocols: e.g. "TLSv1.2 TLSv1.3"; empty lets the system choose (TLS 1.2 and 1.3).</summary>
    public string Protocols { get; set; } = "";

    public bool Enabled => Port != 0;

    public TlsOptions Clone() => (TlsOptions)MemberwiseClone();
}
