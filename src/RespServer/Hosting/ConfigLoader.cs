using System.Text;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Hosting;

/// <summary>A config file or command-line directive that stops start-up; the message names where and why.</summary>
internal sealed class ConfigException(string message) : Exception(message);

/// <summary>
/// redis-server's start-up convention: <c>[configfile] [--directive value ...]</c>. The file uses
/// redis.conf syntax (one directive a line, '#' comments, quoting as in redis.conf); command-line
/// directives come after it and win.
/// </summary>
internal static class ConfigLoader
{
    public static RespServerOptions Load(IReadOnlyList<string> args, List<string>? warnings = null)
    {
        var options = new RespServerOptions();
        var i = 0;
        if (args.Count > 0 && !args[0].StartsWith("--", StringComparison.Ordinal))
        {
            var path = args[0];
            if (!File.Exists(path))
            {
                throw new ConfigException($"Fatal error, can't open config file '{path}': No such file or directory");
            }

            options.ConfigFile = Path.GetFullPath(path);
            LoadFile(options, path, warnings);
            i = 1;
        }

        while (i < args.Count)
        {
            var flag = args[i];
            if (!flag.StartsWith("--", StringComparison.Ordinal) || flag.Length == 2)
            {
                throw new ConfigException($"Invalid command-line argument '{flag}': expected --directive value");
            }

            var values = new List<string>();
            i++;
            while (i < args.Count && !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                values.Add(args[i]);
                i++;
            }

            var reason = ServerConfig.ApplyDirective(options, flag[2..], [.. values], out var ignored);
            if (reason is not null)
            {
                throw new ConfigException($"*** FATAL CONFIG ERROR ***\nReading the command line, at '{flag} {string.Join(' ', values)}'\n{reason}");
            }

            if (ignored)
            {
                warnings?.Add($"command line: '{flag}' does not apply to a pub/sub server and is ignored");
            }
        }

        ValidateAcl(options);
        return options;
    }

    /// <summary>Users and aclfile are checked before start-up, so that a bad rule stops it with a message.</summary>
    private static void ValidateAcl(RespServerOptions options)
    {
        try
        {
            _ = new AclStore(options.RequirePass, options.Users, options.AclFile, options.AclPubSubAllChannels);
        }
        catch (AclConfigException ex)
        {
            throw new ConfigException($"*** FATAL CONFIG ERROR ***\n{ex.Message}");
        }
    }

    private static void LoadFile(RespServerOptions options, string path, List<string>? warnings)
    {
        var lines = File.ReadAllLines(path);
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = InlineSplitter.Split(Encoding.UTF8.GetBytes(line));
            string? reason;
            var ignored = false;
            if (parts is null)
            {
                reason = "Unbalanced quotes in configuration line";
            }
            else
            {
                var words = parts.Select(p => Encoding.UTF8.GetString(p)).ToArray();
                reason = ServerConfig.ApplyDirective(options, words[0], words[1..], out ignored);
            }

            if (reason is not null)
            {
                throw new ConfigException(
                    $"*** FATAL CONFIG FILE ERROR ***\nReading the configuration file '{path}', at line {n + 1}\n>>> '{line}'\n{reason}");
            }

            if (ignored)
            {
                warnings?.Add($"{path}:{n + 1}: '{line}' does not apply to a pub/sub server and is ignored");
            }
        }
    }
}
