namespace Notistream.Gateway.Tokens;

/// <summary>What a scoped token may do on its channels: publish (write), subscribe (read), or both.</summary>
[Flags]
internal enum TokenAccess
{
    None = 0,
    Write = 1,
    Read = 2,
    ReadWrite = Read | Write,
}

/// <summary>The configuration spelling of <see cref="TokenAccess"/>.</summary>
internal static class TokenAccessText
{
    /// <summary>
    /// <c>read</c>, <c>write</c>, <c>read-write</c> (any case); unset means <c>write</c>, what a token
    /// meant before subscribing existed. Null for anything else.
    /// </summary>
    public static TokenAccess? Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "write" => TokenAccess.Write,
        "read" => TokenAccess.Read,
        "read-write" => TokenAccess.ReadWrite,
        _ => null,
    };
}
