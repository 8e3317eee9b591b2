namespace Notistream.RespServer.Protocol;

/// <summary>Pre-encoded replies and frame pieces (Redis's shared objects).</summary>
internal static class RespConstants
{
    public static readonly byte[] Ok = "+OK\r\n"u8.ToArray();
    public static readonly byte[] Pong = "+PONG\r\n"u8.ToArray();
    public static readonly byte[] Reset = "+RESET\r\n"u8.ToArray();
    public static readonly byte[] NullBulk2 = "$-1\r\n"u8.ToArray();
    public static readonly byte[] Null3 = "_\r\n"u8.ToArray();
    public static readonly byte[] EmptyArray = "*0\r\n"u8.ToArray();
    public static readonly byte[] Crlf = "\r\n"u8.ToArray();

    public static readonly byte[] NoAuth = "-NOAUTH Authentication required.\r\n"u8.ToArray();
    public static readonly byte[] WrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"u8.ToArray();
    public static readonly byte[] SyntaxError = "-ERR syntax error\r\n"u8.ToArray();
    public static readonly byte[] NotInteger = "-ERR value is not an integer or out of range\r\n"u8.ToArray();
    public static readonly byte[] WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"u8.ToArray();
    public static readonly byte[] MaxClients = "-ERR max number of clients reached\r\n"u8.ToArray();

    public static ReadOnlySpan<byte> Message => "message"u8;
    public static ReadOnlySpan<byte> PMessage => "pmessage"u8;
    public static ReadOnlySpan<byte> SMessage => "smessage"u8;

    private const int SharedIntegers = 10000;
    private static readonly byte[][] Integers = CreateIntegers();

    /// <summary>":n\r\n", shared for small non-negative n (Redis shared.integers), else freshly encoded.</summary>
    public static byte[] Integer(long n)
    {
        if ((ulong)n < SharedIntegers)
        {
            return Integers[n];
        }

        return RespWriter.EncodeInteger(n);
    }

    private static byte[][] CreateIntegers()
    {
        var all = new byte[SharedIntegers][];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = RespWriter.EncodeInteger(i);
        }

        return all;
    }
}
