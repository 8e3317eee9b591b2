using System.Text;
using Notistream.Client.Config;
using Notistream.Client.Notifications;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Config;

public sealed class ConfigFileTests
{
    private const string Path = "/home/ann/.config/notistream/config.json";

    private static ClientConfig Parse(string json) => ConfigFile.Parse(Path, Encoding.UTF8.GetBytes(json));

    private static string ErrorOf(string json) => Assert.Throws<ConfigException>(() => Parse(json)).Message;

    [Fact]
    public void Saved_config_loads_back_the_same()
    {
        using var dir = new TempDirectory();
        var path = dir.File("sub/folder/config.json");
        var config = new ClientConfig
        {
            Host = "pi.local",
            Port = 6380,
            Channels = [new("alerts"), new("owner/*")],
            User = "reader",
            Password = "p\"a's$w{o}rd",
            Notifier = NotifierKind.Console,
            Connection = Client.Subscriptions.ConnectionSettings.Default with { KeepAliveInterval = TimeSpan.FromSeconds(0.5), ReconnectMaxDelay = TimeSpan.FromSeconds(7) },
        };

        ConfigFile.Save(path, config);
        var loaded = ConfigFile.Load(path);

        Assert.Equal(config.Host, loaded.Host);
        Assert.Equal(config.Port, loaded.Port);
        Assert.Equal(config.Channels, loaded.Channels);
        Assert.Equal(config.User, loaded.User);
        Assert.Equal(config.Password, loaded.Password);
        Assert.Equal(config.Notifier, loaded.Notifier);
        Assert.Equal(config.Connection, loaded.Connection);
        Assert.Empty(Directory.GetFiles(System.IO.Path.GetDirectoryName(path)!, "*.tmp"));
    }

    [Fact]
    public void Saved_file_is_readable_by_its_owner_only()
    {
        using var dir = new TempDirectory();
        var path = dir.File("config.json");
        ConfigFile.Save(path, new ClientConfig { Channels = [new("a")], Password = "secret" });
        if (OperatingSystem.IsWindows())
        {
            Assert.Skip("Unix file modes");
        }
        else
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void Minimal_file_takes_defaults_and_accepts_comments_and_trailing_commas()
    {
        var config = Parse("""
            // written by hand
            { "channels": ["alerts"], }
            """);
        Assert.Equal("localhost", config.Host);
        Assert.Equal(6379, config.Port);
        Assert.Null(config.Password);
        Assert.Equal(NotifierKind.Auto, config.Notifier);
    }

    [Fact]
    public void Channels_may_be_one_comma_separated_string_and_port_a_numeric_string()
    {
        var config = Parse("""{ "port": "6390", "channels": "a, b/*" }""");
        Assert.Equal(6390, config.Port);
        Assert.Equal(["a", "b/*"], config.Channels.Select(c => c.Name));
    }

    [Fact]
    public void Syntax_error_names_the_file_and_the_line()
    {
        var message = ErrorOf("{\n  \"host\": \"localhost\",\n  \"port\": 6379\n  \"channels\": []\n}");
        Assert.StartsWith(Path + ": not valid JSON (line 4,", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "port": 70000, "channels": ["a"] }""", "\"port\"", "from 1 to 65535")]
    [InlineData("""{ "port": "sixty", "channels": ["a"] }""", "\"port\"", "'sixty'")]
    [InlineData("""{ "port": 63.5, "channels": ["a"] }""", "\"port\"", "63.5")]
    [InlineData("""{ "host": "my host", "channels": ["a"] }""", "\"host\"", "not a host name")]
    [InlineData("""{ "host": 12, "channels": ["a"] }""", "\"host\"", "must be a string")]
    [InlineData("""{ "channels": [] }""", "\"channels\"", "at least one channel")]
    [InlineData("""{ "channels": ["a", 5] }""", "\"channels[1]\"", "must be a string")]
    [InlineData("""{ "channels": {"a": 1} }""", "\"channels\"", "list of channel names")]
    [InlineData("""{ "host": "localhost" }""", "\"channels\"", "missing")]
    [InlineData("""{ "chanels": ["a"] }""", "\"chanels\"", "unknown field")]
    [InlineData("""{ "channels": ["a"], "notifier": "growl" }""", "\"notifier\"", "auto, freedesktop")]
    [InlineData("""{ "channels": ["a"], "keepaliveSeconds": 0 }""", "\"keepaliveSeconds\"", "number of seconds")]
    [InlineData("""{ "channels": ["a"], "reconnectMinSeconds": 5, "reconnectMaxSeconds": 2 }""", "\"reconnectMaxSeconds\"", "reconnectMinSeconds")]
    public void Bad_value_names_the_file_and_the_field(string json, string field, string problem)
    {
        var message = ErrorOf(json);
        Assert.StartsWith($"{Path}: field {field}: ", message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Fact]
    public void Not_an_object_is_refused_with_the_file_name()
    {
        Assert.StartsWith(Path + ": expected a JSON object", ErrorOf("""["alerts"]"""), StringComparison.Ordinal);
    }

    [Fact]
    public void Unreadable_file_is_a_config_error_naming_it()
    {
        using var dir = new TempDirectory();
        var message = Assert.Throws<ConfigException>(() => ConfigFile.Load(dir.Path)).Message; // a folder, not a file
        Assert.StartsWith(dir.Path + ": cannot be read", message, StringComparison.Ordinal);
    }
}
