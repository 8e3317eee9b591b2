using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Clients;

/// <summary>
/// CLIENT SETINFO exists from Redis 7.2 (the installed 7.0 answers "unknown subcommand"), so it is
/// checked against Redis 7.2's replies rather than differentially. Clients send it on connect.
/// </summary>
public sealed class ClientSetInfoTests
{
    [Fact]
    public async Task Setinfo_answers_as_redis_7_2()
    {
        await using var server = await NotistreamServer.StartAsync().WithTimeout();
        await using var connection = await RawConnection.ConnectAsync(server.Port);
        (string[] Command, string Reply)[] cases =
        [
            (["CLIENT", "SETINFO", "LIB-NAME", "SE.Redis"], "+OK\r\n"),
            (["CLIENT", "SETINFO", "lib-ver", "2.8.0"], "+OK\r\n"),
            (["CLIENT", "SETINFO", "LIB-NAME", ""], "+OK\r\n"),
            (["CLIENT", "SETINFO", "LIB-NAME", "a b"], "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"),
            (["CLIENT", "SETINFO", "LIB-VER", "1\n2"], "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n"),
            (["CLIENT", "SETINFO", "FOO", "x"], "-ERR Unrecognized option 'FOO'\r\n"),
            (["CLIENT", "SETINFO", "LIB-NAME"], "-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
        ];
        var failures = new List<string>();
        foreach (var (command, reply) in cases)
        {
            await connection.SendAsync(Script.Encode(command));
            var actual = Harness.Differential.Render(await connection.ReadFramesAsync(1, TaskTimeoutExtensions.DefaultTimeout));
            var expected = RespFrame.Escape(System.Text.Encoding.Latin1.GetBytes(reply));
            if (actual != expected)
            {
                failures.Add($"{string.Join(' ', command)}\n  redis 7.2: {expected}\n  ours:      {actual}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
