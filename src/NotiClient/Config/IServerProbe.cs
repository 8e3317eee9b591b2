namespace Notistream.Client.Config;

/// <summary>Tries a server once, for the setup questions.</summary>
internal interface IServerProbe
{
    /// <returns>null when the server answered PING (with the password, if any); otherwise what went wrong, in words.</returns>
    Task<string?> CheckAsync(ClientConfig config, CancellationToken cancellationToken);
}
