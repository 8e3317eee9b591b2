namespace Notistream.RespServer.PubSub;

/// <summary>
/// Pattern index. Each pattern hangs off the trie node of its literal prefix (its first
/// <see cref="MaxDepth"/> bytes at most), so a PUBLISH walks the channel's bytes once and tests only
/// the patterns whose literal prefix, up to that cap, is a prefix of the channel; a pattern whose
/// prefix does not match is never looked at (Redis globs every pattern on every PUBLISH). Matching
/// itself is <see cref="GlobMatcher"/> over the whole channel. Nothing here recurses, and no walk
/// goes deeper than <see cref="MaxDepth"/>, whatever the length of a pattern or channel.
/// Not thread-safe: <see cref="SubscriptionRegistry"/> guards it with a reader/writer lock.
/// </summary>
internal sealed class ChannelTrie
{
    /// <summary>
    /// The longest literal prefix the trie indexes. A pattern with a longer one hangs at the node of
    /// its first <see cref="MaxDepth"/> bytes: a PUBLISH tests it when the channel starts with those
    /// bytes, and <see cref="GlobMatcher"/> checks the rest, so results are the same. Without the cap
    /// a 1 MB pattern of plain letters would build a million nodes under the write lock.
    /// </summary>
    public const int MaxDepth = 64;

    private readonly Node _root = new();

    public int Count { get; private set; }

    public void Add(PatternSubscription subscription)
    {
        var node = _root;
        foreach (var b in IndexedPrefix(subscription))
        {
            node = node.GetOrAddChild(b);
        }

        (node.Patterns ??= []).Add(subscription);
        Count++;
    }

    public bool Remove(PatternSubscription subscription)
    {
        // Walks down recording the path (at most MaxDepth + 1 nodes), then prunes the nodes left
        // empty from the bottom up.
        var prefix = IndexedPrefix(subscription);
        var path = new Node[prefix.Length + 1];
        path[0] = _root;
        for (var depth = 0; depth < prefix.Length; depth++)
        {
            if (path[depth].GetChild(prefix[depth]) is not { } child)
            {
                return false;
            }

            path[depth + 1] = child;
        }

        if (path[prefix.Length].Patterns is not { } patterns || !patterns.Remove(subscription))
        {
            return false;
        }

        for (var depth = prefix.Length - 1; depth >= 0 && path[depth + 1].IsEmpty; depth--)
        {
            path[depth].RemoveChild(prefix[depth]);
        }

        Count--;
        return true;
    }

    /// <summary>Adds to <paramref name="matches"/> every pattern whose indexed prefix is a prefix of
    /// <paramref name="channel"/>: the candidates, which the caller tests with <see cref="GlobMatcher"/>
    /// after leaving the lock (a glob's worst case is pattern length times channel length, and no lock
    /// is held for a time an input chooses).</summary>
    public void CollectCandidates(ReadOnlySpan<byte> channel, List<PatternSubscription> matches)
    {
        var node = _root;
        var depth = 0;
        while (true)
        {
            if (node.Patterns is { } patterns)
            {
                matches.AddRange(patterns);
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

    /// <summary>Adds to <paramref name="matches"/> every pattern that matches <paramref name="channel"/>
    /// (the candidates, tested with <see cref="GlobMatcher"/>; tests and benchmarks).</summary>
    public void Collect(ReadOnlySpan<byte> channel, List<PatternSubscription> matches)
    {
        var start = matches.Count;
        CollectCandidates(channel, matches);
        var kept = start;
        for (var i = start; i < matches.Count; i++)
        {
            if (GlobMatcher.IsMatch(matches[i].Pattern, channel))
            {
                matches[kept++] = matches[i];
            }
        }

        matches.RemoveRange(kept, matches.Count - kept);
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

    /// <summary>Nodes in the trie, the root included (for tests).</summary>
    public int NodeCount()
    {
        var count = 0;
        var pending = new Stack<Node>();
        pending.Push(_root);
        while (pending.TryPop(out var node))
        {
            count++;
            foreach (var child in node.Children)
            {
                pending.Push(child);
            }
        }

        return count;
    }

    /// <summary>The bytes of the pattern's literal prefix the trie indexes: at most <see cref="MaxDepth"/>.</summary>
    private static ReadOnlySpan<byte> IndexedPrefix(PatternSubscription subscription)
        => subscription.Pattern.AsSpan(0, Math.Min(subscription.PrefixLength, MaxDepth));

    private sealed class Node
    {
        private byte[] _keys = [];
        private Node[] _children = [];

        public List<PatternSubscription>? Patterns;

        public bool IsEmpty => _keys.Length == 0 && (Patterns is null || Patterns.Count == 0);

        public ReadOnlySpan<Node> Children => _children;

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
