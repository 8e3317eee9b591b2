using System.Globalization;
using System.Text;
using System.Text.Json;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Config;

/// <summary>
/// Reads and writes <c>config.json</c>. Reading is strict and specific: a JSON syntax error names the
/// file, line and column; a bad or unknown field names the file and the field, so a hand-edited file
/// never fails with a stack trace or silently falls back to a default.
/// </summary>
/// <example>
/// <code>
/// {
///   "host": "localhost",
///   "port": 6379,
///   "channels": [ "alerts", "owner/*" ],
///   "password": null
/// }
/// </code>
/// Optional: "url" (the gateway's https:// address, instead of host and port), "servers" (instead of host and port:
/// [ "host:port", ... ], used in turn, moving to the next when one goes away), "tls" (true/false), "caFile", "certFile", "keyFile" (PEM files; a file turns TLS on),
/// "notifier" (auto|freedesktop|macos|windows|console), "keepaliveSeconds",
/// "keepaliveTimeoutSeconds", "reconnectMinSeconds", "reconnectMaxSeconds", "connectTimeoutSeconds".
/// </example>
internal static class ConfigFile
{
    private static readonly JsonDocumentOptions ReadOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
        MaxDepth = 8,
    };

    public static ClientConfig Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot be read: {ex.Message}", ex);
        }

        return Parse(path, bytes);
    }

    public static ClientConfig Parse(string path, ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, ReadOptions);
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line
                ? $" (line {line + 1}, column {(ex.BytePositionInLine ?? 0) + 1})"
                : string.Empty;
            throw new ConfigException($"{path}: not valid JSON{where}: {FirstSentence(ex.Message)}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException($"{path}: expected a JSON object {{ \"host\": ..., \"port\": ..., \"channels\": [...] }}");
            }

            var config = new ClientConfig();
            var connection = ConnectionSettings.Default;
            var tls = TlsSettings.Off;
            var sawChannels = false;
            var sawHostOrPort = false;
            var sawServers = false;
            foreach (var property in root.EnumerateObject())
            {
                var value = property.Value;
                switch (property.Name)
                {
                    case "host":
                        if (!ConfigValidation.TryParseHost(RequireString(path, property), out var host, out var hostError))
                        {
                            throw ConfigException.Field(path, "host", hostError);
                        }

                        config = config with { Host = host };
                        sawHostOrPort = true;
                        break;
                    case "port":
                        config = config with { Port = ReadPort(path, value) };
                        sawHostOrPort = true;
                        break;
                    case "servers":
                        var servers = ReadServers(path, value);
                        config = config with { Host = servers[0].Host, Port = servers[0].Port, MoreServers = [.. servers.Skip(1)] };
                        sawServers = true;
                        break;
                    case "url":
                        if (value.ValueKind == JsonValueKind.Null)
                        {
                            break;
                        }

                        config = ConfigValidation.TryParseUrl(RequireString(path, property), out var url, out var urlError)
                            ? config with { Url = url }
                            : throw ConfigException.Field(path, "url", urlError);
                        break;
                    case "channels":
                        config = config with { Channels = ReadChannels(path, value) };
                        sawChannels = true;
                        break;
                    case "user":
                        config = config with
                        {
                            User = value.ValueKind == JsonValueKind.Null ? null : RequireString(path, property) is { Length: > 0 } u ? u : null,
                        };
                        break;
                    case "password":
                        config = config with
                        {
                            Password = value.ValueKind == JsonValueKind.Null ? null : RequireString(path, property) is { Length: > 0 } p ? p : null,
                        };
                        break;
                    case "tls":
                        tls = value.ValueKind is JsonValueKind.True or JsonValueKind.False
                            ? tls with { Enabled = value.GetBoolean() }
                            : throw ConfigException.Field(path, "tls", $"must be true or false (got {Describe(value)})");
                        break;
                    case "caFile":
                        tls = tls with { CaFile = ReadPath(path, property) };
                        break;
                    case "certFile":
                        tls = tls with { CertFile = ReadPath(path, property) };
                        break;
                    case "keyFile":
                        tls = tls with { KeyFile = ReadPath(path, property) };
                        break;
                    case "notifier":
                        if (!NotifierKinds.TryParse(RequireString(path, property), out var kind))
                        {
                            throw ConfigException.Field(path, "notifier", $"must be one of {string.Join(", ", NotifierKinds.Names)} (got '{value.GetString()}')");
                        }

                        config = config with { Notifier = kind };
                        break;
                    case "keepaliveSeconds":
                        connection = connection with { KeepAliveInterval = ReadSeconds(path, property, 0.05, 300) };
                        break;
                    case "keepaliveTimeoutSeconds":
                        connection = connection with { KeepAliveTimeout = ReadSeconds(path, property, 0.05, 300) };
                        break;
                    case "reconnectMinSeconds":
                        connection = connection with { ReconnectMinDelay = ReadSeconds(path, property, 0.01, 3600) };
                        break;
                    case "reconnectMaxSeconds":
                        connection = connection with { ReconnectMaxDelay = ReadSeconds(path, property, 0.01, 3600) };
                        break;
                    case "connectTimeoutSeconds":
                        connection = connection with { ConnectTimeout = ReadSeconds(path, property, 0.1, 300) };
                        break;
                    default:
                        throw ConfigException.Field(path, property.Name, "unknown field (known: host, port, servers, url, channels, user, password, tls, caFile, certFile, keyFile, notifier, keepaliveSeconds, keepaliveTimeoutSeconds, reconnectMinSeconds, reconnectMaxSeconds, connectTimeoutSeconds)");
                }
            }

            if (sawServers && (sawHostOrPort || config.Url is not null))
            {
                throw ConfigException.Field(path, "servers", "is given with host/port or url: one or the other (servers: several pub/sub servers, used in turn)");
            }

            if (config.Url is not null && sawHostOrPort)
            {
                throw ConfigException.Field(path, "url", "is given with host/port: one or the other (url: over HTTP to the gateway; host and port: the pub/sub server)");
            }

            if (!sawChannels)
            {
                throw ConfigException.Field(path, "channels", "missing; name at least one channel, e.g. \"channels\": [\"alerts\"]");
            }

            if (connection.ReconnectMaxDelay < connection.ReconnectMinDelay)
            {
                throw ConfigException.Field(path, "reconnectMaxSeconds", "must not be less than reconnectMinSeconds");
            }

            if (tls.Check("caFile", "certFile", "keyFile") is { } tlsProblem)
            {
                throw ConfigException.Field(path, tlsProblem.Name, tlsProblem.Problem);
            }

            return config with { Connection = connection, Tls = tls.Normalized() };
        }
    }

    /// <summary>
    /// Writes the file atomically (temporary file, then rename), creating the folder. On Unix the
    /// file is readable by its owner only, because it may hold the server's password.
    /// </summary>
    public static void Save(string path, ClientConfig config)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Join(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.Write(Serialize(config));
        }

        File.Move(temporary, path, overwrite: true);
    }

    public static byte[] Serialize(ClientConfig config)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            if (config.Url is { } url)
            {
                writer.WriteString("url", ConfigValidation.FormatUrl(url));
            }
            else if (config.MoreServers.Count > 0)
            {
                writer.WriteStartArray("servers");
                foreach (var node in config.Nodes)
                {
                    writer.WriteStringValue(node.EndPointText);
                }

                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("host", config.Host);
                writer.WriteNumber("port", config.Port);
            }

            writer.WriteStartArray("channels");
            foreach (var channel in config.Channels)
            {
                writer.WriteStringValue(channel.Name);
            }

            writer.WriteEndArray();
            if (config.User is not null)
            {
                writer.WriteString("user", config.User);
            }

            if (config.Password is null)
            {
                writer.WriteNull("password");
            }
            else
            {
                writer.WriteString("password", config.Password);
            }

            if (config.Tls.Enabled)
            {
                writer.WriteBoolean("tls", true);
                WriteIfSet(writer, "caFile", config.Tls.CaFile);
                WriteIfSet(writer, "certFile", config.Tls.CertFile);
                WriteIfSet(writer, "keyFile", config.Tls.KeyFile);
            }

            if (config.Notifier != NotifierKind.Auto)
            {
                writer.WriteString("notifier", NotifierKinds.Name(config.Notifier));
            }

            var defaults = ConnectionSettings.Default;
            var c = config.Connection;
            WriteIfChanged(writer, "keepaliveSeconds", c.KeepAliveInterval, defaults.KeepAliveInterval);
            WriteIfChanged(writer, "keepaliveTimeoutSeconds", c.KeepAliveTimeout, defaults.KeepAliveTimeout);
            WriteIfChanged(writer, "reconnectMinSeconds", c.ReconnectMinDelay, defaults.ReconnectMinDelay);
            WriteIfChanged(writer, "reconnectMaxSeconds", c.ReconnectMaxDelay, defaults.ReconnectMaxDelay);
            WriteIfChanged(writer, "connectTimeoutSeconds", c.ConnectTimeout, defaults.ConnectTimeout);
            writer.WriteEndObject();
        }

        buffer.Write("\n"u8);
        return buffer.ToArray();
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    /// <summary>A file path; relative paths are taken from the config file's folder, so the file can move with its certificates.</summary>
    private static string ReadPath(string path, JsonProperty property)
    {
        var value = RequireString(path, property);
        if (value.Length == 0)
        {
            throw ConfigException.Field(path, property.Name, "must be a file path (got an empty string)");
        }

        return Path.GetFullPath(value, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    private static void WriteIfChanged(Utf8JsonWriter writer, string name, TimeSpan value, TimeSpan defaultValue)
    {
        if (value != defaultValue)
        {
            writer.WriteNumber(name, value.TotalSeconds);
        }
    }

    private static string RequireString(string path, JsonProperty property) =>
        property.Value.ValueKind == JsonValueKind.String
            ? property.Value.GetString()!
            : throw ConfigException.Field(path, property.Name, $"must be a string (got {Describe(property.Value)})");

    /// <summary>"servers": a non-empty array of "host:port" strings.</summary>
    private static IReadOnlyList<ServerAddress> ReadServers(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            throw ConfigException.Field(path, "servers", "expected a non-empty array of \"host:port\" strings, e.g. [\"10.0.0.1:6379\", \"10.0.0.2:6379\"]");
        }

        var servers = new List<ServerAddress>();
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                throw ConfigException.Field(path, "servers", $"expected \"host:port\" strings, found {item.GetRawText()}");
            }

            if (!ConfigValidation.TryParseServer(item.GetString(), out var server, out var error))
            {
                throw ConfigException.Field(path, "servers", error);
            }

            if (servers.Contains(server))
            {
                throw ConfigException.Field(path, "servers", $"'{item.GetString()}' is given twice");
            }

            servers.Add(server);
        }

        return servers;
    }

    private static int ReadPort(string path, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var port) && ConfigValidation.IsValidPort(port))
        {
            return (int)port;
        }

        // "6379" as a string is what a person may well write; accept it when it is a valid port.
        if (value.ValueKind == JsonValueKind.String && ConfigValidation.TryParsePort(value.GetString(), out var fromString, out _))
        {
            return fromString;
        }

        throw ConfigException.Field(path, "port", ConfigValidation.PortRule(value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText()));
    }

    private static IReadOnlyList<ChannelSpec> ReadChannels(string path, JsonElement value)
    {
        IEnumerable<string> names;
        if (value.ValueKind == JsonValueKind.String)
        {
            names = value.GetString()!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        }
        else if (value.ValueKind == JsonValueKind.Array)
        {
            var list = new List<string>();
            var index = 0;
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String)
                {
                    throw ConfigException.Field(path, $"channels[{index}]", $"must be a string (got {Describe(item)})");
                }

                list.Add(item.GetString()!);
                index++;
            }

            names = list;
        }
        else
        {
            throw ConfigException.Field(path, "channels", $"must be a list of channel names (got {Describe(value)})");
        }

        return ConfigValidation.TryValidateChannels(names, out var channels, out var error)
            ? channels
            : throw ConfigException.Field(path, "channels", error);
    }

    private static TimeSpan ReadSeconds(string path, JsonProperty property, double min, double max)
    {
        if (property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetDouble(out var seconds) && seconds >= min && seconds <= max)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        throw ConfigException.Field(path, property.Name,
            string.Create(CultureInfo.InvariantCulture, $"must be a number of seconds from {min} to {max} (got {property.Value.GetRawText()})"));
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.String => "a string",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => value.ValueKind.ToString(),
    };

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends "Path: $ | LineNumber: 2 | BytePositionInLine: 4." which we already say better.
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        var text = cut > 0 ? message[..cut] : message;
        return new StringBuilder(text).Replace("'", "\"").ToString().TrimEnd();
    }
}
