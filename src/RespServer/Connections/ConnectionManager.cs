using System.Collections.Concurrent;

namespace Notistream.RespServer.Connections;

/// <summary>The connected clients by id (CLIENT LIST/KILL, INFO, maxclients, shutdown).</summary>
internal sealed class ConnectionManager
{
    private readonly ConcurrentDictionary<long, RespConnection> _connections = new();
    private long _nextId;

    public int Count => _connections.Count;

    public long NextId() => Interlocked.Increment(ref _nextId);

    public void Add(RespConnection connection) => _connections[connection.Id] = connection;

    public void Remove(RespConnection connection) => _connections.TryRemove(connection.Id, out _);

    public bool TryGet(long id, out RespConnection? connection) => _connections.TryGetValue(id, out connection);

    /// <summary>A snapshot ordered by id, as CLIENT LIST prints.</summary>
    public List<RespConnection> Snapshot()
    {
        var list = _connections.Values.ToList();
        list.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        return list;
    }
}
