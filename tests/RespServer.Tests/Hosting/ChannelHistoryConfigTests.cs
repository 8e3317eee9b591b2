using System.Text;
using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Tests.Hosting;

/// <summary>The channel-history directive: default, config file (repeatable), command line, CONFIG SET/GET, and its errors.</summary>
public class ChannelHistoryConfigTests
{
    [Fact]
    public void By_default_every_channel_keeps_its_last_1000_messages_of_24_hours()
    {
        var options = ConfigLoader.Load([]);
        var rule = Assert.Single(options.ChannelHistory);
        Assert.Equal(("*", 1000L, TimeSpan.FromHours(24)), (rule.Pattern, rule.MaxEntries, rule.MaxAge));
        Assert.Equal("* 1000 1d", HistoryRule.Format(options.ChannelHistory));
    }

    [Fact]
    public void In_a_config_file_the_first_line_replaces_the_default_and_later_lines_add_rules_in_order()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, """
            channel-history alerts:* 10000 7d
            channel-history builds/* 50 90m
            channel-history * 0 0
            """);
        try
        {
            var options = ConfigLoader.Load([path]);
            Assert.Equal("alerts:* 10000 7d builds/* 50 90m * 0 0", HistoryRule.Format(options.ChannelHistory));
            Assert.Equal(10000, HistoryRule.For(options.ChannelHistory, "alerts:disk"u8)!.MaxEntries);
            Assert.Equal(TimeSpan.FromMinutes(90), HistoryRule.For(options.ChannelHistory, "builds/x"u8)!.MaxAge);
            Assert.Equal(0, HistoryRule.For(options.ChannelHistory, "other"u8)!.MaxEntries);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(new[] { "--channel-history", "none" }, "")]
    [InlineData(new[] { "--channel-history", "a* 5 30s b* 6 1500ms" }, "a* 5 30s b* 6 1500ms")]
    [InlineData(new[] { "--channel-history", "a*", "5", "120" }, "a* 5 2m")]
    public void On_the_command_line_one_quoted_argument_or_several_words(string[] args, string expected)
    {
        var options = ConfigLoader.Load(args);
        Assert.Equal(expected, HistoryRule.Format(options.ChannelHistory));
        Assert.Null(HistoryRule.For(options.ChannelHistory, "zzz"u8));
    }

    [Theory]
    [InlineData("channel-history * 1000\n", "needs a glob, a maximum number of entries and a maximum age")]
    [InlineData("channel-history * many 24h\n", "'many' is not a number of entries")]
    [InlineData("channel-history * -1 24h\n", "'-1' is not a number of entries")]
    [InlineData("channel-history * 10 soon\n", "'soon' is not an age")]
    [InlineData("channel-history * 10 5y\n", "'5y' is not an age")]
    [InlineData("channel-history * 10 99999999999999999999d\n", "is not an age")]
    public void A_bad_rule_stops_start_up_with_the_reason(string text, string reason)
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, text);
        try
        {
            var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load([path]));
            Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Config_set_replaces_every_rule_and_config_get_prints_them()
    {
        var options = ConfigLoader.Load([]);
        Assert.Null(ServerConfig.TrySet(options, [("channel-history", "ops:* 100 1h *  10  10m")], runtime: true));
        Assert.Equal("ops:* 100 1h * 10 10m", ServerConfig.Snapshot(options).Single(p => p.Key == "channel-history").Value);
        Assert.Null(ServerConfig.TrySet(options, [("channel-history", "")], runtime: true));
        Assert.Empty(options.ChannelHistory);

        var error = ServerConfig.TrySet(options, [("channel-history", "* 10")], runtime: true);
        Assert.StartsWith("CONFIG SET failed (possibly related to argument 'channel-history') - channel-history needs", error, StringComparison.Ordinal);
        Assert.Empty(options.ChannelHistory);
    }

    [Fact]
    public void History_max_memory_defaults_to_64mb_and_takes_redis_s_memory_units()
    {
        var options = ConfigLoader.Load(["--history-max-memory", "2mb"]);
        Assert.Equal(2L * 1024 * 1024, options.HistoryMaxMemory);
        Assert.Equal(64L * 1024 * 1024, ConfigLoader.Load([]).HistoryMaxMemory);
        Assert.Null(ServerConfig.TrySet(options, [("history-max-memory", "0")], runtime: true));
        Assert.Equal("0", ServerConfig.Snapshot(options).Single(p => p.Key == "history-max-memory").Value);
        Assert.EndsWith("argument must be a memory value", ServerConfig.TrySet(options, [("history-max-memory", "lots")], runtime: true), StringComparison.Ordinal);
    }

    [Fact]
    public void A_glob_matches_binary_channel_names_and_the_first_matching_rule_wins()
    {
        var rules = new List<HistoryRule>();
        Assert.Null(HistoryRule.TryParse(["x?[ab]", "1", "1s", "x*", "2", "2s"], out rules));
        Assert.Equal(1, HistoryRule.For(rules, Encoding.Latin1.GetBytes("x\u00ffa"))!.MaxEntries);
        Assert.Equal(2, HistoryRule.For(rules, Encoding.Latin1.GetBytes("x\u00ff\u00ffb"))!.MaxEntries);
        Assert.Null(HistoryRule.For(rules, "y"u8));
    }
}
