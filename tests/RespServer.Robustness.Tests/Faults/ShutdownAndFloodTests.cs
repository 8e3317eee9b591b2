using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>A publisher flooding past stalled subscribers; SIGTERM in the middle of a load.</summary>
public sealed class ShutdownAndFloodTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stalled_subscribers_are_cut_off_at_the_pubsub_limit_and_logged_while_healthy_ones_get_everything()
    {
        {
            await using var server = await LoggedServer.StartAsync("--client-output-buffer-limit", "pubsub", "1mb", "0", "0");
            var healthy = new List<SequenceSubscriber>();
            for (var i = 0; i < 3; i++)
            {
                healthy.Add(await SequenceSubscriber.StartAsync(server.Port, "flood"));
            }

            var stalled = new List<WireClient>();
            for (var i = 0; i < 4; i++)
            {
                var client = await WireClient.ConnectAsync(server.Port, receiveBufferSize: 4096);
                await client.CallAsync("SUBSCRIBE", "flood");
                stalled.Add(client);
            }

            var publisher = await SequencePublisher.ConnectAsync(server.Port, "flood", payloadSize: 1024);
            long mostQueued = 0;
            while (publisher.Acknowledged < 8000)
            {
                await publisher.PublishAsync(200, batch: 50);
                mostQueued = Math.Max(mostQueued, server.Context.Clients.Snapshot().Max(c => c.Output.BufferedBytes));
            }

            foreach (var subscriber in healthy)
            {
                await subscriber.WaitForAsync(publisher.Acknowledged);
                await subscriber.DisposeAsync();
            }

            // The cut-off runs off the publisher's thread, just after the limit is passed.
            await TaskTimeoutExtensions.WaitUntil(() => server.Context.Stats.ClientsClosedForOutputLimit >= stalled.Count, "every stalled subscriber to be cut off");
            Assert.Equal(stalled.Count, server.Context.Stats.ClientsClosedForOutputLimit);
            Assert.InRange(mostQueued, 0, 1024 * 1024 + 2048);
            foreach (var client in stalled)
            {
                // Whatever was in flight arrives, then the close.
                await client.ReadToCloseAsync(TimeSpan.FromSeconds(10));
                await client.DisposeAsync();
            }

            await TaskTimeoutExtensions.WaitUntil(
                () => server.Lines.Count(l => l.Contains("closed for overcoming of output buffer limits", StringComparison.Ordinal)) >= stalled.Count,
                "a log line for every cut-off");
            Assert.Equal(stalled.Count, server.Lines.Count(l => l.Contains("closed for overcoming of output buffer limits", StringComparison.Ordinal)));
        }
    }

    /// <summary>
    /// Shutdown's first step stops commands on every connection, and the server waits for running ones
    /// before it closes anything. A subscriber whose input arrives in between must neither run it nor
    /// leave: a PUBLISH still finishing on another thread would be answered without reaching it.
    /// </summary>
    [Fact]
    public async Task A_subscriber_sending_while_commands_are_stopped_stays_subscribed_and_open_until_it_is_closed()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var subscriber = await WireClient.ConnectAsync(server.Port);
        await subscriber.CallAsync("SUBSCRIBE", "stopping");
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Registry.SubscriberCount("stopping"u8, shard: false) == 1, "the subscription registered");
        var connection = Assert.Single(server.Context.Clients.Snapshot());

        connection.StopCommands();
        await subscriber.SendAsync("PING");
        await Task.Delay(300, Token); // the PING arrives at once; this is time for a wrong teardown to happen
        Assert.Equal(1, server.Context.Registry.SubscriberCount("stopping"u8, shard: false));
        Assert.Single(server.Context.Clients.Snapshot());

        // The second step closes it; the PING is never answered.
        connection.RequestClose();
        Assert.Empty(await subscriber.ReadToCloseAsync(TimeSpan.FromSeconds(10)));
        await TaskTimeoutExtensions.WaitUntil(() => server.Context.Registry.SubscriberCount("stopping"u8, shard: false) == 0, "the subscription removed on close");
    }

    [Fact]
    public async Task Sigterm_under_load_exits_0_after_subscribers_got_every_acknowledged_message_and_clients_reconnect_to_the_restarted_server()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "SIGTERM is a POSIX signal");
        var port = FreePort.Next();
        var server = await ServerProcess.StartAsync(port);
        try
        {
            var subscribers = new List<SequenceSubscriber>();
            for (var i = 0; i < 3; i++)
            {
                subscribers.Add(await SequenceSubscriber.StartAsync(port, "load"));
            }

            // One that keeps sending PING while subscribed, as clients keeping a connection alive do:
            // the server reads its input while it stops, and it must still get every acknowledged message.
            subscribers.Add(await SequenceSubscriber.StartAsync(port, "load", pingEvery: TimeSpan.FromMilliseconds(1)));

            var options = ConfigurationOptions.Parse($"127.0.0.1:{port}");
            options.AbortOnConnectFail = false;
            options.ReconnectRetryPolicy = new LinearRetry(250);
            using var redis = await ConnectionMultiplexer.ConnectAsync(options);
            var received = new List<string>();
            var restored = 0;
            redis.ConnectionRestored += (_, _) => Interlocked.Increment(ref restored);
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("after"), (_, message) =>
            {
                lock (received)
                {
                    received.Add(message!);
                }
            });

            var publisher = await SequencePublisher.ConnectAsync(port, "load", payloadSize: 100);
            var memoryAtStart = server.Process.WorkingSet64;
            var publishing = Task.Run(async () =>
            {
                try
                {
                    while (true)
                    {
                        await publisher.PublishAsync(100, batch: 20);
                    }
                }
                catch (Exception ex) when (ex is EndOfStreamException or System.Net.Sockets.SocketException)
                {
                    // The server went away mid-batch: what was acknowledged is what counts.
                }
            });

            await TaskTimeoutExtensions.WaitUntil(() => publisher.Acknowledged >= 20_000 || publishing.IsCompleted, "load to build up");
            server.Process.Refresh();
            var memoryUnderLoad = server.Process.WorkingSet64;
            server.Terminate();
            await server.Process.WaitForExitAsync(Token).WithTimeout(TimeSpan.FromSeconds(10));
            Assert.Equal(0, server.Process.ExitCode);
            await publishing.WithTimeout();
            var acknowledged = publisher.Acknowledged;
            foreach (var subscriber in subscribers)
            {
                await TaskTimeoutExtensions.WaitUntil(() => subscriber.Closed || subscriber.Error is not null, "subscriber to see the close");
                Assert.Null(subscriber.Error);
                Assert.InRange(subscriber.Received, acknowledged, long.MaxValue);
                await subscriber.DisposeAsync();
            }

            Assert.InRange(memoryUnderLoad - memoryAtStart, long.MinValue, 200L * 1024 * 1024);

            // Started again on the same port, the StackExchange.Redis client finds it and resubscribes.
            await server.DisposeAsync();
            server = await ServerProcess.StartAsync(port);
            await TaskTimeoutExtensions.WaitUntil(() => Volatile.Read(ref restored) > 0, "StackExchange.Redis to reconnect", TimeSpan.FromSeconds(30));
            await using var check = await WireClient.ConnectAsync(port);
            await TaskTimeoutExtensions.WaitUntil(() =>
            {
                check.CallAsync("PUBLISH", "after", "hello").GetAwaiter().GetResult();
                lock (received)
                {
                    return received.Contains("hello");
                }
            }, "the resubscribed client to receive a message", TimeSpan.FromSeconds(30));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
