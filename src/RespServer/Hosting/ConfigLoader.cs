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
            LoadFile(options, path);
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
                options.IgnoredDirectives.Add($"command line: '{flag}' does not apply to a pub/sub server and is ignored");
            }
        }

        ValidateAcl(options);
        warnings?.AddRange(options.IgnoredDirectives);
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

    /// <summary>How deep <c>include</c> may nest (a file that includes itself stops here, with an error).</summary>
    private const int MaxIncludeDepth = 16;

    private static void LoadFile(RespServerOptions options, string path, int depth = 0)
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
                if (words[0].Equals("include", StringComparison.OrdinalIgnoreCase))
                {
                    reason = Include(options, path, words, depth);
                }
                else
                {
                    reason = ServerConfig.ApplyDirective(options, words[0], words[1..], out ignored);
                }
            }

            if (reason is not null)
            {
                throw new ConfigException(
                    $"*** FATAL CONFIG FILE ERROR ***\nReading the configuration file '{path}', at line {n + 1}\n>>> '{line}'\n{reason}");
            }

            if (ignored)
            {
                options.IgnoredDirectives.Add($"{path}:{n + 1}: '{line}' does not apply to a pub/sub server and is ignored");
            }
        }
    }

    /// <summary>
    /// <c>include path</c>, as Redis reads it: the other file's directives at this point (later lines win); a
    /// relative path is the working folder's, as Redis's. Returns the error, or null.
    /// </summary>
    private static string? Include(RespServerOptions options, string path, string[] words, int depth)
    {
        if (words.Length != 2)
        {
            return "wrong number of arguments";
        }

        if (depth >= MaxIncludeDepth)
        {
            return $"include nested more than {MaxIncludeDepth} deep (does '{words[1]}' include itself?)";
        }

        if (!File.Exists(words[1]))
        {
            return $"Fatal error, can't open config file '{words[1]}': No such file or directory";
        }

        try
        {
            LoadFile(options, words[1], depth + 1);
            return null;
        }
        catch (ConfigException ex) when (depth + 1 < MaxIncludeDepth)
        {
            throw new ConfigException($"{ex.Message}\n(included from '{path}')");
        }
    }
}
