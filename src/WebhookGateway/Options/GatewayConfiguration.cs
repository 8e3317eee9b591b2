using System.Collections;
using System.Globalization;
using System.Reflection;

namespace Notistream.Gateway.Options;

/// <summary>
/// Where the gateway's settings come from. They live in the <c>Gateway</c> section, so that an
/// unrelated environment variable such as <c>TOKEN</c> or <c>SERVER</c> (which ASP.NET Core reads
/// into the configuration root) can never change them. The documented variables
/// (<c>NOTISTREAM_SERVER</c>, …) and switches (<c>--server</c>, <c>--MaxMessageBytes</c>, …) are
/// mapped onto that section. Precedence, lowest first: appsettings, environment, command line.
/// </summary>
internal static class GatewayConfiguration
{
    public const string Section = "Gateway";
    public const string DefaultUrl = "http://127.0.0.1:8080";
    public const string WebPortKey = Section + ":WebPort";

    private static readonly (string Variable, string Key)[] _variables =
    [
        ("NOTISTREAM_SERVER", Key(nameof(GatewayOptions.Server))),
        ("NOTISTREAM_SERVER_USER", Key(nameof(GatewayOptions.ServerUser))),
        ("NOTISTREAM_SERVER_PASSWORD", Key(nameof(GatewayOptions.ServerPassword))),
        ("NOTISTREAM_TOKEN", Key(nameof(GatewayOptions.Token))),
        ("GITHUB_WEBHOOK_SECRET", Key(nameof(GatewayOptions.GitHubWebhookSecret))),
        ("NOTISTREAM_WEB_PORT", WebPortKey),
        ("NOTISTREAM_SERVER_TLS", Key(nameof(GatewayOptions.ServerTls))),
        ("NOTISTREAM_SERVER_CA_FILE", Key(nameof(GatewayOptions.ServerCaFile))),
        ("NOTISTREAM_SERVER_CERT", Key(nameof(GatewayOptions.ServerCertFile))),
        ("NOTISTREAM_SERVER_KEY", Key(nameof(GatewayOptions.ServerKeyFile))),
    ];

    /// <summary>
    /// <c>--server</c>, <c>--server-user</c>, <c>--server-password</c>, <c>--token</c>, <c>--github-secret</c>,
    /// <c>--web-port</c>, and <c>--&lt;Option&gt;</c> for every option (<c>--RateLimit:PermitsPerMinute</c> too).
    /// </summary>
    public static readonly IDictionary<string, string> SwitchMappings = CreateSwitchMappings();

    public static Dictionary<string, string?> FromEnvironment(IDictionary environment)
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

        foreach (var (variable, key) in _variables)
        {
            if (environment[variable] is string value && value.Length > 0)
            {
                values[key] = value;
            }
        }

        return values;
    }

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
            if (property.PropertyType == typeof(RateLimitOptions))
            {
                foreach (var limit in typeof(RateLimitOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
                {
                    mappings.TryAdd($"--{property.Name}:{limit.Name}", Key($"{property.Name}:{limit.Name}"));
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
