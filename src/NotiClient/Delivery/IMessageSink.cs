using System.Threading.Channels;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Delivery;

/// <summary>One output for messages (desktop, stdout, a command). Each has its own queue and pace.</summary>
internal interface IMessageSink
{
    string Name { get; }

    /// <summary>
    /// Reads until the reader completes (then finishes what it holds) or the token is cancelled. Calls
    /// <paramref name="delivered"/> for each message once it is done with it (printed, shown, folded
    /// into a notification that was shown, run): the saved cursor never passes a message before that.
    /// </summary>
    Task RunAsync(ChannelReader<IncomingMessage> reader, Action<IncomingMessage> delivered, CancellationToken cancellationToken);
}
