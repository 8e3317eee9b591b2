using Notistream.Client.Config;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Config;

public sealed class ConfigPathsTests
{
    [Fact]
    public void Linux_uses_XDG_CONFIG_HOME()
    {
        var host = TestHosts.Fake(HostPlatform.Linux, new Dictionary<string, string> { ["XDG_CONFIG_HOME"] = "/x/cfg", ["HOME"] = "/home/ann" });
        Assert.Equal("/x/cfg/notistream/config.json", ConfigPaths.DefaultConfigFile(host));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("relative/cfg")]
    public void Linux_falls_back_to_dot_config_when_XDG_CONFIG_HOME_is_unset_or_relative(string? xdg)
    {
        var variables = new Dictionary<string, string> { ["HOME"] = "/home/ann" };
        if (xdg is not null)
        {
            variables["XDG_CONFIG_HOME"] = xdg;
        }

        Assert.Equal("/home/ann/.config/notistream/config.json", ConfigPaths.DefaultConfigFile(TestHosts.Fake(HostPlatform.Linux, variables)));
    }

    [Fact]
    public void MacOS_uses_Application_Support()
    {
        var host = TestHosts.Fake(HostPlatform.MacOS, new Dictionary<string, string> { ["HOME"] = "/Users/ann", ["XDG_CONFIG_HOME"] = "/ignored" });
        Assert.Equal("/Users/ann/Library/Application Support/notistream/config.json", ConfigPaths.DefaultConfigFile(host));
    }

    [Fact]
    public void Windows_uses_APPDATA()
    {
        var host = TestHosts.Fake(HostPlatform.Windows, new Dictionary<string, string> { ["APPDATA"] = "/C/Users/ann/AppData/Roaming" });
        Assert.Equal(Path.Join("/C/Users/ann/AppData/Roaming", "notistream", "config.json"), ConfigPaths.DefaultConfigFile(host));
    }
}
