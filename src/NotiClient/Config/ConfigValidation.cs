using System.Globalization;

namespace Notistream.Client.Config;

/// <summary>
/// The rules for host, port and channels, shared by the first-run questions, the config file and
/// the command-line options so that all three accept and refuse the same things with the same words.
/// </summary>
internal static class ConfigValidation
{
    public const int MaxChannelLength = 1024;

    public static bool TryParseHost(string? text, out string host, out string error)
    {
        host = (text ?? string.Empty).Trim();
        if (host.Length == 0)
        {
            error = "the host must not be empty";
            return false;
        }

        // Accept "[::1]" as typed from a URL.
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            error = $"'{host}' is not a host name or IP address";
            return false;
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// <c>host:port[,host:port…]</c> (<c>--server</c>, each entry of the config file's "servers"): a host alone
    /// is port 6379; an IPv6 host goes in brackets, <c>[::1]:6379</c>. At least one, no address twice.
    /// </summary>
    public static bool TryParseServers(string? text, out IReadOnlyList<ServerAddress> servers, out string error)
    {
        var list = new List<ServerAddress>();
        servers = list;
        var entries = (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries);
        foreach (var entry in entries)
        {
            if (!TryParseServer(entry, out var server, out error))
            {
                return false;
            }

            if (list.Contains(server))
            {
                error = $"'{entry}' is given twice";
                return false;
            }

            list.Add(server);
        }

        error = string.Empty;
        return true;
    }

    /// <summary>One <c>host:port</c>, <c>[v6]:port</c>, or a host alone (port 6379).</summary>
    public static bool TryParseServer(string? text, out ServerAddress server, out string error)
    {
        var entry = (text ?? string.Empty).Trim();
        server = default;
        var colon = entry.LastIndexOf(':');
        var hasPort = colon >= 0 && (entry.IndexOf(':') == colon || entry.StartsWith('[') && colon > entry.IndexOf(']'));
        var hostText = hasPort ? entry[..colon] : entry;
        var port = ClientConfig.DefaultPort;
        if (entry.Length == 0)
        {
            error = "an empty address: give host:port, several separated by commas";
            return false;
        }

        if (!entry.StartsWith('[') && entry.IndexOf(':') != colon)
        {
            error = $"'{entry}': an IPv6 address goes in brackets, as [::1]:6379";
            return false;
        }

        if (!TryParseHost(hostText, out var host, out error))
        {
            error = $"'{entry}': {error} (give host:port, an IPv6 address as [::1]:6379)";
            return false;
        }

        if (hasPort && !TryParsePort(entry[(colon + 1)..], out port, out var portError))
        {
            error = $"'{entry}': {portError}";
            return false;
        }

        server = new ServerAddress(host, port);
        return true;
    }

    /// <summary>Several gateway URLs separated by commas (<c>--url a,b</c>), each as <see cref="TryParseUrl"/> takes it.</summary>
    public static bool TryParseUrls(string? text, out IReadOnlyList<Uri> urls, out string error)
    {
        var list = new List<Uri>();
        urls = list;
        foreach (var entry in (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries))
        {
            if (!TryParseUrl(entry, out var url, out error))
            {
                return false;
            }

            list.Add(url);
        }

        error = string.Empty;
        return true;
    }

    /// <summary>
    /// The gateway's base URL: absolute, <c>http</c> or <c>https</c>, a host, perhaps a port and a path prefix
    /// (a gateway behind a proxy), no user, query or fragment (the token goes as the password).
    /// </summary>
    public static bool TryParseUrl(string? text, out Uri url, out string error)
    {
        var trimmed = (text ?? string.Empty).Trim();
        url = null!;
        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https") || parsed.Host.Length == 0)
        {
            error = $"'{trimmed}' is not an http:// or https:// URL (e.g. https://notistream.example.net or http://127.0.0.1:8080)";
            return false;
        }

        if (parsed.UserInfo.Length > 0 || parsed.Query.Length > 0 || parsed.Fragment.Length > 0)
        {
            error = $"'{trimmed}': give the gateway's address only, without a user, ?query or #fragment (the token goes in --password)";
            return false;
        }

        url = parsed;
        error = string.Empty;
        return true;
    }

    /// <summary>The URL as a person typed it: scheme, host, the port when not the default, the path prefix without its last slash.</summary>
    public static string FormatUrl(Uri url) => url.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public static bool TryParsePort(string? text, out int port, out string error)
    {
        var trimmed = (text ?? string.Empty).Trim();
        if (int.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out port) && IsValidPort(port))
        {
            error = string.Empty;
            return true;
        }

        error = PortRule(trimmed);
        return false;
    }

    public static bool IsValidPort(long port) => port is >= 1 and <= 65535;

    public static string PortRule(string found) =>
        $"the port must be a whole number from 1 to 65535 (got '{found}')";

    /// <summary>Parses "alerts, owner/*" (comma-separated, spaces around names ignored).</summary>
    public static bool TryParseChannels(string? text, out IReadOnlyList<ChannelSpec> channels, out string error)
    {
        var names = (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return TryValidateChannels(names, out channels, out error);
    }

    public static bool TryValidateChannels(IEnumerable<string> names, out IReadOnlyList<ChannelSpec> channels, out string error)
    {
        var list = new List<ChannelSpec>();
        foreach (var raw in names)
        {
            var name = raw.Trim();
            if (name.Length == 0)
            {
                channels = [];
                error = "a channel name must not be empty";
                return false;
            }

            if (name.Length > MaxChannelLength)
            {
                channels = [];
                error = $"a channel name is longer than {MaxChannelLength} characters";
                return false;
            }

            if (name.Any(char.IsControl))
            {
                channels = [];
                error = $"the channel name '{TextForMessage(name)}' contains a control character";
                return false;
            }

            var spec = new ChannelSpec(name);
            if (!list.Contains(spec))
            {
                list.Add(spec);
            }
        }

        if (list.Count == 0)
        {
            channels = [];
            error = "name at least one channel (comma-separated; * ? [ ] make a pattern)";
            return false;
        }

        channels = list;
        error = string.Empty;
        return true;
    }

    public static string FormatChannels(IEnumerable<ChannelSpec> channels) => string.Join(", ", channels.Select(c => c.Name));

    private static string TextForMessage(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
