using System.Net.Sockets;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// A connection whose sends fail is closed, as one over its output limit is: it leaves every
/// subscriber list, so a PUBLISH stops counting a receiver whose output goes nowhere.
/// </summary>
public class WriteFailureTests
{
    [Fact]
    public async Task A_subscriber_whose_sends_fail_is_closed_and_no_longer_counted()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var subscriber = await RawClient.ConnectAsync(server.Port);
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "ch"));
        await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");

        // The server's side of the subscriber's socket stops sending (EPIPE from now on), while the
        // client keeps it open and its read side stays healthy: only a send can find out.
        var connection = server.Context.Clients.Snapshot().Single(c => c.IsPubSub);
        connection.Socket.Shutdown(SocketShutdown.Send);

        var replies = new List<string>();
        for (var i = 0; i < 200; i++)
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "ch", "m"));
            var reply = await publisher.ReadAsync(4);
            replies.Add(reply);
            if (reply == ":0\r\n")
            {
                break;
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Equal(":0\r\n", replies[^1]);
        Assert.InRange(replies.Count, 1, 50); // closed at once, not counted for seconds
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Clients.Count == 1, "the subscriber to leave the client list");
    }
}
