using Notistream.Client.Config;
using Notistream.Client.Delivery;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Cli;

/// <summary><c>notistream test</c>: one local notification, no server needed; says plainly when the backend fails.</summary>
internal static class TestCommand
{
    public const string Title = "notistream";
    public const string Body = "Test notification: if you can read this, notifications work.";

    public static async Task<int> ExecuteAsync(CliContext context, Overrides overrides, CancellationToken cancellationToken)
    {
        var path = context.ConfigPath(overrides);
        var config = overrides.ApplyTo(File.Exists(path) ? ConfigFile.Load(path) : new ClientConfig());
        if (overrides.Print)
        {
            var message = new IncomingMessage(Title, null, Body, context.Time.GetUtcNow());
            context.Console.Out.WriteLine(PrintSink.Format(message, overrides.Json));
            return ExitCodes.Ok;
        }

        var console = new ConsoleNotifier(context.Console.Out, bell: context.Console.IsOutputTerminal, context.Time);
        var choice = NotifierSelector.Select(config.Notifier, context.Host, context.ProcessRunner, console);
        if (choice.Note is not null)
        {
            context.Error(choice.Note);
        }

        try
        {
            await choice.Notifier.ShowAsync(new Notification(Title, Body, Urgency.Normal, Title), cancellationToken).ConfigureAwait(false);
        }
        catch (NotifierException ex)
        {
            context.Error($"the test notification failed: {ex.Message}");
            return ExitCodes.Failed;
        }

        context.Console.Error.WriteLine($"{StatusReporter.Prefix}sent a test notification through {choice.Notifier.Description}");
        return ExitCodes.Ok;
    }
}
