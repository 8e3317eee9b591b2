using System.Net.Sockets;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Output;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>
/// No message of a channel follows its unsubscribe confirmation, and nothing waits for it: an
/// unsubscribing connection never waits on another thread, so a publisher that stops half-way
/// through its batch (preempted, or quiet from then on) delays only that connection's output.
/// </summary>
[Collection(nameof(DeliveryBatchHookCollection))]
public class UnsubscribeBarrierTests
{
    private const string Message = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n";
    private const string Confirmation = "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n";

    private static async Task<RespConnection> ConnectionOfAsync(NotistreamServer server, string name)
    {
        RespConnection? found = null;
        await TaskTimeoutExtensions.WaitUntil(
            () => (found = server.Context.Clients.Snapshot().FirstOrDefault(c => c.Name == name)) is not null, $"the connection named {name}");
        return found!;
    }

    /// <summary>
    /// The publisher's batch stops after queuing its message and before it leaves the tracker (the
    /// hook holds its thread). The subscriber unsubscribes meanwhile: nothing waits on a thread (the
    /// server serves everyone else, the subscriber's read loop pauses asynchronously), its
    /// confirmation is sent once the publisher goes on, after the message, and the publisher never
    /// has to publish again for that.
    /// </summary>
    [Fact]
    public async Task A_publisher_stalled_mid_batch_holds_back_only_the_unsubscribers_confirmation()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        await using var subscriber = await RawClient.ConnectAsync(server.Port);
        await using var other = await RawClient.ConnectAsync(server.Port);
        await publisher.SendAsync(RawClient.Command("CLIENT", "SETNAME", "publisher"));
        await publisher.ExpectAsync("+OK\r\n");
        var publisherBatch = (await ConnectionOfAsync(server, "publisher")).Batch;
        await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "ch"));
        await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");

        using (var stall = new BatchStall(publisherBatch, "queued"))
        {
            await publisher.SendAsync(RawClient.Command("PUBLISH", "ch", "m"));
            // Queued on the subscriber's output before the hook; the publisher's thread sends it at its batch's end.
            Assert.True(stall.Reached(), "the publisher's batch reached the hook");

            await subscriber.SendAsync([.. RawClient.Command("UNSUBSCRIBE", "ch"), .. RawClient.Command("PING")]);
            await other.SendAsync(RawClient.Command("PING"));
            await other.ExpectAsync("+PONG\r\n"); // the server goes on serving everyone else
            await TaskTimeoutExtensions.WaitUntil(
                () => server.Context.Registry.SubscriberCount("ch"u8, shard: false) == 0, "the subscriber left the channel");
            await Task.Delay(100, TestContext.Current.CancellationToken);
            Assert.Equal(0, subscriber.Socket.Available); // the confirmation waits behind the publisher

            stall.Resume();
            await publisher.ExpectAsync(":1\r\n");
            await subscriber.ExpectAsync(Message + Confirmation + "+PONG\r\n");
        }
    }

    /// <summary>
    /// While its unsubscribe barrier is up, a connection changes no subscription: here a publisher's
    /// batch is held between two PUBLISHes (the first made it wait for the barrier's sake), and the
    /// subscriber pipelines UNSUBSCRIBE y, SUBSCRIBE z. Had SUBSCRIBE z registered meanwhile, the
    /// second PUBLISH (to z) would be queued ahead of the barrier, before the subscribe confirmation.
    /// Whatever the timing, a message of z comes only after z's subscribe confirmation.
    /// </summary>
    [Fact]
    public async Task No_subscription_changes_while_the_barrier_is_up_so_no_message_overtakes_a_subscribe_confirmation()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        await using var subscriber = await RawClient.ConnectAsync(server.Port);
        await using var bystander = await RawClient.ConnectAsync(server.Port);
        await publisher.SendAsync(RawClient.Command("CLIENT", "SETNAME", "publisher"));
        await publisher.ExpectAsync("+OK\r\n");
        var publisherBatch = (await ConnectionOfAsync(server, "publisher")).Batch;
        await bystander.SendAsync(RawClient.Command("SUBSCRIBE", "w"));
        await bystander.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$1\r\nw\r\n:1\r\n");
        await subscriber.SendAsync(RawClient.Command("SUBSCRIBE", "y"));
        await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$1\r\ny\r\n:1\r\n");

        using (var stall = new BatchStall(publisherBatch, "command"))
        {
            // The first PUBLISH reads w's list (the batch enters the tracker); the hook holds it after that command.
            await publisher.SendAsync([.. RawClient.Command("PUBLISH", "w", "x"), .. RawClient.Command("PUBLISH", "z", "m")]);
            Assert.True(stall.Reached(), "the publisher's batch reached the hook");
            await subscriber.SendAsync([.. RawClient.Command("UNSUBSCRIBE", "y"), .. RawClient.Command("SUBSCRIBE", "z"), .. RawClient.Command("PING")]);
            await TaskTimeoutExtensions.WaitUntil(
                () => server.Context.Registry.SubscriberCount("y"u8, shard: false) == 0, "the subscriber left y");
            await Task.Delay(200, TestContext.Current.CancellationToken);
            Assert.Equal(0, server.Context.Registry.SubscriberCount("z"u8, shard: false)); // SUBSCRIBE z waits for the barrier
        }

        await publisher.ExpectAsync(":1\r\n");
        var publishedToZ = await publisher.ReadAsync(4); // :0 or :1, as the two connections raced
        await subscriber.ExpectAsync("*3\r\n$11\r\nunsubscribe\r\n$1\r\ny\r\n:0\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nz\r\n:1\r\n");
        const string MessageOfZ = "*3\r\n$7\r\nmessage\r\n$1\r\nz\r\n$1\r\nm\r\n";
        const string Pong = "*2\r\n$4\r\npong\r\n$0\r\n\r\n"; // PING while subscribed (RESP2)
        if (publishedToZ == ":1\r\n")
        {
            // The PUBLISH to z and the PING are two clients' commands, both after SUBSCRIBE z and not ordered
            // between themselves: the message may come before the PONG or after it, never before the confirmation.
            var rest = await subscriber.ReadAsync(MessageOfZ.Length + Pong.Length);
            Assert.True(rest is MessageOfZ + Pong or Pong + MessageOfZ, rest);
        }
        else
        {
            Assert.Equal(":0\r\n", publishedToZ);
            await subscriber.ExpectAsync(Pong);
        }
    }

    /// <summary>
    /// 50 subscribers leave and join a channel in a loop while a publisher pipelines to it, and go
    /// on after the publisher stops for good: every round ends (nobody waits for a publisher that
    /// will not publish again), and no message ever follows an unsubscribe confirmation.
    /// </summary>
    [Fact]
    public async Task Fifty_subscribers_looping_against_a_publisher_that_stops_all_finish_in_order()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var publisher = await RawClient.ConnectAsync(server.Port);
        using var stopPublishing = new CancellationTokenSource();
        // Paced (about 8,000 messages a second): enough that batches are fanning out whenever a
        // subscriber leaves, not so many that the test's clients fall behind reading them.
        var write = string.Concat(Enumerable.Repeat(System.Text.Encoding.Latin1.GetString(RawClient.Command("PUBLISH", "ch", "m")), 8));
        var publishing = Task.Run(async () =>
        {
            while (!stopPublishing.IsCancellationRequested)
            {
                await publisher.SendAsync(write);
                await publisher.DrainAsync();
                await Task.Delay(1);
            }
        });

        var publisherStopsAt = DateTime.UtcNow.AddSeconds(1);
        var loopsEndAt = publisherStopsAt.AddSeconds(1);
        var rounds = 0;
        var subscribers = Enumerable.Range(0, 50).Select(_ => Task.Run(async () =>
        {
            await using var client = await RawClient.ConnectAsync(server.Port);
            while (DateTime.UtcNow < loopsEndAt)
            {
                await client.SendAsync(RawClient.Command("SUBSCRIBE", "ch"));
                while (true)
                {
                    // A message still on its way from before the last unsubscribe cannot come: the
                    // confirmation was read. Only the subscribe confirmation may be next.
                    var next = await client.ReadAsync(6);
                    Assert.Equal("*3\r\n$9", next);
                    await client.ExpectAsync("\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
                    break;
                }

                await client.SendAsync([.. RawClient.Command("UNSUBSCRIBE", "ch"), .. RawClient.Command("PING")]);
                while (true)
                {
                    var next = await client.ReadAsync(6);
                    if (next == Message[..6])
                    {
                        await client.ExpectAsync(Message[6..]);
                        continue;
                    }

                    Assert.Equal(Confirmation[..6], next);
                    await client.ExpectAsync(Confirmation[6..] + "+PONG\r\n");
                    break;
                }

                Interlocked.Increment(ref rounds);
            }
        })).ToArray();

        await Task.Delay(publisherStopsAt - DateTime.UtcNow, TestContext.Current.CancellationToken);
        await stopPublishing.CancelAsync();
        await publishing.WithTimeout();
        await Task.WhenAll(subscribers).WithTimeout(TimeSpan.FromSeconds(60));
        Assert.True(rounds > 50, $"only {rounds} rounds");
    }
}

