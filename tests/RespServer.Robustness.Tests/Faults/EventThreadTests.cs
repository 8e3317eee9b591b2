using System.Runtime.InteropServices;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// The executable runs socket completions, and with them every connection's read loop, on the socket
/// event threads, two per core (Program.cs); <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>
/// turns that off and leaves .NET's default of one event thread for up to 30 cores (8 on Arm). The
/// number of threads named ".NET Sockets" shows which mode runs.
/// </summary>
public sealed class EventThreadTests
{
    [Fact]
    public async Task The_executable_reads_on_two_socket_event_threads_per_core()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "counts threads through /proc");
        await using var server = await ServerProcess.StartAsync(FreePort.Next(), Environment(inline: null));
        Assert.Equal(2 * System.Environment.ProcessorCount, await EventThreadsAsync(server));
    }

    [Fact]
    public async Task Turned_off_it_leaves_dotnets_default()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "counts threads through /proc");
        await using var server = await ServerProcess.StartAsync(FreePort.Next(), Environment(inline: "0"));
        var coresPerThread = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 8 : 30;
        Assert.Equal(Math.Max(1, (int)Math.Round(System.Environment.ProcessorCount / (double)coresPerThread)), await EventThreadsAsync(server));
    }

    /// <summary>The server's environment without either setting from this one, and with <paramref name="inline"/>.</summary>
    private static Dictionary<string, string?> Environment(string? inline) => new()
    {
        ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = inline,
        ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = null,
    };

    /// <summary>After a PING round trip (all event threads start with the first socket), counts the
    /// server's threads named ".NET Sockets".</summary>
    private static async Task<int> EventThreadsAsync(ServerProcess server)
    {
        await using var client = await WireClient.ConnectAsync(server.Port);
        Assert.Equal("PONG", await client.CallAsync("PING"));
        return Directory.GetDirectories($"/proc/{server.Process.Id}/task")
            .Count(task => File.ReadAllText(Path.Join(task, "comm")).TrimEnd('\n') == ".NET Sockets");
    }
}
