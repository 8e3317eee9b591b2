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

    /// <summary>The last id <see cref="NextId"/> gave.</summary>
    private StreamId _lastId;

    /// <summary>
    /// The last id <see cref="NextId"/> gave: recorded in the append-only file after each group and restored
    /// from it at start-up, so an id is never given twice, not even one of a channel since removed. Under <see cref="Gate"/>.
    /// </summary>
    public StreamId LastGeneratedId
    {
        get => _lastId;
        set => _lastId = value;
    }

    /// <summary>
    /// The append-only file: every change of the keyspace is recorded there in the same hold of
    /// <see cref="Gate"/> (its record methods only append to memory). Set once by the server; a log that is off
    /// records nothing.
    /// </summary>
    public Persistence.AofLog? Log { get; set; }

    public int Count => _databases.Length;

    /// <summary>The last id <see cref="NextId"/> gave (the "now" of NOTI.SUBSCRIBE's <c>$</c>). Under <see cref="Gate"/>.</summary>
    public StreamId LastGivenId => _lastId;

    private long _historyBytes;
    private long _historyEntries;
    private long _historyEvicted;

    /// <summary>
    /// Bytes the channel histories hold (<see cref="StreamValue.MemoryBytes"/> of every stream PUBLISH keeps
    /// messages in): kept up to date by each PUBLISH, and counted anew once a second by the sweep, which
    /// also takes in what other commands (DEL, XTRIM, FLUSHALL …) changed. Changed under <see cref="Gate"/>;
    /// read without it (INFO, metrics), so that a reader never waits for the keyspace.
    /// </summary>
    public long HistoryBytes
    {
        get => Volatile.Read(ref _historyBytes);
        set => Volatile.Write(ref _historyBytes, value);
    }

    /// <summary>
    /// Entries the channel histories hold, kept as <see cref="HistoryBytes"/> is: by each PUBLISH and its trims,
    /// and counted anew by the once-a-second sweep (so what DEL, XTRIM, XDEL, FLUSHALL … changed shows within
    /// a second). INFO and the metrics read this number: they never walk the keys. Changed under
    /// <see cref="Gate"/>; read without it.
    /// </summary>
    public long HistoryEntries
    {
        get => Volatile.Read(ref _historyEntries);
        set => Volatile.Write(ref _historyEntries, value);
    }

    /// <summary>Who follows which channels (NOTI.SUBSCRIBE), told of every append to a channel history. Under <see cref="Gate"/>.</summary>
    public FollowerIndex Followers { get; } = new();

    /// <summary>
    /// Messages with ids below this may have been kept once and lost without a record: the server started
    /// without its log (no persistence) or cut a torn one. A follower resuming from below it is told of a gap
    /// of unknown size. <see cref="StreamId.Min"/> when the history is complete. Set at start-up.
    /// </summary>
    public StreamId HistoryIncompleteBefore { get; set; }

    /// <summary>Entries dropped because the histories reached history-max-memory, since start. Changed under <see cref="Gate"/>; read without it.</summary>
    public long HistoryEvicted
    {
        get => Volatile.Read(ref _historyEvicted);
        set => Volatile.Write(ref _historyEvicted, value);
    }

    /// <summary>
    /// The next id for an entry of <paramref name="stream"/> whose id the server chooses (a PUBLISH kept as
    /// history, XADD with <c>*</c>): one generator for all streams, so ids increase across every channel
    /// and one cursor can follow many. It is the clock's millisecond with sequence 0 once the clock has
    /// passed the last id given, else that id plus one. A stream that explicit ids (XADD, XSETID) have put
    /// ahead of the generator gets Redis's own rule, its last id plus one, until the clock passes it; the
    /// generator does not follow it there. Null when no id is left. The caller holds <see cref="Gate"/>.
    /// </summary>
    public StreamId? NextId(StreamValue stream, ulong nowMs)
    {
        if (stream.LastId > _lastId && stream.LastId.Ms >= nowMs)
        {
            return stream.LastId.TryIncrement(out var next) ? next : null;
        }

        if (nowMs > _lastId.Ms && nowMs > stream.LastId.Ms)
        {
            _lastId = new StreamId(nowMs, 0);
        }
        else if (_lastId.TryIncrement(out var next))
        {
            _lastId = next;
        }
        else
        {
            return null;
        }

        return _lastId;
    }

    /// <summary>
    /// Makes the generator's last id at least <paramref name="id"/>: at start-up the start's millisecond, so
    /// that <c>$</c> on a server that has given no id yet is a real point in time and never <c>0-0</c>, which a
    /// follower's <c>0</c> ("whatever is kept") means; after loading a log, every id it holds. Under <see cref="Gate"/>.
    /// </summary>
    public void GeneratorAtLeast(StreamId id)
    {
        if (id > _lastId)
        {
            _lastId = id;
        }
    }

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
