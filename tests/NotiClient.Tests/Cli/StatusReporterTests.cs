using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Subscriptions;
using Xunit;

namespace Notistream.Client.Tests.Cli;

public sealed class StatusReporterTests
{
    private static string[] Lines(StringWriter output) =>
        output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Replace(StatusReporter.Prefix, string.Empty, StringComparison.Ordinal)).ToArray();

    [Fact]
    public void Each_change_is_said_once_and_a_long_outage_goes_quiet()
    {
        var output = new StringWriter();
        var status = new StatusReporter(output);
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8), () => 1.0);
        const string endPoint = "localhost:6379";

        status.Connecting(endPoint);
        status.Connected(endPoint, [new("alerts"), new("owner/*")]);
        status.Lost(endPoint, "the server closed the connection");
        for (var attempt = 0; attempt < 20; attempt++)
        {
            status.Reconnecting(endPoint, backoff.Next());
            status.ConnectFailed(endPoint, "connection refused");
        }

        status.Connected(endPoint, [new("alerts")]);

        Assert.Equal(
        [
            "connecting to localhost:6379 ...",
            "connected to localhost:6379, subscribed to channels alerts; patterns owner/*",
            "connection to localhost:6379 lost: the server closed the connection",
            "reconnecting in 1.0 s",
            "cannot connect to localhost:6379: connection refused",
            "reconnecting in 2.0 s",
            "reconnecting in 4.0 s",
            "still no connection to localhost:6379; trying again every 4-8 s",
            "reconnected to localhost:6379, subscribed to channels alerts",
        ], Lines(output));
    }

    [Fact]
    public void A_different_failure_reason_is_said_again()
    {
        var output = new StringWriter();
        var status = new StatusReporter(output);
        status.ConnectFailed("h:1", "connection refused");
        status.ConnectFailed("h:1", "connection refused");
        status.ConnectFailed("h:1", "host not found");
        Assert.Equal(["cannot connect to h:1: connection refused", "cannot connect to h:1: host not found"], Lines(output));
    }
}
