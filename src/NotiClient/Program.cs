using Notistream.Client;
using Notistream.Client.Cli;

return await CliApp.RunAsync(args, new CliContext(ClientConsole.FromSystemConsole(), HostEnvironment.Current)).ConfigureAwait(false);
