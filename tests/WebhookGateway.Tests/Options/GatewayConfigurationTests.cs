using System.Collections;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tests.Infrastructure;

namespace Notistream.Gateway.Tests.Options;

public sealed class GatewayConfigurationTests
{
    [Fact]
    public async Task Environment_variables_map_onto_options_and_the_command_line_wins()
    {
        var environment = new Hashtable
        {
            ["NOTISTREAM_HOST"] = "10.1.2.3",
            ["NOTISTREAM_PORT"] = "7000",
            ["NOTISTREAM_PASSWORD"] = "pw",
            ["NOTISTREAM_TOKEN"] = "from-env",
            ["GITHUB_WEBHOOK_SECRET"] = "gh",
        };

        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), environment, "--token", "from-args");
        var options = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;

        Assert.Equal("10.1.2.3:7000", options.Server);
        Assert.Equal("pw", options.ServerPassword);
        Assert.Equal("from-args", options.Token);
        Assert.Equal("gh", options.GitHubWebhookSecret);
    }

    [Fact]
    public async Task Unrelated_root_level_keys_such_as_a_TOKEN_variable_do_not_change_settings()
    {
        // ASP.NET Core reads every environment variable into the configuration root.
        var logs = new LogCapture();
        await using var app = GatewayApplication.Create(["--urls", "http://127.0.0.1:0", "--MaxChannelBytes", "17", "--RateLimit:PermitsPerMinute", "3"],
            new Hashtable(), builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Token"] = "stray", ["Server"] = "stray:1" });
                builder.Logging.ClearProviders().AddProvider(logs);
                builder.Services.AddSingleton<Publishing.IMessagePublisher>(new RecordingPublisher());
            });
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;

        Assert.Null(options.Token);
        Assert.Equal("127.0.0.1:6379", options.Server);
        Assert.Equal(17, options.MaxChannelBytes);
        Assert.Equal(3, options.RateLimit.PermitsPerMinute);
    }

    [Fact]
    public void Defaults_match_the_documentation()
    {
        var options = new GatewayOptions();

        Assert.Equal("127.0.0.1:6379", options.Server);
        Assert.Equal(64 * 1024, options.MaxMessageBytes);
        Assert.Equal(25 * 1024 * 1024, options.MaxGitHubBodyBytes);
        Assert.True(options.RateLimit.ExemptLoopback);
    }

    [Theory]
    [InlineData(null, null, "http://127.0.0.1:8080")]
    [InlineData(null, "9090", "http://127.0.0.1:9090")]
    [InlineData("http://0.0.0.0:80", "9090", null)]
    public void Listen_url_is_urls_else_the_web_port_on_loopback_else_8080(string? urls, string? webPort, string? expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["urls"] = urls,
            [GatewayConfiguration.WebPortKey] = webPort,
        }).Build();

        Assert.Equal(expected, GatewayConfiguration.ListenUrl(configuration));
    }

    [Fact]
    public void A_web_port_that_is_not_a_number_stops_start_up()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [GatewayConfiguration.WebPortKey] = "eighty",
        }).Build();

        Assert.Contains("NOTISTREAM_WEB_PORT", Assert.Throws<InvalidOperationException>(() => GatewayConfiguration.ListenUrl(configuration)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_settings_stop_start_up_naming_each_one()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(
            new RecordingPublisher(), new System.Collections.Hashtable(), "--server", "not an endpoint:x:y", "--MaxMessageBytes", "0"));

        Assert.Contains(failure.Failures, f => f.Contains("--server", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("MaxMessageBytes", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("127.0.0.1:6379", true)]
    [InlineData("localhost:1", true)]
    [InlineData("redis.example.org", true)]
    [InlineData("[::1]:6379", true)]
    [InlineData("::1", true)]
    [InlineData("127.0.0.1:0", false)]
    [InlineData("127.0.0.1:65536", false)]
    [InlineData("host:port", false)]
    [InlineData("not an endpoint:x:y", false)]
    [InlineData("bad host:6379", false)]
    public void Server_must_be_host_and_port(string server, bool valid)
        => Assert.Equal(valid, GatewayOptionsValidator.IsEndPoint(server));

    [Theory]
    [InlineData("127.0.0.1:6379", null)]
    [InlineData("127.0.0.1:6379,127.0.0.1:6380", null)]
    [InlineData(" 10.0.0.1:7000 , [::1]:7001,node-c ", null)]
    [InlineData("127.0.0.1:6379,", "'' is not host:port")]
    [InlineData("127.0.0.1:6379,127.0.0.1:0", "'127.0.0.1:0' is not host:port")]
    [InlineData("127.0.0.1:6379,127.0.0.1:6379", "names an address twice")]
    public void Server_takes_a_comma_separated_list_and_checks_each(string server, string? problem)
    {
        var result = new GatewayOptionsValidator().Validate(null, new GatewayOptions { Server = server });
        if (problem is null)
        {
            Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
        }
        else
        {
            Assert.Contains(result.Failures!, f => f.Contains(problem, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("127.0.0.1:6379,LOCALHOST:6379,localhost", "names an address twice: 'localhost'")]
    [InlineData("a:6379,A", "names an address twice: 'A'")]
    [InlineData("[::1]:6379,[::1]", "names an address twice")]
    [InlineData("127.0.0.1:6379,::1", "an IPv6 address goes in brackets: [::1]:6379")]
    [InlineData("127.0.0.1:6379,[::1]:6380", null)]
    public void Server_lists_compare_addresses_after_normalising_and_refuse_a_bare_ipv6_address(string server, string? problem)
    {
        var result = new GatewayOptionsValidator().Validate(null, new GatewayOptions { Server = server });
        if (problem is null)
        {
            Assert.True(result.Succeeded, string.Join("; ", result.Failures ?? []));
        }
        else
        {
            Assert.Contains(result.Failures!, f => f.Contains(problem, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(" 127.0.0.1:6379 ", false)]
    [InlineData("::1", true)]
    public void One_server_is_checked_as_before(string server, bool valid)
        => Assert.Equal(valid, new GatewayOptionsValidator().Validate(null, new GatewayOptions { Server = server }).Succeeded);

    [Fact]
    public void The_node_in_use_is_the_first_connected_one_and_reading_it_moves_nothing()
    {
        var servers = new ServerAddresses(ServerAddresses.Split("a:1,b:2,c:3"));
        bool?[] state = [null, true, true];
        servers.Attach(i => state[i]);

        // The start: b connected first, but a's first attempt has not finished: a stays in use.
        Assert.Null(servers.Select());
        Assert.Equal("a:1", servers.InUse);

        state[0] = false; // a could not be reached
        var moved = servers.Moved;
        Assert.Equal(0, servers.Select());
        Assert.Equal("b:2", servers.InUse);
        Assert.True(moved.IsCancellationRequested, "a move tells the follow connections");

        // a is back: reading, and choosing again without the periodic check's word, move nothing.
        state[0] = true;
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("b:2", servers.InUse);
            Assert.Null(servers.Select());
        }

        Assert.Null(servers.Select(failBack: _ => false));
        Assert.Equal(1, servers.Select(failBack: i => i == 0));
        Assert.Equal("a:1", servers.InUse);
    }

    [Fact]
    public void Only_one_publisher_attaches_to_the_server_addresses()
    {
        var servers = new ServerAddresses(ServerAddresses.Split("a:1,b:2"));
        servers.Attach(_ => true);
        Assert.Throws<InvalidOperationException>(() => servers.Attach(_ => false));
    }

    [Fact]
    public async Task Scoped_tokens_bind_from_environment_variables_and_the_command_line()
    {
        var environment = new Hashtable
        {
            ["Gateway__Tokens__0__Token"] = "alerts-token",
            ["Gateway__Tokens__0__Channels__0"] = "alerts:*",
            ["Gateway__Tokens__0__Channels__1"] = "builds/*",
            ["GATEWAY__TOKENS__1__TOKEN"] = "home-token",
            ["GATEWAY__TOKENS__1__CHANNELS__0"] = "home",
        };

        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), environment,
            "--Gateway:Tokens:2:Token", "cli-token", "--Gateway:Tokens:2:Channels:0", "cli");
        var options = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;

        Assert.Null(options.Token);
        Assert.Equal(["alerts-token", "home-token", "cli-token"], options.Tokens.Select(t => t.Token));
        Assert.Equal(["alerts:*", "builds/*"], options.Tokens[0].Channels);
        Assert.Equal(["home"], options.Tokens[1].Channels);
        Assert.Equal(["cli"], options.Tokens[2].Channels);
    }

    [Fact]
    public void Scoped_tokens_bind_from_appsettings_json_as_documented()
    {
        var json = """
            { "Gateway": { "Tokens": [ { "Channels": [ "alerts:*", "builds/*" ], "Token": "a" }, { "Channels": [ "home" ], "Token": "h" } ] } }
            """;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();

        var options = configuration.GetSection(GatewayConfiguration.Section).Get<GatewayOptions>()!;

        Assert.Equal(["a", "h"], options.Tokens.Select(t => t.Token));
        Assert.Equal(["alerts:*", "builds/*"], options.Tokens[0].Channels);
        Assert.Equal(["home"], options.Tokens[1].Channels);
        Assert.True(new GatewayOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public async Task Invalid_scoped_tokens_stop_start_up_naming_each_entry_and_never_the_token()
    {
        var environment = new Hashtable
        {
            ["Gateway__Tokens__0__Token"] = "fine-token",
            ["Gateway__Tokens__0__Channels__0"] = "ok:*",
            ["Gateway__Tokens__1__Token"] = "no-channels-token",
            ["Gateway__Tokens__2__Channels__0"] = "no-token",
            ["Gateway__Tokens__3__Token"] = "bad-pattern-token",
            ["Gateway__Tokens__3__Channels__0"] = "fine",
            ["Gateway__Tokens__3__Channels__1"] = "room[1-",
            ["Gateway__Tokens__4__Token"] = "   ",
            ["Gateway__Tokens__4__Channels__0"] = "x",
        };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayHost.StartAsync(new RecordingPublisher(), environment));

        Assert.Equal(4, failure.Failures.Count());
        Assert.Contains(failure.Failures, f => f.StartsWith("Gateway:Tokens:1:Channels is empty", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.StartsWith("Gateway:Tokens:2:Token is missing or empty", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.StartsWith("Gateway:Tokens:3:Channels:1 'room[1-' has a '[' without its ']'", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.StartsWith("Gateway:Tokens:4:Token is missing or empty", StringComparison.Ordinal));
        Assert.DoesNotContain(failure.Failures, f => f.Contains("-token", StringComparison.Ordinal));
    }

    [Fact]
    public void The_settings_shared_with_the_client_have_the_client_s_variables()
    {
        var environment = new Hashtable
        {
            ["NOTISTREAM_HOST"] = "pubsub.example.org",
            ["NOTISTREAM_PORT"] = "6390",
            ["NOTISTREAM_USER"] = "gateway",
            ["NOTISTREAM_PASSWORD"] = "pw",
            ["NOTISTREAM_TLS"] = "1",
            ["NOTISTREAM_CA_FILE"] = "/ca.crt",
            ["NOTISTREAM_CERT_FILE"] = "/gateway.crt",
            ["NOTISTREAM_KEY_FILE"] = "/gateway.key",
        };
        var deprecated = new List<string>();

        var values = GatewayConfiguration.FromEnvironment(environment, deprecated);

        Assert.Equal("pubsub.example.org:6390", values["Gateway:Server"]);
        Assert.Equal("gateway", values["Gateway:ServerUser"]);
        Assert.Equal("pw", values["Gateway:ServerPassword"]);
        Assert.Equal("true", values["Gateway:ServerTls"]);
        Assert.Equal("/ca.crt", values["Gateway:ServerCaFile"]);
        Assert.Equal("/gateway.crt", values["Gateway:ServerCertFile"]);
        Assert.Equal("/gateway.key", values["Gateway:ServerKeyFile"]);
        Assert.Empty(deprecated);
    }

    [Theory]
    [InlineData("NOTISTREAM_PORT", "6390", "127.0.0.1:6390")]
    [InlineData("NOTISTREAM_HOST", "pubsub", "pubsub:6379")]
    [InlineData("NOTISTREAM_HOST", "::1", "[::1]:6379")]
    [InlineData("NOTISTREAM_HOST", "[::1]", "[::1]:6379")]
    public void Host_or_port_alone_takes_the_other_from_the_defaults(string variable, string value, string server)
    {
        var values = GatewayConfiguration.FromEnvironment(new Hashtable { [variable] = value });

        Assert.Equal(server, values["Gateway:Server"]);
        Assert.True(GatewayOptionsValidator.IsEndPoint(server));
    }

    [Fact]
    public async Task The_old_names_still_work_lose_to_the_new_ones_and_are_logged_once_as_deprecated()
    {
        var environment = new Hashtable
        {
            ["NOTISTREAM_SERVER"] = "10.1.2.3:7000",
            ["NOTISTREAM_SERVER_USER"] = "old-user",
            ["NOTISTREAM_SERVER_PASSWORD"] = "old-pw",
            ["NOTISTREAM_PASSWORD"] = "new-pw",
            ["NOTISTREAM_SERVER_TLS"] = "false",
        };

        await using var gateway = await GatewayHost.StartAsync(new RecordingPublisher(), environment);
        var options = gateway.App.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;

        Assert.Equal("10.1.2.3:7000", options.Server);
        Assert.Equal("old-user", options.ServerUser);
        Assert.Equal("new-pw", options.ServerPassword);
        Assert.False(options.ServerTls);
        var warnings = gateway.Logs.Entries.Where(e => e.EventId.Id == 3022).Select(e => e.Message).ToList();
        Assert.Equal(
            [
                "NOTISTREAM_SERVER is deprecated and will be removed: use NOTISTREAM_HOST and NOTISTREAM_PORT",
                "NOTISTREAM_SERVER_USER is deprecated and will be removed: use NOTISTREAM_USER",
                "NOTISTREAM_SERVER_PASSWORD is deprecated and will be removed: use NOTISTREAM_PASSWORD",
                "NOTISTREAM_SERVER_TLS is deprecated and will be removed: use NOTISTREAM_TLS",
            ],
            warnings);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("old-pw", StringComparison.Ordinal));
    }

    [Fact]
    public void New_host_and_port_win_over_NOTISTREAM_SERVER()
    {
        var values = GatewayConfiguration.FromEnvironment(new Hashtable { ["NOTISTREAM_SERVER"] = "old:1", ["NOTISTREAM_PORT"] = "2" });

        Assert.Equal("127.0.0.1:2", values["Gateway:Server"]);
    }
}
