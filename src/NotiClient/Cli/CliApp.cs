using System.CommandLine;
using System.CommandLine.Invocation;
using Notistream.Client.Config;

namespace Notistream.Client.Cli;

/// <summary>
/// The command tree: <c>notistream</c> (run), <c>setup</c>, <c>send</c>, <c>test</c>, with the options of
/// <see cref="CliOptions"/> on all of them and <c>--help</c> everywhere.
/// </summary>
internal static class CliApp
{
    public static RootCommand Build(CliContext context)
    {
        var options = new CliOptions();
        var root = new RootCommand(
            "notistream: subscribe to Notistream (or any Redis) channels and raise a desktop notification for each message. " +
            "The first run asks for host, port and channels and remembers them.");
        foreach (var option in options.All)
        {
            root.Options.Add(option);
        }

        // --version prints the line the server and the gateway print too: "notistream 0.9.0+abc1234".
        foreach (var version in root.Options.OfType<VersionOption>())
        {
            version.Action = new VersionAction();
        }

        root.SetAction((result, cancellationToken) => Guard(context, () => RunCommand.ExecuteAsync(context, options.Read(result, context.Host), cancellationToken)));

        var setup = new Command("setup", "Ask the first-run questions again and rewrite the config file");
        setup.SetAction((result, cancellationToken) => Guard(context, () => SetupCommand.ExecuteAsync(context, options.Read(result, context.Host), cancellationToken)));
        root.Subcommands.Add(setup);

        var channel = new Argument<string>("channel") { Description = "Channel to publish on" };
        var message = new Argument<string>("message") { Description = "The message (plain text, or JSON with title, message, url, priority)" };
        var send = new Command("send", "Publish one message, then exit") { channel, message };
        send.SetAction((result, cancellationToken) => Guard(context, () => SendCommand.ExecuteAsync(
            context, options.Read(result, context.Host), result.GetRequiredValue(channel), result.GetRequiredValue(message), cancellationToken)));
        root.Subcommands.Add(send);

        var test = new Command("test", "Raise one local test notification through the chosen backend");
        test.SetAction((result, cancellationToken) => Guard(context, () => TestCommand.ExecuteAsync(context, options.Read(result, context.Host), cancellationToken)));
        root.Subcommands.Add(test);
        return root;
    }

    /// <param name="cancellationToken">Stops the command; the program passes <see cref="TerminationSignals.Token"/> (Ctrl+C, SIGTERM).</param>
    public static Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration
        {
            Output = context.Console.Out,
            Error = context.Console.Error,
            ProcessTerminationTimeout = null, // TerminationSignals handles Ctrl+C and SIGTERM
        };
        return Build(context).Parse(args).InvokeAsync(configuration, cancellationToken);
    }

    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(ProductVersion.Line("notistream"));
            return ExitCodes.Ok;
        }
    }

    private static async Task<int> Guard(CliContext context, Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ConfigException ex)
        {
            context.Error(ex.Message);
            return ExitCodes.ConfigurationError;
        }
        catch (Notifications.NotifierException ex)
        {
            context.Error(ex.Message);
            return ExitCodes.ConfigurationError;
        }
    }
}
