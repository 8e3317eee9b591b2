using Notistream.RespServer.Connections;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Hosting;

public sealed class LogEventIdTests
{
    [Fact]
    public void Every_log_message_of_the_server_has_its_own_event_id() =>
        Assert.Empty(LogEventIds.Duplicates(typeof(TlsAcceptor).Assembly));
}
