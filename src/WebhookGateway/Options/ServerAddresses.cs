namespace Notistream.Gateway.Options;

/// <summary>
/// The pub/sub servers of <see cref="GatewayOptions.Server"/> (<c>host:port[,host:port…]</c>) in the order
/// given, and the one node in use: the node publishing goes to and every follow connection (HTTP
/// subscribers, Web Push) follows on. Notistream nodes keep their own histories and a NOTI.SUBSCRIBE
/// follower on one node does not see what is published on another, so publishing and following must
/// never pick their nodes apart.
/// <para>
/// Priority order: the node in use is the first listed node that is connected (as the publisher's
/// StackExchange.Redis connection to it says). When the node in
/// use is lost, <see cref="Select"/> moves to the next such node at once; it moves back to an earlier one
/// only from the publisher's periodic check (<c>failBack</c>), once that node has stayed connected for a
/// whole check interval. Until the first node's first connect attempt has finished, nothing moves: a node
/// further down the list that happened to connect first does not win the start.
/// </para>
/// <para>
/// Concurrency, one owner: <see cref="_inUse"/> and <see cref="_moved"/> are written only inside
/// <see cref="Select"/>, under <see cref="_lock"/> (every move logged through the publisher's callback); <see cref="Select"/> is called only by the publisher (its
/// periodic check, its connection events, a publish that finds the node in use gone): a follow
/// connection that cannot use the node in use never moves it. Everyone else reads them without the lock (volatile): publishing,
/// follow connections, the health check and the dashboard, and reading never moves the node. Each move
/// cancels <see cref="Moved"/>, so every follow connection on the old node follows again on the new one.
/// One address: that one, always; nothing ever moves.
/// </para>
/// </summary>
internal sealed class ServerAddresses
{
    private readonly Lock _lock = new();
    private volatile int _inUse;
    private volatile CancellationTokenSource _moved = new();
    private Func<int, bool?>? _state;
    private Action<int, int>? _onMove;

    public ServerAddresses(IReadOnlyList<string> all)
    {
        if (all.Count == 0)
        {
            throw new ArgumentException("at least one address is needed", nameof(all));
        }

        All = all;
    }

    /// <summary>The comma-separated list, each entry trimmed; empty entries are kept (as "") for the validator to name.</summary>
    public static IReadOnlyList<string> Split(string? server) =>
        string.IsNullOrWhiteSpace(server) ? [] : server.Split(',', StringSplitOptions.TrimEntries);

    /// <summary>
    /// <c>host:port</c> or <c>[v6]:port</c> in one form, for comparing two entries: the host in lower case
    /// without brackets, the port as a number (6379 when absent); null when it is not an address at all (a
    /// bare IPv6 address, which must be written <c>[::1]:6379</c>, included).
    /// </summary>
    public static (string Host, int Port)? Normalize(string entry)
    {
        var text = entry.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 2)
            {
                return null;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    return null;
                }

                port = rest[1..];
            }
        }
        else
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && text.IndexOf(':', colon + 1) >= 0)
            {
                return null; // a bare IPv6 address: where would its port be?
            }

            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
        }

        if (host.Length == 0 || host.Any(char.IsWhiteSpace))
        {
            return null;
        }

        var number = 6379;
        if (port is not null && (!int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535))
        {
            return null;
        }

        return (host.ToLowerInvariant(), number);
    }

    public IReadOnlyList<string> All { get; }

    public int Count => All.Count;

    /// <summary>The node in use (read-only: reading never moves it).</summary>
    public string InUse => All[_inUse];

    public int InUseIndex => _inUse;

    /// <summary>Cancelled when the node in use changes: a follow connection on the old one follows again on <see cref="InUse"/>.</summary>
    public CancellationToken Moved => _moved.Token;

    /// <summary>
    /// The publisher tells how each node is: true connected, false not, null its first connect attempt has
    /// not finished yet. Until then every node counts as connected (no publisher: tests of the follow side).
    /// </summary>
    /// <param name="state">How each node is.</param>
    /// <param name="onMove">Told of every move (from, to), whoever caused it, after the lock is released: the log line.</param>
    /// <exception cref="InvalidOperationException">Already attached: one publisher owns the node in use.</exception>
    public void Attach(Func<int, bool?> state, Action<int, int>? onMove = null)
    {
        lock (_lock)
        {
            if (_state is not null)
            {
                throw new InvalidOperationException("the server addresses already have a publisher attached");
            }

            _state = state;
            _onMove = onMove;
        }
    }

    /// <summary>
    /// Chooses the node in use again: the first listed node that is connected. Moves
    /// forward whenever the node in use is not such a node; moves back to an earlier one only when
    /// <paramref name="failBack"/> allows it (the publisher's periodic check). Returns the previous index
    /// when it moved, else null.
    /// </summary>
    public int? Select(Func<int, bool>? failBack = null)
    {
        if (All.Count == 1)
        {
            return null;
        }

        if (Choose(failBack) is not { } move)
        {
            return null;
        }

        _onMove?.Invoke(move.From, move.To);
        return move.From;
    }

    private (int From, int To)? Choose(Func<int, bool>? failBack)
    {
        lock (_lock)
        {
            var current = _inUse;
            var state = _state;
            if (state is not null && state(current) is null)
            {
                return null; // the start: the first attempt to this node has not finished
            }

            for (var i = 0; i < All.Count; i++)
            {
                if (!Usable(i, state))
                {
                    continue;
                }

                if (i == current || i < current && failBack?.Invoke(i) != true && Usable(current, state))
                {
                    return null; // the node in use is fine, and failing back is not for now
                }

                _inUse = i;
                var moved = _moved;
                _moved = new CancellationTokenSource();
                moved.Cancel(); // not disposed: follow connections may still hold its token
                return (current, i);
            }

            return null; // none usable: keep the one in use, which reconnects by itself
        }
    }

    private static bool Usable(int index, Func<int, bool?>? state) => state is null || state(index) == true;

    public int IndexOf(string address)
    {
        for (var i = 0; i < All.Count; i++)
        {
            if (string.Equals(All[i], address, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
