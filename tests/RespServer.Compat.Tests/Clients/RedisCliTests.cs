using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Clients;

/// <summary>redis-cli's output against our server equals its output against redis-server.</summary>
public sealed class RedisCliTests(ServerPair servers) : IClassFixture<ServerPair>
{
    public static TheoryData<string> SubscribeModes => ["", "-3", "--csv", "--no-raw", "-3 --no-raw"];

    public static TheoryData<string> Commands =>
    [
        "ping", "ping hello", "echo \u00e9t\u00e9", "publish nobody hi", "pubsub numsub a b", "pubsub channels", "pubsub numpat",
        "pubsub help", "-3 ping", "-3 echo x", "-3 pubsub numsub a b", "-3 get nokey", "--csv ping", "--csv pubsub numsub a b",
        "--csv -3 pubsub numsub a", "--no-raw ping", "--no-raw pubsub numsub a b", "--no-raw get nokey", "--no-raw -3 get nokey",
        "--no-raw foo bar", "--no-raw pubsub foo", "--no-raw select 99", "--no-raw client getname",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task One_shot_command_prints_the_same(string command)
    {
        var args = command.Split(' ');
        var expected = await RedisCli.RunAsync(servers.RedisPort, args);
        var actual = await RedisCli.RunAsync(servers.OurPort, args);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(SubscribeModes))]
    public async Task Subscribe_prints_the_same_messages(string mode)
    {
        var expected = await SubscribeAsync(servers.RedisPort, mode);
        var actual = await SubscribeAsync(servers.OurPort, mode);
        Assert.Contains("done", expected, StringComparison.Ordinal);
        Assert.Equal(expected, actual);
    }

    /// <summary>Runs redis-cli subscribed to two channels, publishes from another connection, returns its output up to "done".</summary>
    private static async Task<string> SubscribeAsync(int port, string mode)
    {
        var channel = $"cli-{Guid.NewGuid():N}";
        var args = mode.Split(' ', StringSplitOptions.RemoveEmptyEntries).Concat(["subscribe", channel, "other"]);
        using var process = RedisCli.Start(port, args);
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.Append(e.Data).Append('\n');
            }
        };
        process.BeginOutputReadLine();
        try
        {
            await using var publisher = await RawConnection.ConnectAsync(port);
            await TaskTimeoutExtensions.WaitUntil(
                () => Query(publisher, Script.Encode("PUBSUB", "NUMSUB", channel)).Contains(":1\r\n", StringComparison.Ordinal),
                "redis-cli subscribed");
            foreach (var message in new[] { "hello", "two words", "", "\"quoted\" \\ back", "\u00e9\u00e8", "done" })
            {
                Query(publisher, Script.Encode("PUBLISH", channel, message));
            }

            await TaskTimeoutExtensions.WaitUntil(() =>
            {
                lock (output)
                {
                    return output.ToString().Contains("done", StringComparison.Ordinal);
                }
            }, "redis-cli printed the last message");
            lock (output)
            {
                return output.ToString().Replace(channel, "<channel>", StringComparison.Ordinal);
            }
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync().WithTimeout();
        }
    }

    /// <summary>One request, one reply frame, synchronously (used only inside WaitUntil's condition).</summary>
    private static string Query(RawConnection connection, byte[] request)
    {
        connection.SendAsync(request).GetAwaiter().GetResult();
        var frames = connection.ReadFramesAsync(1, TaskTimeoutExtensions.DefaultTimeout).GetAwaiter().GetResult();
        return Encoding.Latin1.GetString(frames[0].Raw);
    }
}
