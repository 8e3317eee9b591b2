using System.Text;
using Notistream.RespServer.Compat.Tests.Harness;

namespace Notistream.RespServer.Compat.Tests.Acl;

/// <summary>Both servers started with the same <c>user</c> directives (the default user keeps no password).</summary>
public sealed class AclServerPair : ServerPair
{
    internal static readonly string[] Users =
    [
        "--user", "alice", "on", ">alicepw", "&news:*", "&alerts", "+@pubsub", "+ping",
        "--user", "bob", "on", ">bobpw", "#" + Sha256Hex("bobpw2"), "&bob:*", "+subscribe", "+psubscribe", "+publish",
        "--user", "off1", "off", ">offpw", "+@all", "allchannels",
        "--user", "keys", "on", "nopass", "~k:*", "%R~r:*", "+get", "+ping",
        "--user", "se", "on", ">sepw", "&news:*", "+@pubsub", "+@connection", "+info",
    ];

    public AclServerPair()
        : base(Users, Users)
    {
    }

    internal static string Sha256Hex(string password)
        => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(password)));
}

/// <summary>Both servers with an aclfile each (same content, own file, so ACL SAVE writes apart).</summary>
public sealed class AclFileServerPair : ServerPair
{
    internal const string Content = "user default on nopass ~* &* +@all\nuser fileuser on #e7de0cd724aaf7d717d8df573e5288b9a66194231cb910394794dd163c2e8854 resetchannels &f:* -@all +@pubsub\n";

    public AclFileServerPair()
        : this(Write("ours"), Write("redis"))
    {
    }

    private AclFileServerPair(string ours, string redis)
        : base(["--aclfile", ours], ["--aclfile", redis])
    {
        OurFile = ours;
        RedisFile = redis;
    }

    public string OurFile { get; }

    public string RedisFile { get; }

    private static string Write(string who)
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-acl-{who}-{Guid.NewGuid():N}.acl");
        File.WriteAllText(path, Content);
        return path;
    }
}

/// <summary>Both servers with users whose key patterns cover each kind of key permission.</summary>
public sealed class AclKeyServerPair : ServerPair
{
    internal static readonly string[] Users =
    [
        "--user", "kp", "on", "nopass", "~a*", "%R~r*", "%W~w*", "%RW~x*", "&c*", "+@all",
        "--user", "kall", "on", "nopass", "allkeys", "+@all",
        "--user", "kreset", "on", "nopass", "~a*", "resetkeys", "%R~b*", "+@all",
        "--user", "knone", "on", "nopass", "&c*", "+@all",
        "--user", "kcmd", "on", "nopass", "~a*", "+get", "+exists",
        "--user", "ks", "on", "nopass", "~s*", "%R~r*", "%W~w*", "%RW~x*", "+@all",
        "--user", "kscmd", "on", "nopass", "~s*", "+xread", "+xlen", "+xinfo|stream",
        "--user", "kpub", "on", "nopass", "~ch", "resetkeys", "resetchannels", "&ch", "+@all",
    ];

    public AclKeyServerPair()
        : base(Users, Users)
    {
    }
}
