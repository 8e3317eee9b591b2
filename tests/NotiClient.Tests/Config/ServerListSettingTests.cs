using System.CommandLine;
using System.Text;
using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Config;

/// <summary>Several servers: <c>--server a,b</c>, the config file's <c>"servers"</c>, and several <c>--url</c>s.</summary>
public sealed class ServerListSettingTests
{
    private static (ParseResult Result, CliOptions Options) Parse(params string[] args)
    {
        var options = new CliOptions();
        var root = new RootCommand();
        foreach (var option in options.All)
        {
            root.Options.Add(option);
        }

        return (root.Parse(args), options);
    }

    private static ClientConfig Resolve(string[] args, string? configJson = null)
    {
        var (result, options) = Parse(args);
        Assert.Empty(result.Errors);
        var overrides = options.Read(result, TestHosts.Fake(HostPlatform.Linux, new Dictionary<string, string>()));
        var file = configJson is null ? new ClientConfig() : ConfigFile.Parse("config.json", Encoding.UTF8.GetBytes(configJson));
        return overrides.ApplyTo(file);
    }

    [Fact]
    public void Server_names_every_node_in_order_and_the_first_is_host_and_port()
    {
        var config = Resolve(["--server", "10.0.0.1:7000, node-b ,[::1]:7002", "--channels", "a"]);

        Assert.Equal(["10.0.0.1:7000", "node-b:6379", "[::1]:7002"], config.Nodes.Select(n => n.EndPointText));
        Assert.Equal(("10.0.0.1", 7000), (config.Host, config.Port));
        Assert.All(config.Nodes, node => Assert.Empty(node.MoreServers));
    }

    [Fact]
    public void One_server_is_one_node_as_host_and_port_are()
    {
        Assert.Equal(["127.0.0.1:7000"], Resolve(["--server", "127.0.0.1:7000", "--channels", "a"]).Nodes.Select(n => n.EndPointText));
        Assert.Equal(["127.0.0.1:7000"], Resolve(["--host", "127.0.0.1", "--port", "7000", "--channels", "a"]).Nodes.Select(n => n.EndPointText));
    }

    [Theory]
    [InlineData("a:1,", "empty address")]
    [InlineData("a:1,b:0", "'b:0'")]
    [InlineData("a:1,bad host:2", "'bad host:2'")]
    [InlineData("a:1,a:1", "given twice")]
    [InlineData("localhost:6379,LOCALHOST", "'LOCALHOST' is given twice")]
    [InlineData("[::1]:6379,[::1]", "'[::1]' is given twice")]
    [InlineData("a:1,::1", "an IPv6 address goes in brackets")]
    public void A_bad_server_list_is_refused_naming_the_entry(string servers, string problem)
    {
        var (result, _) = Parse("--server", servers);
        Assert.Contains(result.Errors, e => e.Message.StartsWith("--server: ", StringComparison.Ordinal) && e.Message.Contains(problem, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--host", "127.0.0.1", "--server cannot be used with --host or --port")]
    [InlineData("--port", "6380", "--server cannot be used with --host or --port")]
    [InlineData("--url", "http://127.0.0.1:8080", "--server cannot be used with --url")]
    public void Server_with_host_port_or_url_is_a_configuration_error(string option, string value, string message)
    {
        var (result, options) = Parse("--server", "127.0.0.1:1,127.0.0.1:2", option, value);
        Assert.Empty(result.Errors);
        var error = Assert.Throws<ConfigException>(() => options.Read(result, TestHosts.Fake(HostPlatform.Linux, new Dictionary<string, string>())));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_urls_are_nodes_of_the_http_transport()
    {
        var config = Resolve(["--url", "http://127.0.0.1:8080,https://gw.example.net/ns", "--channels", "a"]);

        Assert.Equal(["http://127.0.0.1:8080", "https://gw.example.net/ns"], config.Nodes.Select(n => n.EndPointText));
    }

    [Fact]
    public void The_config_file_servers_load_save_and_give_way_to_the_command_line()
    {
        var config = ConfigFile.Parse("c.json", """{ "servers": ["10.0.0.1:7000", "10.0.0.2"], "channels": ["alerts"] }"""u8.ToArray());

        Assert.Equal(["10.0.0.1:7000", "10.0.0.2:6379"], config.Nodes.Select(n => n.EndPointText));
        var saved = Encoding.UTF8.GetString(ConfigFile.Serialize(config));
        Assert.DoesNotContain("\"host\"", saved, StringComparison.Ordinal);
        Assert.Equal(config.Nodes.Select(n => n.EndPointText), ConfigFile.Parse("c.json", Encoding.UTF8.GetBytes(saved)).Nodes.Select(n => n.EndPointText));

        const string File = """{ "servers": ["10.0.0.1:7000", "10.0.0.2:7001"], "channels": ["a"] }""";
        Assert.Equal(["10.0.0.9:1"], Resolve(["--host", "10.0.0.9", "--port", "1"], File).Nodes.Select(n => n.EndPointText));
        Assert.Equal(["10.0.0.3:1", "10.0.0.4:2"], Resolve(["--server", "10.0.0.3:1,10.0.0.4:2"], File).Nodes.Select(n => n.EndPointText));
        Assert.Equal(["10.0.0.1:7000", "10.0.0.2:7001"], Resolve([], File).Nodes.Select(n => n.EndPointText));
    }

    [Theory]
    [InlineData("""{ "servers": [], "channels": ["a"] }""", "non-empty array")]
    [InlineData("""{ "servers": "a:1", "channels": ["a"] }""", "non-empty array")]
    [InlineData("""{ "servers": [1], "channels": ["a"] }""", "strings")]
    [InlineData("""{ "servers": ["a:1"], "host": "b", "channels": ["a"] }""", "one or the other")]
    [InlineData("""{ "servers": ["a:1"], "url": "https://gw.example.net", "channels": ["a"] }""", "one or the other")]
    public void A_bad_servers_field_names_the_field(string json, string problem)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigFile.Parse("c.json", Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith("c.json: field \"servers\": ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }
}
