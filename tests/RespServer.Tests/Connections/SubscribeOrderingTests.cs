using System.IO.Pipelines;
using System.Text;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Output;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// What a client may rely on after reading a subscribe confirmation: the subscription is in place,
/// so a PUBLISH sent next (from any connection) counts it and reaches it.
/// </summary>
public class SubscribeOrderingTests
{
    [Fact]
    public async Task A_held_output_queues_but_sends_nothing_until_released()
    {
        var pipe = new Pipe();
        var output = OutputTesting.NewOutput();
        var writing = output.RunAsync(pipe.Writer);

        output.Hold();
        Assert.True(output.Queue("first"u8.ToArray()));
        Assert.True(output.Queue("second"u8.ToArray()));
        var read = pipe.Reader.ReadAsync().AsTask();
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.False(read.IsCompleted, "the writer sent while the output was held");

        output.Release();
        var sent = new StringBuilder();
        while (sent.Length < 11)
        {
            var result = await read.WithTimeout();
            sent.Append(Encoding.ASCII.GetString(result.Buffer));
            pipe.Reader.AdvanceTo(result.Buffer.End);
            if (sent.Length < 11)
            {
                read = pipe.Reader.ReadAsync().AsTask();
            }
        }

        Assert.Equal("firstsecond", sent.ToString());
        output.Complete();
        await writing.WithTimeout();
    }

    [Theory]
    [InlineData("SUBSCRIBE", "subscribe", "message")]
    [InlineData("PSUBSCRIBE", "psubscribe", "pmessage")]
    [InlineData("SSUBSCRIBE", "ssubscribe", "smessage")]
    public async Task After_reading_the_confirmation_the_next_publish_always_reaches_the_subscriber(string command, string confirmation, string kind)
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        var publish = command == "SSUBSCRIBE" ? "SPUBLISH" : "PUBLISH";

        // Many rounds on fresh names: the confirmation must never be sent before the subscription
        // is registered, however the threads are scheduled.
        for (var round = 0; round < 300; round++)
        {
            await using var subscriber = await RawClient.ConnectAsync(server.Port);
            var name = $"ch{round}";
            await subscriber.SendAsync(RawClient.Command(command, name));
            await subscriber.ExpectAsync($"*3\r\n${confirmation.Length}\r\n{confirmation}\r\n${name.Length}\r\n{name}\r\n:1\r\n");

            await publisher.SendAsync(RawClient.Command(publish, name, "m"));
            await publisher.ExpectAsync(":1\r\n");
            var prefix = kind == "pmessage" ? $"*4\r\n$8\r\npmessage\r\n${name.Length}\r\n{name}\r\n" : $"*3\r\n${kind.Length}\r\n{kind}\r\n";
            await subscriber.ExpectAsync($"{prefix}${name.Length}\r\n{name}\r\n$1\r\nm\r\n");
        }
    }
}

/// <summary>Found by the socket fuzzer: after a protocol error nothing may follow it, not even a message.</summary>
public class CloseAfterReplyTests
{
    [Theory]
    [InlineData("*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("QUIT\r\n", "+OK\r\n")]
    public async Task A_subscriber_closing_after_its_last_reply_gets_no_message_after_it(string last, string lastReply)
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            var batch = RawClient.Command("PUBLISH", "news", "flash");
            var many = Enumerable.Repeat(batch, 50).SelectMany(b => b).ToArray();
            while (!stop.IsCancellationRequested)
            {
                await publisher.Socket.SendAsync(many);
                await publisher.DrainAsync();
            }
        });

        for (var round = 0; round < 50; round++)
        {
            await using var subscriber = await RawClient.ConnectAsync(server.Port);
            await subscriber.SendAsync(RawClient.Command("PSUBSCRIBE", "*"));
            await subscriber.ExpectAsync("*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n");
            await subscriber.SendAsync(last);
            var rest = await subscriber.ReadToCloseAsync();
            Assert.EndsWith(lastReply, rest, StringComparison.Ordinal);
            Assert.Equal(rest.Length - lastReply.Length, rest.IndexOf(lastReply, StringComparison.Ordinal));
        }

        await stop.CancelAsync();
        await publishing.WithTimeout();
    }
}
