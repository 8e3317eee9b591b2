using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Tests.Cluster;

/// <summary>The nats-* directives (docs/cluster.md#configuration).</summary>
public sealed class ClusterConfigTests
{
    [Fact]
    public void Without_nats_servers_the_server_is_standalone()
        => Assert.False(ConfigLoader.Load([]).Cluster.Enabled);

    [Fact]
    public void The_directives_load_from_the_command_line_and_CONFIG_GET_shows_them()
    {
        var options = ConfigLoader.Load([
            "--nats-servers", "nats://127.0.0.1:4222,tls://10.0.0.2:4443", "--nats-user", "u", "--nats-password", "p",
            "--nats-subject-prefix", "acme.notify", "--nats-tls-ca-file", "/etc/ca.pem",
        ]);
        Assert.True(options.Cluster.Enabled);
        var config = ServerConfig.Snapshot(options).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("nats://127.0.0.1:4222,tls://10.0.0.2:4443", config["nats-servers"]);
        Assert.Equal("u", config["nats-user"]);
        Assert.Equal("p", config["nats-password"]);
        Assert.Equal("", config["nats-token"]);
        Assert.Equal("acme.notify", config["nats-subject-prefix"]);
        Assert.Equal("/etc/ca.pem", config["nats-tls-ca-file"]);
    }

    [Theory]
    [InlineData("nats-servers", "http://127.0.0.1:4222")]
    [InlineData("nats-servers", "127.0.0.1:4222")]
    [InlineData("nats-servers", "nats://127.0.0.1:4222,")]
    [InlineData("nats-subject-prefix", "a.*")]
    [InlineData("nats-subject-prefix", "")]
    public void A_bad_value_stops_start_up(string name, string value)
        => Assert.Throws<ConfigException>(() => ConfigLoader.Load([$"--{name}", value]));

    [Fact]
    public void CONFIG_SET_cannot_change_them_at_run_time()
    {
        var options = new RespServerOptions();
        var error = ServerConfig.TrySet(options, [("nats-servers", "nats://127.0.0.1:4222")], runtime: true);
        Assert.Contains("can't set immutable config", error, StringComparison.Ordinal);
        Assert.False(options.Cluster.Enabled);
    }
}
