using System.Text;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>CLIENT ID/SETNAME/GETNAME/SETINFO/INFO/LIST/KILL/REPLY/NO-EVICT/HELP (networking.c clientCommand).</summary>
internal static class ClientCommands
{
    public const string InvalidNameError = "Client names cannot contain spaces, newlines or special characters.";

    public static void Register(CommandTable table)
    {
        table.Add("client", -2, null)
            .Add("id", 2, (c, in r) => c.Writer.WriteInteger(c.Id))
            .Add("getname", 2, GetName)
            .Add("setname", 3, SetName)
            .Add("setinfo", 4, SetInfo)
            .Add("info", 2, (c, in r) => c.Writer.WriteVerbatim(c.Describe() + "\n"))
            .Add("list", -2, List)
            .Add("kill", -3, Kill)
            .Add("reply", 3, Reply)
            .Add("no-evict", 3, NoEvict)
            .Add("help", 2, Help);
    }

    /// <summary>Printable ASCII without spaces ('!'..'~'), as Redis's validateClientName.</summary>
    public static bool IsValidName(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (b is < (byte)'!' or > (byte)'~')
            {
                return false;
            }
        }

        return true;
    }

    private static void GetName(RespConnection client, in RespRequest request)
    {
        if (client.Name.Length == 0)
        {
            client.Writer.WriteNull();
        }
        else
        {
            client.Writer.WriteBulk(client.Name);
        }
    }

    private static void SetName(RespConnection client, in RespRequest request)
    {
        if (!IsValidName(request[2]))
        {
            client.Writer.WriteError(InvalidNameError);
            return;
        }

        client.Name = Encoding.ASCII.GetString(request[2]);
        client.Writer.WriteRaw(RespConstants.Ok);
    }

    /// <summary>Redis 7.2's CLIENT SETINFO LIB-NAME|LIB-VER, which StackExchange.Redis and others send on connect.</summary>
    private static void SetInfo(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var isName = request.Is(2, "LIB-NAME"u8);
        if (!isName && !request.Is(2, "LIB-VER"u8))
        {
            writer.WriteErrorRaw([.. "-ERR Unrecognized option '"u8, .. CommandTable.CString(request[2], int.MaxValue), .. "'"u8]);
            return;
        }

        if (!IsValidName(request[3]))
        {
            writer.WriteError($"{(isName ? "lib-name" : "lib-ver")} cannot contain spaces, newlines or special characters.");
            return;
        }

        var value = Encoding.ASCII.GetString(request[3]);
        if (isName)
        {
            client.LibName = value;
        }
        else
        {
            client.LibVersion = value;
        }

        writer.WriteRaw(RespConstants.Ok);
    }

    private static void List(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        IEnumerable<RespConnection> clients = client.Server.Clients.Snapshot();
        if (request.Count == 4 && request.Is(2, "TYPE"u8))
        {
            if (!TryParseType(request[3], out var pubsub))
            {
                writer.WriteErrorRaw([.. "-ERR Unknown client type '"u8, .. CommandTable.CString(request[3], int.MaxValue), .. "'"u8]);
                return;
            }

            clients = pubsub switch
            {
                true => client.Server.Clients.Snapshot().Where(c => c.IsPubSub),
                false => client.Server.Clients.Snapshot().Where(c => !c.IsPubSub),
                null => [],
            };
        }
        else if (request.Count > 3 && request.Is(2, "ID"u8))
        {
            var ids = new HashSet<long>();
            for (var i = 3; i < request.Count; i++)
            {
                if (!RespNumber.TryParseInt64(request[i], out var id) || id <= 0)
                {
                    writer.WriteError("Invalid client ID");
                    return;
                }

                ids.Add(id);
            }

            clients = clients.Where(c => ids.Contains(c.Id));
        }
        else if (request.Count != 2)
        {
            writer.WriteRaw(RespConstants.SyntaxError);
            return;
        }

        var text = new StringBuilder();
        foreach (var c in clients)
        {
            text.Append(c.Describe()).Append('\n');
        }

        writer.WriteVerbatim(text.ToString());
    }

    /// <summary>normal → false, pubsub → true, master/replica/slave → null (none here).</summary>
    private static bool TryParseType(ReadOnlySpan<byte> type, out bool? pubsub)
    {
        pubsub = null;
        if (RespRequest.EqualsIgnoreCase(type, "NORMAL"u8))
        {
            pubsub = false;
            return true;
        }

        if (RespRequest.EqualsIgnoreCase(type, "PUBSUB"u8))
        {
            pubsub = true;
            return true;
        }

        return RespRequest.EqualsIgnoreCase(type, "MASTER"u8) || RespRequest.EqualsIgnoreCase(type, "REPLICA"u8)
            || RespRequest.EqualsIgnoreCase(type, "SLAVE"u8);
    }

    private static void Kill(RespConnection client, in RespRequest request)
    {
        var writer = client.Writer;
        var clients = client.Server.Clients.Snapshot();
        if (request.Count == 3)
        {
            // Old form: CLIENT KILL ip:port, +OK or "No such client".
            var addr = Encoding.UTF8.GetString(request[2]);
            var target = clients.FirstOrDefault(c => c.Address == addr);
            if (target is null)
            {
                writer.WriteError("No such client");
                return;
            }

            writer.WriteRaw(RespConstants.Ok);
            KillClient(client, target);
            return;
        }

        long? id = null;
        string? address = null, localAddress = null;
        Acl.AclUser? user = null;
        bool? typePubSub = null;
        var typeGiven = false;
        var skipMe = true;
        for (var i = 2; i < request.Count; i += 2)
        {
            if (i + 1 >= request.Count)
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return;
            }

            var value = request[i + 1];
            if (request.Is(i, "ID"u8))
            {
                if (!RespNumber.TryParseInt64(value, out var parsed) || parsed <= 0)
                {
                    writer.WriteError("client-id should be greater than 0");
                    return;
                }

                id = parsed;
            }
            else if (request.Is(i, "TYPE"u8))
            {
                if (!TryParseType(value, out typePubSub))
                {
                    writer.WriteErrorRaw([.. "-ERR Unknown client type '"u8, .. CommandTable.CString(value, int.MaxValue), .. "'"u8]);
                    return;
                }

                typeGiven = true;
            }
            else if (request.Is(i, "ADDR"u8))
            {
                address = Encoding.UTF8.GetString(value);
            }
            else if (request.Is(i, "LADDR"u8))
            {
                localAddress = Encoding.UTF8.GetString(value);
            }
            else if (request.Is(i, "USER"u8))
            {
                user = client.Server.Acl.Find(Encoding.Latin1.GetString(value));
                if (user is null)
                {
                    writer.WriteErrorRaw([.. "-ERR No such user '"u8, .. CommandTable.CString(value, int.MaxValue), .. "'"u8]);
                    return;
                }
            }
            else if (request.Is(i, "SKIPME"u8))
            {
                if (RespRequest.EqualsIgnoreCase(value, "YES"u8))
                {
                    skipMe = true;
                }
                else if (RespRequest.EqualsIgnoreCase(value, "NO"u8))
                {
                    skipMe = false;
                }
                else
                {
                    writer.WriteRaw(RespConstants.SyntaxError);
                    return;
                }
            }
            else
            {
                writer.WriteRaw(RespConstants.SyntaxError);
                return;
            }
        }

        var killed = 0;
        foreach (var target in clients)
        {
            if ((id is { } wanted && target.Id != wanted)
                || (address is not null && target.Address != address)
                || (localAddress is not null && target.LocalAddress != localAddress)
                || (user is not null && target.User != user)
                || (typeGiven && (typePubSub is null || target.IsPubSub != typePubSub))
                || (skipMe && target == client))
            {
                continue;
            }

            killed++;
            KillClient(client, target);
        }

        writer.WriteInteger(killed);
    }

    /// <summary>Killing oneself closes after this reply is written; anyone else is closed at once.</summary>
    private static void KillClient(RespConnection self, RespConnection target)
    {
        if (target == self)
        {
            self.CloseAfterReply = true;
        }
        else
        {
            target.Abort(Output.ConnectionEnd.Killed, $"CLIENT KILL by id={self.Id}");
        }
    }

    private static void Reply(RespConnection client, in RespRequest request)
    {
        if (request.Is(2, "ON"u8))
        {
            client.ReplyMode = ReplyMode.On;
            client.Writer.WriteRaw(RespConstants.Ok);
        }
        else if (request.Is(2, "OFF"u8))
        {
            client.ReplyMode = ReplyMode.Off;
        }
        else if (request.Is(2, "SKIP"u8))
        {
            if (client.ReplyMode != ReplyMode.Off)
            {
                client.ReplyMode = ReplyMode.SkipNext;
            }
        }
        else
        {
            client.Writer.WriteRaw(RespConstants.SyntaxError);
        }
    }

    /// <summary>Accepted for compatibility: nothing is ever evicted here.</summary>
    private static void NoEvict(RespConnection client, in RespRequest request)
    {
        if (request.Is(2, "ON"u8) || request.Is(2, "OFF"u8))
        {
            client.Writer.WriteRaw(RespConstants.Ok);
        }
        else
        {
            client.Writer.WriteRaw(RespConstants.SyntaxError);
        }
    }

    private static void Help(RespConnection client, in RespRequest request) => HelpText.Write(client.Writer, "CLIENT",
    [
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client library name or version.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
    ]);
}
