using System.Text;
using Notistream.RespServer.Tests.Connections;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.PubSub;

/// <summary>
/// A client's own subscriptions cost O(1) per name to add or remove: a client holding 200,000
/// channels leaves them all in well under a second when it disconnects or unsubscribes them one by
/// one (kept in an insertion-ordered list, each removal shifted the rest: hours for a million).
/// </summary>
public class ManySubscriptionsTests
{
    private const int Count = 200_000;

    private static byte[] SubscribeAll()
    {
        var command = new StringBuilder($"*{Count + 1}\r\n$9\r\nSUBSCRIBE\r\n");
        for (var i = 0; i < Count; i++)
        {
            var name = $"ch{i}";
            command.Append($"${name.Length}\r\n{name}\r\n");
        }

        return Encoding.ASCII.GetBytes(command.ToString());
    }

    /// <summary>Reads and drops whatever the server sends (the confirmations) until the connection closes.</summary>
    private static async Task DiscardAsync(RawClient client)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (await client.Socket.ReceiveAsync(buffer) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
    }

    private static async Task SubscribeAsync(NotistreamServer server, RawClient client)
    {
        _ = DiscardAsync(client);
        await client.SendAsync(SubscribeAll());
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Registry.ChannelCount == Count, "every channel subscribed", TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task A_client_with_many_subscriptions_leaves_them_all_at_once_when_it_disconnects()
    {
        await using var server = await NotistreamServer.StartAsync();
        var client = await RawClient.ConnectAsync(server.Port);
        await SubscribeAsync(server, client);

        await client.DisposeAsync();
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Registry.ChannelCount == 0 && server.Context.Clients.Count == 0,
            "the client and its channels gone", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Unsubscribing_many_channels_one_by_one_costs_constant_time_each()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await SubscribeAsync(server, client);

        // One name per UNSUBSCRIBE, from the first subscribed on: the costliest order for a shifting list.
        var unsubscribe = new StringBuilder();
        for (var i = 0; i < Count; i++)
        {
            var name = $"ch{i}";
            unsubscribe.Append($"*2\r\n$11\r\nUNSUBSCRIBE\r\n${name.Length}\r\n{name}\r\n");
        }

        await client.SendAsync(Encoding.ASCII.GetBytes(unsubscribe.ToString()));
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Registry.ChannelCount == 0, "every channel unsubscribed", TimeSpan.FromSeconds(10));
    }
}
