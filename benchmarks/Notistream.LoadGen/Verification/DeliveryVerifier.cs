namespace Notistream.LoadGen.Verification;

/// <summary>
/// Checks what one subscriber received, stream by stream (a stream = one publisher's numbered messages to
/// one channel, sequence 0, 1, 2, ...). A sequence above the next expected one opens a gap; a sequence that
/// later fills a gap is out of order; one seen before (or below every gap) is a duplicate; what is still
/// missing when <see cref="Finish"/> learns how many each stream sent is lost. Memory stays proportional to
/// the streams and open gaps, not to the messages. Single-threaded: owned by the subscriber's reader.
/// </summary>
public sealed class DeliveryVerifier
{
    private readonly Dictionary<int, StreamState> _streams = [];
    private StreamState? _last;
    private int _lastId = -1;
    private long _received;
    private long _duplicated;
    private long _outOfOrder;

    public long Received => _received;

    public void Observe(int stream, long sequence)
    {
        _received++;
        StreamState state;
        if (stream == _lastId && _last is not null)
        {
            state = _last;
        }
        else
        {
            if (!_streams.TryGetValue(stream, out var found))
            {
                found = new StreamState();
                _streams.Add(stream, found);
            }

            state = found;
            _last = found;
            _lastId = stream;
        }

        if (sequence == state.Next)
        {
            state.Next++;
            return;
        }

        if (sequence > state.Next)
        {
            (state.Gaps ??= []).Add(new Gap(state.Next, sequence));
            state.Next = sequence + 1;
            return;
        }

        if (sequence < 0 || state.Gaps is null || !state.FillGap(sequence))
        {
            _duplicated++;
            return;
        }

        _outOfOrder++;
    }

    /// <summary>
    /// The report, given how many messages were sent on each stream this subscriber should receive.
    /// Messages of a stream not listed reached a subscriber they were not meant for: they count as duplicated.
    /// </summary>
    public DeliveryReport Finish(IEnumerable<KeyValuePair<int, long>> sentPerStream)
    {
        long lost = 0;
        long extra = 0;
        var expected = new HashSet<int>();
        foreach (var (stream, sent) in sentPerStream)
        {
            expected.Add(stream);
            if (!_streams.TryGetValue(stream, out var state))
            {
                lost += sent;
                continue;
            }

            lost += state.Missing;
            if (state.Next < sent)
            {
                lost += sent - state.Next;
            }
            else if (state.Next > sent)
            {
                // Sequences beyond what was sent: never published, so they can only be corrupt or repeated.
                extra += state.Next - sent;
            }
        }

        foreach (var (stream, state) in _streams)
        {
            if (!expected.Contains(stream))
            {
                extra += state.Next - state.Missing;
            }
        }

        return new DeliveryReport(_received, lost, _duplicated + extra, _outOfOrder);
    }

    private readonly record struct Gap(long From, long To);

    private sealed class StreamState
    {
        public long Next;
        public List<Gap>? Gaps;

        public long Missing
        {
            get
            {
                long missing = 0;
                foreach (var gap in Gaps ?? [])
                {
                    missing += gap.To - gap.From;
                }

                return missing;
            }
        }

        /// <summary>Removes <paramref name="sequence"/> from the gap holding it; false when no gap holds it.</summary>
        public bool FillGap(long sequence)
        {
            var gaps = Gaps!;
            for (var i = gaps.Count - 1; i >= 0; i--)
            {
                var gap = gaps[i];
                if (sequence < gap.From || sequence >= gap.To)
                {
                    continue;
                }

                gaps.RemoveAt(i);
                if (sequence + 1 < gap.To)
                {
                    gaps.Insert(i, new Gap(sequence + 1, gap.To));
                }

                if (gap.From < sequence)
                {
                    gaps.Insert(i, new Gap(gap.From, sequence));
                }

                return true;
            }

            return false;
        }
    }
}
