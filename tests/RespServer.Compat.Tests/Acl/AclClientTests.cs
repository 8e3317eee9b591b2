using Notistream.RespServer.Compat.Tests.Clients;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using StackExchange.Redis;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>redis-cli and StackExchange.Redis authenticating as an ACL user that may use only some channels.</summary>
public sealed class AclClientTests(AclServerPair servers) : IClassFixture<AclServerPair>
{
    public static TheoryData<string> CliCommands =>
    [
        "--user alice --pass alicepw PUBLISH news:1 hi",
        "--user alice --pass alicepw PUBLISH other hi",
        "--user alice --pass alicepw ACL WHOAMI",
        "--user alice --pass wrong PING",
        "--user off1 --pass offpw PING",
        "--user bob --pass bobpw2 PUBLISH bob:x y",
        "-3 --user alice --pass alicepw PING",
    ];

    [Theory]
    [MemberData(nameof(CliCommands))]
    public async Task Redis_cli_prints_the_same(string command)
    {
        var args = command.Split(' ').Append("--no-auth-warning").ToArray();
        Assert.Equal(await RedisCli.RunAsync(servers.RedisPort, args), await RedisCli.RunAsync(servers.OurPort, args));
    }

    [Fact]
    public async Task StackExchange_redis_authenticates_as_a_user_and_is_refused_other_channels()
    {
        var results = new List<string>();
        foreach (var port in new[] { servers.RedisPort, servers.OurPort })
        {
            await using var muxer = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},user=se,password=sepw").WithTimeout();
            var subscriber = muxer.GetSubscriber();
            var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await subscriber.SubscribeAsync(RedisChannel.Literal("news:a"), (_, message) => received.TrySetResult(message!)).WithTimeout();
            Assert.Equal(1, await subscriber.PublishAsync(RedisChannel.Literal("news:a"), "hello").WithTimeout());
            Assert.Equal("hello", await received.Task.WithTimeout());

            var refused = await Assert.ThrowsAsync<RedisServerException>(() => subscriber.PublishAsync(RedisChannel.Literal("other"), "x").WithTimeout());
            results.Add(refused.Message);

            await using var admin = await RawConnection.ConnectAsync(port);
            await admin.SendAsync(Script.Encode("CLIENT", "LIST"));
            var list = (await admin.ReadFramesAsync(1, TaskTimeoutExtensions.DefaultTimeout))[0].Text;
            Assert.Contains("user=se", list, StringComparison.Ordinal);
        }

        Assert.Equal("NOPERM this user has no permissions to access one of the channels used as arguments", results[0]);
        Assert.Equal(results[0], results[1]);
    }
}
