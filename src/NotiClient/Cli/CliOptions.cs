using System.CommandLine;
using Notistream.Client.Config;
using Notistream.Client.Notifications;

namespace Notistream.Client.Cli;

/// <summary>The options every command accepts (declared once, recursive from the root).</summary>
internal sealed class CliOptions
{
    public Option<string?> Config { get; } = new("--config")
    {
        Description = "Config file to use instead of the one in your config folder",
        HelpName = "path",
        Recursive = true,
    };

    public Option<string?> Host { get; } = new("--host")
    {
        Description = "Server host (overrides NOTISTREAM_HOST and the config file)",
        Recursive = true,
    };

    public Option<int?> Port { get; } = new("--port")
    {
        Description = "Server port (overrides NOTISTREAM_PORT and the config file)",
        Recursive = true,
    };

    public Option<string?> Server { get; } = new("--server")
    {
        Description = "Pub/sub servers, host:port[,host:port...]: one is used, and the next when its connection ends or cannot be made " +
            "(overrides NOTISTREAM_HOST, NOTISTREAM_PORT and the config file; not with --host/--port or --url)",
        HelpName = "host:port,...",
        Recursive = true,
    };

    public Option<string?> Url { get; } = new("--url")
    {
        Description = "The gateway's address, https://host[:port]: subscribe over HTTP (its /json stream) instead of RESP, for networks that let only HTTPS out; " +
            "several, comma-separated, are used in turn as --server's are; " +
            "the token is --password (overrides NOTISTREAM_URL and the config file's \"url\"; not with --host/--port)",
        HelpName = "url",
        Recursive = true,
    };

    public Option<string?> Channels { get; } = new("--channels")
    {
        Description = "Comma-separated channels; a name with * ? [ ] is a pattern (overrides NOTISTREAM_CHANNELS and the config file)",
        HelpName = "a,b/*",
        Recursive = true,
    };

    public Option<string?> User { get; } = new("--user")
    {
        Description = "Server ACL user to authenticate as, with --password (overrides NOTISTREAM_USER and the config file)",
        Recursive = true,
    };

    public Option<string?> Password { get; } = new("--password")
    {
        Description = "Server password (overrides NOTISTREAM_PASSWORD and the config file)",
        Recursive = true,
    };

    public Option<bool> Tls { get; } = new("--tls")
    {
        Description = "Connect over TLS (the server's tls-port); NOTISTREAM_TLS=true and the config file's \"tls\": true do the same",
        Recursive = true,
    };

    public Option<string?> CaFile { get; } = new("--ca-file")
    {
        Description = "With TLS: CA certificate (PEM) the server's certificate must chain to, instead of the system's trust store (implies --tls; NOTISTREAM_CA_FILE)",
        HelpName = "path",
        Recursive = true,
    };

    public Option<string?> Cert { get; } = new("--cert")
    {
        Description = "With TLS: client certificate (PEM) for servers with tls-auth-clients yes; needs --key (implies --tls; NOTISTREAM_CERT_FILE)",
        HelpName = "path",
        Recursive = true,
    };

    public Option<string?> Key { get; } = new("--key")
    {
        Description = "With TLS: the client certificate's private key (PEM) (NOTISTREAM_KEY_FILE)",
        HelpName = "path",
        Recursive = true,
    };

    public Option<bool> Print { get; } = new("--print")
    {
        Description = "Write messages to stdout instead of raising desktop notifications",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "With --print: one JSON object per line (implies --print)",
        Recursive = true,
    };

    public Option<string?> Exec { get; } = new("--exec")
    {
        Description = "Run this shell command for each message; it gets NOTISTREAM_CHANNEL, NOTISTREAM_MESSAGE, NOTISTREAM_TITLE, NOTISTREAM_BODY, NOTISTREAM_URL, NOTISTREAM_PATTERN and the message on stdin",
        HelpName = "command",
        Recursive = true,
    };

    public Option<string?> Notifier { get; } = new("--notifier")
    {
        Description = "Notification backend: auto, freedesktop, macos, windows or console",
        HelpName = "backend",
        Recursive = true,
    };

    public Option<string?> Since { get; } = new("--since")
    {
        Description = "Where to start when the server keeps history: all (everything it keeps), now, a duration (90s, 30m, 24h, 7d) or a message id; " +
            "without it the saved cursor (state file) is used, and on a first run: now",
        HelpName = "all|now|duration|id",
        Recursive = true,
    };

