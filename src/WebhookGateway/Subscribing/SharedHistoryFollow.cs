using System.Globalization;
using Notistream.Client.Subscriptions;
using Notistream.Gateway.Options;

namespace Notistream.Gateway.Subscribing;

/// <summary>
/// Following with several servers whose nodes share one history (<see cref="FollowConnection.SharedHistoryAsync"/>):
/// every node of that history gives the same ids, so a cursor from one is valid on another. The catch: a node
/// that has not applied the shared stream as far as the cursor yet takes it for an id it never gave, confirms
/// from its own last id (lower than the cursor) and reports a gap of unknown size. <see cref="SubscribeAsync"/>
/// waits for such a node a little, asking again on a new connection, rather than pass that gap on; a node
/// still behind after <see cref="CatchUpWait"/> is followed as it answered, and the follower then drops every
/// message it sends up to the cursor (<see cref="IsAfter"/>): what it had is not delivered twice.
/// </summary>
internal static class SharedHistoryFollow
{
    /// <summary>How long a node of the shared history behind the cursor is waited for.</summary>
    internal static TimeSpan CatchUpWait { get; set; } = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    private const string SharedPrefix = "shared history ";

    /// <summary>
    /// The key of the history a position belongs to: the shared stream's, else the node's own (its address; one
    /// never has a space, so the two never meet).
    /// </summary>
    public static string Key(string server, string? history) => history is null ? server : SharedPrefix + history;

    /// <summary>A <see cref="Key"/> of a shared history.</summary>
    public static bool IsShared(string key) => key.StartsWith(SharedPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Sends <paramref name="command"/> (NOTI.SUBSCRIBE from <paramref name="cursor"/>) and reads its answer within
    /// the connect timeout. On a node of a shared history (<paramref name="history"/> not null) whose confirmation
    /// starts below the cursor, asks again on a new connection to the same node, every 100 ms, for up to
    /// <see cref="CatchUpWait"/>. Returns the connection in use now (the one given, or its replacement, which the
    /// caller owns: the one given is then disposed) and the last answer, an error included. On an exception the
    /// connection in use is disposed.
    /// </summary>
    public static async Task<(FollowConnection Connection, RespFrame Reply)> SubscribeAsync(GatewayOptions options, FollowConnection connection,
        List<string> command, string cursor, string? history, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + (long)CatchUpWait.TotalMilliseconds;
        try
        {
            while (true)
            {
                RespFrame reply;
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    timeout.CancelAfter(options.ConnectTimeoutMilliseconds);
                    await connection.SendAsync(command, timeout.Token).ConfigureAwait(false);
                    reply = await connection.ReadAsync(timeout.Token).ConfigureAwait(false);
                }

                if (history is null || !IsBehind(reply, cursor) || Environment.TickCount64 >= deadline)
                {
                    return (connection, reply);
                }

                var server = connection.Server;
                await connection.DisposeAsync().ConfigureAwait(false);
                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
                connection = await FollowConnection.ConnectAsync(options, server, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A NOTI.SUBSCRIBE confirmation that starts below <paramref name="cursor"/> (an id): the node is behind it.</summary>
    public static bool IsBehind(RespFrame reply, string cursor) =>
        reply.Items is { Length: 4 } items && items[0].Text == "noti.subscribe" && items[1].Text is { } from
        && TryParse(from, out var start) && TryParse(cursor, out var asked) && start.CompareTo(asked) < 0;

    /// <summary>True unless <paramref name="id"/> is an id not greater than <paramref name="floor"/> (null: no floor).</summary>
    public static bool IsAfter(string id, string? floor) =>
        floor is null || !TryParse(floor, out var f) || !TryParse(id, out var i) || i.CompareTo(f) > 0;

    /// <summary><c>ms</c> or <c>ms-seq</c>; <c>$</c> and anything else: false.</summary>
    internal static bool TryParse(string id, out (ulong Ms, ulong Seq) value)
    {
        value = default;
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        if (!ulong.TryParse(dash < 0 ? id : id[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return false;
        }

        var seq = 0UL;
        if (dash >= 0 && !ulong.TryParse(id[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out seq))
        {
            return false;
        }

        value = (ms, seq);
        return true;
    }
}
