using Notistream.LoadGen.Verification;

namespace Notistream.LoadGen.Tests;

public class DeliveryVerifierTests
{
    private static DeliveryReport Run(long sent, params long[] sequences)
    {
        var verifier = new DeliveryVerifier();
        foreach (var sequence in sequences)
        {
            verifier.Observe(7, sequence);
        }

        return verifier.Finish([new(7, sent)]);
    }

    [Fact]
    public void Every_message_once_in_order_is_clean()
    {
        var report = Run(5, 0, 1, 2, 3, 4);
        Assert.Equal(new DeliveryReport(5, 0, 0, 0), report);
        Assert.True(report.Clean);
    }

    [Fact]
    public void A_gap_is_lost()
    {
        var report = Run(6, 0, 1, 4, 5);
        Assert.Equal(new DeliveryReport(4, 2, 0, 0), report);
        Assert.False(report.Clean);
    }

    [Fact]
    public void Messages_missing_at_the_end_are_lost()
    {
        Assert.Equal(new DeliveryReport(3, 2, 0, 0), Run(5, 0, 1, 2));
    }

    [Fact]
    public void A_stream_never_seen_is_lost_entirely()
    {
        var verifier = new DeliveryVerifier();
        verifier.Observe(1, 0);
        var report = verifier.Finish([new(1, 1), new(2, 10)]);
        Assert.Equal(new DeliveryReport(1, 10, 0, 0), report);
    }

    [Fact]
    public void A_repeat_is_duplicated()
    {
        Assert.Equal(new DeliveryReport(5, 0, 2, 0), Run(3, 0, 1, 1, 2, 0));
    }

    [Fact]
    public void A_late_message_that_fills_a_gap_is_out_of_order_not_lost()
    {
        Assert.Equal(new DeliveryReport(5, 0, 0, 2), Run(5, 0, 3, 1, 2, 4));
    }

    [Fact]
    public void Filling_the_middle_of_a_gap_leaves_both_sides_missing()
    {
        // 1..4 missing, 2 arrives late: 1, 3 and 4 are still lost; a second 2 is a duplicate.
        Assert.Equal(new DeliveryReport(4, 3, 1, 1), Run(6, 0, 5, 2, 2));
    }

    [Fact]
    public void Streams_are_checked_separately()
    {
        var verifier = new DeliveryVerifier();
        verifier.Observe(1, 0);
        verifier.Observe(2, 0);
        verifier.Observe(1, 1);
        verifier.Observe(2, 1);
        Assert.True(verifier.Finish([new(1, 2), new(2, 2)]).Clean);
    }

    [Fact]
    public void A_message_for_another_subscriber_is_counted()
    {
        var verifier = new DeliveryVerifier();
        verifier.Observe(1, 0);
        verifier.Observe(9, 0);
        var report = verifier.Finish([new(1, 1)]);
        Assert.Equal(1, report.Duplicated);
        Assert.False(report.Clean);
    }

    [Fact]
    public void Sequences_beyond_what_was_sent_are_not_clean()
    {
        Assert.False(Run(2, 0, 1, 2).Clean);
    }

    [Fact]
    public void Wrong_publish_replies_make_a_report_unclean()
    {
        Assert.False((DeliveryReport.Empty with { ReplyMismatches = 1 }).Clean);
    }
}
