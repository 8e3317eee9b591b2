using System.Collections;
using System.Globalization;
using System.Reflection;

namespace Notistream.Gateway.Options;

/// <summary>
/// Where the gateway's settings come from. They live in the <c>Gateway</c> section, so that an
/// unrelated environment variable such as <c>TOKEN</c> or <c>SERVER</c> (which ASP.NET Core reads
/// into the configuration root) can never change them. The documented variables
/// (<c>NOTISTREAM_HOST</c>, <c>NOTISTREAM_PASSWORD</c>, …) and switches (<c>--server</c>,
/// <c>--MaxMessageBytes</c>, …) are mapped onto that section. Precedence, lowest first: appsettings,
/// environment, command line.
/// </summary>
/// <remarks>
/// A setting the client shares has the client's variable: <c>NOTISTREAM_HOST</c> and
/// <c>NOTISTREAM_PORT</c>, <c>NOTISTREAM_USER</c>, <c>NOTISTREAM_PASSWORD</c> (which startserver.sh
/// also gives the server as requirepass), <c>NOTISTREAM_TLS</c>, <c>NOTISTREAM_CA_FILE</c>,
/// <c>NOTISTREAM_CERT_FILE</c>, <c>NOTISTREAM_KEY_FILE</c>. The gateway's older names still work,
/// are logged once at start-up as deprecated, and lose to the new ones when both are set.
/// </remarks>
internal static class GatewayConfiguration
{
    public const string Section = "Gateway";
    public const string DefaultUrl = "http://127.0.0.1:8080";
    public const string WebPortKey = Section + ":WebPort";
    public const string HostVariable = "NOTISTREAM_HOST";
    public const string PortVariable = "NOTISTREAM_PORT";

    /// <summary>The server's host when only NOTISTREAM_PORT is given, and its port when only NOTISTREAM_HOST is.</summary>
    private const string DefaultHost = "127.0.0.1";
    private const string DefaultPort = "6379";

    private static readonly (string Variable, string Key)[] _variables =
    [
        ("NOTISTREAM_USER", Key(nameof(GatewayOptions.ServerUser))),
        ("NOTISTREAM_PASSWORD", Key(nameof(GatewayOptions.ServerPassword))),
        ("NOTISTREAM_TOKEN", Key(nameof(GatewayOptions.Token))),
        ("GITHUB_WEBHOOK_SECRET", Key(nameof(GatewayOptions.GitHubWebhookSecret))),
        ("NOTISTREAM_WEB_PORT", WebPortKey),
        ("NOTISTREAM_TLS", Key(nameof(GatewayOptions.ServerTls))),
        ("NOTISTREAM_CA_FILE", Key(nameof(GatewayOptions.ServerCaFile))),
        ("NOTISTREAM_CERT_FILE", Key(nameof(GatewayOptions.ServerCertFile))),
        ("NOTISTREAM_KEY_FILE", Key(nameof(GatewayOptions.ServerKeyFile))),
    ];

    /// <summary>The gateway's earlier names: each still works, loses to its replacement, and is logged once as deprecated.</summary>
    public static readonly IReadOnlyList<(string Old, string Replacement, string Key)> DeprecatedVariables =
    [
        ("NOTISTREAM_SERVER", $"{HostVariable} and {PortVariable}", Key(nameof(GatewayOptions.Server))),
        ("NOTISTREAM_SERVER_USER", "NOTISTREAM_USER", Key(nameof(GatewayOptions.ServerUser))),
        ("NOTISTREAM_SERVER_PASSWORD", "NOTISTREAM_PASSWORD", Key(nameof(GatewayOptions.ServerPassword))),
        ("NOTISTREAM_SERVER_TLS", "NOTISTREAM_TLS", Key(nameof(GatewayOptions.ServerTls))),
        ("NOTISTREAM_SERVER_CA_FILE", "NOTISTREAM_CA_FILE", Key(nameof(GatewayOptions.ServerCaFile))),
        ("NOTISTREAM_SERVER_CERT", "NOTISTREAM_CERT_FILE", Key(nameof(GatewayOptions.ServerCertFile))),
        ("NOTISTREAM_SERVER_KEY", "NOTISTREAM_KEY_FILE", Key(nameof(GatewayOptions.ServerKeyFile))),
    ];

    /// <summary>
    /// <c>--server</c>, <c>--server-user</c>, <c>--server-password</c>, <c>--token</c>, <c>--github-secret</c>,
    /// <c>--web-port</c>, and <c>--&lt;Option&gt;</c> for every option (<c>--RateLimit:PermitsPerMinute</c> too).
    /// </summary>
    public static readonly IDictionary<string, string> SwitchMappings = CreateSwitchMappings();

