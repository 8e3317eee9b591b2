using Notistream.Gateway.Publishing;
using StackExchange.Redis;

namespace Notistream.Gateway.Tests.Endpoints;

/// <summary>Which failed publishes may go to another node: only those StackExchange.Redis never wrote.</summary>
public sealed class PublishEndpointRetryTests
{
    [Theory]
    [InlineData(CommandStatus.WaitingToBeSent, true)]
    [InlineData(CommandStatus.WaitingInBacklog, true)]
    [InlineData(CommandStatus.Sent, false)]
    [InlineData(CommandStatus.Unknown, false)]
    public void A_publish_goes_to_another_node_only_when_it_was_never_written(CommandStatus status, bool elsewhere)
    {
        var ex = new RedisConnectionException(ConnectionFailureType.SocketClosed, CommandFlags.None, "closed", null, status);
        Assert.Equal(elsewhere, RedisPublisher.NotSent(ex));
    }
}
