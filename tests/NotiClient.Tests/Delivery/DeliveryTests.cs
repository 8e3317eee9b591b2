using System.Text.Json;
using System.Threading.Channels;
using Notistream.Client.Delivery;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Delivery;

public sealed class DeliveryTests
{
    private static IncomingMessage M(string channel, string payload, string? pattern = null) =>
        new(channel, pattern, payload, new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));

    /// <summary>A sink that holds every message until released.</summary>
    private sealed class GatedSink(string name) : IMessageSink
    {
        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<string> Seen { get; } = [];

        public string Name => name;

        public async Task RunAsync(ChannelReader<IncomingMessage> reader, Action<IncomingMessage> delivered, CancellationToken cancellationToken)
        {
            await Gate.Task.WaitAsync(cancellationToken);
            await foreach (var message in reader.ReadAllAsync(cancellationToken))
            {
                lock (Seen)
                {
                    Seen.Add(message.Payload);
                }
            }
        }
    }

    [Fact]
    public void Queue_drops_the_oldest_and_counts_when_full()
    {
        var queue = new BoundedMessageQueue(capacity: 3);
        for (var i = 0; i < 10; i++)
        {
            queue.Post(M("c", $"{i}"));
        }

        Assert.Equal(7, queue.Dropped);
        var left = new List<string>();
        while (queue.Reader.TryRead(out var m))
        {
            left.Add(m.Payload);
        }

        Assert.Equal(["7", "8", "9"], left);
    }

    [Fact]
    public async Task A_stuck_output_loses_only_its_own_overflow_and_the_drop_is_reported()
    {
        var stuck = new GatedSink("stuck");
        var fast = new GatedSink("fast");
        fast.Gate.SetResult();
        var reports = new List<string>();
        var dispatcher = new MessageDispatcher([stuck, fast], r => { lock (reports) { reports.Add(r); } }, capacity: 5);
        using var stop = new CancellationTokenSource();
        var running = dispatcher.RunAsync(stop.Token);

        for (var i = 0; i < 50; i++)
        {
            // The fast output keeps pace (each message is taken before the next comes); the stuck one takes nothing.
            dispatcher.Post(M("c", $"{i}"));
            var expected = i + 1;
            await TaskTimeoutExtensions.WaitUntil(() => { lock (fast.Seen) { return fast.Seen.Count == expected; } }, $"the fast output got message {i}");
        }

        stuck.Gate.SetResult();
        await stop.CancelAsync();
        await running.WithTimeout();

        Assert.Equal(50, dispatcher.Received);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"{i}"), fast.Seen);
        Assert.Equal(["45", "46", "47", "48", "49"], stuck.Seen);
        Assert.Equal(45, dispatcher.Dropped);
        Assert.Contains("stuck could not keep up: 45 message(s) dropped (45 in all)", reports);
    }

    [Fact]
    public async Task A_failing_output_is_not_silently_lost()
    {
        var dispatcher = new MessageDispatcher([new FailingSink()], _ => { });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => dispatcher.RunAsync(CancellationToken.None).WithTimeout());
        Assert.Equal("boom", error.Message);
    }

    private sealed class FailingSink : IMessageSink
    {
        public string Name => "failing";

        public Task RunAsync(ChannelReader<IncomingMessage> reader, Action<IncomingMessage> delivered, CancellationToken cancellationToken) => Task.FromException(new InvalidOperationException("boom"));
    }

    [Fact]
    public void Print_text_is_one_line_per_message_without_terminal_escapes()
    {
        Assert.Equal("ci: build \u00e9 ok [2J", PrintSink.Format(M("ci", "build \u00e9 ok \u001b[2J"), json: false));
    }

    [Fact]
    public void Print_json_keeps_the_exact_message()
    {
        var payload = "line1\nline2 \"quoted\" \u001b \u00e9 😀 {\"json\":true}";
        var line = PrintSink.Format(M("owner/repo", payload, "owner/*"), json: true);

        Assert.DoesNotContain('\n', line);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal("owner/repo", doc.RootElement.GetProperty("channel").GetString());
        Assert.Equal("owner/*", doc.RootElement.GetProperty("pattern").GetString());
        Assert.Equal(payload, doc.RootElement.GetProperty("message").GetString());
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), doc.RootElement.GetProperty("time").GetDateTimeOffset());
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(PrintSink.Format(M("a", "b"), true)).RootElement.GetProperty("pattern").ValueKind);
    }

    [Fact]
    public async Task Notification_sink_folds_a_burst_and_shows_the_summary_when_the_channel_goes_quiet()
    {
        var notifier = new RecordingNotifier();
        var options = CoalescingOptions.Default with { Window = TimeSpan.FromSeconds(30), QuietPeriod = TimeSpan.FromMilliseconds(100) };
        var sink = new NotificationSink(notifier, new Coalescer(options), _ => { });
        var queue = new BoundedMessageQueue();
        for (var i = 1; i <= 12; i++)
        {
            queue.Post(M("owner/repo", $"push {i}"));
        }

        var running = sink.RunAsync(queue.Reader, _ => { }, CancellationToken.None);
        await TaskTimeoutExtensions.WaitUntil(() => notifier.Shown.Count == 4, "3 notifications and one summary");
        queue.Complete();
        await running.WithTimeout();

        Assert.Equal(["push 1", "push 2", "push 3", "9 new messages on owner/repo, latest: push 12"], notifier.Shown.Select(n => n.Body));
        Assert.Equal(4, sink.Shown);
        Assert.Equal(9, sink.Coalescer.CoalescedMessages);
    }

    [Fact]
    public async Task Notification_sink_shows_what_it_holds_when_the_subscription_ends()
    {
        var notifier = new RecordingNotifier();
        var sink = new NotificationSink(notifier, new Coalescer(CoalescingOptions.Default with { MaxPerWindow = 1, QuietPeriod = TimeSpan.FromHours(1), MaxHold = TimeSpan.FromHours(1) }), _ => { });
        var queue = new BoundedMessageQueue();
        queue.Post(M("a", "1"));
        queue.Post(M("a", "2"));
        queue.Post(M("a", "3"));
        queue.Complete();

        await sink.RunAsync(queue.Reader, _ => { }, CancellationToken.None).WithTimeout();
        Assert.Equal(["1", "2 new messages on a, latest: 3"], notifier.Shown.Select(n => n.Body));
    }

    [Fact]
    public async Task Notification_sink_counts_and_reports_backend_failures_and_goes_on()
    {
        var notifier = new RecordingNotifier { OnShow = n => n.Body == "bad" ? throw new NotifierException("daemon gone") : Task.CompletedTask };
        var reports = new List<string>();
        var sink = new NotificationSink(notifier, new Coalescer(), reports.Add);
        var queue = new BoundedMessageQueue();
        queue.Post(M("a", "bad"));
        queue.Post(M("b", "good"));
        queue.Complete();

        await sink.RunAsync(queue.Reader, _ => { }, CancellationToken.None).WithTimeout();
        Assert.Equal(["good"], notifier.Shown.Select(n => n.Body));
        Assert.Equal(1, sink.Failed);
        Assert.Contains("recording failed (daemon gone)", Assert.Single(reports), StringComparison.Ordinal);
    }
}
