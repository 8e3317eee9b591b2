using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>
/// Protected mode seen from a non-loopback address of this machine: both servers listen on it too,
/// and a client connecting through it gets the same bytes from each.
/// </summary>
public sealed class ProtectedModeTests
{
    [Fact]
    public async Task Non_loopback_clients_are_denied_until_a_password_is_set_or_protected_mode_is_off()
    {
        var address = NonLoopbackAddress();
        if (address is null)
        {
            Assert.Skip("this machine has no non-loopback IPv4 address to connect from");
        }

        var bind = new[] { "--bind", "127.0.0.1", address.ToString() };
        await using var redis = await RedisServerProcess.StartAsync(bind).WithTimeout();
        await using var ours = await NotistreamServer.StartAsync(bind).WithTimeout();
        var transcripts = new List<string>();
        foreach (var port in new[] { redis.Port, ours.Port })
        {
            var text = new List<string>
            {
                await RemoteAsync(address, port, close: true),
                await LocalAsync(port, "CONFIG", "SET", "requirepass", "pw"),
                await RemoteAsync(address, port, close: false),
                await LocalAsync(port, "AUTH", "pw", "CONFIG", "SET", "requirepass", ""),
                await RemoteAsync(address, port, close: true),
                await LocalAsync(port, "CONFIG", "SET", "protected-mode", "no"),
                await RemoteAsync(address, port, close: false),
                await LocalAsync(port, "CONFIG", "SET", "protected-mode", "yes"),
            };
            transcripts.Add(string.Join("\n", text));
        }

        Assert.StartsWith("-DENIED Redis is running in protected mode", transcripts[0], StringComparison.Ordinal);
        Assert.Equal(transcripts[0], transcripts[1]);
    }

    /// <summary>PING from the non-loopback address: the DENIED text and a close, or the reply.</summary>
    private static async Task<string> RemoteAsync(IPAddress address, int port, bool close)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(address, port)).WithTimeout();
        var received = new List<byte>();
        var buffer = new byte[4096];
        if (!close)
        {
            await socket.SendAsync("PING\r\n"u8.ToArray());
        }

        while (true)
        {
            var n = await socket.ReceiveAsync(buffer).WithTimeout();
            if (n == 0)
            {
                return System.Text.Encoding.Latin1.GetString([.. received]) + "<closed>";
            }

            received.AddRange(buffer.AsSpan(0, n));
            if (!close && received.Count >= 2 && received[^1] == '\n')
            {
                return System.Text.Encoding.Latin1.GetString([.. received]);
            }
        }
    }

    /// <summary>Commands from loopback, split where a new command name starts (AUTH, CONFIG).</summary>
    private static async Task<string> LocalAsync(int port, params string[] words)
    {
        await using var connection = await RawConnection.ConnectAsync(port);
        var commands = new List<string[]>();
        for (var i = 0; i < words.Length;)
        {
            var length = words[i] == "AUTH" ? 2 : 4;
            commands.Add(words[i..(i + length)]);
            i += length;
        }

        var replies = new List<string>();
        foreach (var command in commands)
        {
            await connection.SendAsync(Script.Encode(command));
            var frame = (await connection.ReadFramesAsync(1, TaskTimeoutExtensions.DefaultTimeout))[0];
            replies.Add(frame.ToString());
        }

        return string.Join(' ', replies);
    }

    private static IPAddress? NonLoopbackAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}
