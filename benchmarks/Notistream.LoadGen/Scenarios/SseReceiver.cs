using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Text;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// One HTTP subscriber of the gateway, <c>GET /&lt;channel&gt;/sse</c> over a raw socket (HTTP/1.1): the
/// response's chunked framing is undone into a line buffer, and each message event's <c>data:</c> line is
/// searched for its <c>"message":"</c> field, whose <see cref="TextPayload"/> header is read in place.
/// Nothing is allocated per event. Message events have no <c>event:</c> line (ntfy's framing); an
/// <c>open</c> event marks the subscription as ready, <c>keepalive</c> is ignored and anything else (a
/// <c>gap</c>) is a problem. Owned by its reader task until it ends.
/// </summary>
internal sealed class SseReceiver : IReceiver
{
    private const long SizeLineNext = -1;
    private const long CrlfNext = -2;
    private static readonly double NanosPerTick = 1e9 / Stopwatch.Frequency;

    private readonly RunState _run;
    private readonly ThreadLocal<LatencyHistogram>? _latency;
    private byte[] _text = new byte[4096];
    private int _textLength;
    private bool _headersRead;
    private bool _chunked;
    private long _chunkRemaining = SizeLineNext;
    private bool _inNamedEvent;
    private bool _ended;

    private SseReceiver(LoadConnection connection, RunState run, ThreadLocal<LatencyHistogram>? latency)
    {
        Connection = connection;
        _run = run;
        _latency = latency;
    }

    public LoadConnection Connection { get; }

    public DeliveryVerifier Verifier { get; } = new();

    /// <summary>The one channel it follows.</summary>
    public List<int> Receives { get; } = [0];

    public string? Problem { get; private set; }

    /// <summary>True once the <c>open</c> event arrived: the gateway holds its NOTI.SUBSCRIBE.</summary>
    public bool Opened { get; private set; }

