namespace Notistream.Client.Config;

/// <summary>
/// The <c>NOTISTREAM_*</c> variables: what the environment says, above the config file and below the
/// command line. The gateway reads the same names for the settings it shares with the client (host,
/// port, user, password, TLS), and startserver.sh gives <c>NOTISTREAM_PASSWORD</c> and
/// <c>NOTISTREAM_PORT</c> to the server, so one environment configures all three. An empty variable
/// counts as unset. Values are checked as the command line's are; a bad one names its variable.
/// </summary>
internal sealed record EnvironmentSettings
{
    public const string HostVariable = "NOTISTREAM_HOST";
    public const string PortVariable = "NOTISTREAM_PORT";
    public const string UrlVariable = "NOTISTREAM_URL";
    public const string ChannelsVariable = "NOTISTREAM_CHANNELS";
    public const string UserVariable = "NOTISTREAM_USER";
    public const string PasswordVariable = "NOTISTREAM_PASSWORD";
    public const string TlsVariable = "NOTISTREAM_TLS";
    public const string CaFileVariable = "NOTISTREAM_CA_FILE";
    public const string CertFileVariable = "NOTISTREAM_CERT_FILE";
    public const string KeyFileVariable = "NOTISTREAM_KEY_FILE";

    public static EnvironmentSettings None { get; } = new();

    public string? Host { get; init; }

    public int? Port { get; init; }

    /// <summary>NOTISTREAM_URL: the gateway, over HTTP; the client only (the server and gateway read NOTISTREAM_PORT for themselves).</summary>
    public Uri? Url { get; init; }

    public IReadOnlyList<ChannelSpec>? Channels { get; init; }

    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>NOTISTREAM_TLS and the three files; null when none is set.</summary>
    public TlsSettings? Tls { get; init; }

    /// <exception cref="ConfigException">a variable holds what its setting cannot take; the message names it.</exception>
    public static EnvironmentSettings Read(Func<string, string?> getVariable)
    {
        string? Get(string name) => getVariable(name) is { Length: > 0 } value ? value : null;

        var settings = None;
        if (Get(HostVariable) is { } hostText)
        {
            settings = ConfigValidation.TryParseHost(hostText, out var host, out var error)
                ? settings with { Host = host }
                : throw new ConfigException($"{HostVariable}: {error}");
        }

        if (Get(PortVariable) is { } portText)
        {
            settings = ConfigValidation.TryParsePort(portText, out var port, out var error)
                ? settings with { Port = port }
                : throw new ConfigException($"{PortVariable}: {error}");
        }

        if (Get(UrlVariable) is { } urlText)
        {
            settings = ConfigValidation.TryParseUrl(urlText, out var url, out var error)
                ? settings with { Url = url }
                : throw new ConfigException($"{UrlVariable}: {error}");
            if (settings.Host is not null)
            {
                throw new ConfigException($"{UrlVariable} and {HostVariable} are both set: one or the other ({UrlVariable}: over HTTP to the gateway)");
            }
        }

        if (Get(ChannelsVariable) is { } channelsText)
        {
            settings = ConfigValidation.TryParseChannels(channelsText, out var channels, out var error)
                ? settings with { Channels = channels }
                : throw new ConfigException($"{ChannelsVariable}: {error}");
        }

        settings = settings with { User = Get(UserVariable), Password = Get(PasswordVariable) };

        var tls = new TlsSettings
        {
            Enabled = Get(TlsVariable) is { } tlsText && (ParseBoolean(tlsText)
                ?? throw new ConfigException($"{TlsVariable}: must be true or false (got '{tlsText}')")),
            CaFile = FullPath(Get(CaFileVariable)),
            CertFile = FullPath(Get(CertFileVariable)),
            KeyFile = FullPath(Get(KeyFileVariable)),
        };
        foreach (var (name, path) in new[] { (CaFileVariable, tls.CaFile), (CertFileVariable, tls.CertFile), (KeyFileVariable, tls.KeyFile) })
        {
            if (path is not null && !File.Exists(path))
            {
                throw new ConfigException($"{name}: file '{path}' not found");
            }
        }

        return tls == TlsSettings.Off ? settings : settings with { Tls = tls };
    }

    /// <summary>true/false, 1/0, yes/no, on/off (any case); null for anything else.</summary>
    public static bool? ParseBoolean(string text) => text.Trim().ToLowerInvariant() switch
    {
        "1" or "true" or "yes" or "on" => true,
        "0" or "false" or "no" or "off" => false,
        _ => null,
    };

    /// <summary>This environment over <paramref name="config"/> (the config file's settings, or the defaults).</summary>
    public ClientConfig ApplyTo(ClientConfig config)
    {
        var merged = config with
        {
            Host = Host ?? config.Host,
            Port = Port ?? config.Port,
            // NOTISTREAM_URL over the file's host/port, NOTISTREAM_HOST over the file's url. NOTISTREAM_PORT alone
            // leaves a url in place: startserver.sh sets it for the server, and an HTTP client has no use for it.
            Url = Url ?? (Host is not null ? null : config.Url),
            // A host or port from the environment names one server, a URL one gateway: the file's others go.
            MoreServers = Host is not null || Port is not null || Url is not null ? [] : config.MoreServers,
            MoreUrls = Host is not null || Url is not null ? [] : config.MoreUrls,
            Channels = Channels ?? config.Channels,
            User = User ?? config.User,
            Password = Password ?? config.Password,
            Tls = Tls is null ? config.Tls : new TlsSettings
            {
                Enabled = Tls.Enabled || config.Tls.Enabled,
                CaFile = Tls.CaFile ?? config.Tls.CaFile,
                CertFile = Tls.CertFile ?? config.Tls.CertFile,
                KeyFile = Tls.KeyFile ?? config.Tls.KeyFile,
            }.Normalized(),
        };

        // A certificate without its key, between the environment and the file; the file's own are checked when it is read.
        return Tls is not null && merged.Tls.Check(CaFileVariable, CertFileVariable, KeyFileVariable) is { } problem
            ? throw new ConfigException($"{problem.Name}: {problem.Problem}")
            : merged;
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);
}
