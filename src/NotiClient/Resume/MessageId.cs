using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Notistream.Client.Resume;

/// <summary>
/// A message's id as the server gives it: "ms-seq", the id of the entry in the channel's stream. The
/// server draws ids from one generator, so they increase across all channels and one id is a cursor
/// for a whole set of channels.
/// </summary>
internal readonly record struct MessageId(ulong Ms, ulong Seq) : IComparable<MessageId>
{
    public static readonly MessageId Zero = new(0, 0);

    public int CompareTo(MessageId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);

    public static bool operator <(MessageId a, MessageId b) => a.CompareTo(b) < 0;

    public static bool operator >(MessageId a, MessageId b) => a.CompareTo(b) > 0;

    public static bool operator <=(MessageId a, MessageId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(MessageId a, MessageId b) => a.CompareTo(b) >= 0;

    public static MessageId Max(MessageId a, MessageId b) => a >= b ? a : b;

    /// <summary>"ms-seq", or "ms" alone (sequence 0), as NOTI.SUBSCRIBE and XREAD take them.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out MessageId id)
    {
        id = Zero;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        var msText = dash < 0 ? text : text[..dash];
        var seqText = dash < 0 ? "0" : text[(dash + 1)..];
        if (!IsDigits(msText) || !IsDigits(seqText)
            || !ulong.TryParse(msText, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !ulong.TryParse(seqText, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            return false;
        }

        id = new MessageId(ms, seq);
        return true;
    }

    public static MessageId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a message id (ms-seq)");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Ms}-{Seq}");

    private static bool IsDigits(string text) => text.Length is > 0 and <= 20 && text.All(char.IsAsciiDigit);
}
