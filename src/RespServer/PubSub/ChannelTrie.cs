namespace Notistream.RespServer.PubSub;

/// <summary>
/// Pattern index. Each pattern hangs off the trie node of its literal prefix, so a PUBLISH walks
/// the channel's bytes once and tests only the patterns whose literal prefix is a prefix of the
/// channel; a pattern whose prefix does not match is never looked at (Redis globs every pattern on
/// every PUBLISH). Matching itself is <see cref="GlobMatcher"/> over the whole channel.
/// Not thread-safe: <see cref="SubscriptionRegistry"/> guards it with a reader/writer lock.
/// </summary>
internal sealed class ChannelTrie
{
    private readonly Node _root = new();

    public int Count { get; private set; }

    public void Add(PatternSubscription subscription)
    {
        var node = _root;
        var prefix = subscription.Pattern.AsSpan(0, subscription.PrefixLength);
        foreach (var b in prefix)
        {
            node = node.GetOrAddChild(b);
        }

        (node.Patterns ??= []).Add(subscription);
        Count++;
    }

    public bool Remove(PatternSubscription subscription)
    {
        var prefix = subscription.Pattern.AsSpan(0, subscription.PrefixLength);
        if (!Remove(_root, prefix, subscription))
        {
            return false;
        }

        Count--;
        return true;
    }

    /// <summary>Adds to <paramref name="matches"/> every pattern that matches <paramref name="channel"/>.</summary>
    public void Collect(ReadOnlySpan<byte> channel, List<PatternSubscription> matches)
    {
        var node = _root;
        var depth = 0;
        while (true)
        {
            if (node.Patterns is { } patterns)
            {
                foreach (var candidate in patterns)
                {
                    if (GlobMatcher.IsMatch(candidate.Pattern, channel))
                    {
                        matches.Add(candidate);
                    }
                }
            }

            if (depth == channel.Length)
            {
                return;
            }

            var next = node.GetChild(channel[depth]);
            if (next is null)
            {
                return;
            }

            node = next;
            depth++;
        }
    }

    /// <summary>How many patterns a PUBLISH to <paramref name="channel"/> tests (for tests and benchmarks).</summary>
    public int CandidateCount(ReadOnlySpan<byte> channel)
    {
        var node = _root;
        var count = node.Patterns?.Count ?? 0;
        foreach (var b in channel)
        {
            node = node.GetChild(b);
            if (node is null)
            {
                break;
            }

            count += node.Patterns?.Count ?? 0;
        }

        return count;
    }

    private static bool Remove(Node node, ReadOnlySpan<byte> prefix, PatternSubscription subscription)
    {
        if (prefix.IsEmpty)
        {
            return node.Patterns is not null && node.Patterns.Remove(subscription);
        }

        var child = node.GetChild(prefix[0]);
        if (child is null || !Remove(child, prefix[1..], subscription))
        {
            return false;
        }

        if (child.IsEmpty)
        {
            node.RemoveChild(prefix[0]);
        }

        return true;
    }

    private sealed class Node
    {
        private byte[] _keys = [];
        private Node[] _children = [];

        public List<PatternSubscription>? Patterns;

        public bool IsEmpty => _keys.Length == 0 && (Patterns is null || Patterns.Count == 0);

        public Node? GetChild(byte key)
        {
            var keys = _keys;
            if (keys.Length <= 8)
            {
                for (var i = 0; i < keys.Length; i++)
                {
                    if (keys[i] == key)
                    {
                        return _children[i];
                    }
                }

                return null;
            }

            var index = keys.AsSpan().BinarySearch(key);
            return index >= 0 ? _children[index] : null;
        }

        public Node GetOrAddChild(byte key)
        {
            var index = _keys.AsSpan().BinarySearch(key);
            if (index >= 0)
            {
                return _children[index];
            }

            index = ~index;
            var child = new Node();
            _keys = [.. _keys.AsSpan(0, index), key, .. _keys.AsSpan(index)];
            _children = [.. _children.AsSpan(0, index), child, .. _children.AsSpan(index)];
            return child;
        }

        public void RemoveChild(byte key)
        {
            var index = _keys.AsSpan().BinarySearch(key);
            if (index < 0)
            {
                return;
            }

            _keys = [.. _keys.AsSpan(0, index), .. _keys.AsSpan(index + 1)];
            _children = [.. _children.AsSpan(0, index), .. _children.AsSpan(index + 1)];
        }
    }
}
