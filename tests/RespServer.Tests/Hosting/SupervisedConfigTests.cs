using Notistream.RespServer.Hosting;

namespace Notistream.RespServer.Tests.Hosting;

/// <summary>The <c>supervised</c> directive read as Redis 7.0 reads it (the process side is in the robustness tests).</summary>
public class SupervisedConfigTests
{
    [Fact]
    public void It_defaults_to_no_and_is_read_from_the_file_and_the_command_line_as_an_implemented_directive()
    {
        Assert.Equal("no", ConfigLoader.Load([]).Supervised);
        var path = Path.Combine(Path.GetTempPath(), $"notistream-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "supervised auto\n");
        try
        {
            var fromFile = ConfigLoader.Load([path]);
            Assert.Equal("auto", fromFile.Supervised);
            Assert.Empty(fromFile.IgnoredDirectives);
            var options = ConfigLoader.Load([path, "--supervised", "SystemD"]);
            Assert.Equal("systemd", options.Supervised);
            Assert.Contains(new KeyValuePair<string, string>("supervised", "systemd"), ServerConfig.Snapshot(options));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_mode_Redis_does_not_know_stops_start_up_and_config_set_is_refused_as_immutable()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load(["--supervised", "sometimes"]));
        Assert.Contains("argument(s) must be one of the following: upstart, systemd, auto, no", error.Message);
        var options = ConfigLoader.Load([]);
        Assert.Equal(
            "CONFIG SET failed (possibly related to argument 'supervised') - can't set immutable config",
            ServerConfig.TrySet(options, [("supervised", "systemd")], runtime: true));
    }

    [Theory]
    [InlineData("no", "/run/notify", null, false)]
    [InlineData("systemd", "/run/notify", null, true)]
    [InlineData("systemd", null, null, false)]
    [InlineData("auto", "/run/notify", null, true)]
    [InlineData("auto", null, null, false)]
    [InlineData("auto", "/run/notify", "job", false)]
    [InlineData("upstart", "/run/notify", "job", false)]
    public void Systemd_is_notified_as_Redis_decides(string mode, string? notifySocket, string? upstartJob, bool notified)
    {
        var decision = Supervision.Resolve(mode, name => name switch
        {
            "NOTIFY_SOCKET" => notifySocket,
            "UPSTART_JOB" => upstartJob,
            _ => null,
        });
        Assert.Equal(notified, decision.Systemd);
    }
}
