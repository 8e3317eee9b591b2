using System.Globalization;
using System.Text;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>
/// A healthy subscriber: reads every message of one channel in the background and checks that the
/// payloads are the sequence numbers 1, 2, 3, … with none missing, repeated or reordered.
/// </summary>
internal sealed class SequenceSubscriber : IAsyncDisposable
{
    private readonly WireClient _client;
    private readonly CancellationTokenSource _stop = new();
    private long _received;
    private Task _pinger = Task.CompletedTask;

    private SequenceSubscriber(WireClient client, string channel)
    {
        _client = client;
        Channel = channel;
    }

    public string Channel { get; }

    /// <summary>The last sequence number received in order.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>First broken expectation (a gap, a bad frame), or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Set once the server closed the connection.</summary>
    public bool Closed { get; private set; }

    public Task Loop { get; private set; } = Task.CompletedTask;

    /// <summary>With <paramref name="pingEvery"/>, also sends PING at that interval while subscribed, as
    /// clients keeping a connection alive do; the pongs are skipped.</summary>
    public static async Task<SequenceSubscriber> StartAsync(int port, string channel, TimeSpan? pingEvery = null)
    {
        var client = await WireClient.ConnectAsync(port);
        var reply = await client.CallAsync("SUBSCRIBE", channel);
        Assert.Equal("subscribe", Encoding.UTF8.GetString((byte[])((object?[])reply!)[0]!));
        var subscriber = new SequenceSubscriber(client, channel);
        subscriber.Loop = Task.Run(subscriber.RunAsync);
        if (pingEvery is { } interval)
        {
            subscriber._pinger = Task.Run(() => subscriber.PingAsync(interval));
        }

        return subscriber;
    }

    private async Task PingAsync(TimeSpan interval)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await _client.SendAsync("PING");
                await Task.Delay(interval, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // the connection or the test is over
        }
    }

    /// <summary>Waits until message <paramref name="last"/> has arrived; fails on a gap or when the connection ends first.</summary>
    public async Task WaitForAsync(long last, TimeSpan? timeout = null)
    {
        await TaskTimeoutExtensions.WaitUntil(() => Received >= last || Error is not null || Closed,
            $"subscriber of {Channel} to receive message {last} (has {Received})", timeout ?? TimeSpan.FromSeconds(30));
        Assert.Null(Error);
        Assert.Equal(last, Received);
    }

    private async Task RunAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var frame = await _client.ReadAsync(Timeout.InfiniteTimeSpan) as object?[];
                if (frame is { Length: 2 } && frame[0] is byte[] kind && Encoding.ASCII.GetString(kind) == "pong")
                {
                    continue;
                }

                if (frame is not { Length: 3 } || frame[2] is not byte[] payload)
                {
                    Error = "not a message frame";
                    return;
                }

                var text = Encoding.ASCII.GetString(payload);
                var dash = text.IndexOf('-', StringComparison.Ordinal);
                var number = long.Parse(dash < 0 ? text : text[..dash], CultureInfo.InvariantCulture);
                if (number != Received + 1)
                {
                    Error = $"expected message {Received + 1}, got {number}";
                    return;
                }

                Interlocked.Exchange(ref _received, number);
            }
        }
        catch (Exception ex) when (ex is EndOfStreamException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Closed = true;
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _client.DisposeAsync();
        await Loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _pinger.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
