namespace Notistream.Client.Resume;

/// <summary>
/// Where the subscription resumes from, within one run of the client: the <c>&lt;from&gt;</c> of the
/// first NOTI.SUBSCRIBE (the saved cursor, <c>--since</c>, or <c>$</c>), then, after each reconnect, the
/// last message handed to the outputs (those still queued are not lost by a reconnect, so they are
/// not asked for again). Also the gaps reported and not yet followed by a message of their channel.
/// <para>
/// With several servers the position belongs to a history: the node's own, or the one a cluster shares in
/// JetStream (<c>INFO cluster</c>: <c>nats_history:jetstream</c>, <c>nats_history_stream</c>), where every node
/// gives the same ids. <see cref="UseNode"/> keeps the position when the node reached shares the history of
/// the node left (the cursor is valid there: an exact resume); otherwise it keeps the position of the history
/// left and takes up the one of the history reached: exactly where it was, when the client has been there in
/// this run; otherwise from <c>$</c> (now), with one gap of unknown size owed per channel
/// (<see cref="TakeGapOwed"/>). "Never backwards" (<see cref="TryAdvance"/>) holds within one history only.
/// </para>
/// </summary>
/// <remarks>Threads: the subscription writes; the cursor keeper reads. One lock.</remarks>
internal sealed class ResumePosition
{
    private readonly Lock _lock = new();
    private readonly string _initialFrom;
    private readonly HashSet<string> _openGaps;
    private MessageId? _position;
    private MessageId? _firstConfirmed;
    private int _gapVersion;
    private readonly string? _home;
    private readonly string? _initialShared;
    private readonly Dictionary<string, MessageId> _elsewhere = new(StringComparer.Ordinal);
    private string? _history;
    private string? _shared;
    private bool _fromNow;
    private bool _gapOwed;
    private bool _left;

    /// <param name="initialFrom"><c>$</c>, <c>0</c>, or an id (ms or ms-seq).</param>
    /// <param name="home">The server <paramref name="initialFrom"/> belongs to (the first listed); null: the first node reached.</param>
    /// <param name="sharedHistory">The shared history <paramref name="initialFrom"/> belongs to as well (the state file names it), or null.</param>
    public ResumePosition(string initialFrom, IEnumerable<string>? openGaps = null, string? home = null, string? sharedHistory = null)
    {
        _initialFrom = initialFrom;
        _openGaps = new HashSet<string>(openGaps ?? [], StringComparer.Ordinal);
        _home = home;
        _initialShared = sharedHistory;
    }

    /// <summary>The <c>&lt;from&gt;</c> argument for the next NOTI.SUBSCRIBE.</summary>
    public string From
    {
        get
        {
            lock (_lock)
            {
                return _position?.ToString() ?? (_fromNow ? "$" : _initialFrom);
            }
        }
    }

    /// <summary>The <c>&lt;from&gt;</c> the server confirmed first (<c>$</c> resolved to an id): nothing before it is owed.</summary>
    public MessageId? FirstConfirmed
    {
        get
        {
            lock (_lock)
            {
                return _firstConfirmed;
            }
        }
    }

    /// <summary>
    /// The history the position belongs to is shared by a cluster (the stream its nodes' INFO names), or null: the
    /// node's own. What the state file keeps beside the cursor; before any node was reached, the one it named.
    /// </summary>
    public string? SharedHistory
    {
        get
        {
            lock (_lock)
            {
                return _history is null ? _initialShared : _shared;
            }
        }
    }

