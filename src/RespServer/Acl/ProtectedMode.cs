using System.Net;

namespace Notistream.RespServer.Acl;

/// <summary>
/// Redis's protected mode (networking.c clientAcceptHandler): while it is on and the default user
/// has no password, a client from anywhere but the loopback interface gets the DENIED error and
/// is closed.
/// </summary>
internal static class ProtectedMode
{
    /// <summary>Redis 7.0's text, word for word (typo included).</summary>
    public static readonly byte[] Denied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"u8.ToArray();

    /// <summary>Whether a client from <paramref name="remote"/> is to be turned away now.</summary>
    public static bool Denies(bool protectedMode, AclStore acl, EndPoint? remote)
        => protectedMode && acl.Default.Rules.NoPass && !IsLoopback(remote);

    /// <summary>connIsLocal: 127.0.0.0/8 or ::1 (an IPv4-mapped address counts as its IPv4 address).</summary>
    public static bool IsLoopback(EndPoint? remote) => remote switch
    {
        IPEndPoint ip => IPAddress.IsLoopback(ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address),
        null => false,
        _ => true, // a Unix domain socket is local
    };
}
