using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Robustness.Tests.Infrastructure;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>A folder for one test's data, deleted at the end.</summary>
internal sealed class DataFolder : IDisposable
{
    public DataFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"notistream-aof-{Guid.NewGuid():N}");

    public string AofFolder => System.IO.Path.Combine(Path, "appendonlydir");

    public string Manifest => System.IO.Path.Combine(AofFolder, "appendonly.aof.manifest");

    /// <summary>The files the manifest lists, in order (base first).</summary>
    public string[] ListedFiles() => [.. File.ReadAllLines(Manifest).Select(l => l.Split(' ')[1])];

    /// <summary>The last incr file's path.</summary>
    public string LastIncr => System.IO.Path.Combine(AofFolder, ListedFiles().Last(n => n.EndsWith(".incr.aof", StringComparison.Ordinal)));

    /// <summary>A copy of the whole folder (what another server loads).</summary>
    public DataFolder Copy()
    {
        var copy = new DataFolder();
        foreach (var file in Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories))
        {
            var target = System.IO.Path.Combine(copy.Path, System.IO.Path.GetRelativePath(Path, file));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return copy;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // a server still closing; the temp folder is cleaned by the system
        }
    }
}

/// <summary>What a client can read of the keyspace, as text, for before/after comparisons.</summary>
internal static class KeyspaceDump
{
    /// <summary>
    /// Every key of every database: XRANGE of the whole stream and XINFO STREAM's fields. With
    /// <paramref name="nodes"/> false the node layout (radix-tree-keys/-nodes) is left out: a stream loaded from a
    /// rewrite packs its entries into nodes anew, as Redis's does.
    /// </summary>
    public static async Task<SortedDictionary<string, string>> ReadAsync(int port, bool nodes = true)
    {
        await using var client = await WireClient.ConnectAsync(port);
        var dump = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var db = 0; db < 16; db++)
        {
            await client.CallAsync("SELECT", db.ToString(CultureInfo.InvariantCulture));
            var keys = (object?[])(await client.CallAsync("KEYS", "*"))!;
            foreach (var key in keys.Select(k => Encoding.UTF8.GetString((byte[])k!)))
            {
                var range = await client.CallAsync("XRANGE", key, "-", "+");
                var info = (object?[])(await client.CallAsync("XINFO", "STREAM", key))!;
                var fields = new List<string>();
                for (var i = 0; i < info.Length; i += 2)
                {
                    var name = Render(info[i]);
                    if (nodes || name is not ("radix-tree-keys" or "radix-tree-nodes"))
                    {
                        fields.Add($"{name}={Render(info[i + 1])}");
                    }
                }

                dump[$"{db}/{key}"] = Render(range) + " | " + string.Join(" ", fields);
            }
        }

        return dump;
    }

    public static string Render(object? value) => value switch
    {
        null => "nil",
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        object?[] items => "[" + string.Join(",", items.Select(Render)) + "]",
        RespError error => "-" + error.Message,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>The payloads of a channel's history (its stream's <c>message</c> fields), in id order.</summary>
    public static async Task<List<string>> MessagesAsync(WireClient client, string key)
    {
        var entries = (object?[])(await client.CallAsync("XRANGE", key, "-", "+"))!;
        return [.. entries.Select(e => Render(((object?[])((object?[])e!)[1]!)[1]))];
    }

    /// <summary>The ids of a stream, in order.</summary>
    public static async Task<List<string>> IdsAsync(WireClient client, string key)
    {
        var entries = (object?[])(await client.CallAsync("XRANGE", key, "-", "+"))!;
        return [.. entries.Select(e => Render(((object?[])e!)[0]))];
    }

    /// <summary>An id "ms-seq" as a number pair that compares as ids do.</summary>
    public static (ulong Ms, ulong Seq) Id(string text)
    {
        var parts = text.Split('-');
        return (ulong.Parse(parts[0], CultureInfo.InvariantCulture), ulong.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}

/// <summary>
/// The server in-process with every log line captured, started from a data folder; unlike LoggedServer a start
/// that fails (a damaged file) is returned with the lines it logged and the error.
/// </summary>
internal sealed class AofServer : IAsyncDisposable, ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private IHost? _host;

    public int Port => Context.BoundPort;

    public Connections.ServerContext Context => (Connections.ServerContext)_host!.Services.GetService(typeof(Connections.ServerContext))!;

    public IReadOnlyCollection<string> Lines => _lines;

    public Exception? StartError { get; private set; }

    public static async Task<AofServer> StartAsync(string dir, params string[] args)
    {
        var server = new AofServer();
        var options = ConfigLoader.Load(["--port", "0", "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", dir, .. args]);
        server._host = RespServerHost.Build(options, logging => logging.SetMinimumLevel(LogLevel.Information).AddProvider(server));
        try
        {
            await server._host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (ConfigException ex)
        {
            server.StartError = ex;
        }

        return server;
    }

    ILogger ILoggerProvider.CreateLogger(string categoryName) => new Capture(_lines);

    void IDisposable.Dispose()
    {
    }

    public async ValueTask DisposeAsync()
    {
        var host = _host!;
        if (StartError is null)
        {
            await host.StopAsync(TimeSpan.FromSeconds(20));
        }

        host.Dispose();
    }

    private sealed class Capture(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => lines.Enqueue(formatter(state, exception));
    }
}

/// <summary>A client that pipelines numbered commands and counts those the server acknowledged.</summary>
internal sealed class CountingWriter
{
    private long _acknowledged;

    /// <summary>Commands acknowledged so far (their replies read), numbered from 1.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>
    /// Sends batches of <paramref name="batch"/> commands made by <paramref name="command"/> (given the number)
    /// until <paramref name="stop"/> or the connection dies; each reply read counts, in order.
    /// </summary>
    public async Task RunAsync(int port, Func<long, string[]> command, int batch, CancellationToken stop)
    {
        try
        {
            await using var client = await WireClient.ConnectAsync(port);
            var next = 1L;
            while (!stop.IsCancellationRequested)
            {
                var bytes = new List<byte>();
                for (var i = 0; i < batch; i++)
                {
                    bytes.AddRange(WireClient.Command(command(next + i)));
                }

                await client.SendAsync(bytes.ToArray());
                for (var i = 0; i < batch; i++)
                {
                    var reply = await client.ReadAsync(TimeSpan.FromSeconds(30));
                    if (reply is RespError error)
                    {
                        throw new InvalidOperationException($"command {next} was refused: {error.Message}");
                    }

                    Interlocked.Exchange(ref _acknowledged, next++);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or EndOfStreamException or ObjectDisposedException or OperationCanceledException)
        {
            // the server was killed: what was read before counts
        }
    }
}
