using Notistream.Gateway.Subscribing;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Options;

public sealed class LogEventIdTests
{
    // Tests wait for entries by id: when Web Push's start-up line shared 3100 with "HTTP subscriber opened",
    // a test took one for the other and published before its subscriber was there.
    [Fact]
    public void Every_log_message_of_the_gateway_has_its_own_event_id() =>
        Assert.Empty(LogEventIds.Duplicates(typeof(SubscribeLog).Assembly));
}