    public CliOptions()
    {
        Since.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } since && !SinceOption.TryParse(since, DateTimeOffset.UtcNow, out _, out var error))
            {
                result.AddError($"--since: {error}");
            }
        });
        Host.Validators.Add(result =>
        {
            if (!ConfigValidation.TryParseHost(result.GetValueOrDefault<string?>(), out _, out var error))
            {
                result.AddError($"--host: {error}");
            }
        });
        Port.Validators.Add(result =>
        {
            // Validators run even when the value did not convert (--port abc), and GetValueOrDefault would
            // throw then: the token is read here, so both cases get the rule.
            if (result.Tokens is [var token]
                && (!int.TryParse(token.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
                    || !ConfigValidation.IsValidPort(port)))
            {
                result.AddError($"--port: {ConfigValidation.PortRule(token.Value)}");
            }
        });
        Url.Validators.Add(result =>
        {
            if (!ConfigValidation.TryParseUrls(result.GetValueOrDefault<string?>(), out _, out var error))
            {
                result.AddError($"--url: {error}");
            }
        });
        Server.Validators.Add(result =>
        {
            if (!ConfigValidation.TryParseServers(result.GetValueOrDefault<string?>(), out _, out var error))
            {
                result.AddError($"--server: {error}");
            }
        });
        Channels.Validators.Add(result =>
        {
            if (!ConfigValidation.TryParseChannels(result.GetValueOrDefault<string?>(), out _, out var error))
            {
                result.AddError($"--channels: {error}");
            }
        });
        foreach (var file in new[] { CaFile, Cert, Key })
        {
            file.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<string?>() is { } path && !File.Exists(path))
                {
                    result.AddError($"{file.Name}: file '{path}' not found");
                }
            });
        }

        Notifier.Validators.Add(result =>
        {
            if (!NotifierKinds.TryParse(result.GetValueOrDefault<string?>(), out _))
            {
                result.AddError($"--notifier: must be one of {string.Join(", ", NotifierKinds.Names)}");
            }
        });
    }

    public IEnumerable<Option> All => [Config, Host, Port, Server, Url, Channels, User, Password, Tls, CaFile, Cert, Key, Print, Json, Exec, Notifier, Since];

    /// <summary>--tls, --ca-file, --cert, --key; null when none is given.</summary>
    private TlsSettings? ReadTls(ParseResult result)
    {
        var tls = new TlsSettings
        {
            Enabled = result.GetValue(Tls),
            CaFile = FullPath(result.GetValue(CaFile)),
            CertFile = FullPath(result.GetValue(Cert)),
            KeyFile = FullPath(result.GetValue(Key)),
        };
        return tls == TlsSettings.Off ? null : tls;
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    /// <summary>The connection-related values given on the command line, already validated, over those of the environment.</summary>
    /// <exception cref="ConfigException">a NOTISTREAM_* variable holds a bad value.</exception>
    public Overrides Read(ParseResult result, HostEnvironment host)
    {
        ConfigValidation.TryParseHost(result.GetValue(Host), out var parsedHost, out _);
        ConfigValidation.TryParseUrls(result.GetValue(Url), out var parsedUrls, out _);
        ConfigValidation.TryParseServers(result.GetValue(Server), out var parsedServers, out _);
        if (result.GetValue(Url) is not null && (result.GetValue(Host) is not null || result.GetValue(Port) is not null))
        {
            throw new ConfigException("--url cannot be used with --host or --port: --url subscribes over HTTP to the gateway, --host and --port over RESP to the pub/sub server");
        }

        if (result.GetValue(Server) is not null && (result.GetValue(Host) is not null || result.GetValue(Port) is not null))
        {
            throw new ConfigException("--server cannot be used with --host or --port: give every server in --server, as host:port,host:port");
        }

        if (result.GetValue(Server) is not null && result.GetValue(Url) is not null)
        {
            throw new ConfigException("--server cannot be used with --url: --url subscribes over HTTP to the gateway, --server over RESP to the pub/sub servers");
        }

        ConfigValidation.TryParseChannels(result.GetValue(Channels), out var parsedChannels, out _);
        NotifierKinds.TryParse(result.GetValue(Notifier), out var notifier);
        return new Overrides(
            result.GetValue(Config),
            result.GetValue(Host) is null ? null : parsedHost,
            result.GetValue(Port),
            result.GetValue(Channels) is null ? null : parsedChannels,
            result.GetValue(User),
            result.GetValue(Password),
            result.GetValue(Notifier) is null ? null : notifier,
            ReadTls(result),
            result.GetValue(Print) || result.GetValue(Json),
            result.GetValue(Json),
            result.GetValue(Exec))
        {
            Url = result.GetValue(Url) is null ? null : parsedUrls[0],
            MoreUrls = result.GetValue(Url) is null ? null : [.. parsedUrls.Skip(1)],
            Servers = result.GetValue(Server) is null ? null : parsedServers,
            Since = result.GetValue(Since) is { } since && SinceOption.TryParse(since, DateTimeOffset.UtcNow, out var from, out _) ? from : null,
            Environment = EnvironmentSettings.Read(host.GetVariable),
        };
    }
}

