using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;

namespace Notistream.Benchmarks;

/// <summary>
/// The choice of storage for the keyspace, measured: 64-byte messages appended in batches of 64 (what a
/// connection's history batch appends in one hold of the keyspace lock) to (a) the append-only file as the
/// server writes it under appendfsync everysec — the records appended in memory, then one write(2) for the
/// batch, the fsync left to the log's thread once a second — and (b) SQLite through Microsoft.Data.Sqlite in
/// WAL mode with synchronous=NORMAL (a sync at checkpoints, not at each commit: the nearest to everysec), one
/// transaction per batch with a prepared INSERT. Per message: time and allocations. Both files grow for the
/// whole run, in a temp folder deleted at the end.
/// </summary>
[MemoryDiagnoser]
public class LogStorageBenchmarks
{
    private const int Batch = 64;

    private readonly byte[] _message = new byte[64];
    private readonly byte[] _channel = "alerts"u8.ToArray();
    private string _folder = "";
    private ServerContext? _server;
    private SqliteConnection? _sqlite;
    private SqliteCommand? _insert;
    private SqliteParameter? _ms;
    private SqliteParameter? _seq;
    private ulong _nextMs = 1;

    [GlobalSetup]
    public void Setup()
    {
        Random.Shared.NextBytes(_message);
        _folder = Path.Combine(Path.GetTempPath(), $"notistream-storage-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_folder);

        var options = new RespServerOptions { AppendOnly = true, AppendFsync = AppendFsync.EverySec, Dir = _folder };
        _server = new ServerContext(options, NullLoggerFactory.Instance);
        _server.Aof.Start(_server, new CommandTable());

        _sqlite = new SqliteConnection($"Data Source={Path.Combine(_folder, "history.db")}");
        _sqlite.Open();
        using (var pragma = _sqlite.CreateCommand())
        {
            pragma.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                CREATE TABLE entries (stream TEXT NOT NULL, id_ms INTEGER NOT NULL, id_seq INTEGER NOT NULL, message BLOB NOT NULL,
                                      PRIMARY KEY (stream, id_ms, id_seq)) WITHOUT ROWID;
                """;
            pragma.ExecuteNonQuery();
        }

        _insert = _sqlite.CreateCommand();
        _insert.CommandText = "INSERT INTO entries (stream, id_ms, id_seq, message) VALUES ('alerts', $ms, $seq, $message)";
        _ms = _insert.Parameters.Add("$ms", SqliteType.Integer);
        _seq = _insert.Parameters.Add("$seq", SqliteType.Integer);
        _insert.Parameters.Add("$message", SqliteType.Blob).Value = _message;
        _insert.Prepare();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _insert?.Dispose();
        _sqlite?.Dispose();
        SqliteConnection.ClearAllPools();
        _server?.Aof.Shutdown();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>(a) The server's log: 64 XADD records in one hold of the gate, then one write for them all.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public bool AppendOnlyFile()
    {
        var keys = _server!.Keys;
        var log = keys.Log!;
        lock (keys.Gate)
        {
            for (var i = 0; i < Batch; i++)
            {
                log.XAdd(0, _channel, new StreamId(_nextMs++, 0), EntryFields.Message(_message));
            }
        }

        return log.CommitWrite(log.AppendedPosition);
    }

    /// <summary>(b) SQLite, WAL and synchronous=NORMAL: 64 prepared INSERTs in one transaction.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int Sqlite()
    {
        var rows = 0;
        using var transaction = _sqlite!.BeginTransaction();
        _insert!.Transaction = transaction;
        for (var i = 0; i < Batch; i++)
        {
            _ms!.Value = (long)_nextMs++;
            _seq!.Value = 0L;
            rows += _insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return rows;
    }
}