    /// <summary>
    /// The next session goes to <paramref name="node"/> (several servers), whose history is
    /// <paramref name="sharedHistory"/> (the stream a cluster shares, as the node's INFO names it) or, when null, its
    /// own. The position stays when it belongs to that history (the same node, or another node of the same shared
    /// history: ids are the same there); else the node's history takes the position kept from an earlier visit in
    /// this run, or <c>$</c> with a gap owed when there is none and the client had a position elsewhere.
    /// </summary>
    public void UseNode(string node, string? sharedHistory = null)
    {
        var history = sharedHistory is null ? "node " + node : "shared " + sharedHistory;
        lock (_lock)
        {
            if (_history is null)
            {
                // The first node reached in this run: the initial <from> (a saved cursor) is the first server's, whatever
                // history it has now, and also any node's of the shared history the state file names.
                if (_home is null || node == _home || sharedHistory is not null && sharedHistory == _initialShared)
                {
                    _history = history;
                    _shared = sharedHistory;
                    return;
                }

                _history = "node " + _home; // the first server is not reachable: its <from> is left to it
            }

            if (_history == history)
            {
                return;
            }

            if (_position is { } position)
            {
                _elsewhere[_history] = position;
            }

            var hadPosition = _position is not null || _initialFrom != "$" || _elsewhere.Count > 0;
            _history = history;
            _shared = sharedHistory;
            _left = true;
            if (_elsewhere.Remove(history, out var kept))
            {
                _position = kept;
                _fromNow = false;
                _gapOwed = false;
                return;
            }

            _position = null;
            _fromNow = true;
            _gapOwed |= hadPosition;
        }
    }

    /// <summary>True once (then false) when the session just confirmed began on a node without a position: report a gap per channel.</summary>
    public bool TakeGapOwed()
    {
        lock (_lock)
        {
            var owed = _gapOwed;
            _gapOwed = false;
            return owed;
        }
    }

    /// <summary>
    /// The client has left the history its first position belongs to in this run (moves between nodes of one
    /// shared history do not count): what it delivered since mixes histories' ids, so the state file (the first
    /// server's cursor) is no longer written in this run.
    /// </summary>
    public bool Left
    {
        get
        {
            lock (_lock)
            {
                return _left;
            }
        }
    }

    /// <summary>Changes each time the set of open gaps does, so a keeper knows when to save it.</summary>
    public int GapVersion
    {
        get
        {
            lock (_lock)
            {
                return _gapVersion;
            }
        }
    }

    public IReadOnlyList<string> OpenGaps
    {
        get
        {
            lock (_lock)
            {
                return [.. _openGaps.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>
    /// The server's word on where this session starts: the cursor sent, or lower when the cursor was above any id
    /// the server has given (another server, a reset clock), and then messages from there on are new though their
    /// ids are at or below the old cursor. In a shared history the ids are the same on every node: a lower
    /// <paramref name="from"/> there is a node that has not applied the stream as far as the cursor yet, and the
    /// position stays, so the messages up to it, handed on already through another node, are not handed on again.
    /// </summary>
    public void Confirmed(MessageId from)
    {
        lock (_lock)
        {
            _firstConfirmed ??= from;
            _position = _shared is not null && _position is { } position && position > from ? position : from;
        }
    }

    /// <summary>True (and remembered) when <paramref name="id"/> is new; false for one already handed on.</summary>
    public bool TryAdvance(MessageId id)
    {
        lock (_lock)
        {
            if (_position is { } p && id <= p)
            {
                return false;
            }

            _position = id;
            return true;
        }
    }

    /// <summary>True when this gap is new, false when it was reported and no message of its channel came since.</summary>
    public bool OpenGap(string subject)
    {
        lock (_lock)
        {
            if (!_openGaps.Add(subject))
            {
                return false;
            }

            _gapVersion++;
            return true;
        }
    }

    /// <summary>A message of the channel, or matched by the pattern, closes its gap.</summary>
    public void CloseGaps(string channel, string? pattern)
    {
        lock (_lock)
        {
            if (_openGaps.Count == 0)
            {
                return;
            }

            var removed = _openGaps.Remove(channel) | (pattern is not null && _openGaps.Remove(pattern));
            if (removed)
            {
                _gapVersion++;
            }
        }
    }
}
