using Notistream.Client.Config;
using Xunit;

namespace Notistream.Client.Tests.Config;

public sealed class ConfigValidationTests
{
    [Theory]
    [InlineData("localhost", "localhost")]
    [InlineData("  redis.example.com ", "redis.example.com")]
    [InlineData("10.0.0.5", "10.0.0.5")]
    [InlineData("::1", "::1")]
    [InlineData("[::1]", "::1")]
    public void Accepts_host_names_and_addresses(string typed, string expected)
    {
        Assert.True(ConfigValidation.TryParseHost(typed, out var host, out var error), error);
        Assert.Equal(expected, host);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("my host")]
    [InlineData("host:6379")]
    [InlineData("http://localhost")]
    public void Refuses_what_is_not_a_host(string typed)
    {
        Assert.False(ConfigValidation.TryParseHost(typed, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("6379", 6379)]
    [InlineData(" 1 ", 1)]
    [InlineData("65535", 65535)]
    public void Accepts_ports(string typed, int expected)
    {
        Assert.True(ConfigValidation.TryParsePort(typed, out var port, out _));
        Assert.Equal(expected, port);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65536")]
    [InlineData("-1")]
    [InlineData("+80")]
    [InlineData("63 79")]
    [InlineData("6379.0")]
    [InlineData("abc")]
    [InlineData("")]
    public void Refuses_bad_ports_saying_the_rule(string typed)
    {
        Assert.False(ConfigValidation.TryParsePort(typed, out _, out var error));
        Assert.Contains("from 1 to 65535", error, StringComparison.Ordinal);
        Assert.Contains($"'{typed.Trim()}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Channels_are_comma_separated_and_glob_characters_make_a_pattern()
    {
        Assert.True(ConfigValidation.TryParseChannels(" alerts, owner/*,, deploy?,x[ab] , alerts", out var channels, out _));
        Assert.Equal(["alerts", "owner/*", "deploy?", "x[ab]"], channels.Select(c => c.Name));
        Assert.Equal([false, true, true, true], channels.Select(c => c.IsPattern));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ,")]
    public void At_least_one_channel_is_required(string typed)
    {
        Assert.False(ConfigValidation.TryParseChannels(typed, out _, out var error));
        Assert.Contains("at least one channel", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Channel_with_a_control_character_is_refused()
    {
        Assert.False(ConfigValidation.TryValidateChannels(["ok", "bad\u001b[31m"], out _, out var error));
        Assert.Contains("control character", error, StringComparison.Ordinal);
    }
}