/// <summary>What the command line says, on top of the environment (<see cref="Environment"/>), on top of the config file.</summary>
/// <param name="Tls">TLS settings given on the command line (null: none); each file replaces the config file's.</param>
internal sealed record Overrides(
    string? ConfigPath,
    string? Host,
    int? Port,
    IReadOnlyList<ChannelSpec>? Channels,
    string? User,
    string? Password,
    NotifierKind? Notifier,
    TlsSettings? Tls,
    bool Print,
    bool Json,
    string? Exec)
{
    /// <summary>--url: the gateway, over HTTP; null when not given.</summary>
    public Uri? Url { get; init; }

    /// <summary>--url's gateways after the first; null when --url is not given.</summary>
    public IReadOnlyList<Uri>? MoreUrls { get; init; }

    /// <summary>--server: the pub/sub servers, over RESP, in order; null when not given.</summary>
    public IReadOnlyList<ServerAddress>? Servers { get; init; }

    /// <summary>--since as NOTI.SUBSCRIBE's &lt;from&gt; (<c>0</c>, <c>$</c> or an id); null when not given.</summary>
    public string? Since { get; init; }

    /// <summary>The NOTISTREAM_* variables, which the command line overrides.</summary>
    public EnvironmentSettings Environment { get; init; } = EnvironmentSettings.None;

    /// <summary>The channels to follow when the command line or the environment names them; null otherwise.</summary>
    public IReadOnlyList<ChannelSpec>? GivenChannels => Channels ?? Environment.Channels;

    /// <summary>Command line over environment over <paramref name="config"/>: the settings a run uses.</summary>
    public ClientConfig ApplyTo(ClientConfig config) => ApplyCommandLineTo(Environment.ApplyTo(config));

    /// <summary>The command line alone over <paramref name="config"/>: what the questions start from (the environment is not written to the file).</summary>
    public ClientConfig ApplyCommandLineTo(ClientConfig config)
    {
        var merged = config with
        {
            Host = Servers?[0].Host ?? Host ?? config.Host,
            Port = Servers?[0].Port ?? Port ?? config.Port,
            MoreServers = Servers is not null ? [.. Servers.Skip(1)] : Host is not null || Port is not null || Url is not null ? [] : config.MoreServers,
            Url = Url ?? (Host is not null || Port is not null || Servers is not null ? null : config.Url),
            MoreUrls = Url is not null ? MoreUrls ?? [] : Host is not null || Port is not null || Servers is not null ? [] : config.MoreUrls,
            Channels = Channels ?? config.Channels,
            User = User ?? config.User,
            Password = Password ?? config.Password,
            Notifier = Notifier ?? config.Notifier,
            Tls = Tls is null ? config.Tls : new TlsSettings
            {
                Enabled = Tls.Enabled || config.Tls.Enabled,
                CaFile = Tls.CaFile ?? config.Tls.CaFile,
                CertFile = Tls.CertFile ?? config.Tls.CertFile,
                KeyFile = Tls.KeyFile ?? config.Tls.KeyFile,
            }.Normalized(),
        };

        // A certificate without its key (or a file that is gone) from the command line; the config file's own are checked when it is read.
        return merged.Tls.Check("--ca-file", "--cert", "--key") is { } problem
            ? throw new ConfigException($"{problem.Name}: {problem.Problem}")
            : merged;
    }
}
