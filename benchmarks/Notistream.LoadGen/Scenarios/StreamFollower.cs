using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// A live reader of one stream, as Redis applications follow a stream: <c>XREAD BLOCK 0 STREAMS key
/// last-id</c> in a loop, each read asking for the entries after the last one it got (after 0-0 at first,
/// so no entry added before its first read is missed). Each entry's <c>message</c> goes to its
/// <see cref="DeliveryVerifier"/>; entry ids must rise strictly.
/// </summary>
internal sealed class StreamFollower(LoadConnection connection, RunState run, string key) : IReceiver
{
    private readonly StreamCursor _cursor = new(key, count: null, block: true);
    private readonly List<StreamEntry> _entries = [];

    public LoadConnection Connection { get; } = connection;

    public DeliveryVerifier Verifier { get; } = new();

    public List<int> Receives { get; } = [];

    public string? Problem { get; private set; }

    public async Task ReadAsync()
    {
        try
        {
            while (true)
            {
                await Connection.SendAsync(_cursor.Command()).ConfigureAwait(false);
                while (true)
                {
                    var used = StreamReplyParser.TryParseXRead(Connection.Unparsed, _entries, out var error);
                    if (error is not null)
                    {
                        Problem ??= $"XREAD answered -{error}";
                        return;
                    }

                    if (used > 0)
                    {
                        var count = Process();
                        Connection.Consume(used);
                        if (count > 0)
                        {
                            run.AddDelivered(count);
                        }

                        break;
                    }

                    if (!await Connection.FillAsync().ConfigureAwait(false))
                    {
                        if (!run.Stopping)
                        {
                            Problem ??= "the server closed a stream reader connection";
                        }

                        return;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            if (!run.Stopping)
            {
                Problem ??= $"stream reader connection failed: {ex.Message}";
            }
        }
        catch (InvalidDataException ex)
        {
            Problem ??= $"stream reader received bad data: {ex.Message}";
        }
    }

    private int Process()
    {
        var data = Connection.Unparsed;
        foreach (var entry in _entries)
        {
            if (!_cursor.Advance(data.Slice(entry.IdOffset, entry.IdLength)))
            {
                Problem ??= $"entry id {System.Text.Encoding.ASCII.GetString(data.Slice(entry.IdOffset, entry.IdLength))} does not follow {_cursor.LastId}";
            }

            if (entry.MessageLength < 0)
            {
                Problem ??= "a stream entry has no message field";
                continue;
            }

            Payload.Read(data.Slice(entry.MessageOffset, entry.MessageLength), out var stream, out var sequence, out _);
            Verifier.Observe(stream, sequence);
        }

        var count = _entries.Count;
        _entries.Clear();
        return count;
    }
}
