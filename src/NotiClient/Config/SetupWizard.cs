namespace Notistream.Client.Config;

/// <summary>
/// The first-run questions (also <c>notistream setup</c>): host, port, channels, password. Each answer
/// is checked as it is typed; at the end the server is tried once, and when it does not answer the
/// person may correct the answers (the previous ones are offered as defaults) or keep them.
/// </summary>
internal sealed class SetupWizard
{
    private readonly Prompter _prompter;
    private readonly TextWriter _output;
    private readonly IServerProbe _probe;

    public SetupWizard(Prompter prompter, TextWriter output, IServerProbe probe)
    {
        _prompter = prompter;
        _output = output;
        _probe = probe;
    }

    /// <returns>The answers as a config, or null when the input ended before they were complete.</returns>
    public async Task<ClientConfig?> RunAsync(ClientConfig? current, CancellationToken cancellationToken)
    {
        var config = current ?? new ClientConfig();
        try
        {
            while (true)
            {
                var host = _prompter.AskUntilValid<string>("Server host", config.Host, ConfigValidation.TryParseHost);
                var port = _prompter.AskUntilValid<int>("Server port", config.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ConfigValidation.TryParsePort);
                var channels = _prompter.AskUntilValid<IReadOnlyList<ChannelSpec>>(
                    "Channels (comma-separated; * ? [ ] make a pattern)",
                    config.Channels.Count > 0 ? ConfigValidation.FormatChannels(config.Channels) : null,
                    ConfigValidation.TryParseChannels);
                var password = AskPassword(config.Password);
                config = config with { Host = host, Port = port, Channels = channels, Password = password };

                _output.WriteLine($"Checking {config.EndPointText} ...");
                var problem = await _probe.CheckAsync(config, cancellationToken).ConfigureAwait(false);
                if (problem is null)
                {
                    _output.WriteLine($"The server at {config.EndPointText} answers.");
                    return config;
                }

                _output.WriteLine($"Could not use {config.EndPointText}: {problem}.");
                var again = _prompter.Ask("Change the answers? [Y/n]", null);
                if (again.StartsWith('n') || again.StartsWith('N'))
                {
                    _output.WriteLine("Keeping these answers; the client will keep trying to connect.");
                    return config;
                }
            }
        }
        catch (SetupCancelledException)
        {
            _output.WriteLine();
            return null;
        }
    }

    private string? AskPassword(string? current)
    {
        if (current is null)
        {
            var typed = _prompter.AskSecret("Password (Enter if the server has none)");
            return typed.Length == 0 ? null : typed;
        }

        var answer = _prompter.AskSecret("Password (Enter keeps the current one, - for none)");
        return answer switch
        {
            "" => current,
            "-" => null,
            _ => answer,
        };
    }
}
