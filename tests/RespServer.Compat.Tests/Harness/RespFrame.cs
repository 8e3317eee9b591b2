using System.Text;

namespace Notistream.RespServer.Compat.Tests.Harness;

/// <summary>
/// One RESP2/RESP3 frame as the server sent it: <see cref="Raw"/> holds its exact bytes, the other
/// members a parsed view used only to normalise values that legitimately differ between servers.
/// </summary>
internal sealed class RespFrame
{
    public RespFrame(byte type, byte[] raw, byte[]? payload, IReadOnlyList<RespFrame> children)
    {
        Type = type;
        Raw = raw;
        Payload = payload;
        Children = children;
    }

    /// <summary>The type byte: + - : $ * _ , # ( ! = % ~ > |.</summary>
    public byte Type { get; }

    public byte[] Raw { get; }

    /// <summary>Text of a simple frame or content of a bulk one; null for aggregates and null bulks.</summary>
    public byte[]? Payload { get; }

    /// <summary>Elements of an aggregate (a map's keys and values alternate).</summary>
    public IReadOnlyList<RespFrame> Children { get; }

    public bool IsAggregate => Type is (byte)'*' or (byte)'%' or (byte)'~' or (byte)'>' or (byte)'|';

    public string Text => Payload is null ? string.Empty : Encoding.Latin1.GetString(Payload);

    public override string ToString() => Escape(Raw);

    /// <summary>A frame built by a normaliser (placeholder values, sorted elements).</summary>
    public static RespFrame Simple(string text) => new((byte)'+', Encoding.Latin1.GetBytes($"+{text}\r\n"), Encoding.Latin1.GetBytes(text), []);

    public static RespFrame Aggregate(byte type, IReadOnlyList<RespFrame> children)
    {
        var count = type is (byte)'%' or (byte)'|' ? children.Count / 2 : children.Count;
        var raw = new List<byte>(Encoding.ASCII.GetBytes($"{(char)type}{count}\r\n"));
        foreach (var child in children)
        {
            raw.AddRange(child.Raw);
        }

        return new RespFrame(type, [.. raw], null, children);
    }

    /// <summary>Tries to parse one frame at <paramref name="offset"/>; returns its length, 0 when incomplete.</summary>
    public static int TryParse(ReadOnlySpan<byte> buffer, int offset, out RespFrame? frame)
    {
        frame = null;
        if (offset >= buffer.Length)
        {
            return 0;
        }

        var type = buffer[offset];
        var lineEnd = buffer[offset..].IndexOf("\r\n"u8);
        if (lineEnd < 0)
        {
            return 0;
        }

        var line = buffer.Slice(offset + 1, lineEnd - 1);
        var position = offset + lineEnd + 2;
        switch (type)
        {
            case (byte)'+' or (byte)'-' or (byte)':' or (byte)'_' or (byte)',' or (byte)'#' or (byte)'(':
                frame = new RespFrame(type, buffer[offset..position].ToArray(), line.ToArray(), []);
                return position - offset;
            case (byte)'$' or (byte)'!' or (byte)'=':
            {
                var length = ParseLength(line);
                if (length < 0)
                {
                    frame = new RespFrame(type, buffer[offset..position].ToArray(), null, []);
                    return position - offset;
                }

                if (buffer.Length < position + length + 2)
                {
                    return 0;
                }

                if (buffer[position + length] != (byte)'\r' || buffer[position + length + 1] != (byte)'\n')
                {
                    throw new FormatException($"bulk frame not terminated by CRLF: {Escape(buffer[offset..(position + length + 2)])}");
                }

                var end = position + length + 2;
                frame = new RespFrame(type, buffer[offset..end].ToArray(), buffer.Slice(position, length).ToArray(), []);
                return end - offset;
            }

            case (byte)'*' or (byte)'%' or (byte)'~' or (byte)'>' or (byte)'|':
            {
                var count = ParseLength(line);
                if (count < 0)
                {
                    frame = new RespFrame(type, buffer[offset..position].ToArray(), null, []);
                    return position - offset;
                }

                var elements = type is (byte)'%' or (byte)'|' ? count * 2 : count;
                var children = new List<RespFrame>(elements);
                for (var i = 0; i < elements; i++)
                {
                    var used = TryParse(buffer, position, out var child);
                    if (used == 0)
                    {
                        return 0;
                    }

                    children.Add(child!);
                    position += used;
                }

                if (type == (byte)'|')
                {
                    // An attribute is followed by the frame it describes: they travel as one.
                    var used = TryParse(buffer, position, out var described);
                    if (used == 0)
                    {
                        return 0;
                    }

                    children.Add(described!);
                    position += used;
                }

                frame = new RespFrame(type, buffer[offset..position].ToArray(), null, children);
                return position - offset;
            }

            default:
                throw new FormatException($"not a RESP frame: {Escape(buffer[offset..Math.Min(buffer.Length, offset + 64)])}");
        }
    }

    private static int ParseLength(ReadOnlySpan<byte> digits)
        => int.Parse(Encoding.ASCII.GetString(digits), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Bytes as readable text: printable ASCII kept, CR/LF as \r\n, everything else \xHH.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        foreach (var b in bytes)
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }

        return text.ToString();
    }
}
