namespace Notistream.Client.Config;

/// <summary>
/// The first-run questions (also <c>notistream setup</c>): host (or the gateway's URL), port, channels, password (or token), less those the
/// environment answers (<see cref="EnvironmentSettings"/>). Each answer
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

    /// <param name="environment">
    /// NOTISTREAM_* variables: a question they answer is not asked. The file keeps what it had for it (the
    /// environment is read again on every run), except channels, which a config file must have: those the
    /// environment gives are written when the file has none. The server is tried with the environment's values.
    /// </param>
    /// <returns>The answers as a config, or null when the input ended before they were complete.</returns>
    public async Task<ClientConfig?> RunAsync(ClientConfig? current, CancellationToken cancellationToken, EnvironmentSettings? environment = null)
    {
        var config = current ?? new ClientConfig();
        var given = environment ?? EnvironmentSettings.None;
        Given("Server host", given.Host, EnvironmentSettings.HostVariable);
        Given("Gateway URL", given.Url is null ? null : ConfigValidation.FormatUrl(given.Url), EnvironmentSettings.UrlVariable);
        Given("Server port", given.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture), EnvironmentSettings.PortVariable);
        Given("Channels", given.Channels is null ? null : ConfigValidation.FormatChannels(given.Channels), EnvironmentSettings.ChannelsVariable);
        Given("Password", given.Password is null ? null : "(hidden)", EnvironmentSettings.PasswordVariable);
        try
        {
            while (true)
            {
                // The host question also takes the gateway's URL (https://host[:port]): then there is no port to ask.
                var server = given.Host is not null || given.Url is not null
                    ? (config.Url is { } knownUrl ? ConfigValidation.FormatUrl(knownUrl) : config.Host)
                    : _prompter.AskUntilValid<string>("Server host",
                        config.Url is { } url ? ConfigValidation.FormatUrl(url) : config.Host, TryParseServer);
                Uri? chosenUrl = given.Url is not null ? config.Url
                    : given.Host is null && ConfigValidation.TryParseUrl(server, out var typedUrl, out _) ? typedUrl : null;
                var host = chosenUrl is null && ConfigValidation.TryParseHost(server, out var typedHost, out _) ? typedHost : config.Host;
                var port = given.Port is not null || chosenUrl is not null
                    ? config.Port
                    : _prompter.AskUntilValid<int>("Server port", config.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ConfigValidation.TryParsePort);
                var channels = given.Channels is not null
                    ? (config.Channels.Count > 0 ? config.Channels : given.Channels)
                    : _prompter.AskUntilValid<IReadOnlyList<ChannelSpec>>(
                        "Channels (comma-separated; * ? [ ] make a pattern)",
                        config.Channels.Count > 0 ? ConfigValidation.FormatChannels(config.Channels) : null,
                        ConfigValidation.TryParseChannels);
                var password = given.Password is not null ? config.Password : AskPassword(config.Password);
                config = config with { Host = host, Port = port, Url = chosenUrl, Channels = channels, Password = password };

                var effective = given.ApplyTo(config);
                _output.WriteLine($"Checking {effective.EndPointText} ...");
                var problem = await _probe.CheckAsync(effective, cancellationToken).ConfigureAwait(false);
                if (problem is null)
                {
                    _output.WriteLine($"The server at {effective.EndPointText} answers.");
                    return config;
                }

                _output.WriteLine($"Could not use {effective.EndPointText}: {problem}.");
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

    /// <summary>Says which answer the environment gives, so the question's absence is not a surprise.</summary>
    private void Given(string question, string? value, string variable)
    {
        if (value is not null)
        {
            _output.WriteLine($"{question}: {value} (from {variable}, not asked)");
        }
    }

    /// <summary>A host name or address, or an http(s):// URL (the gateway).</summary>
    private static bool TryParseServer(string? text, out string server, out string error)
    {
        server = (text ?? string.Empty).Trim();
        if (server.Contains("://", StringComparison.Ordinal))
        {
            return ConfigValidation.TryParseUrl(server, out _, out error);
        }

        return ConfigValidation.TryParseHost(server, out server, out error);
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
