using System.Net;
using Notistream.Testing;

namespace Notistream.Client.Tests.Infrastructure;

/// <summary>
/// This build's webhook gateway as its own process (<c>dotnet notistream-gateway.dll</c>) on 127.0.0.1, in
/// front of a server; it can be stopped (killed) and started again on the same port, as a restart would.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private readonly string _server;
    private readonly string[] _args;
    private ChildProcess? _process;
    private string _output = string.Empty;

    private TestGateway(string server, string[] args)
    {
        _server = server;
        _args = args;
    }

    public int Port { get; private set; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The output of this run and of the ones stopped before it.</summary>
    public string AllOutput => _output + (_process?.AllOutput ?? string.Empty);

    /// <param name="args">More gateway options, e.g. "--token", "t0ken" or "--Subscribe:KeepaliveSeconds", "1".</param>
    public static Task<TestGateway> StartAsync(int serverPort, params string[] args) => StartAsync($"127.0.0.1:{serverPort}", args);

    /// <param name="server">Its --server: host:port, or several comma-separated.</param>
    /// <param name="args">More gateway options.</param>
    public static async Task<TestGateway> StartAsync(string server, params string[] args)
    {
        var gateway = new TestGateway(server, args);
        for (var attempt = 0; ; attempt++)
        {
            gateway.Port = FreePort.Next();
            if (await gateway.TryStartAsync())
            {
                return gateway;
            }

            if (attempt >= 2)
            {
                throw new InvalidOperationException($"the gateway did not start:\n{gateway.AllOutput}");
            }
        }
    }

    /// <summary>Kills it (no graceful shutdown), as a crash would.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
            _output += process.AllOutput;
        }
    }

    /// <summary>Starts it again on the same port.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        for (var attempt = 0; !await TryStartAsync(); attempt++)
        {
            if (attempt >= 4)
            {
                throw new InvalidOperationException($"the gateway did not start again on {Port}:\n{AllOutput}");
            }
        }
    }

    private async Task<bool> TryStartAsync()
    {
        var assembly = Path.Join(AppContext.BaseDirectory, "notistream-gateway.dll");
        var process = ChildProcess.Start(ChildProcess.DotNet, [assembly, "--server", _server, "--web-port", $"{Port}", .. _args],
            new Dictionary<string, string?> { ["NOTISTREAM_TOKEN"] = null, ["NOTISTREAM_PASSWORD"] = null });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            await TaskTimeoutExtensions.WaitUntil(() => process.HasExited || IsReady(http, Port), $"the gateway to be ready on {Port}:\n{process.AllOutput}", TimeSpan.FromSeconds(30));
            if (!process.HasExited)
            {
                _process = process;
                return true;
            }
        }
        catch (TimeoutException)
        {
        }

        await process.DisposeAsync();
        _output += process.AllOutput;
        return false;
    }

    private static bool IsReady(HttpClient http, int port)
    {
        try
        {
            using var response = http.GetAsync(new Uri($"http://127.0.0.1:{port}/readyz")).GetAwaiter().GetResult();
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
