using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>Frames larger than the input pipe: assembled exactly, limited by client-query-buffer-limit.</summary>
public sealed class LargeFrameTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(42)]
    public async Task A_frame_of_several_megabytes_sent_in_random_pieces_arrives_whole_and_the_next_frame_after_it(int seed)
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var subscriber = await WireClient.ConnectAsync(server.Port);
        await subscriber.CallAsync("SUBSCRIBE", "big");
        await using var client = await WireClient.ConnectAsync(server.Port);
        var random = new Random(seed);
        var payload = new byte[3 * 1024 * 1024 + random.Next(1000)];
        random.NextBytes(payload);
        var frame = Fuzz.FuzzInput.Encode(["PUBLISH"u8.ToArray(), "big"u8.ToArray(), payload], out _, inline: false);
        var bytes = frame.Concat(WireClient.Command("PING", "after")).ToArray();
        var start = 0;
        foreach (var cut in Fuzz.FuzzInput.Cuts(random, bytes.Length).Append(bytes.Length))
        {
            await client.SendAsync(bytes.AsMemory(start, cut - start));
            start = cut;
        }

        Assert.Equal(1L, await client.ReadAsync());
        Assert.Equal("after"u8.ToArray(), await client.ReadAsync());
        var message = (object?[])(await subscriber.ReadAsync())!;
        Assert.Equal(payload, message[2]);
    }

    [Fact]
    public async Task A_partial_frame_over_client_query_buffer_limit_closes_that_client_only()
    {
        await using var server = await NotistreamServer.StartAsync("--client-query-buffer-limit", "1mb");
        await using var subscriber = await SequenceSubscriber.StartAsync(server.Port, "news");
        await using var hog = await WireClient.ConnectAsync(server.Port);
        await hog.SendAsync(Encoding.ASCII.GetBytes("*2\r\n$4\r\nECHO\r\n$3000000\r\n"));
        try
        {
            for (var i = 0; i < 40; i++)
            {
                await hog.SendAsync(new byte[64 * 1024]);
            }
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Closed by the server mid-send: the expected end.
        }

        Assert.Empty(await hog.ReadToCloseAsync(TimeSpan.FromSeconds(10)));
        var publisher = await SequencePublisher.ConnectAsync(server.Port, "news");
        await publisher.PublishAsync(100);
        await subscriber.WaitForAsync(100);
    }
}
