using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Tests.Hosting;

public class ConfigLoaderTests
{
    [Fact]
    public void A_config_file_and_command_line_set_the_directives_command_line_last()
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, """
            # comment
            port 6390
            bind 127.0.0.1 ::1
            requirepass "s3 cret"
            client-output-buffer-limit pubsub 64mb 16mb 30
            proto-max-bulk-len 1gb
            save ""
            """);
        try
        {
            var options = ConfigLoader.Load([path, "--port", "6391", "--timeout", "10"]);
            Assert.Equal(6391, options.Port);
            Assert.Equal(["127.0.0.1", "::1"], options.Bind);
            Assert.Equal("s3 cret", options.RequirePass);
            Assert.Equal(new OutputBufferLimit(64L << 20, 16L << 20, 30), options.PubSubOutputLimit);
            Assert.Equal(1L << 30, options.ProtoMaxBulkLen);
            Assert.Equal(10, options.Timeout);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("port 6390\nnosuch directive\n", 2, "Bad directive or wrong number of arguments")]
    [InlineData("port 70000\n", 1, "argument must be between 0 and 65535 inclusive")]
    [InlineData("maxclients lots\n", 1, "argument couldn't be parsed into an integer")]
    [InlineData("\n\nloglevel loud\n", 3, "argument(s) must be one of the following")]
    [InlineData("requirepass \"open\n", 1, "Unbalanced quotes")]
    [InlineData("port 6390\ninclude\n", 2, "wrong number of arguments")]
    [InlineData("include /nonexistent/notistream.conf\n", 1, "can't open config file '/nonexistent/notistream.conf'")]
    public void A_bad_line_stops_start_up_naming_the_file_the_line_and_the_reason(string text, int line, string reason)
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, text);
        try
        {
            var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load([path]));
            Assert.Contains(path, error.Message);
            Assert.Contains($"at line {line}", error.Message);
            Assert.Contains(reason, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Unknown_command_line_directive_stops_start_up()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(["--prot", "1"]));
        Assert.Contains("--prot", error.Message);
    }

    [Theory]
    [InlineData("1k", 1000)]
    [InlineData("1kb", 1024)]
    [InlineData("2MB", 2 * 1024 * 1024)]
    [InlineData("1g", 1_000_000_000)]
    [InlineData("42", 42)]
    public void Memory_units_are_Redis_memtoll(string text, long bytes) => Assert.Equal(bytes, ServerConfig.MemToLong(text));

    /// <summary>
    /// Debian's own /etc/redis/redis.conf, as its redis-server package installs it, loads unchanged: what applies
    /// is applied, every other Redis directive is accepted and named in a warning (tcp-backlog at line 147
    /// stopped start-up before).
    /// </summary>
    [Fact]
    public void Debian_s_stock_redis_conf_loads_and_names_what_it_ignores()
    {
        const string Stock = "/etc/redis/redis.conf";
        Assert.SkipUnless(File.Exists(Stock) || Environment.GetEnvironmentVariable("NOTISTREAM_REQUIRE_EXTERNAL") == "1",
            "Debian's redis-server package is not installed here");
        var warnings = new List<string>();
        var options = ConfigLoader.Load([Stock], warnings);
        Assert.Equal(6379, options.Port);
        Assert.Equal(["127.0.0.1", "-::1"], options.Bind);
        Assert.Contains(warnings, w => w.Contains("'tcp-backlog 511' does not apply to a pub/sub server and is ignored", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("'daemonize yes'", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("'stream-node-max-entries 100'", StringComparison.Ordinal));
    }

    [Fact]
    public void Include_reads_another_file_at_its_place_and_a_file_that_includes_itself_stops()
    {
        var folder = Directory.CreateTempSubdirectory("notistream-include-").FullName;
        try
        {
            var inner = Path.Combine(folder, "inner.conf");
            var outer = Path.Combine(folder, "outer.conf");
            File.WriteAllText(inner, "port 7001\ntimeout 30\n");
            File.WriteAllText(outer, $"port 7000\ninclude {inner}\ntimeout 40\n");
            var options = ConfigLoader.Load([outer]);
            Assert.Equal(7001, options.Port);
            Assert.Equal(40, options.Timeout);

            File.WriteAllText(inner, "port 7001\nmaxclients lots\n");
            var bad = Assert.Throws<ConfigException>(() => ConfigLoader.Load([outer]));
            Assert.Contains($"Reading the configuration file '{inner}', at line 2", bad.Message);
            Assert.Contains($"(included from '{outer}')", bad.Message);

            File.WriteAllText(inner, $"include {inner}\n");
            var loop = Assert.Throws<ConfigException>(() => ConfigLoader.Load([outer]));
            Assert.Contains("include nested more than 16 deep", loop.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
