using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Fuzz;

/// <summary>
/// Random short byte strings of RESP tokens sent to redis-server 7 and to our server, each on a
/// fresh connection that half-closes after sending: everything each server answers before closing
/// must be the same bytes.
/// </summary>
public sealed class DifferentialFuzzTests
{
    private static readonly string[] Tokens =
    [
        "*", "$", "\r\n", "\r", "\n", "0", "1", "2", "3", "-1", "-", " ", "\"", "'", "\\x41", "\\", "PING", "ECHO", "x", "\u00ff", "\0",
        "*1\r\n", "*2\r\n", "$4\r\n", "$1\r\n", "PING\r\n", "ECHO\r\n", "\"a b\"", "99999999999", "*-1\r\n", "*0\r\n",
    ];

    [Fact]
    public async Task Random_short_inputs_get_the_same_bytes_as_from_redis()
    {
        var seed = FuzzInput.Seed();
        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed} (replay: NOTISTREAM_FUZZ_SEED={seed})");
        await using var redis = await RedisServerProcess.StartAsync();

        // The executable, as users run it: reads run on the socket event threads (Program.cs).
        await using var ours = await ServerProcess.StartAsync(FreePort.Next());
        var random = new Random(seed);
        var watch = Stopwatch.StartNew();
        var budget = TimeSpan.FromSeconds(FuzzInput.Seconds(20) / 5.0);
        var cases = 0;
        while (watch.Elapsed < budget)
        {
            cases++;
            var text = new StringBuilder();
            for (var i = random.Next(1, 10); i > 0; i--)
            {
                text.Append(Tokens[random.Next(Tokens.Length)]);
            }

            var bytes = Encoding.Latin1.GetBytes(text.ToString());
            var theirs = await PlayAsync(redis.Port, bytes);
            var mine = await PlayAsync(ours.Port, bytes);
            Assert.True(theirs == mine, $"seed {seed}, case {cases}: sent {WireClient.Escape(bytes)}\n  redis: {theirs}\n  ours:  {mine}");
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{cases} cases, all the same");
    }

    /// <summary>Findings of the differential fuzzer, kept as named cases.</summary>
    [Theory]
    [InlineData("99999999999\0$1\r\n\"a b\"ECHO*0\r\n\"", "NUL in an inline line: Redis's strchr never finds the newline")]
    [InlineData("PING\0\r\nPING\r\n", "NUL before the newline of an inline PING")]
    [InlineData("*1\0\r\n$4\r\nPING\r\n", "NUL in a multibulk count line")]
    [InlineData("*1\r\n$4\0\r\nPING\r\n", "NUL in a bulk count line")]
    [InlineData("*1\r\n$4\r\nPI\0G\r\nPING\r\n", "NUL inside a bulk payload is data")]
    [InlineData("*2\r\n\u00ff*1\r\n*0\r\n", "a non-ASCII byte where '$' is expected is echoed as that byte, not UTF-8")]
    public async Task Regression_same_bytes_as_redis(string input, string finding)
    {
        Assert.NotEmpty(finding);
        await using var redis = await RedisServerProcess.StartAsync();
        await using var ours = await NotistreamServer.StartAsync();
        var bytes = Encoding.Latin1.GetBytes(input);
        Assert.Equal(await PlayAsync(redis.Port, bytes), await PlayAsync(ours.Port, bytes));
    }

    private static async Task<string> PlayAsync(int port, byte[] bytes)
    {
        await using var client = await WireClient.ConnectAsync(port);
        await client.SendAsync(bytes);
        client.Socket.Shutdown(SocketShutdown.Send);
        return WireClient.Escape(await client.ReadToCloseAsync(TimeSpan.FromSeconds(5)));
    }
}
