using Notistream.Client;
using Notistream.Client.Cli;

using var signals = new TerminationSignals();
return await CliApp.RunAsync(args, new CliContext(ClientConsole.FromSystemConsole(), HostEnvironment.Current), signals.Token).ConfigureAwait(false);
