using System.CommandLine;
using System.Text;
using Notistream.Client.Cli;
using Notistream.Client.Config;
using Notistream.Client.Tests.Infrastructure;
using Xunit;

namespace Notistream.Client.Tests.Config;

/// <summary>The NOTISTREAM_* variables: command line over environment over config file over defaults.</summary>
public sealed class EnvironmentSettingsTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Func<string, string?> Variables(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    /// <summary>What a run uses: this command line and environment over this config file.</summary>
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
    public void Each_variable_is_read()
    {
        var ca = Path.Join(_folder.Path, "ca.crt");
        File.WriteAllText(ca, "not checked here");

        var settings = EnvironmentSettings.Read(Variables(
            ("NOTISTREAM_HOST", "pubsub.example.org"), ("NOTISTREAM_PORT", "6390"), ("NOTISTREAM_CHANNELS", "alerts, builds/*"),
            ("NOTISTREAM_USER", "laptop"), ("NOTISTREAM_PASSWORD", "pw"), ("NOTISTREAM_TLS", "yes"), ("NOTISTREAM_CA_FILE", ca)));

        Assert.Equal("pubsub.example.org", settings.Host);
        Assert.Equal(6390, settings.Port);
        Assert.Equal(["alerts", "builds/*"], settings.Channels!.Select(c => c.Name));
        Assert.True(settings.Channels![1].IsPattern);
        Assert.Equal("laptop", settings.User);
        Assert.Equal("pw", settings.Password);
        Assert.True(settings.Tls!.Enabled);
        Assert.Equal(ca, settings.Tls.CaFile);
    }

    [Fact]
    public void Empty_variables_are_unset()
    {
        Assert.Equal(EnvironmentSettings.None, EnvironmentSettings.Read(Variables(("NOTISTREAM_HOST", ""), ("NOTISTREAM_PORT", ""), ("NOTISTREAM_TLS", ""))));
    }

    [Theory]
    [InlineData("NOTISTREAM_PORT", "99999", "NOTISTREAM_PORT: the port must be a whole number from 1 to 65535")]
    [InlineData("NOTISTREAM_HOST", "a b", "NOTISTREAM_HOST: 'a b' is not a host name")]
    [InlineData("NOTISTREAM_CHANNELS", ",", "NOTISTREAM_CHANNELS: name at least one channel")]
    [InlineData("NOTISTREAM_TLS", "maybe", "NOTISTREAM_TLS: must be true or false (got 'maybe')")]
    [InlineData("NOTISTREAM_CA_FILE", "/nonexistent/ca.crt", "NOTISTREAM_CA_FILE: file '/nonexistent/ca.crt' not found")]
    public void A_bad_value_names_its_variable(string variable, string value, string message)
    {
        var error = Assert.Throws<ConfigException>(() => EnvironmentSettings.Read(Variables((variable, value))));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_without_its_key_names_the_variables()
    {
        var cert = Path.Join(_folder.Path, "client.crt");
        File.WriteAllText(cert, "x");

        var error = Assert.Throws<ConfigException>(() => EnvironmentSettings.Read(Variables(("NOTISTREAM_CERT_FILE", cert))).ApplyTo(new ClientConfig()));
        Assert.Equal("NOTISTREAM_CERT_FILE: needs NOTISTREAM_KEY_FILE too", error.Message);
    }

    [Fact]
    public void Command_line_wins_over_environment_which_wins_over_the_file_which_wins_over_the_defaults()
    {
        const string FileJson = """{ "host": "file-host", "port": 7001, "channels": ["file"], "user": "file-user", "password": "file-pw" }""";
        (string, string)[] environment = [("NOTISTREAM_HOST", "env-host"), ("NOTISTREAM_PORT", "7002"), ("NOTISTREAM_CHANNELS", "env"), ("NOTISTREAM_USER", "env-user"), ("NOTISTREAM_PASSWORD", "env-pw")];
        string[] commandLine = ["--host", "cli-host", "--port", "7003", "--channels", "cli", "--user", "cli-user", "--password", "cli-pw"];

        var defaults = Resolve([], [], null);
        var fromFile = Resolve([], [], FileJson);
        var fromEnvironment = Resolve([], environment, FileJson);
        var fromCommandLine = Resolve(commandLine, environment, FileJson);

        Assert.Equal(("localhost", 6379, (string?)null, (string?)null), (defaults.Host, defaults.Port, defaults.User, defaults.Password));
        Assert.Equal(("file-host", 7001, "file", "file-user", "file-pw"), (fromFile.Host, fromFile.Port, fromFile.Channels[0].Name, fromFile.User, fromFile.Password));
        Assert.Equal(("env-host", 7002, "env", "env-user", "env-pw"), (fromEnvironment.Host, fromEnvironment.Port, fromEnvironment.Channels[0].Name, fromEnvironment.User, fromEnvironment.Password));
        Assert.Equal(("cli-host", 7003, "cli", "cli-user", "cli-pw"), (fromCommandLine.Host, fromCommandLine.Port, fromCommandLine.Channels[0].Name, fromCommandLine.User, fromCommandLine.Password));

        // One variable alone changes only its own setting.
        var portOnly = Resolve([], [("NOTISTREAM_PORT", "7004")], FileJson);
        Assert.Equal(("file-host", 7004, "file"), (portOnly.Host, portOnly.Port, portOnly.Channels[0].Name));
    }

    [Fact]
    public void Tls_from_the_environment_adds_to_the_file_and_the_command_line_adds_to_both()
    {
        var ca = Path.Join(_folder.Path, "ca.crt");
        var otherCa = Path.Join(_folder.Path, "other-ca.crt");
        File.WriteAllText(ca, "x");
        File.WriteAllText(otherCa, "x");

        var environmentOnly = Resolve([], [("NOTISTREAM_TLS", "true")], """{ "channels": ["a"] }""");
        var withCa = Resolve([], [("NOTISTREAM_CA_FILE", ca)], """{ "channels": ["a"] }""");
        var commandLineCa = Resolve(["--ca-file", otherCa], [("NOTISTREAM_CA_FILE", ca)], """{ "channels": ["a"] }""");

        Assert.True(environmentOnly.Tls.Enabled);
        Assert.Null(environmentOnly.Tls.CaFile);
        Assert.True(withCa.Tls.Enabled);
        Assert.Equal(ca, withCa.Tls.CaFile);
        Assert.Equal(otherCa, commandLineCa.Tls.CaFile);
    }
}
