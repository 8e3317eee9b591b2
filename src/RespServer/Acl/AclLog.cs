namespace Notistream.RespServer.Acl;

/// <summary>One ACL LOG entry (acl.c ACLLogEntry).</summary>
internal sealed class AclLogEntry(string reason, string obj, string username, string clientInfo, long time)
{
    public long Count { get; set; } = 1;

    /// <summary>command, key, channel or auth.</summary>
    public string Reason { get; } = reason;

    public string Object { get; } = obj;

    public string Username { get; } = username;

    public string ClientInfo { get; set; } = clientInfo;

    /// <summary>Milliseconds since the Unix epoch of the latest occurrence.</summary>
    public long Time { get; set; } = time;
}

/// <summary>
/// The refusals ACL LOG shows, newest first: a repeat of one of the ten newest entries within 60 s
/// counts on it; at most <see cref="MaxLength"/> entries (Redis's acllog-max-len). Any thread adds;
/// everything happens under the lock.
/// </summary>
internal sealed class AclLog
{
    public const int MaxLength = 128;

    private readonly Lock _lock = new();
    private readonly LinkedList<AclLogEntry> _entries = new();

    public void Add(string reason, string obj, string username, string clientInfo)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_lock)
        {
            var scanned = 0;
            for (var node = _entries.First; node is not null && scanned < 10; node = node.Next, scanned++)
            {
                var entry = node.Value;
                if (entry.Reason == reason && entry.Object == obj && entry.Username == username && Math.Abs(now - entry.Time) <= 60_000)
                {
                    _entries.Remove(node);
                    _entries.AddFirst(node);
                    entry.Count++;
                    entry.Time = now;
                    entry.ClientInfo = clientInfo;
                    return;
                }
            }

            _entries.AddFirst(new AclLogEntry(reason, obj, username, clientInfo, now));
            while (_entries.Count > MaxLength)
            {
                _entries.RemoveLast();
            }
        }
    }

    public List<AclLogEntry> Newest(long count)
    {
        lock (_lock)
        {
            return [.. _entries.Take((int)Math.Min(count, _entries.Count))];
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            _entries.Clear();
        }
    }
}
