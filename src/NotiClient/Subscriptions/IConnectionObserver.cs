using Notistream.Client.Config;

namespace Notistream.Client.Subscriptions;

/// <summary>What the subscription loop tells about its connection. Called from the loop only, one call at a time.</summary>
internal interface IConnectionObserver
{
    void Connecting(string endPoint);

    void Connected(string endPoint, IReadOnlyList<ChannelSpec> channels);

    void ConnectFailed(string endPoint, string reason);

    void Lost(string endPoint, string reason);

    void Reconnecting(string endPoint, BackoffStep step);

    /// <summary>The server keeps no history for these channels (or refused NOTI.SUBSCRIBE): plain SUBSCRIBE, nothing missed can be recovered.</summary>
    void HistoryUnavailable(string endPoint, string reason)
    {
    }

    /// <summary>Something the connection carried was left out (a line over the length bound), with why.</summary>
    void Skipped(string endPoint, string what)
    {
    }

    /// <summary>The catch-up after a (re)connect has been read; <paramref name="messages"/> came from history.</summary>
    void CaughtUp(string endPoint, long messages)
    {
    }

    /// <summary>With several servers: the connection to <paramref name="from"/> ended or could not be made, and <paramref name="to"/> is tried next, at once.</summary>
    void Moving(string from, string to)
    {
    }
}