/// <summary>
/// Holds the thread of one batch the first time it reaches <paramref name="point"/> of
/// <see cref="DeliveryBatch.TestHook"/>, until <see cref="Resume"/> or disposal.
/// </summary>
internal sealed class BatchStall : IDisposable
{
    private readonly ManualResetEventSlim _stalled = new();
    private readonly ManualResetEventSlim _resume = new();

    public BatchStall(DeliveryBatch target, string point)
        => DeliveryBatch.TestHook = (batch, at) =>
        {
            if (at == point && ReferenceEquals(batch, target) && !_stalled.IsSet)
            {
                _stalled.Set();
                _resume.Wait(TimeSpan.FromSeconds(30));
            }
        };

    /// <summary>True once the batch is held (waits up to 10 s).</summary>
    public bool Reached() => _stalled.Wait(TimeSpan.FromSeconds(10));

    public void Resume() => _resume.Set();

    public void Dispose()
    {
        DeliveryBatch.TestHook = null;
        _resume.Set();
        _stalled.Dispose();
        _resume.Dispose();
    }
}

/// <summary>Tests that set <see cref="DeliveryBatch.TestHook"/> do not run beside each other.</summary>
[CollectionDefinition(nameof(DeliveryBatchHookCollection))]
public sealed class DeliveryBatchHookCollection;