    /// <param name="deprecated">receives one line for each deprecated variable that is set, to be logged once</param>
    public static Dictionary<string, string?> FromEnvironment(IDictionary environment, List<string>? deprecated = null)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        // Gateway__Tokens__0__Token and the like: what the host's environment provider reads from the
        // process, read here from the given variables too; the documented names below win over them.
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is string variable && entry.Value is string value
                && variable.StartsWith(Section + "__", StringComparison.OrdinalIgnoreCase))
            {
                values[variable.Replace("__", ":", StringComparison.Ordinal)] = value;
            }
        }

        // The old names first, so that the new ones win when both are set.
        foreach (var (old, replacement, key) in DeprecatedVariables)
        {
            if (Variable(environment, old) is { } value)
            {
                values[key] = key == Key(nameof(GatewayOptions.ServerTls)) ? Boolean(value) : value;
                deprecated?.Add($"{old} is deprecated and will be removed: use {replacement}");
            }
        }

        foreach (var (variable, key) in _variables)
        {
            if (Variable(environment, variable) is { } value)
            {
                values[key] = key == Key(nameof(GatewayOptions.ServerTls)) ? Boolean(value) : value;
            }
        }

        var host = Variable(environment, HostVariable);
        var port = Variable(environment, PortVariable);
        if (host is not null || port is not null)
        {
            host ??= DefaultHost;
            if (host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('['))
            {
                host = $"[{host}]";
            }

            values[Key(nameof(GatewayOptions.Server))] = $"{host}:{port ?? DefaultPort}";
        }

        return values;
    }

    private static string? Variable(IDictionary environment, string name) =>
        environment[name] is string { Length: > 0 } value ? value : null;

    /// <summary>NOTISTREAM_TLS as the client reads it: true/false, 1/0, yes/no, on/off; anything else is left for the binder to refuse.</summary>
    private static string Boolean(string value) => value.Trim().ToLowerInvariant() switch
    {
        "1" or "yes" or "on" or "true" => "true",
        "0" or "no" or "off" or "false" => "false",
        _ => value,
    };

    /// <summary>
    /// Kestrel endpoints in the configuration (<c>Kestrel:Endpoints:Https:Url</c> with a certificate,
    /// for HTTPS) or <c>--urls</c> / <c>ASPNETCORE_URLS</c> win; otherwise <c>NOTISTREAM_WEB_PORT</c>
    /// on loopback; otherwise <see cref="DefaultUrl"/>. Null means "leave Kestrel's configured URLs alone".
    /// </summary>
    public static string? ListenUrl(IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(configuration["urls"]) || configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            return null;
        }

        var port = configuration[WebPortKey];
        if (string.IsNullOrWhiteSpace(port))
        {
            return DefaultUrl;
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 0 or > 65535)
        {
            throw new InvalidOperationException($"NOTISTREAM_WEB_PORT '{port}' is not a port number.");
        }

        return string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{number}");
    }

    private static string Key(string name) => Section + ":" + name;

    private static Dictionary<string, string> CreateSwitchMappings()
    {
        var mappings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["--server"] = Key(nameof(GatewayOptions.Server)),
            ["--server-user"] = Key(nameof(GatewayOptions.ServerUser)),
            ["--server-password"] = Key(nameof(GatewayOptions.ServerPassword)),
            ["--token"] = Key(nameof(GatewayOptions.Token)),
            ["--github-secret"] = Key(nameof(GatewayOptions.GitHubWebhookSecret)),
            ["--web-port"] = WebPortKey,
            ["--server-tls"] = Key(nameof(GatewayOptions.ServerTls)),
            ["--server-ca-file"] = Key(nameof(GatewayOptions.ServerCaFile)),
            ["--server-cert"] = Key(nameof(GatewayOptions.ServerCertFile)),
            ["--server-key"] = Key(nameof(GatewayOptions.ServerKeyFile)),
        };
        foreach (var property in typeof(GatewayOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.PropertyType == typeof(RateLimitOptions) || property.PropertyType == typeof(SubscribeOptions) || property.PropertyType == typeof(WebPushOptions))
            {
                foreach (var nested in property.PropertyType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    mappings.TryAdd($"--{property.Name}:{nested.Name}", Key($"{property.Name}:{nested.Name}"));
                }
            }
            else if (property.CanWrite)
            {
                // Collections such as Tokens have no single value: --Gateway:Tokens:0:Token sets them.
                mappings.TryAdd("--" + property.Name, Key(property.Name));
            }
        }

        return mappings;
    }
}
