using Notistream.Gateway;

await using var app = GatewayApplication.Create(args);
await app.RunAsync();
