using Notistream.Client.Config;
using Notistream.Client.Delivery;
using Notistream.Client.Notifications;
using Notistream.Client.Resume;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Cli;

/// <summary>
/// <c>notistream</c>: load (or on the first run, ask for) the config, then stay subscribed and deliver
/// every message until Ctrl+C.
/// </summary>
internal static class RunCommand
{
    public static async Task<int> ExecuteAsync(CliContext context, Overrides overrides, CancellationToken cancellationToken)
    {
        var config = await ResolveConfigAsync(context, overrides, cancellationToken).ConfigureAwait(false);
        if (config is null)
        {
            return cancellationToken.IsCancellationRequested ? ExitCodes.Ok : ExitCodes.ConfigurationError;
        }

        var status = new StatusReporter(context.Console.Error);
        var sinks = new List<IMessageSink>();
        NotificationSink? notifications = null;
        if (overrides.Print)
        {
            sinks.Add(new PrintSink(context.Console.Out, overrides.Json));
        }
        else
        {
            var console = new ConsoleNotifier(context.Console.Out, bell: context.Console.IsOutputTerminal, context.Time);
            var choice = NotifierSelector.Select(config.Notifier, context.Host, context.ProcessRunner, console);
            if (choice.Note is not null)
            {
                status.Report(choice.Note);
            }

            var notifier = choice.Kind == NotifierKind.Console ? choice.Notifier : new FallbackNotifier(choice.Notifier, console, status.Report);
            notifications = new NotificationSink(notifier, new Coalescer(context.Coalescing), status.Report, context.Time);
            sinks.Add(notifications);
            status.Report($"notifications through {choice.Notifier.Description}");
        }

        if (overrides.Exec is { Length: > 0 } command)
        {
            sinks.Add(new ExecSink(command, context.Host.Platform, status.Report));
        }

        // Where to start: --since wins; else the cursor saved by the last run for this server and channel set; else now.
        var store = CursorStore.For(config, context.StateFolder ?? CursorStore.DefaultFolder(context.Host));
        var saved = store.Load();
        var from = overrides.Since ?? saved?.Cursor.ToString() ?? "$";
        status.Report(overrides.Since is not null ? $"starting from --since ({from}); cursor kept in {store.Path}"
            : saved is not null ? $"resuming after message {saved.Cursor} (cursor kept in {store.Path})"
            : $"no saved cursor yet: starting with what comes next (cursor kept in {store.Path})");
        var resume = overrides.Since is null
            ? new ResumePosition(from, saved?.OpenGaps, config.EndPointText, saved?.SharedHistory)
            : new ResumePosition(from, home: config.EndPointText);

        var dispatcher = new MessageDispatcher(sinks, status.Report, time: context.Time);
        using var worker = new SubscriptionWorker(config, dispatcher, status, context.Time, resume: resume);
        var keeper = new CursorKeeper(store, dispatcher, resume, status.Report, saved?.Cursor, context.Time);
        var delivering = dispatcher.RunAsync(cancellationToken);
        var keeping = keeper.RunAsync(cancellationToken);
        await worker.RunAsync(cancellationToken).ConfigureAwait(false);
        await delivering.ConfigureAwait(false);
        await keeping.ConfigureAwait(false);
        keeper.SaveIfMoved();

        var summary = $"stopped: {dispatcher.Received} message(s) received";
        if (notifications is not null)
        {
            summary += $", {notifications.Shown} notification(s) shown, {notifications.Coalescer.CoalescedMessages} coalesced into {notifications.Coalescer.Summaries} summary notification(s)";
            if (notifications.Digest.Digests > 0)
            {
                summary += $", {notifications.Digest.DigestedMessages} missed while away shown as {notifications.Digest.Digests} digest(s)";
            }
        }

        status.Report($"{summary}, {dispatcher.Dropped} dropped");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The config file when there is one; the command line and environment alone when they name channels; the
    /// questions on a first run in a terminal; otherwise an error that says how to configure.
    /// </summary>
    private static async Task<ClientConfig?> ResolveConfigAsync(CliContext context, Overrides overrides, CancellationToken cancellationToken)
    {
        var path = context.ConfigPath(overrides);
        if (File.Exists(path))
        {
            var fromFile = overrides.ApplyTo(ConfigFile.Load(path));
            return fromFile;
        }

        if (overrides.GivenChannels is not null)
        {
            return overrides.ApplyTo(new ClientConfig());
        }

        if (overrides.ConfigPath is not null)
        {
            context.Error($"{path} does not exist. Create it with `notistream setup --config {overrides.ConfigPath}`.");
            return null;
        }

        if (!context.Console.IsInteractive)
        {
            context.Error(
                $"not configured: {path} does not exist, and there is no terminal to ask the questions. Either\n" +
                "  - run `notistream setup` in a terminal, or\n" +
                "  - pass the settings: notistream --host <host> --port <port> --channels <a,b/*> [--password <password>], or\n" +
                "  - over HTTPS through the gateway: notistream --url https://<host>[:<port>] --channels <a,b/*> [--password <token>], or\n" +
                "  - set NOTISTREAM_HOST, NOTISTREAM_PORT, NOTISTREAM_CHANNELS [and NOTISTREAM_PASSWORD] in the environment, or\n" +
                $"  - write {path}:\n{SetupCommand.ConfigExample}");
            return null;
        }

        context.Console.Out.WriteLine($"Welcome to notistream. No configuration yet ({path}); three questions and you are set.");
        var saved = await SetupCommand.AskAndSaveAsync(context, path, overrides.ApplyCommandLineTo(new ClientConfig()), overrides.Environment, cancellationToken).ConfigureAwait(false);
        return saved is null ? null : overrides.ApplyTo(saved);
    }
}
