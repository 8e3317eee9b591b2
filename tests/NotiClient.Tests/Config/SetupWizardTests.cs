using Notistream.Client.Config;
using Xunit;

namespace Notistream.Client.Tests.Config;

public sealed class SetupWizardTests
{
    private sealed class ScriptedProbe(params string?[] answers) : IServerProbe
    {
        private int _calls;

        public List<ClientConfig> Checked { get; } = [];

        public Task<string?> CheckAsync(ClientConfig config, CancellationToken cancellationToken)
        {
            Checked.Add(config);
            return Task.FromResult(answers[Math.Min(_calls++, answers.Length - 1)]);
        }
    }

    private static async Task<(ClientConfig? Config, string Output)> RunAsync(string input, IServerProbe probe, ClientConfig? current = null)
    {
        var output = new StringWriter();
        var wizard = new SetupWizard(new Prompter(new StringReader(input), output), output, probe);
        var config = await wizard.RunAsync(current, CancellationToken.None);
        return (config, output.ToString());
    }

    [Fact]
    public async Task Defaults_are_offered_and_taken_with_Enter()
    {
        var (config, output) = await RunAsync("\n\nalerts, owner/*\n\n", new ScriptedProbe((string?)null));

        Assert.NotNull(config);
        Assert.Equal("localhost", config.Host);
        Assert.Equal(6379, config.Port);
        Assert.Equal(["alerts", "owner/*"], config.Channels.Select(c => c.Name));
        Assert.True(config.Channels[1].IsPattern);
        Assert.Null(config.Password);
        Assert.Contains("Server host [localhost]: ", output, StringComparison.Ordinal);
        Assert.Contains("Server port [6379]: ", output, StringComparison.Ordinal);
        Assert.Contains("answers", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_answer_is_explained_and_asked_again()
    {
        var (config, output) = await RunAsync("bad host\npi.local\n70000\nsix\n6380\n , \nalerts\nhunter2\n", new ScriptedProbe((string?)null));

        Assert.NotNull(config);
        Assert.Equal("pi.local", config.Host);
        Assert.Equal(6380, config.Port);
        Assert.Equal("hunter2", config.Password);
        Assert.Contains("'bad host' is not a host name", output, StringComparison.Ordinal);
        Assert.Contains("The port must be a whole number from 1 to 65535 (got '70000')", output, StringComparison.Ordinal);
        Assert.Contains("(got 'six')", output, StringComparison.Ordinal);
        Assert.Contains("Name at least one channel", output, StringComparison.Ordinal);
        Assert.Equal(3, CountOf(output, "Server port"));
    }

    [Fact]
    public async Task An_unreachable_server_lets_the_person_correct_the_answers_with_the_previous_ones_as_defaults()
    {
        var probe = new ScriptedProbe("connection refused", null);
        var (config, output) = await RunAsync("\n6390\nalerts\n\n\n\n6379\n\n\n", probe);

        Assert.NotNull(config);
        Assert.Equal(6379, config.Port);
        Assert.Equal(2, probe.Checked.Count);
        Assert.Equal(6390, probe.Checked[0].Port);
        Assert.Contains("Could not use localhost:6390: connection refused.", output, StringComparison.Ordinal);
        Assert.Contains("Server port [6390]: ", output, StringComparison.Ordinal);
        Assert.Contains("Channels (comma-separated; * ? [ ] make a pattern) [alerts]: ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_can_be_kept_on_purpose()
    {
        var (config, output) = await RunAsync("\n\nalerts\n\nn\n", new ScriptedProbe("connection refused"));
        Assert.NotNull(config);
        Assert.Contains("Keeping these answers", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task End_of_input_cancels_without_a_config()
    {
        var (config, _) = await RunAsync("\n6379\n", new ScriptedProbe((string?)null));
        Assert.Null(config);
    }

    [Theory]
    [InlineData("", "old")]
    [InlineData("-", null)]
    [InlineData("new", "new")]
    public async Task Rerun_keeps_changes_or_clears_the_password(string typed, string? expected)
    {
        var current = new ClientConfig { Host = "h", Port = 1234, Channels = [new("x")], Password = "old" };
        var (config, output) = await RunAsync($"\n\n\n{typed}\n", new ScriptedProbe((string?)null), current);

        Assert.NotNull(config);
        Assert.Equal(("h", 1234), (config.Host, config.Port));
        Assert.Equal(expected, config.Password);
        Assert.Contains("Channels (comma-separated; * ? [ ] make a pattern) [x]: ", output, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string part) => text.Split(part).Length - 1;

    [Fact]
    public async Task What_the_environment_gives_is_not_asked_nor_written_but_the_server_is_tried_with_it()
    {
        var probe = new ScriptedProbe((string?)null);
        var output = new StringWriter();
        var wizard = new SetupWizard(new Prompter(new StringReader("alerts\n"), output), output, probe);
        var environment = new EnvironmentSettings { Host = "pubsub.example.org", Port = 6390, Password = "env-pw" };

        var config = await wizard.RunAsync(null, CancellationToken.None, environment);

        Assert.NotNull(config);
        var text = output.ToString();
        Assert.DoesNotContain("Server host [", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Server port [", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Password (", text, StringComparison.Ordinal);
        Assert.Contains("Channels (comma-separated", text, StringComparison.Ordinal);
        Assert.Contains("Server host: pubsub.example.org (from NOTISTREAM_HOST, not asked)", text, StringComparison.Ordinal);
        Assert.Contains("Password: (hidden) (from NOTISTREAM_PASSWORD, not asked)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("env-pw", text, StringComparison.Ordinal);

        // Written: the answers; the environment is read again on every run.
        Assert.Equal(("localhost", 6379, (string?)null), (config.Host, config.Port, config.Password));
        Assert.Equal(["alerts"], config.Channels.Select(c => c.Name));
        var tried = Assert.Single(probe.Checked);
        Assert.Equal(("pubsub.example.org", 6390, "env-pw"), (tried.Host, tried.Port, tried.Password));
    }

    [Fact]
    public async Task Channels_from_the_environment_are_written_when_the_file_has_none()
    {
        var output = new StringWriter();
        var wizard = new SetupWizard(new Prompter(new StringReader("\n\n\n"), output), output, new ScriptedProbe((string?)null));

        var config = await wizard.RunAsync(null, CancellationToken.None, new EnvironmentSettings { Channels = [new ChannelSpec("ci/*")] });

        Assert.NotNull(config);
        Assert.Equal(["ci/*"], config.Channels.Select(c => c.Name));
        Assert.DoesNotContain("Channels (comma-separated", output.ToString(), StringComparison.Ordinal);
    }
}
