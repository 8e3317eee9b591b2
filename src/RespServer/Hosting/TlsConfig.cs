using System.Globalization;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// The tls-* directives: parsing (config file, command line) and formatting (CONFIG GET), with
/// Redis's value syntax and error texts. All are immutable at run time.
/// </summary>
internal static class TlsConfig
{
    public static readonly IReadOnlyList<string> Names =
    [
        "tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-ca-cert-file", "tls-ca-cert-dir",
        "tls-auth-clients", "tls-protocols",
    ];

    public static bool Known(string name) => Names.Contains(name);

    public static IEnumerable<KeyValuePair<string, string>> Snapshot(TlsOptions o) =>
    [
        new("tls-port", o.Port.ToString(CultureInfo.InvariantCulture)),
        new("tls-cert-file", o.CertFile),
        new("tls-key-file", o.KeyFile),
        new("tls-key-file-pass", o.KeyFilePass),
        new("tls-ca-cert-file", o.CaCertFile),
        new("tls-ca-cert-dir", o.CaCertDir),
        new("tls-auth-clients", o.AuthClients.ToString().ToLowerInvariant()),
        new("tls-protocols", o.Protocols),
    ];

    /// <summary>One tls-* directive with its single argument. Returns the reason it is refused, or null.</summary>
    public static string? Apply(TlsOptions o, string name, string value)
    {
        switch (name)
        {
            case "tls-port":
                if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var port))
                {
                    return "argument couldn't be parsed into an integer";
                }

                if (port is < 0 or > 65535)
                {
                    return "argument must be between 0 and 65535 inclusive";
                }

                o.Port = port;
                return null;
            case "tls-cert-file":
                o.CertFile = value;
                return null;
            case "tls-key-file":
                o.KeyFile = value;
                return null;
            case "tls-key-file-pass":
                o.KeyFilePass = value;
                return null;
            case "tls-ca-cert-file":
                o.CaCertFile = value;
                return null;
            case "tls-ca-cert-dir":
                o.CaCertDir = value;
                return null;
            case "tls-auth-clients":
                switch (value.ToLowerInvariant())
                {
                    case "yes":
                        o.AuthClients = TlsAuthClients.Yes;
                        return null;
                    case "no":
                        o.AuthClients = TlsAuthClients.No;
                        return null;
                    case "optional":
                        o.AuthClients = TlsAuthClients.Optional;
                        return null;
                    default:
                        return "argument(s) must be one of the following: no, yes, optional";
                }

            case "tls-protocols":
                if (ParseProtocols(value, out var error) is null)
                {
                    return error;
                }

                o.Protocols = value;
                return null;
            default:
                return "Bad directive or wrong number of arguments";
        }
    }

    /// <summary>"TLSv1.2 TLSv1.3" to SslProtocols; empty is None (the system's choice). Null when invalid, with the reason.</summary>
    public static System.Security.Authentication.SslProtocols? ParseProtocols(string value, out string? error)
    {
        error = null;
        var protocols = System.Security.Authentication.SslProtocols.None;
        foreach (var word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (word.ToLowerInvariant())
            {
                case "tlsv1.2":
                    protocols |= System.Security.Authentication.SslProtocols.Tls12;
                    break;
                case "tlsv1.3":
                    protocols |= System.Security.Authentication.SslProtocols.Tls13;
                    break;
                case "tlsv1" or "tlsv1.1":
                    error = $"{word} is not supported (it is insecure): use TLSv1.2 and/or TLSv1.3";
                    return null;
                default:
                    error = "Invalid tls-protocols specified. Use a combination of 'TLSv1.2' and 'TLSv1.3'.";
                    return null;
            }
        }

        return protocols;
    }
}
