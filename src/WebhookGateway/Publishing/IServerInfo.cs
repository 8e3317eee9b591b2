namespace Notistream.Gateway.Publishing;

/// <summary>The pub/sub server's INFO, asked over the gateway's own connection (for <c>/dashboard</c>).</summary>
internal interface IServerInfo
{
    /// <summary>The server's address, as configured.</summary>
    string Server { get; }

    /// <summary>INFO's text. Throws when not connected, when the server refuses (NOPERM), or on a timeout.</summary>
    Task<string> InfoAsync();
}
