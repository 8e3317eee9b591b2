namespace Notistream.LoadGen.Wire;

internal enum RespKind : byte
{
    None,
    Simple,
    Error,
    Integer,
    Bulk,
    Null,
    Array,
}

/// <summary>One element of a reply: its kind, its integer, or where its bytes lie in the parsed buffer.</summary>
internal readonly record struct RespElement(RespKind Kind, long Integer, int Offset, int Length);

/// <summary>
/// One parsed RESP2 reply. Only what the load generator meets: simple strings, errors, integers, bulk
/// strings and flat arrays of up to <see cref="MaxElements"/> of those (subscribe confirmations and
/// message pushes). Element offsets point into the buffer the reply was parsed from.
/// </summary>
internal struct RespReply
{
    public const int MaxElements = 4;

    public RespKind Kind;
    public long Integer;
    public int Offset;
    public int Length;
    public int Count;
    public RespElement E0;
    public RespElement E1;
    public RespElement E2;
    public RespElement E3;

    public readonly RespElement this[int index] => index switch
    {
        0 => E0,
        1 => E1,
        2 => E2,
        3 => E3,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    internal void Set(int index, RespElement element)
    {
        switch (index)
        {
            case 0: E0 = element; break;
            case 1: E1 = element; break;
            case 2: E2 = element; break;
            default: E3 = element; break;
        }
    }
}
