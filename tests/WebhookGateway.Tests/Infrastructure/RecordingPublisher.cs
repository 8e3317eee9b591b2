using System.Collections.Concurrent;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Tests.Infrastructure;

/// <summary>An <see cref="IMessagePublisher"/> that records every attempt and answers what the test says.</summary>
internal sealed class RecordingPublisher : IMessagePublisher
{
    public ConcurrentQueue<(string Channel, byte[] Message, string Source)> Attempts { get; } = new();

    public Func<PublishOutcome> Outcome { get; set; } = () => PublishOutcome.Published(1);

    public bool IsConnected { get; set; } = true;

    public Task<PublishOutcome> PublishAsync(string channel, ReadOnlyMemory<byte> message, string source)
    {
        Attempts.Enqueue((channel, message.ToArray(), source));
        return Task.FromResult(Outcome());
    }
}
