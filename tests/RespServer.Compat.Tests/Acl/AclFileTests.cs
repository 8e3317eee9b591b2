using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>Both servers with an aclfile: users from it, ACL SAVE writes the same file, ACL LOAD reloads and reports errors as Redis.</summary>
public sealed class AclFileTests(AclFileServerPair servers) : IClassFixture<AclFileServerPair>
{
    [Fact]
    public Task Users_come_from_the_file_and_load_closes_their_clients()
        => Harness.Differential.AssertSameAsync(servers, new Script("aclfile users")
            .On(0).Cmd("ACL", "LIST").Cmd("ACL", "USERS")
            .On(1).Cmd("AUTH", "fileuser", "filepw").Cmd("ACL", "WHOAMI").Cmd("PUBLISH", "f:1", "x").Cmd("PUBLISH", "g", "x")
            .On(0).Cmd("ACL", "LOAD")
            .On(1).RawClose("")
            .On(0).Cmd("ACL", "WHOAMI").Cmd("ACL", "LIST"));

    [Fact]
    public async Task Save_writes_what_redis_writes_and_load_reads_it_back()
    {
        foreach (var (port, file) in new[] { (servers.RedisPort, servers.RedisFile), (servers.OurPort, servers.OurFile) })
        {
            var replies = await SendAsync(port,
                ["ACL", "SETUSER", "saved", "on", ">pw", "&s:*", "%R~r*", "+@pubsub", "-spublish"],
                ["ACL", "SAVE"], ["ACL", "DELUSER", "saved"], ["ACL", "LOAD"], ["ACL", "GETUSER", "saved"],
                ["ACL", "DELUSER", "saved"], ["ACL", "SAVE"]);
            Assert.Equal("+OK\r\n+OK\r\n:1\r\n+OK\r\n", string.Concat(replies.Take(4)));
            Assert.StartsWith("*12\r\n$5\r\nflags", replies[4], StringComparison.Ordinal);
        }

        Assert.Equal(await File.ReadAllTextAsync(servers.RedisFile), await File.ReadAllTextAsync(servers.OurFile));
        Assert.Equal(AclFileServerPair.Content, await File.ReadAllTextAsync(servers.OurFile));
    }

    [Fact]
    public async Task Load_errors_change_nothing_and_read_as_redis()
    {
        var results = new List<string>();
        foreach (var (port, file) in new[] { (servers.RedisPort, servers.RedisFile), (servers.OurPort, servers.OurFile) })
        {
            var good = await File.ReadAllTextAsync(file);
            try
            {
                await File.WriteAllTextAsync(file, good + "user bad on +nocmd &*x\nnotuser x\nuser fileuser on\nuser sp ~a ~* ~b\nuser dup\nuser dup\nuser m +nocmd1 +nocmd2 ~* ~x\nuser \"q\n");
                var replies = await SendAsync(port, ["ACL", "LOAD"], ["ACL", "USERS"]);
                results.Add(string.Concat(replies).Replace(file, "<aclfile>", StringComparison.Ordinal));
            }
            finally
            {
                await File.WriteAllTextAsync(file, good);
            }
        }

        Assert.Contains("ACL errors detected", results[0], StringComparison.Ordinal);
        Assert.Equal(results[0], results[1]);
    }

    private static async Task<List<string>> SendAsync(int port, params string[][] commands)
    {
        await using var connection = await RawConnection.ConnectAsync(port);
        var replies = new List<string>();
        foreach (var command in commands)
        {
            await connection.SendAsync(Script.Encode(command));
            var frame = (await connection.ReadFramesAsync(1, TaskTimeoutExtensions.DefaultTimeout))[0];
            replies.Add(Encoding.Latin1.GetString(frame.Raw));
        }

        return replies;
    }
}
