using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Notistream.Client.Config;

namespace Notistream.Client.Resume;

/// <summary>What the client remembers between runs for one server and channel set.</summary>
/// <param name="Cursor">Every message up to this id has been printed or notified.</param>
/// <param name="OpenGaps">Channels and patterns whose gap was reported and that have had no message since (so a restart does not report it again).</param>
/// <param name="SharedHistory">
/// The cluster's shared history (JetStream stream) the cursor belongs to, so that it is valid on every node of that
/// cluster, not only on the first server; null: the first server's own history (as in files without the field).
/// </param>
internal sealed record CursorState(MessageId Cursor, IReadOnlyList<string> OpenGaps, string? SharedHistory = null);

/// <summary>
/// The state file: one per server (host, port, user) and channel set, in the state folder
/// (<c>$XDG_STATE_HOME/notistream/</c>, else <c>~/.local/state/notistream/</c>; macOS
/// <c>~/Library/Application Support/notistream/state/</c>; Windows <c>%LOCALAPPDATA%\notistream\state\</c>),
/// named <c>cursor-&lt;hash&gt;.json</c> and holding, readable, the server, the channels, the cursor, the
/// open gaps and, when the cursor belongs to a cluster's shared history, that history (<c>sharedHistory</c>,
/// absent otherwise: files without it are read as before, and clients that do not know it ignore it). Written whole to a temporary file, flushed to disk, then renamed over the old one,
/// so a crash leaves either the old cursor or the new one.
/// </summary>
internal sealed class CursorStore
{
    public CursorStore(string path, string server, string? user, IReadOnlyList<ChannelSpec> channels)
    {
        Path = path;
        Server = server;
        User = user;
        Channels = channels.Select(c => c.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
    }

    public string Path { get; }

    public string Server { get; }

    public string? User { get; }

    public IReadOnlyList<string> Channels { get; }

    public static CursorStore For(ClientConfig config, HostEnvironment host) =>
        For(config, DefaultFolder(host));

    public static CursorStore For(ClientConfig config, string folder)
    {
        var channels = config.Channels.Select(c => c.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        // Over HTTP the gateway's URL names the server: ids are the server's, but which server is behind it cannot be told.
        var server = config.Url is { } url ? ConfigValidation.FormatUrl(url).ToLowerInvariant() : $"{config.Host.ToLowerInvariant()}\n{config.Port}";
        var key = $"{server}\n{config.User}\n{string.Join("\n", channels)}";
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        return new CursorStore(System.IO.Path.Join(folder, $"cursor-{hash}.json"), config.EndPointText, config.User, config.Channels);
    }

    /// <summary>Linux and other Unix: <c>$XDG_STATE_HOME/notistream</c> (when absolute), else <c>~/.local/state/notistream</c>.</summary>
    public static string DefaultFolder(HostEnvironment host) => host.Platform switch
    {
        HostPlatform.Windows => System.IO.Path.Join(
            host.GetVariable("LOCALAPPDATA") is { Length: > 0 } local ? local : System.IO.Path.Join(Home(host), "AppData", "Local"),
            ConfigPaths.FolderName, "state"),
        HostPlatform.MacOS => System.IO.Path.Join(Home(host), "Library", "Application Support", ConfigPaths.FolderName, "state"),
        _ => System.IO.Path.Join(
            host.GetVariable("XDG_STATE_HOME") is { Length: > 0 } xdg && System.IO.Path.IsPathRooted(xdg) ? xdg : System.IO.Path.Join(Home(host), ".local", "state"),
            ConfigPaths.FolderName),
    };

    /// <summary>The saved state; null when there is none. A file that cannot be read or parsed throws <see cref="ConfigException"/> naming it.</summary>
    public CursorState? Load()
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{Path}: cannot be read: {ex.Message}", ex);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("cursor", out var cursorElement)
                || cursorElement.ValueKind != JsonValueKind.String
                || !MessageId.TryParse(cursorElement.GetString(), out var cursor))
            {
                throw new ConfigException($"{Path}: no valid \"cursor\" (an id ms-seq); delete the file to start afresh");
            }

            var gaps = root.TryGetProperty("openGaps", out var gapsElement) && gapsElement.ValueKind == JsonValueKind.Array
                ? gapsElement.EnumerateArray().Where(g => g.ValueKind == JsonValueKind.String).Select(g => g.GetString()!).ToList()
                : [];
            var shared = root.TryGetProperty("sharedHistory", out var sharedElement) && sharedElement.ValueKind == JsonValueKind.String
                ? sharedElement.GetString()
                : null;
            return new CursorState(cursor, gaps, shared);
        }
        catch (JsonException ex)
        {
            throw new ConfigException($"{Path}: not valid JSON ({ex.Message}); delete the file to start afresh", ex);
        }
    }

    /// <summary>Replaces the file atomically: a temporary file beside it, flushed to disk, renamed over it.</summary>
    public void Save(CursorState state)
    {
        var folder = System.IO.Path.GetDirectoryName(Path)!;
        if (!Directory.Exists(folder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var temporary = $"{Path}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                writer.WriteStartObject();
                writer.WriteString("server", Server);
                if (User is null)
                {
                    writer.WriteNull("user");
                }
                else
                {
                    writer.WriteString("user", User);
                }

                writer.WriteStartArray("channels");
                foreach (var channel in Channels)
                {
                    writer.WriteStringValue(channel);
                }

                writer.WriteEndArray();
                writer.WriteString("cursor", state.Cursor.ToString());
                writer.WriteStartArray("openGaps");
                foreach (var gap in state.OpenGaps)
                {
                    writer.WriteStringValue(gap);
                }

                writer.WriteEndArray();
                if (state.SharedHistory is { } shared)
                {
                    writer.WriteString("sharedHistory", shared);
                }

                writer.WriteEndObject();
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path, overwrite: true);
    }

    private static string Home(HostEnvironment host)
    {
        var home = host.Platform == HostPlatform.Windows ? host.GetVariable("USERPROFILE") : host.GetVariable("HOME");
        return string.IsNullOrEmpty(home) ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) : home;
    }
}
