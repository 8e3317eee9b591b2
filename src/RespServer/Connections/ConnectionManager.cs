using System.Collections.Concurrent;

namespace Notistream.RespServer.Connections;

/// <summary>The connected clients by id (CLIENT LIST/KILL, INFO, maxclients, shutdown).</summary>
internal sealed class ConnectionManager
{
    private readonly ConcurrentDictionary<long, RespConnection> _connections = new();
    private long _nextId;

    public int Count => _connections.Count;

    public long NextId() => Interlocked.Increment(ref _nextId);

    private int _tlsCount;

    /// <summary>Connected clients that came in on the TLS port (the metrics' transport label).</summary>
    public int TlsCount => Volatile.Read(ref _tlsCount);

    public void Add(RespConnection connection)
    {
        if (_connections.TryAdd(connection.Id, connection) && connection.IsTls)
        {
            Interlocked.Increment(ref _tlsCount);
        }
    }

    public void Remove(RespConnection connection)
    {
        if (_connections.TryRemove(connection.Id, out _) && connection.IsTls)
        {
            Interlocked.Decrement(ref _tlsCount);
        }
    }

    public bool TryGet(long id, out RespConnection? connection) => _connections.TryGetValue(id, out connection);

    /// <summary>A snapshot ordered by id, as CLIENT LIST prints.</summary>
    public List<RespConnection> Snapshot()
    {
        var list = _connections.Values.ToList();
        list.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return list;
    }
}
