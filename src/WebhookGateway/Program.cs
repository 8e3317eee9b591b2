using Microsoft.Extensions.Options;
using Notistream;
using Notistream.Gateway;

if (args is ["--version"] or ["-v"])
{
    Console.WriteLine(ProductVersion.Line("notistream-gateway"));
    return 0;
}

try
{
    await using var app = GatewayApplication.Create(args);
    try
    {
        await app.RunAsync();
    }
    catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
    {
        // SIGTERM or Ctrl-C while still starting: a clean stop, not a crash.
    }

    return 0;
}
catch (OptionsValidationException ex)
{
    foreach (var failure in ex.Failures)
    {
        Console.Error.WriteLine($"notistream-gateway: {failure}");
    }

    return 1;
}
catch (InvalidOperationException ex) when (ex.Message.Contains("NOTISTREAM_WEB_PORT", StringComparison.Ordinal))
{
    Console.Error.WriteLine($"notistream-gateway: {ex.Message}");
    return 1;
}
