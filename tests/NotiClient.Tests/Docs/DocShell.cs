using System.Globalization;
using System.Net.Sockets;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Client.Tests.Docs;

/// <summary>
/// Runs a command taken from a documentation page in bash, as a reader would paste it, against the
/// programs built next to the tests. Only what cannot be the same on a test machine is changed:
/// ports (the caller replaces 6379, 6380, 8080, 8443 in the text with free ones) and fixed folders.
/// <list type="bullet">
/// <item><c>dotnet src/RespServer/bin/Release/net10.0/notistream-server.dll</c>, <c>notistream-server</c>: this build's server
/// (with the runtime config <see cref="ServerChildProcess"/> explains); <c>--port</c> is added when the command has none, since
/// the default 6379 may be taken.</item>
/// <item><c>dotnet src/WebhookGateway/bin/Release/net10.0/notistream-gateway.dll</c>: this build's gateway.</item>
/// <item><c>notistream</c> (the installed .NET tool): this build's client.</item>
/// <item><c>redis-cli</c>: the real one, told the test server's port first (a later <c>-p</c> in the command wins).</item>
/// <item>Every other <c>dotnet</c> command (<c>run</c>, <c>pack</c>, <c>tool install</c>) is the real SDK.</item>
/// </list>
/// Each of these replaces the shell (<c>exec</c>), so a signal to the process reaches the program: a command
/// that calls one of them must call it last.
/// </summary>
internal static class DocShell
{
    public const string ServerDll = "src/RespServer/bin/Release/net10.0/notistream-server.dll";
    public const string GatewayDll = "src/WebhookGateway/bin/Release/net10.0/notistream-gateway.dll";

    /// <summary>Starts <paramref name="command"/> in bash in <paramref name="folder"/>; <paramref name="port"/> is the server port the programs default to.</summary>
    public static ChildProcess Start(string command, string folder, int port, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var redisCli = ExternalProgram.Require("redis-cli", "apt-get install redis-tools");
        var bash = ExternalProgram.Require("bash", "apt-get install bash");
        var out_ = AppContext.BaseDirectory;
        var prelude = $$"""
            DOC_DOTNET={{Quote(ChildProcess.DotNet)}}
            DOC_OUT={{Quote(out_)}}
            DOC_RUNTIMECONFIG={{Quote(ServerChildProcess.RuntimeConfig())}}
            DOC_PORT={{port.ToString(CultureInfo.InvariantCulture)}}
            notistream-server() {
              local a
              for a in "$@"; do
                if [ "$a" = --port ]; then exec "$DOC_DOTNET" exec --runtimeconfig "$DOC_RUNTIMECONFIG" "$DOC_OUT/notistream-server.dll" "$@"; return; fi
              done
              exec "$DOC_DOTNET" exec --runtimeconfig "$DOC_RUNTIMECONFIG" "$DOC_OUT/notistream-server.dll" "$@" --port "$DOC_PORT"
            }
            dotnet() {
              case "$1" in
                {{ServerDll}}) shift; notistream-server "$@" ;;
                {{GatewayDll}}) shift; exec "$DOC_DOTNET" "$DOC_OUT/notistream-gateway.dll" "$@" ;;
                *) exec "$DOC_DOTNET" "$@" ;;
              esac
            }
            notistream() { exec "$DOC_DOTNET" "$DOC_OUT/notistream.dll" "$@"; }
            redis-cli() { exec {{Quote(redisCli)}} -p "$DOC_PORT" "$@"; }
            cd {{Quote(folder)}} || exit 1

            """;
        var variables = new Dictionary<string, string?>
        {
            ["DBUS_SESSION_BUS_ADDRESS"] = null, // no desktop: the client shows notifications on the console
            ["DISPLAY"] = null,
            ["WAYLAND_DISPLAY"] = null,
            ["ASPNETCORE_URLS"] = null,
        };
        foreach (var name in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(n => n.StartsWith("NOTISTREAM_", StringComparison.Ordinal) && n != ExternalProgram.RequireVariable))
        {
            variables[name] = null;
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            variables[name] = value;
        }

        return ChildProcess.Start(bash, ["-c", prelude + command], variables);
    }

    /// <summary>Runs <paramref name="command"/> to its end and returns its stdout; fails with its output when it exits non-zero.</summary>
    public static async Task<string> RunAsync(string command, string folder, int port, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        await using var process = Start(command, folder, port, environment);
        var exit = await process.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        Xunit.Assert.True(exit == 0, $"{command} exited with {exit}:\n{process.AllOutput}");
        return process.StandardOutput;
    }

    /// <summary>Waits until something accepts connections on <paramref name="port"/>, or fails with <paramref name="process"/>'s output if it ends first.</summary>
    public static Task WaitForPortAsync(ChildProcess process, int port, TimeSpan? timeout = null) =>
        TaskTimeoutExtensions.WaitUntil(
            () =>
            {
                Xunit.Assert.False(process.HasExited, $"it exited before listening on {port}:\n{process.AllOutput}");
                try
                {
                    using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    probe.Connect(System.Net.IPAddress.Loopback, port);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            },
            $"a listener on port {port}:\n{process.AllOutput}",
            timeout ?? TimeSpan.FromSeconds(30));

    public static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    public static int OtherFreePort(params int[] taken)
    {
        while (true)
        {
            var port = FreePort.Next();
            if (!taken.Contains(port))
            {
                return port;
            }
        }
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
