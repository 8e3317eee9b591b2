using Notistream.Client.Notifications;
using Xunit;

namespace Notistream.Client.Tests.Notifications;

public sealed class CoalescerTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static Notification N(string channel, string body, Urgency urgency = Urgency.Normal) => new(channel, body, urgency, channel);

    private static DateTimeOffset At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    [Fact]
    public void A_few_messages_a_second_are_each_shown()
    {
        var c = new Coalescer();
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(c.Add(N("ci", $"m{i}"), At(i * 0.4)));
        }

        Assert.Null(c.NextDue);
        Assert.Equal(0, c.CoalescedMessages);
    }

    [Fact]
    public void A_burst_becomes_one_summary_once_the_channel_is_quiet()
    {
        var c = new Coalescer();
        var shown = Enumerable.Range(1, 12).Select(i => c.Add(N("owner/repo", $"push {i}"), At(i * 0.01))).ToList();

        Assert.Equal(3, shown.Count(n => n is not null));
        Assert.Equal(["push 1", "push 2", "push 3"], shown.Where(n => n is not null).Select(n => n!.Body));
        Assert.Equal(At(0.12 + 1), c.NextDue);
        Assert.Empty(c.Flush(At(1.0)));

        var summary = Assert.Single(c.Flush(At(1.12)));
        Assert.Equal("owner/repo", summary.Title);
        Assert.Equal("9 new messages on owner/repo, latest: push 12", summary.Body);
        Assert.Equal(9, c.CoalescedMessages);
        Assert.Equal(1, c.Summaries);
        Assert.Null(c.NextDue);
    }

    [Fact]
    public void A_single_held_message_is_shown_as_itself()
    {
        var c = new Coalescer();
        for (var i = 0; i < 4; i++)
        {
            c.Add(N("ci", $"m{i}"), At(i * 0.1));
        }

        var held = Assert.Single(c.Flush(At(5)));
        Assert.Equal("m3", held.Body);
        Assert.Equal(0, c.CoalescedMessages);
    }

    [Fact]
    public void Channels_are_coalesced_separately()
    {
        var c = new Coalescer();
        for (var i = 0; i < 5; i++)
        {
            c.Add(N("a", $"a{i}"), At(0));
        }

        Assert.NotNull(c.Add(N("b", "b0"), At(0)));
        Assert.Equal(["2 new messages on a, latest: a4"], c.Flush(At(2)).Select(n => n.Body));
    }

    [Fact]
    public void A_storm_raises_a_summary_every_few_seconds_and_nothing_else()
    {
        var options = CoalescingOptions.Default;
        var c = new Coalescer(options);
        var shown = new List<(double At, Notification N)>();
        var received = 0;
        for (var tick = 0; tick < 200; tick++) // 20 messages a second for 10 s
        {
            var now = At(tick * 0.05);
            foreach (var due in c.Flush(now))
            {
                shown.Add((tick * 0.05, due));
            }

            if (c.Add(N("logs", $"line {tick}"), now) is { } immediate)
            {
                shown.Add((tick * 0.05, immediate));
            }

            received++;
        }

        foreach (var due in c.Flush(At(100)))
        {
            shown.Add((100, due));
        }

        var individual = shown.Count(s => !s.N.Body.Contains("new messages", StringComparison.Ordinal));
        Assert.Equal(options.MaxPerWindow, individual);
        var summaries = shown.Where(s => s.N.Body.Contains("new messages", StringComparison.Ordinal)).ToList();
        Assert.InRange(summaries.Count, 2, 3); // at 5 s, 10 s, and the rest when it went quiet
        Assert.Equal(received, individual + c.CoalescedMessages);
        Assert.EndsWith("latest: line 199", summaries[^1].N.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void A_summary_takes_the_highest_urgency_it_folds()
    {
        var c = new Coalescer(CoalescingOptions.Default with { MaxPerWindow = 1 });
        c.Add(N("a", "1"), At(0));
        c.Add(N("a", "2", Urgency.Critical), At(0));
        c.Add(N("a", "3", Urgency.Low), At(0));
        Assert.Equal(Urgency.Critical, Assert.Single(c.Flush(At(9))).Urgency);
    }

    [Fact]
    public void After_a_quiet_spell_messages_are_shown_one_by_one_again()
    {
        var c = new Coalescer();
        for (var i = 0; i < 6; i++)
        {
            c.Add(N("a", $"{i}"), At(0));
        }

        Assert.Single(c.Flush(At(1)));
        Assert.NotNull(c.Add(N("a", "later"), At(3)));
    }
}
