using System.Net;
using System.Text;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Tests.Acl;

public class AclRulesTests
{
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

    [Theory]
    [InlineData("off resetchannels -@all")]
    [InlineData("on resetchannels &news:* -@all +@pubsub", "on", ">pw", "&news:*", "+@pubsub", ">pw", "<pw")]
    [InlineData("off ~k* %R~r* %W~w* resetchannels -@all +ping", "~k*", "%R~r*", "%w~w*", "+ping")]
    [InlineData("off ~* &* +@all", "allkeys", "allchannels", "allcommands")]
    [InlineData("off ~x resetchannels +@all -@dangerous", "allcommands", "-@dangerous", "%RW~x")]
    [InlineData("on nopass sanitize-payload resetchannels -@all", "on", "+@all", "&a", "~b", "reset", "on", "nopass")]
    [InlineData("off resetchannels -@all +client -client|kill", "+client", "-client|kill")]
    [InlineData("off resetchannels -@all +get|x +get|y", "+get|x", "+GET|y", "+get|X")]
    [InlineData("off resetchannels +@all -publish", "+@all", "-publish")]
    [InlineData("off resetchannels -@all", "+@pubsub", "-@all")]
    public void Rules_are_described_as_redis_writes_them(string expected, params string[] ops)
        => Assert.Equal(expected, Build(ops).Describe());

    [Theory]
    [InlineData("foo", "Syntax error")]
    [InlineData("+nocmd", "Unknown command or category name in ACL")]
    [InlineData("+@nocat", "Unknown command or category name in ACL")]
    [InlineData("+client|", "Syntax error")]
    [InlineData("+client|list|x", "Allowing first-arg of a subcommand is not supported")]
    [InlineData("#abc", "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")]
    [InlineData("<never", "The password you are trying to remove from the user does not exist")]
    [InlineData("&a b", "Syntax error")]
    [InlineData("%X~a", "Syntax error")]
    [InlineData("+", "Unknown command or category name in ACL")]
    public void Bad_rules_are_refused_with_redis_reasons(string op, string reason)
        => Assert.Equal(reason, AclRules.ErrorText(AclRules.NewUser(false).Apply(op)));

    [Fact]
    public void A_pattern_after_all_is_refused()
    {
        Assert.StartsWith("Adding a pattern after the * pattern (or the 'allchannels' flag)", AclRules.ErrorText(Build("&*").Apply("&a")), StringComparison.Ordinal);
        Assert.StartsWith("Adding a pattern after the * pattern (or the 'allkeys' flag)", AclRules.ErrorText(Build("~*").Apply("~a")), StringComparison.Ordinal);
    }

    [Fact]
    public void Passwords_are_kept_only_as_sha256_hex_and_checked()
    {
        var rules = Build(">s3cret", "on");
        Assert.Equal([Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("s3cret"u8))], rules.Passwords);
        Assert.DoesNotContain("s3cret", rules.Describe(), StringComparison.Ordinal);
        Assert.True(rules.CheckPassword("s3cret"u8));
        Assert.False(rules.CheckPassword("s3cre"u8));
        Assert.False(rules.CheckPassword(""u8));
    }

    [Fact]
    public void Psubscribe_patterns_must_equal_an_allowed_pattern_while_channels_match_it()
    {
        byte[][] allowed = [Encoding.ASCII.GetBytes("news:*")];
        Assert.True(AclCheck.ChannelAllowed(allowed, "news:1"u8, literal: false));
        Assert.False(AclCheck.ChannelAllowed(allowed, "sport"u8, literal: false));
        Assert.True(AclCheck.ChannelAllowed(allowed, "news:*"u8, literal: true));
        Assert.False(AclCheck.ChannelAllowed(allowed, "news:1*"u8, literal: true));
        Assert.False(AclCheck.ChannelAllowed(allowed, "*"u8, literal: true));
    }

    [Fact]
    public void New_users_get_all_channels_under_acl_pubsub_default_allchannels()
    {
        var store = new AclStore(null, [["u", "on"]], null, allChannelsByDefault: true);
        Assert.Equal("on &* -@all", store.Find("u")!.Rules.Describe());
    }

    [Fact]
    public void Requirepass_sets_the_default_users_password_and_a_user_default_line_overrides_it()
    {
        var store = new AclStore("pw", [], null, false);
        Assert.True(store.DefaultRequiresAuth);
        Assert.NotNull(store.Authenticate("default"u8, "pw"u8));
        Assert.Null(store.Authenticate("default"u8, "no"u8));

        var overridden = new AclStore("pw", [["default", "on", "nopass", "+@all"]], null, false);
        Assert.False(overridden.DefaultRequiresAuth);
        Assert.Equal("on nopass sanitize-payload resetchannels +@all", overridden.Default.Rules.Describe());
    }

    [Theory]
    [InlineData("127.0.0.1", true, true, false)]
    [InlineData("127.5.6.7", true, true, false)]
    [InlineData("::1", true, true, false)]
    [InlineData("::ffff:127.0.0.1", true, true, false)]
    [InlineData("192.0.2.10", true, true, true)]
    [InlineData("192.0.2.10", false, true, false)]
    [InlineData("192.0.2.10", true, false, false)]
    [InlineData("2001:db8::1", true, true, true)]
    public void Protected_mode_denies_remote_clients_only_without_a_default_password(string remote, bool protectedMode, bool noPassword, bool denied)
    {
        var store = new AclStore(noPassword ? null : "pw", [], null, false);
        Assert.Equal(denied, ProtectedMode.Denies(protectedMode, store, new IPEndPoint(IPAddress.Parse(remote), 5000)));
    }

    [Fact]
    public void Users_and_an_aclfile_together_stop_start_up()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(["--user", "a", "on", "--aclfile", "/nonexistent.acl"]));
        Assert.Contains("please define either an ACL file or declare users directly in your redis.conf, but not both", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user alice on >pw &news:* +@pubsub\nuser alice off\n", "Duplicate user found")]
    [InlineData("user alice on +nocmd\n", "Error loading ACL rule '+nocmd' for the user named 'alice': Unknown command or category name in ACL")]
    [InlineData("user alice on <clear-secret\n", "Error loading ACL rule '<<redacted>' for the user named 'alice': The password you are trying to remove")]
    [InlineData("aclfile /nonexistent/users.acl\n", "Error loading ACLs, opening file '/nonexistent/users.acl': No such file or directory")]
    [InlineData("acl-pubsub-default some\n", "argument(s) must be one of the following: allchannels, resetchannels")]
    [InlineData("protected-mode maybe\n", "argument must be 'yes' or 'no'")]
    public void Bad_acl_configuration_stops_start_up_with_a_reason(string content, string reason)
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, content);
        try
        {
            var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load([path]));
            Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void User_lines_in_a_config_file_load()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "user alice on >pass &news:* +@pubsub\nacl-pubsub-default resetchannels\nprotected-mode no\n");
        try
        {
            var options = ConfigLoader.Load([path]);
            Assert.False(options.ProtectedMode);
            var store = new AclStore(options.RequirePass, options.Users, options.AclFile, options.AclPubSubAllChannels);
            Assert.NotNull(store.Authenticate("alice"u8, "pass"u8));
            Assert.Equal("on #d74ff0ee8da3b9806b18c877dbf29bbde50b5bd8e4dad7a3a725000feb82e8f1 resetchannels &news:* -@all +@pubsub", store.Find("alice")!.Rules.Describe());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
