using System.Threading.Channels;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>One output for messages (desktop, stdout, a command). Each has its own queue and pace.</summary>
internal interface IMessageSink
{
    string Name { get; }

    /// <summary>Reads until the reader completes (then finishes what it holds) or the token is cancelled.</summary>
    Task RunAsync(ChannelReader<IncomingMessage> reader, CancellationToken cancellationToken);
}
