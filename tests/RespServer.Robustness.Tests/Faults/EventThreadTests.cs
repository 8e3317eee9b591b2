using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// The executable runs socket completions, and with them every connection's read loop, on the socket
/// event threads, one per core (Program.cs); <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>
/// turns that off. .NET creates one event thread per core only in that mode, so their number shows it.
/// </summary>
public sealed class EventThreadTests
{
    [Fact]
    public async Task The_executable_reads_on_one_socket_event_thread_per_core()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "counts threads through /proc");
        await using var server = await ServerProcess.StartAsync(FreePort.Next());
        Assert.Equal(Environment.ProcessorCount, await EventThreadsAsync(server));
    }

    [Fact]
    public async Task The_environment_variable_turns_it_off()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "counts threads through /proc");
        Assert.SkipWhen(Environment.ProcessorCount < 2, "with one core both modes have one event thread");
        var environment = new Dictionary<string, string> { ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "0" };
        await using var server = await ServerProcess.StartAsync(FreePort.Next(), environment);

        // .NET's own default: one event thread per 30 cores, at least one.
        Assert.Equal(Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0)), await EventThreadsAsync(server));
    }

    /// <summary>After a PING round trip (the engines exist from the first socket on), counts the server's
    /// threads named ".NET Sockets".</summary>
    private static async Task<int> EventThreadsAsync(ServerProcess server)
    {
        await using var client = await WireClient.ConnectAsync(server.Port);
        Assert.Equal("PONG", await client.CallAsync("PING"));
        return Directory.GetDirectories($"/proc/{server.Process.Id}/task")
            .Count(task => File.ReadAllText(Path.Join(task, "comm")).TrimEnd('\n') == ".NET Sockets");
    }
}
