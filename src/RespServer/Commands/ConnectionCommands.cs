using System.Text;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT.</summary>
internal static class ConnectionCommands
{
    public static void Register(CommandTable table)
    {
        table.Add("ping", -1, Ping, CommandFlags.PubSubContext);
        table.Add("echo", 2, (c, in r) => c.Writer.WriteBulk(r[1]));
        table.Add("quit", -1, Quit, CommandFlags.NoAuth | CommandFlags.PubSubContext);
        table.Add("reset", 1, Reset, CommandFlags.NoAuth | CommandFlags.PubSubContext);
        table.Add("hello", -1, Hello, CommandFlags.NoAuth);
        table.Add("auth", -2, Auth, CommandFlags.NoAuth);
        table.Add("select", 2, Select);
    }

    private static void Ping(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (request.Count > 2)
        {
            writer.WriteError("wrong number of arguments for 'ping' command");
            return;
        }

        if (client.IsPubSub && client.Protocol == 2)
        {
            writer.WriteArrayHeader(2);
            writer.WriteBulk("pong"u8);
            writer.WriteBulk(request.Count == 1 ? default : request[1]);
            return;
        }

        if (request.Count == 1)
        {
            writer.WriteRaw(RespConstants.Pong);
        }
        else
        {
            writer.WriteBulk(request[1]);
        }
    }

    private static void Quit(RespConnection client, in RespRequest request)
    {
        client.Writer.WriteRaw(RespConstants.Ok);
        client.CloseAfterReply = true;
    }

    private static void Reset(RespConnection client, in RespRequest request)
    {
        var subscribed = client.IsPubSub;
        client.ClearState();
        if (subscribed)
        {
            client.AwaitFanOuts(); // no message after +RESET (see UNSUBSCRIBE)
        }

        client.Writer.WriteRaw(RespConstants.Reset);
    }

    private static void Hello(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        long version = 0;
        var next = 1;
        if (request.Count >= 2)
        {
            if (!RespNumber.TryParseInt64(request[next++], out version))
            {
                writer.WriteError("Protocol version is not an integer or out of range");
                return;
            }

            if (version is < 2 or > 3)
            {
                writer.WriteError("-NOPROTO unsupported protocol version");
                return;
            }
        }

        var hasAuth = false;
        ReadOnlySpan<byte> user = default, password = default, name = default;
        var hasName = false;
        for (var j = next; j < request.Count; j++)
        {
            var more = request.Count - 1 - j;
            if (request.Is(j, "AUTH"u8) && more >= 2)
            {
                hasAuth = true;
                user = request[j + 1];
                password = request[j + 2];
                j += 2;
            }
            else if (request.Is(j, "SETNAME"u8) && more >= 1)
            {
                name = request[j + 1];
                hasName = true;
                if (!ClientCommands.IsValidName(name))
                {
                    writer.WriteError(ClientCommands.InvalidNameError);
                    return;
                }

                j++;
            }
            else
            {
                writer.WriteErrorRaw([.. "-ERR Syntax error in HELLO option '"u8, .. CommandTable.CString(request[j], int.MaxValue), .. "'"u8]);
                return;
            }
        }

        if (hasAuth && !TryAuthenticate(client, request[0], user, password))
        {
            writer.WriteRaw(RespConstants.WrongPass);
            return;
        }

        if (!client.Authenticated)
        {
            writer.WriteError("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
            return;
        }

        if (hasName)
        {
            client.Name = Encoding.UTF8.GetString(name);
        }

        if (version != 0)
        {
            client.Protocol = (int)version;
        }

        writer = client.Writer;
        writer.WriteMapHeader(7);
        writer.WriteBulk("server"u8);
        writer.WriteBulk("redis"u8);
        writer.WriteBulk("version"u8);
        writer.WriteBulk(ServerContext.RedisVersion);
        writer.WriteBulk("proto"u8);
        writer.WriteInteger(client.Protocol);
        writer.WriteBulk("id"u8);
        writer.WriteInteger(client.Id);
        writer.WriteBulk("mode"u8);
        writer.WriteBulk("standalone"u8);
        writer.WriteBulk("role"u8);
        writer.WriteBulk("master"u8);
        writer.WriteBulk("modules"u8);
        writer.WriteArrayHeader(0);
    }

    private static void Auth(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (request.Count > 3)
        {
            writer.WriteRaw(RespConstants.SyntaxError);
            return;
        }

        if (request.Count == 2 && client.Server.Acl.Default.Rules.NoPass)
        {
            writer.WriteError("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }

        var ok = request.Count == 2
            ? TryAuthenticate(client, request[0], "default"u8, request[1])
            : TryAuthenticate(client, request[0], request[1], request[2]);
        writer.WriteRaw(ok ? RespConstants.Ok : RespConstants.WrongPass);
    }

    /// <summary>ACLAuthenticateUser: on success the connection runs as that user.</summary>
    internal static bool TryAuthenticate(RespConnection client, ReadOnlySpan<byte> command, ReadOnlySpan<byte> user, ReadOnlySpan<byte> password)
    {
        var authenticated = client.Server.Acl.Authenticate(user, password);
        if (authenticated is null)
        {
            client.Server.Acl.Log.Add("auth", System.Text.Encoding.Latin1.GetString(command), System.Text.Encoding.Latin1.GetString(user), client.Describe());
            return false;
        }

        client.User = authenticated;
        client.Authenticated = true;
        return true;
    }

    private static void Select(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        if (!RespNumber.TryParseInt64(request[1], out var db))
        {
            writer.WriteRaw(RespConstants.NotInteger);
            return;
        }

        if (db is < int.MinValue or > int.MaxValue)
        {
            writer.WriteError("value is out of range, value must between -2147483648 and 2147483647");
            return;
        }

        if (db < 0 || db >= client.Server.Options.Databases)
        {
            writer.WriteError("DB index is out of range");
            return;
        }

        client.Database = (int)db;
        writer.WriteRaw(RespConstants.Ok);
    }
}
