using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Notistream.Gateway.Options;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Options;

/// <summary>config/appsettings.sample.json, the sample that ships: the gateway reads it as appsettings.json, and it names every setting.</summary>
public sealed class SampleSettingsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("notistream-gateway-sample-").FullName;

    private static string SamplePath => Path.Join(DocPage.Root, "config", "appsettings.sample.json");

    [Fact]
    public async Task The_gateway_reads_the_sample_as_its_appsettings_json_and_gets_the_defaults()
    {
        // The sample says where the default listening port is: checked by changing it.
        var text = File.ReadAllText(SamplePath).Replace("\"WebPort\": 8080", "\"WebPort\": 0", StringComparison.Ordinal);
        File.WriteAllText(Path.Join(_folder, "appsettings.json"), text);

        var logs = new LogCapture();
        await using var app = GatewayApplication.Create(["--contentRoot", _folder], new Hashtable(), builder =>
        {
            builder.Logging.ClearProviders().AddProvider(logs);
            builder.Services.AddSingleton<Publishing.IMessagePublisher>(new RecordingPublisher());
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var defaults = new GatewayOptions();

        foreach (var property in typeof(GatewayOptions).GetProperties().Where(p => p.CanWrite && p.PropertyType != typeof(RateLimitOptions) && p.PropertyType != typeof(SubscribeOptions)))
        {
            Assert.True(Equals(property.GetValue(defaults), property.GetValue(options)), $"{property.Name}: the sample says {property.GetValue(options)}, the default is {property.GetValue(defaults)}");
        }

        Assert.Equal(defaults.RateLimit.PermitsPerMinute, options.RateLimit.PermitsPerMinute);
        Assert.Equal(defaults.RateLimit.ExemptLoopback, options.RateLimit.ExemptLoopback);
        foreach (var property in typeof(SubscribeOptions).GetProperties())
        {
            Assert.Equal(property.GetValue(defaults.Subscribe), property.GetValue(options.Subscribe));
        }

        Assert.Empty(options.Tokens);
        Assert.StartsWith("http://127.0.0.1:", app.Urls.Single(), StringComparison.Ordinal);
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public void Every_setting_is_named_in_the_sample()
    {
        var text = File.ReadAllText(SamplePath);
        var names = typeof(GatewayOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite || p.Name == nameof(GatewayOptions.Tokens))
            .Select(p => p.Name)
            .Concat(typeof(RateLimitOptions).GetProperties().Select(p => p.Name))
            .Concat(typeof(SubscribeOptions).GetProperties().Select(p => p.Name))
            .Concat(typeof(ScopedTokenOptions).GetProperties().Select(p => p.Name))
            .Append("WebPort");

        var missing = names.Where(name => !Regex.IsMatch(text, $"\"{name}\"\\s*:")).ToList();

        Assert.True(missing.Count == 0, $"config/appsettings.sample.json does not name: {string.Join(", ", missing)}");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
