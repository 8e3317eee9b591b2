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
    [InlineData("daemonize yes\n", 1, "can only be 'no'")]
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
}
