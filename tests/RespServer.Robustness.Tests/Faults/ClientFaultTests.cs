using System.Net.Sockets;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// Clients that die, vanish, dribble or churn while a publisher publishes: the healthy subscriber
/// gets every message (sequence-numbered, none lost) and the server's bookkeeping returns to baseline.
/// </summary>
[Collection(nameof(MemoryMeasuredCollection))]
public sealed class ClientFaultTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Subscribers_reset_mid_stream_do_not_disturb_the_others()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var healthy = await SequenceSubscriber.StartAsync(server.Port, "news");
        var publisher = await SequencePublisher.ConnectAsync(server.Port, "news", payloadSize: 200);
        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await publisher.PublishAsync(200);
            }
        });

        for (var round = 0; round < 20; round++)
        {
            var victims = new List<WireClient>();
            for (var i = 0; i < 10; i++)
            {
                var victim = await WireClient.ConnectAsync(server.Port);
                await victim.SendAsync("SUBSCRIBE", "news");
                victims.Add(victim);
            }

            await Task.Delay(20, Token);
            foreach (var victim in victims)
            {
                victim.Reset();
            }
        }

        await stop.CancelAsync();
        await publishing.WithTimeout();
        await healthy.WaitForAsync(publisher.Acknowledged);
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Clients.Count == 2, "reset clients to be gone");
        Assert.Equal(1, server.Context.Registry.SubscriberCount("news"u8, shard: false));
    }

    [Fact]
    public async Task Connections_opened_and_closed_ten_thousand_times_leave_nothing_behind()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var healthy = await SequenceSubscriber.StartAsync(server.Port, "news");
        var publisher = await SequencePublisher.ConnectAsync(server.Port, "news");

        // A connect completes at the TCP handshake, before the server has accepted and registered the
        // client: wait for both, or a late publisher would make the baseline one short for good.
        const int baseline = 2;
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Clients.Count == baseline, "the subscriber and publisher registered");
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var churn = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 10_000 / 8; i++)
            {
                await using var client = await WireClient.ConnectAsync(server.Port);
                if (i % 2 == 0)
                {
                    // Half of them subscribe first, half close at once; every tenth resets.
                    await client.SendAsync("SUBSCRIBE", $"churn{worker}");
                }

                if (i % 10 == 0)
                {
                    client.Reset();
                }
            }
        })).ToArray();
        var publishing = Task.Run(async () =>
        {
            while (!churn.All(t => t.IsCompleted))
            {
                await publisher.PublishAsync(50);
            }
        });

        await Task.WhenAll(churn).WithTimeout(TimeSpan.FromSeconds(60));
        await publishing.WithTimeout();
        await healthy.WaitForAsync(publisher.Acknowledged);

        // A churned connection the client has already closed can still wait in the listen backlog: the
        // client count is at its baseline for a moment before the server accepts (and closes) it.
        await TaskTimeoutExtensions.WaitUntil(() => Interlocked.Read(ref server.Context.Stats.TotalConnectionsReceived) >= 10_002,
            "every churned connection accepted", TimeSpan.FromSeconds(60));
        try
        {
            // Generous: with every test project running at once on two cores, closing 10,000 connections can take a while.
            await TaskTimeoutExtensions.WaitUntil(() => server.Context.Clients.Count == baseline, "connected_clients to return to baseline", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException ex)
        {
            var left = server.Context.Clients.Snapshot().Select(c => $"{c.Describe()} queued={c.Output.BufferedBytes}");
            throw new TimeoutException($"{ex.Message}; still connected:\n{string.Join("\n", left)}", ex);
        }
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Registry.ChannelCount == 1, "churned subscriptions to be removed");
        Assert.InRange(server.Context.Stats.TotalConnectionsReceived, 10_002, long.MaxValue);
        var heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        Assert.InRange(heapGrowth, long.MinValue, 8 * 1024 * 1024);
    }

    [Fact]
    public async Task A_client_sending_one_byte_at_a_time_blocks_no_one_and_an_unauthenticated_one_is_limited()
    {
        await using var server = await NotistreamServer.StartAsync("--requirepass", "s3cret");
        await using var subscriberConnection = await WireClient.ConnectAsync(server.Port);
        Assert.Equal("OK", await subscriberConnection.CallAsync("AUTH", "s3cret"));
        await subscriberConnection.DisposeAsync();

        await using var slow = await WireClient.ConnectAsync(server.Port);
        var dribble = "*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n"u8.ToArray();
        var dribbling = Task.Run(async () =>
        {
            foreach (var b in dribble)
            {
                await slow.SendAsync(new[] { b });
                await Task.Delay(100, Token);
            }
        });

        // Meanwhile others authenticate, publish and receive without waiting for it.
        await using var other = await WireClient.ConnectAsync(server.Port);
        Assert.Equal("OK", await other.CallAsync("AUTH", "s3cret"));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("PONG", await other.CallAsync("PING"));
        }

        Assert.False(dribbling.IsCompleted);
        await dribbling.WithTimeout(TimeSpan.FromSeconds(30));
        Assert.Equal("OK", await slow.ReadAsync());

        // Before AUTH, a frame that announces more than Redis allows is refused at its header.
        await using var stranger = await WireClient.ConnectAsync(server.Port);
        await stranger.SendAsync("*1\r\n$100000\r\n"u8.ToArray());
        Assert.Equal(new RespError("ERR Protocol error: unauthenticated bulk length"), await stranger.ReadAsync());
        await stranger.ReadToCloseAsync(TimeSpan.FromSeconds(5));
        await using var crowd = await WireClient.ConnectAsync(server.Port);
        await crowd.SendAsync("*11\r\n"u8.ToArray());
        Assert.Equal(new RespError("ERR Protocol error: unauthenticated multibulk length"), await crowd.ReadAsync());
    }

    [Fact]
    public async Task Half_open_connections_are_closed_by_the_idle_timeout_and_have_keepalive_set()
    {
        await using var server = await NotistreamServer.StartAsync("--timeout", "1", "--tcp-keepalive", "7");
        await using var healthy = await SequenceSubscriber.StartAsync(server.Port, "news");
        var publisher = await SequencePublisher.ConnectAsync(server.Port, "news");

        // A peer that vanished without FIN looks, from the server, like one that is silent and never reads.
        var vanished = new List<WireClient>();
        for (var i = 0; i < 5; i++)
        {
            var client = await WireClient.ConnectAsync(server.Port, receiveBufferSize: 1024);
            await client.SendAsync("*1\r\n$4\r\nPI"u8.ToArray());
            vanished.Add(client);
        }

        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Clients.Count == 2 + vanished.Count, "all connected");
        foreach (var connection in server.Context.Clients.Snapshot())
        {
            var socket = connection.Socket;
            Assert.Equal(1, (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
            Assert.Equal(7, (int)socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        }

        // The subscriber (pub/sub clients are exempt from the timeout, as in Redis) and the publisher
        // keep going while the silent ones are closed.
        var deadline = DateTime.UtcNow.AddSeconds(4);
        while (DateTime.UtcNow < deadline)
        {
            await publisher.PublishAsync(20);
            await Task.Delay(50, Token);
        }

        await healthy.WaitForAsync(publisher.Acknowledged);
        Assert.Equal(2, server.Context.Clients.Count);
        foreach (var client in vanished)
        {
            await client.ReadToCloseAsync(TimeSpan.FromSeconds(5));
            await client.DisposeAsync();
        }
    }
}
