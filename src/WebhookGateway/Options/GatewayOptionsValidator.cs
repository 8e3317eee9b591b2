using Microsoft.Extensions.Options;
using Notistream.Gateway.Tokens;

namespace Notistream.Gateway.Options;

/// <summary>Checked at start-up (<c>ValidateOnStart</c>): a bad setting stops the gateway with a message naming it.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var failures = new List<string>();
        var servers = ServerAddresses.Split(options.Server);
        if (servers.Count <= 1)
        {
            // One address: checked as it always was.
            if (string.IsNullOrWhiteSpace(options.Server) || !IsEndPoint(options.Server))
            {
                failures.Add($"Server '{options.Server}' is not host:port (--server, NOTISTREAM_HOST and NOTISTREAM_PORT).");
            }
        }
        else
        {
            var seen = new HashSet<(string, int)>();
            foreach (var server in servers)
            {
                if (!IsEndPoint(server) || ServerAddresses.Normalize(server) is not { } normal)
                {
                    var hint = server.Count(c => c == ':') > 1 && !server.StartsWith('[') ? " (an IPv6 address goes in brackets: [::1]:6379)" : string.Empty;
                    failures.Add($"Server '{options.Server}': '{server}' is not host:port{hint} (--server takes host:port or host:port,host:port,...).");
                }
                else if (!seen.Add(normal))
                {
                    failures.Add($"Server '{options.Server}' names an address twice: '{server}' ({normal.Host}:{normal.Port}).");
                }
            }
        }

        if (options.Token is { } token && token.Length > 0 && string.IsNullOrWhiteSpace(token))
        {
            failures.Add("Token is only whitespace (--token, NOTISTREAM_TOKEN).");
        }

        ValidateScopedTokens(failures, options.Tokens);

        if (string.IsNullOrEmpty(options.ServerCertFile) != string.IsNullOrEmpty(options.ServerKeyFile))
        {
            failures.Add("ServerCertFile and ServerKeyFile go together: a client certificate needs its key (--server-cert, --server-key).");
        }

        foreach (var (file, what) in new[]
        {
            (options.ServerCaFile, "ServerCaFile (--server-ca-file, NOTISTREAM_CA_FILE)"),
            (options.ServerCertFile, "ServerCertFile (--server-cert, NOTISTREAM_CERT_FILE)"),
            (options.ServerKeyFile, "ServerKeyFile (--server-key, NOTISTREAM_KEY_FILE)"),
        })
        {
            if (!string.IsNullOrEmpty(file) && !File.Exists(file))
            {
                failures.Add($"{what}: file '{file}' not found.");
            }
        }

        Positive(failures, options.MaxMessageBytes, nameof(options.MaxMessageBytes));
        Positive(failures, options.MaxGitHubBodyBytes, nameof(options.MaxGitHubBodyBytes));
        Positive(failures, options.MaxChannelBytes, nameof(options.MaxChannelBytes));
        Positive(failures, options.ConnectTimeoutMilliseconds, nameof(options.ConnectTimeoutMilliseconds));
        Positive(failures, options.PublishTimeoutMilliseconds, nameof(options.PublishTimeoutMilliseconds));
        Positive(failures, options.RetryAfterSeconds, nameof(options.RetryAfterSeconds));
        Positive(failures, options.DeliveryIdsRemembered, nameof(options.DeliveryIdsRemembered));
        Positive(failures, options.Subscribe.MaxSubscribers, "Subscribe:MaxSubscribers");
        Positive(failures, options.Subscribe.MaxChannels, "Subscribe:MaxChannels");
        Positive(failures, options.Subscribe.MaxUrlBytes, "Subscribe:MaxUrlBytes");
        Positive(failures, options.Subscribe.QueueLength, "Subscribe:QueueLength");
        Positive(failures, options.Subscribe.SlowConsumerTimeoutMilliseconds, "Subscribe:SlowConsumerTimeoutMilliseconds");
        if (!(options.Subscribe.KeepaliveSeconds > 0))
        {
            failures.Add($"Subscribe:KeepaliveSeconds must be more than 0, not {options.Subscribe.KeepaliveSeconds}.");
        }

        if (options.RateLimit.PermitsPerMinute < 0)
        {
            failures.Add($"RateLimit:PermitsPerMinute must be 0 (off) or more, not {options.RateLimit.PermitsPerMinute}.");
        }

        ValidateWebPush(failures, options.WebPush);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Each entry names itself by its configuration key; the token itself is never in a message.</summary>
    private static void ValidateScopedTokens(List<string> failures, IList<ScopedTokenOptions> tokens)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            var entry = $"{GatewayConfiguration.Section}:{nameof(GatewayOptions.Tokens)}:{i}";
            if (string.IsNullOrWhiteSpace(tokens[i].Token))
            {
                failures.Add($"{entry}:Token is missing or empty: a scoped publish token needs a token.");
            }

            if (TokenAccessText.Parse(tokens[i].Access) is null)
            {
                failures.Add($"{entry}:Access '{tokens[i].Access}' is not read, write or read-write.");
            }

            var channels = tokens[i].Channels;
            if (channels.Count == 0)
            {
                failures.Add($"{entry}:Channels is empty: give the channel patterns this token may publish to, such as 'alerts:*'.");
            }

            for (var j = 0; j < channels.Count; j++)
            {
                if (ChannelGlob.PatternError(channels[j]) is { } error)
                {
                    failures.Add($"{entry}:Channels:{j} '{channels[j]}' {error}: channel patterns use Redis glob syntax.");
                }
            }
        }
    }

    private static void ValidateWebPush(List<string> failures, WebPushOptions webPush)
    {
        if (!string.IsNullOrEmpty(webPush.Subject) && !IsVapidSubject(webPush.Subject))
        {
            failures.Add($"WebPush:Subject '{webPush.Subject}' is neither a mailto: address nor an https: URL (RFC 8292), e.g. 'mailto:admin@example.com'.");
        }

        if (string.IsNullOrWhiteSpace(webPush.KeyFile))
        {
            failures.Add("WebPush:KeyFile is empty: give the file that keeps the VAPID keys.");
        }

        if (string.IsNullOrWhiteSpace(webPush.SubscriptionsFile))
        {
            failures.Add("WebPush:SubscriptionsFile is empty: give the file that keeps the registrations.");
        }

        Positive(failures, webPush.MaxSubscriptions, "WebPush:MaxSubscriptions");
        Positive(failures, webPush.MaxChannelsPerSubscription, "WebPush:MaxChannelsPerSubscription");
        Positive(failures, webPush.QueuePerSubscription, "WebPush:QueuePerSubscription");
        Positive(failures, webPush.MaxRetryAfterSeconds, "WebPush:MaxRetryAfterSeconds");
        Positive(failures, webPush.Senders, "WebPush:Senders");
        if (webPush.TimeToLiveSeconds < 0)
        {
            failures.Add($"WebPush:TimeToLiveSeconds must be 0 or more, not {webPush.TimeToLiveSeconds}.");
        }

        if (webPush.MaxRetries < 0)
        {
            failures.Add($"WebPush:MaxRetries must be 0 or more, not {webPush.MaxRetries}.");
        }
    }

    /// <summary>RFC 8292 section 2.1: a <c>mailto:</c> URI with an address, or an <c>https:</c> URL.</summary>
    internal static bool IsVapidSubject(string subject) =>
        Uri.TryCreate(subject, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeMailto && subject.Length > "mailto:".Length && subject.Contains('@', StringComparison.Ordinal)
            || uri.Scheme == Uri.UriSchemeHttps && !string.IsNullOrEmpty(uri.Host));

    private static void Positive(List<string> failures, int value, string name)
    {
        if (value <= 0)
        {
            failures.Add($"{name} must be positive, not {value}.");
        }
    }

    /// <summary><c>host:port</c>, <c>[v6]:port</c>, or a host alone (port 6379): what StackExchange.Redis takes as one endpoint.</summary>
    internal static bool IsEndPoint(string server)
    {
        var host = server;
        var colon = server.LastIndexOf(':');
        if (colon >= 0 && server.IndexOf(':') == colon || server.StartsWith('[') && colon > server.IndexOf(']'))
        {
            host = server[..colon];
            if (!int.TryParse(server.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
                || port is < 1 or > 65535)
            {
                return false;
            }
        }

        host = host.Trim('[', ']');
        return Uri.CheckHostName(host) != UriHostNameType.Unknown;
    }
}
