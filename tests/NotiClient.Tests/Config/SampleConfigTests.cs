using System.Text.RegularExpressions;
using Notistream.Client.Config;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Config;

/// <summary>config/config.sample.json, the sample that ships: ConfigFile reads it, it says the defaults, and it names every field.</summary>
public sealed class SampleConfigTests
{
    private static string SamplePath => Path.Join(DocPage.Root, "config", "config.sample.json");

    [Fact]
    public void ConfigFile_reads_the_sample_and_its_settings_are_the_defaults()
    {
        var config = ConfigFile.Load(SamplePath);

        Assert.Equal(new ClientConfig { Channels = config.Channels }, config);
        Assert.Equal(["alerts", "owner/*"], config.Channels.Select(c => c.Name));
    }

    [Fact]
    public void Every_field_ConfigFile_knows_is_in_the_sample()
    {
        // ConfigFile names the fields it knows when it meets one it does not.
        var error = Assert.Throws<ConfigException>(() => ConfigFile.Parse("x.json", "{ \"nosuchfield\": 1 }"u8.ToArray()));
        var known = Regex.Match(error.Message, @"known: ([^)]*)\)").Groups[1].Value.Split(", ");
        Assert.Contains("host", known);

        var text = File.ReadAllText(SamplePath);
        var missing = known.Where(field => !Regex.IsMatch(text, $"\"{field}\"\\s*:")).ToList();

        Assert.True(missing.Count == 0, $"config/config.sample.json does not name: {string.Join(", ", missing)}");
    }
}
