namespace Notistream.RespServer.Keyspace;

/// <summary>
/// Every database's keys. One lock, <see cref="Gate"/>, guards all of them and every value in them: a
/// command that reads or changes keys holds it for its whole run, as Redis runs each command alone, so
/// a command sees and leaves the keyspace consistent and replies in an order all clients agree on. It is
/// never held while waiting for anything (I/O, another lock that waits, a client): what it guards is
/// memory only, and a holder's work is bounded by its command's arguments.
/// </summary>
internal sealed class KeyStore
{
    private readonly Database?[] _databases;

    public KeyStore(int databases) => _databases = new Database?[Math.Max(1, databases)];

    /// <summary>Held by whoever reads or changes any database or value.</summary>
    public Lock Gate { get; } = new();

    public int Count => _databases.Length;

    /// <summary>Database <paramref name="index"/> (SELECT), created on first use; the caller holds <see cref="Gate"/>.</summary>
    public Database this[int index] => _databases[index] ??= new Database();

    /// <summary>Database <paramref name="index"/> if it was ever used, else null; the caller holds <see cref="Gate"/>.</summary>
    public Database? Find(int index) => _databases[index];

    /// <summary>Empties every database (FLUSHALL); the caller holds <see cref="Gate"/>.</summary>
    public void Clear()
    {
        foreach (var database in _databases)
        {
            database?.Clear();
        }
    }
}