    /// <summary>Connects, sends the request and waits for the response headers and the <c>open</c> event.</summary>
    public static async Task<SseReceiver> ConnectAsync(EndPoint gateway, string host, string path, RunState run, ThreadLocal<LatencyHistogram>? latency)
    {
        var connection = await LoadConnection.ConnectAsync(gateway, busy: false).ConfigureAwait(false);
        try
        {
            await connection.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n")).ConfigureAwait(false);
            var receiver = new SseReceiver(connection, run, latency);
            using var timeout = new CancellationTokenSource(LoadConnection.SetupTimeout);
            while (!receiver.Opened)
            {
                bool more;
                try
                {
                    more = await connection.FillAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    throw new LoadGenException($"GET {path}: no open event from the gateway within {LoadConnection.SetupTimeout.TotalSeconds} s");
                }

                if (!more)
                {
                    throw new LoadGenException($"GET {path}: the gateway closed the connection before the open event");
                }

                receiver.Process();
                if (receiver.Problem is { } problem)
                {
                    throw new LoadGenException($"GET {path}: {problem}");
                }
            }

            return receiver;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Reads until the connection is aborted or fails.</summary>
    public async Task ReadAsync()
    {
        try
        {
            while (true)
            {
                var count = Process();
                if (count > 0)
                {
                    _run.AddDelivered(count);
                }

                if (_ended || !await Connection.FillAsync().ConfigureAwait(false))
                {
                    if (!_run.Stopping)
                    {
                        Problem ??= "the gateway ended an SSE response (slow consumer?)";
                    }

                    return;
                }
            }
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or ObjectDisposedException or IOException)
        {
            if (!_run.Stopping)
            {
                Problem ??= $"SSE connection failed: {ex.Message}";
            }
        }
        catch (InvalidDataException ex)
        {
            Problem ??= $"SSE subscriber received bad data: {ex.Message}";
        }
    }

    /// <summary>Parses what arrived; returns the message events it held.</summary>
    private int Process()
    {
        var data = Connection.Unparsed;
        var position = 0;
        if (!_headersRead)
        {
            var end = data.IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                return 0;
            }

            var head = Encoding.ASCII.GetString(data[..end]);
            if (!head.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal))
            {
                var statusLine = head.Split("\r\n")[0];
                Problem ??= $"the gateway answered {statusLine}{(statusLine.Contains(" 429 ", StringComparison.Ordinal) ? " (raise Subscribe:MaxSubscribers)" : "")}";
                Connection.Consume(data.Length);
                return 0;
            }

            _chunked = head.Contains("\r\ntransfer-encoding: chunked", StringComparison.OrdinalIgnoreCase);
            _headersRead = true;
            position = end + 4;
        }

        while (position < data.Length)
        {
            if (!_chunked)
            {
                Append(data[position..]);
                position = data.Length;
                break;
            }

            if (_chunkRemaining == CrlfNext)
            {
                if (data.Length - position < 2)
                {
                    break;
                }

                position += 2;
                _chunkRemaining = SizeLineNext;
            }
            else if (_chunkRemaining == SizeLineNext)
            {
                var lineEnd = data[position..].IndexOf("\r\n"u8);
                if (lineEnd < 0)
                {
                    break;
                }

                var sizeText = data.Slice(position, lineEnd);
                var semicolon = sizeText.IndexOf((byte)';');
                if (semicolon >= 0)
                {
                    sizeText = sizeText[..semicolon];
                }

                if (!Utf8Parser.TryParse(sizeText, out long size, out var used, 'X') || used != sizeText.Length)
                {
                    throw new InvalidDataException("a bad chunk size line");
                }

                position += lineEnd + 2;
                if (size == 0)
                {
                    _ended = true;
                    position = data.Length;
                    break;
                }

                _chunkRemaining = size;
            }
            else
            {
                var take = (int)Math.Min(_chunkRemaining, data.Length - position);
                Append(data.Slice(position, take));
                position += take;
                _chunkRemaining -= take;
                if (_chunkRemaining == 0)
                {
                    _chunkRemaining = CrlfNext;
                }
            }
        }

        Connection.Consume(position);
        return ParseLines();
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_textLength + bytes.Length > _text.Length)
        {
            Array.Resize(ref _text, Math.Max(_text.Length * 2, _textLength + bytes.Length));
        }

        bytes.CopyTo(_text.AsSpan(_textLength));
        _textLength += bytes.Length;
    }

    private int ParseLines()
    {
        var text = _text.AsSpan(0, _textLength);
        var position = 0;
        var count = 0;
        var now = Stopwatch.GetTimestamp();
        while (true)
        {
            var newline = text[position..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            var line = text.Slice(position, newline);
            position += newline + 1;
            if (line.IsEmpty)
            {
                _inNamedEvent = false;
            }
            else if (line.StartsWith("event: "u8))
            {
                var name = line["event: ".Length..];
                if (name.SequenceEqual("open"u8))
                {
                    Opened = true;
                }
                else if (!name.SequenceEqual("keepalive"u8))
                {
                    Problem ??= $"the gateway sent a '{Encoding.UTF8.GetString(name)}' event";
                }

                _inNamedEvent = true;
            }
            else if (line.StartsWith("data: "u8) && !_inNamedEvent)
            {
                var field = line.IndexOf("\"message\":\""u8);
                if (field < 0)
                {
                    throw new InvalidDataException("a message event without a message field");
                }

                TextPayload.Read(line[(field + "\"message\":\"".Length)..], out var stream, out var sequence, out var intended);
                Verifier.Observe(stream, sequence);
                if (intended >= _run.MeasureFrom && _latency is not null)
                {
                    _latency.Value!.Record((long)((now - intended) * NanosPerTick));
                }

                count++;
            }
        }

        if (position > 0)
        {
            text[position..].CopyTo(_text);
            _textLength -= position;
        }

        return count;
    }
}
