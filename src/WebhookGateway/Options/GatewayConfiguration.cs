using System.Collections;
using System.Globalization;

namespace Notistream.Gateway.Options;

/// <summary>
/// The gateway's environment variables and command-line switches, mapped onto
/// <see cref="GatewayOptions"/> keys. Precedence, lowest first: appsettings, environment,
/// command line.
/// </summary>
internal static class GatewayConfiguration
{
    public const string DefaultUrl = "http://127.0.0.1:8080";

    private static readonly (string Variable, string Key)[] _variables =
    [
        ("NOTISTREAM_SERVER", nameof(GatewayOptions.Server)),
        ("NOTISTREAM_SERVER_PASSWORD", nameof(GatewayOptions.ServerPassword)),
        ("NOTISTREAM_TOKEN", nameof(GatewayOptions.Token)),
        ("GITHUB_WEBHOOK_SECRET", nameof(GatewayOptions.GitHubWebhookSecret)),
        ("NOTISTREAM_WEB_PORT", WebPortKey),
    ];

    public const string WebPortKey = "WebPort";

    /// <summary><c>--server-password</c> and friends; <c>--server</c>, <c>--token</c>, <c>--urls</c> need no mapping.</summary>
    public static readonly IDictionary<string, string> SwitchMappings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["--server-password"] = nameof(GatewayOptions.ServerPassword),
        ["--github-secret"] = nameof(GatewayOptions.GitHubWebhookSecret),
        ["--web-port"] = WebPortKey,
    };

    public static Dictionary<string, string?> FromEnvironment(IDictionary environment)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
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
    /// <c>--urls</c> / <c>ASPNETCORE_URLS</c> win; otherwise <c>NOTISTREAM_WEB_PORT</c> on loopback;
    /// otherwise <see cref="DefaultUrl"/>. Null means "leave Kestrel's configured URLs alone".
    /// </summary>
    public static string? ListenUrl(IConfiguration configuration)
    {
        if (!string.IsNullOrWhiteSpace(configuration["urls"]))
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
}
