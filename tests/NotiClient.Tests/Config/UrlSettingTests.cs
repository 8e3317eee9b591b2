using System.CommandLine;
using System.Text;
using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Resume;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Config;

/// <summary>The gateway's URL as a setting: <c>--url</c>, <c>NOTISTREAM_URL</c>, the config file's <c>"url"</c>, and the setup questions.</summary>
public sealed class UrlSettingTests
{
    private static ClientConfig Resolve(string[] args, (string, string)[] environment, string? configJson)
    {
        var options = new CliOptions();
        var root = new RootCommand();
        foreach (var option in options.All)
        {
            root.Options.Add(option);
        }

        var result = root.Parse(args);
        Assert.Empty(result.Errors);
        var overrides = options.Read(result, TestHosts.Fake(HostPlatform.Linux, environment.ToDictionary(v => v.Item1, v => v.Item2)));
        var file = configJson is null ? new ClientConfig() : ConfigFile.Parse("config.json", Encoding.UTF8.GetBytes(configJson));
        return overrides.ApplyTo(file);
    }

    [Fact]
    public void The_config_file_url_loads_saves_and_names_the_endpoint()
    {
        var config = ConfigFile.Parse("c.json", """{ "url": "https://gw.example.net:8443/notistream/", "channels": ["alerts"] }"""u8.ToArray());

        Assert.Equal(new Uri("https://gw.example.net:8443/notistream/"), config.Url);
        Assert.Equal("https://gw.example.net:8443/notistream", config.EndPointText);
        var saved = Encoding.UTF8.GetString(ConfigFile.Serialize(config));
        Assert.Contains("\"url\": \"https://gw.example.net:8443/notistream\"", saved, StringComparison.Ordinal);
        Assert.DoesNotContain("\"host\"", saved, StringComparison.Ordinal);
        Assert.Equal(config.EndPointText, ConfigFile.Parse("c.json", Encoding.UTF8.GetBytes(saved)).EndPointText);
    }

    [Theory]
    [InlineData("""{ "url": "gw.example.net", "channels": ["a"] }""", "is not an http:// or https:// URL")]
    [InlineData("""{ "url": "https://gw.example.net", "host": "localhost", "channels": ["a"] }""", "one or the other")]
    [InlineData("""{ "url": 8080, "channels": ["a"] }""", "must be a string")]
    public void A_bad_url_in_the_file_names_the_field(string json, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigFile.Parse("c.json", Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith("c.json: field \"url\": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_layer_chooses_between_url_and_host_and_the_higher_one_wins()
    {
        const string FileWithHost = """{ "host": "pubsub.lan", "channels": ["a"] }""";
        const string FileWithUrl = """{ "url": "https://gw.example.net", "channels": ["a"] }""";

        Assert.Equal(new Uri("https://env.example.net"), Resolve([], [("NOTISTREAM_URL", "https://env.example.net")], FileWithHost).Url);
        Assert.Equal(new Uri("https://cli.example.net"), Resolve(["--url", "https://cli.example.net"], [], FileWithHost).Url);
        Assert.Null(Resolve(["--host", "pubsub.lan"], [], FileWithUrl).Url);
        Assert.Null(Resolve([], [("NOTISTREAM_HOST", "pubsub.lan")], FileWithUrl).Url);
        // startserver.sh's NOTISTREAM_PORT is the server's: it leaves the file's URL in place.
        Assert.Equal(new Uri("https://gw.example.net"), Resolve([], [("NOTISTREAM_PORT", "6380")], FileWithUrl).Url);
        var error = Assert.Throws<ConfigException>(() => EnvironmentSettings.Read(
            name => name switch { "NOTISTREAM_URL" => "https://gw.example.net", "NOTISTREAM_HOST" => "pubsub.lan", _ => null }));
        Assert.Contains("NOTISTREAM_URL and NOTISTREAM_HOST are both set", error.Message, StringComparison.Ordinal);
        Assert.Contains("NOTISTREAM_URL: ", Assert.Throws<ConfigException>(() => EnvironmentSettings.Read(n => n == "NOTISTREAM_URL" ? "ftp://x" : null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cursor_file_of_a_url_is_its_own_and_that_of_host_and_port_is_unchanged()
    {
        var channels = new[] { new ChannelSpec("alerts") };
        var overHttp = CursorStore.For(new ClientConfig { Url = new Uri("https://gw.example.net"), Channels = channels }, "/state");
        var overResp = CursorStore.For(new ClientConfig { Channels = channels }, "/state");

        Assert.NotEqual(overHttp.Path, overResp.Path);
        Assert.Equal("https://gw.example.net", overHttp.Server);
        // The key of host and port is what it was before URLs: existing cursor files are still found.
        var key = "localhost\n6379\n\nalerts";
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        Assert.Equal(Path.Join("/state", $"cursor-{hash}.json"), overResp.Path);
    }

    private sealed class RecordingProbe : IServerProbe
    {
        public List<ClientConfig> Checked { get; } = [];

        public Task<string?> CheckAsync(ClientConfig config, CancellationToken cancellationToken)
        {
            Checked.Add(config);
            return Task.FromResult<string?>(null);
        }
    }

    [Fact]
    public async Task The_setup_questions_take_a_url_for_the_server_and_then_ask_no_port()
    {
        var output = new StringWriter();
        var probe = new RecordingProbe();
        var wizard = new SetupWizard(new Prompter(new StringReader("ftp://gw\nhttps://gw.example.net\nalerts\nt0ken\n"), output), output, probe);

        var config = await wizard.RunAsync(null, CancellationToken.None);

        Assert.NotNull(config);
        Assert.Equal(new Uri("https://gw.example.net"), config.Url);
        Assert.Equal("t0ken", config.Password);
        Assert.Equal(["alerts"], config.Channels.Select(c => c.Name));
        Assert.Contains("is not an http:// or https:// URL", output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Server port", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(config.Url, Assert.Single(probe.Checked).Url);
        Assert.Contains("The server at https://gw.example.net answers.", output.ToString(), StringComparison.Ordinal);
    }
}
