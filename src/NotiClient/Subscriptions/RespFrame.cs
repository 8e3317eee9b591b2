using System.Globalization;
using System.Text;

namespace Notistream.Client.Subscriptions;

internal enum RespKind
{
    SimpleString,
    Error,
    Integer,
    BulkString,
    Array,
    Null,
}

/// <summary>One RESP2 reply or push, as the raw subscription connection reads it.</summary>
internal sealed class RespFrame
{
    private RespFrame(RespKind kind, byte[]? bytes = null, long integer = 0, RespFrame[]? items = null)
    {
        Kind = kind;
        Bytes = bytes;
        Integer = integer;
        Items = items;
    }

    public static RespFrame Null { get; } = new(RespKind.Null);

    public RespKind Kind { get; }

    /// <summary>The bytes of a simple string, error or bulk string.</summary>
    public byte[]? Bytes { get; }

    public long Integer { get; }

    public RespFrame[]? Items { get; }

    public bool IsError => Kind == RespKind.Error;

    /// <summary>Text of a string or error (UTF-8, invalid bytes as U+FFFD); an integer as digits; null for nil.</summary>
    public string? Text => Kind switch
    {
        RespKind.SimpleString or RespKind.Error or RespKind.BulkString => Encoding.UTF8.GetString(Bytes!),
        RespKind.Integer => Integer.ToString(CultureInfo.InvariantCulture),
        _ => null,
    };

    public static RespFrame Simple(byte[] bytes) => new(RespKind.SimpleString, bytes);

    public static RespFrame Error(byte[] bytes) => new(RespKind.Error, bytes);

    public static RespFrame Number(long value) => new(RespKind.Integer, integer: value);

    public static RespFrame Bulk(byte[] bytes) => new(RespKind.BulkString, bytes);

    public static RespFrame Array(RespFrame[] items) => new(RespKind.Array, items: items);

    public override string ToString() => Kind switch
    {
        RespKind.Array => "[" + string.Join(", ", Items!.Select(i => i.ToString())) + "]",
        RespKind.Null => "nil",
        RespKind.Error => "-" + Text,
        _ => Text!,
    };
}
