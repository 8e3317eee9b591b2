namespace Notistream.Client.Resume;

/// <summary>
/// Where the subscription resumes from, within one run of the client: the <c>&lt;from&gt;</c> of the
/// first NOTI.SUBSCRIBE (the saved cursor, <c>--since</c>, or <c>$</c>), then, after each reconnect, the
/// last message handed to the outputs (those still queued are not lost by a reconnect, so they are
/// not asked for again). Also the gaps reported and not yet followed by a message of their channel.
/// <para>
/// With several servers the position is each node's own: history and ids are per node, so a cursor means
/// something only on the node that gave it. <see cref="UseNode"/> keeps the position of the node left and
/// takes up the one of the node reached: exactly where it was, when the client has been there in this run;
/// otherwise from <c>$</c> (now), with one gap of unknown size owed per channel (<see cref="TakeGapOwed"/>).
/// "Never backwards" (<see cref="TryAdvance"/>) holds within one node only.
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
    private readonly Dictionary<string, MessageId> _elsewhere = new(StringComparer.Ordinal);
    private string? _node;
    private bool _fromNow;
    private bool _gapOwed;
    private bool _left;

    /// <param name="initialFrom"><c>$</c>, <c>0</c>, or an id (ms or ms-seq).</param>
    public ResumePosition(string initialFrom, IEnumerable<string>? openGaps = null)
    {
        _initialFrom = initialFrom;
        _openGaps = new HashSet<string>(openGaps ?? [], StringComparer.Ordinal);
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
    /// The next session goes to <paramref name="node"/> (several servers): its own position from now on, kept
    /// from an earlier visit in this run, or <c>$</c> with a gap owed when there is none and the client had a
    /// position elsewhere.
    /// </summary>
    public void UseNode(string node)
    {
        lock (_lock)
        {
            if (_node is null)
            {
                _node = node; // the first node: the initial <from> (a saved cursor is the first server's) is its
                return;
            }

            if (_node == node)
            {
                return;
            }

            if (_position is { } position)
            {
                _elsewhere[_node] = position;
            }

            var hadPosition = _position is not null || _initialFrom != "$" || _elsewhere.Count > 0;
            _node = node;
            _left = true;
            if (_elsewhere.Remove(node, out var kept))
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
    /// The client has left the node its first position belongs to in this run: what it delivered since mixes
    /// nodes' ids, so the state file (the first node's cursor) is no longer written in this run.
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
    /// ids are at or below the old cursor.
    /// </summary>
    public void Confirmed(MessageId from)
    {
        lock (_lock)
        {
            _firstConfirmed ??= from;
            _position = from;
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
