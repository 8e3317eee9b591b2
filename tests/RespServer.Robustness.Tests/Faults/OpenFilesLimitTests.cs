using System.Globalization;
using System.Text.RegularExpressions;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// maxclients against the open-file limit, as Redis's adjustOpenFilesLimit: started with fewer descriptors
/// than maxclients needs, the server lowers maxclients to what the limit leaves and says so in the log, and
/// the client past it is refused with Redis's error while everyone else is served. Before, maxclients stayed
/// at 10,000: clients past the limit waited in the listen backlog, and the runtime, finding no descriptor
/// for a new thread, could abort the process. Both servers run under the same limit.
/// </summary>
[Collection(nameof(TimingMeasuredCollection))]
public sealed partial class OpenFilesLimitTests
{
    private const int Limit = 300;

    [Fact]
    public async Task Under_a_low_open_file_limit_maxclients_is_lowered_and_the_client_past_it_is_refused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "starts the servers under prlimit");
        ExternalProgram.Require("prlimit", "apt-get install util-linux");

        await using var redis = await RedisServerProcess.StartAsync(0, Limit);
        await using var ours = await ServerProcess.StartAsync(FreePort.Next(), new Dictionary<string, string?>(), Limit);

        await using var redisClient = await WireClient.ConnectAsync(redis.Port);
        await using var admin = await WireClient.ConnectAsync(ours.Port);
        var redisMax = MaxClients(await redisClient.CallAsync("CONFIG", "GET", "maxclients"));
        var ourMax = MaxClients(await admin.CallAsync("CONFIG", "GET", "maxclients"));

        // Redis keeps 32 descriptors for itself; the runtime holds about a hundred before the first client.
        Assert.Equal(Limit - 32, redisMax);
        Assert.InRange(ourMax, 16, Limit - 32 - 50);

        // The same three log lines as Redis, with our figures.
        foreach (var line in (string[])
        [
            "You requested maxclients of 10000 requiring at least ",
            "Server can't set maximum open files to ",
            $"Current maximum open files is {Limit}. maxclients has been reduced to ",
        ])
        {
            Assert.Contains(line, redis.Output, StringComparison.Ordinal);
            Assert.Contains(line, ours.Output, StringComparison.Ordinal);
        }

        Assert.Contains($"maxclients has been reduced to {ourMax} to compensate for low ulimit.", ours.Output, StringComparison.Ordinal);

        // CONFIG SET past the limit: Redis's error, with the figure it can do; the setting stays.
        var redisRefusal = Assert.IsType<RespError>(await redisClient.CallAsync("CONFIG", "SET", "maxclients", "5000")).Message;
        var ourRefusal = Assert.IsType<RespError>(await admin.CallAsync("CONFIG", "SET", "maxclients", "5000")).Message;
        Assert.Equal(Digits().Replace(redisRefusal, "N"), Digits().Replace(ourRefusal, "N"));
        Assert.EndsWith($"try with {ourMax}", ourRefusal, StringComparison.Ordinal);
        Assert.Equal(ourMax, MaxClients(await admin.CallAsync("CONFIG", "GET", "maxclients")));

        // Every client up to maxclients is served; the next is refused as Redis refuses it, and once a
        // client leaves, a new one is served again.
        var clients = new List<WireClient>();
        try
        {
            for (var i = 1; i < ourMax; i++)
            {
                var client = await WireClient.ConnectAsync(ours.Port);
                clients.Add(client);
                Assert.Equal("PONG", await client.CallAsync("PING"));
            }

            await using (var extra = await WireClient.ConnectAsync(ours.Port))
            {
                var refused = await extra.ReadAsync(TimeSpan.FromSeconds(10));
                Assert.Equal(new RespError("ERR max number of clients reached"), refused);
            }

            Assert.Equal("PONG", await admin.CallAsync("PING"));
            await clients[0].DisposeAsync();
            clients.RemoveAt(0);
            // The server notices the close on its own time; until then the newcomer is refused.
            var served = false;
            for (var attempt = 0; attempt < 100 && !served; attempt++)
            {
                await using var late = await WireClient.ConnectAsync(ours.Port);
                await late.SendAsync("PING");
                served = "PONG".Equals(await late.ReadAsync(TimeSpan.FromSeconds(10)));
                if (!served)
                {
                    await Task.Delay(50, TestContext.Current.CancellationToken);
                }
            }

            Assert.True(served, "no new client was served after one left");
            Assert.False(ours.Process.HasExited, ours.Output);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static int MaxClients(object? reply)
    {
        var pair = Assert.IsType<object?[]>(reply);
        return int.Parse(System.Text.Encoding.ASCII.GetString(Assert.IsType<byte[]>(pair[1])), CultureInfo.InvariantCulture);
    }

    [GeneratedRegex("[0-9]+")]
    private static partial Regex Digits();
}
