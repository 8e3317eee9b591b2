using System.Text;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Commands;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Tests.Acl;

/// <summary>
/// Key checks of the stream commands, whose handlers are not registered here yet: the expected answers
/// are redis-server 7.0.15's ACL DRYRUN for a user with ~a* %R~r* %W~w* %RW~x*.
/// </summary>
public class AclKeyCheckTests
{
    private static readonly AclRules Rules = Build("~a*", "%R~r*", "%W~w*", "%RW~x*", "+@all");

    private static AclRules Build(params string[] ops)
    {
        var store = new AclStore(null, [], null, allChannelsByDefault: false);
        var rules = AclRules.NewUser(allChannelsByDefault: false);
        foreach (var op in ops)
        {
            Assert.Equal(AclRuleError.None, store.ApplyRule(rules, op));
        }

        return rules;
    }

    private static CommandDefinition Command(string fullName, int arity)
    {
        var bar = fullName.IndexOf('|', StringComparison.Ordinal);
        var command = bar < 0
            ? new CommandDefinition(fullName, arity, CommandFlags.None, null)
            : new CommandDefinition(fullName[(bar + 1)..], arity, CommandFlags.None, null, new CommandDefinition(fullName[..bar], -2, CommandFlags.None, null));
        command.Acl = AclCommandSet.Redis.Find(fullName);
        command.KeySpecs = KeySpecs.For(fullName);
        return command;
    }

    /// <summary>The refused key, or null when the command is allowed.</summary>
    private static string? Refused(string fullName, int arity, params string[] args)
    {
        var bytes = new List<byte>();
        var slots = new ArgSlot[args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            var arg = Encoding.Latin1.GetBytes(args[i]);
            slots[i] = new ArgSlot(bytes.Count, arg.Length);
            bytes.AddRange(arg);
        }

        var request = new RespRequest(bytes.ToArray(), slots);
        var denial = AclCheck.Check(Rules, Command(fullName, arity), request, 0, out var index);
        Assert.True(denial is AclDenial.None or AclDenial.Key, $"{denial}");
        return denial == AclDenial.Key ? args[index] : null;
    }

    [Theory]
    [InlineData("xadd r1 * a b", "r1")]
    [InlineData("xadd w1 * a b", null)]
    [InlineData("xrange w1 - +", "w1")]
    [InlineData("xrevrange r1 + -", null)]
    [InlineData("xlen w1", null)]
    [InlineData("xlen q", "q")]
    [InlineData("xdel w1 1", null)]
    [InlineData("xdel r1 1", "r1")]
    [InlineData("xtrim r1 maxlen 1", "r1")]
    [InlineData("xsetid r1 1", "r1")]
    [InlineData("xsetid x1 1", null)]
    public void Stream_keys_need_what_their_key_specs_say(string line, string? refused)
    {
        var args = line.Split(' ');
        var arity = args[0] switch { "xadd" => -5, "xrange" or "xrevrange" or "xtrim" => -4, "xlen" => 2, _ => -3 };
        Assert.Equal(refused, Refused(args[0], arity, args));
    }

    [Theory]
    [InlineData("xinfo stream w1", "w1")]
    [InlineData("xinfo stream r1", null)]
    [InlineData("xinfo stream q", "q")]
    public void Xinfo_stream_checks_its_key_at_index_2(string line, string? refused)
        => Assert.Equal(refused, Refused("xinfo|stream", -3, line.Split(' ')));

    [Theory]
    [InlineData("xinfo|groups", 3, "xinfo groups w1", "w1")]
    [InlineData("xinfo|groups", 3, "xinfo groups r1", null)]
    [InlineData("xinfo|consumers", 4, "xinfo consumers w1 g", "w1")]
    [InlineData("xinfo|consumers", 4, "xinfo consumers r1 w1", null)]
    public void Xinfo_groups_and_consumers_check_their_key_at_index_2(string command, int arity, string line, string? refused)
        => Assert.Equal(refused, Refused(command, arity, line.Split(' ')));

    [Theory]
    [InlineData("xread streams r1 w1 0 0", "w1")]
    [InlineData("xread streams r1 w1 r2 0 0 0", "w1")]
    [InlineData("xread block 0 streams r1 w1 0 0", "w1")]
    [InlineData("xread STREAMS r1 0", null)]
    [InlineData("xread streams q 0", "q")]
    [InlineData("xread streams a q 0", null)]
    [InlineData("xread streams streams q 0", "streams")]
    [InlineData("xread count 1 streams", null)]
    [InlineData("xread count streams q", null)]
    [InlineData("xread count 1 streams q", null)]
    [InlineData("xread STREAMS\0x q 0", "q")]
    public void Xread_checks_the_first_half_after_streams(string line, string? refused)
        => Assert.Equal(refused, Refused("xread", -4, line.Split(' ')));
}
