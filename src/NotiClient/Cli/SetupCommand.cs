using Notistream.Client.Config;

namespace Notistream.Client.Cli;

/// <summary><c>notistream setup</c>, and the first run: the questions, then the config file.</summary>
internal static class SetupCommand
{
    public static async Task<int> ExecuteAsync(CliContext context, Overrides overrides, CancellationToken cancellationToken)
    {
        var path = context.ConfigPath(overrides);
        if (!context.Console.IsInteractive)
        {
            context.Error($"setup asks questions and needs a terminal. Without one, write {path} yourself:\n{ConfigExample}");
            return ExitCodes.ConfigurationError;
        }

        ClientConfig? current = null;
        if (File.Exists(path))
        {
            try
            {
                current = ConfigFile.Load(path);
            }
            catch (ConfigException ex)
            {
                context.Console.Out.WriteLine($"The current config cannot be used ({ex.Message}); starting from the defaults.");
            }
        }

        var config = await AskAndSaveAsync(context, path, overrides.ApplyCommandLineTo(current ?? new ClientConfig()), overrides.Environment, cancellationToken).ConfigureAwait(false);
        return config is null ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <param name="environment">the NOTISTREAM_* variables: their questions are not asked, their values not written</param>
    /// <returns>The saved config, or null when the questions were not answered (nothing is written then).</returns>
    public static async Task<ClientConfig?> AskAndSaveAsync(
        CliContext context, string path, ClientConfig? current, EnvironmentSettings environment, CancellationToken cancellationToken)
    {
        var console = context.Console;
        var prompter = new Prompter(console.In, console.Out, console.ReadSecret);
        var wizard = new SetupWizard(prompter, console.Out, context.Probe);
        var config = await wizard.RunAsync(current, cancellationToken, environment).ConfigureAwait(false);
        if (config is null)
        {
            context.Error("setup cancelled; nothing was written");
            return null;
        }

        ConfigFile.Save(path, config);
        console.Out.WriteLine($"Saved to {path}");
        console.Out.WriteLine("Run `notistream setup` to change these answers, or edit that file.");
        console.Out.Flush();
        return config;
    }

    public const string ConfigExample = """
          {
            "host": "localhost",
            "port": 6379,
            "channels": [ "alerts", "owner/*" ],
            "password": null
          }
        """;
}
