using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;
using StackExchange.Redis;

namespace Notistream.Gateway.Tests.Subscribing;

/// <summary>An open HTTP subscription stream, read line by line (JSON, raw) or event by event (SSE).</summary>
internal sealed class SubscribeStream : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SubscribeStream(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public HttpResponseMessage Response => _response;

    public static async Task<SubscribeStream> OpenAsync(GatewayHost gateway, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure?.Invoke(request);
        var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var stream = await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken);
        return new SubscribeStream(response, new StreamReader(stream, Encoding.UTF8));
    }

    /// <summary>The next line, or null at the end of the stream.</summary>
    public async Task<string?> LineAsync(TimeSpan? timeout = null)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancel.CancelAfter(timeout ?? TaskTimeoutExtensions.DefaultTimeout);
        return await _reader.ReadLineAsync(cancel.Token);
    }

    public async Task<JsonElement> JsonAsync(TimeSpan? timeout = null)
    {
        var line = await LineAsync(timeout) ?? throw new EndOfStreamException("the stream ended");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    /// <summary>The next JSON event that is not a keepalive.</summary>
    public async Task<JsonElement> JsonEventAsync()
    {
        while (true)
        {
            var element = await JsonAsync();
            if (element.GetProperty("event").GetString() != "keepalive")
            {
                return element;
            }
        }
    }

    /// <summary>The lines of the next SSE event (up to its blank line), or null at the end of the stream.</summary>
    public async Task<List<string>?> SseEventAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await LineAsync();
            if (line is null)
            {
                return null;
            }

            if (line.Length == 0)
            {
                return lines;
            }

            lines.Add(line);
        }
    }

    /// <summary>Everything until the end of the stream.</summary>
    public async Task<List<string>> RestAsync()
    {
        var lines = new List<string>();
        while (await LineAsync() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Publishes straight to the server (PUBLISH keeps history on ours), and NOTI.PUBLISH for the id.</summary>
internal sealed class ServerPublisher : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _connection;

    private ServerPublisher(ConnectionMultiplexer connection) => _connection = connection;

    public static async Task<ServerPublisher> ConnectAsync(int port) =>
        new(await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}").WithTimeout());

    /// <summary>The message's id.</summary>
    public async Task<string> PublishAsync(string channel, string message) => await PublishAsync(channel, Encoding.UTF8.GetBytes(message));

    public async Task<string> PublishAsync(string channel, byte[] message)
    {
        var reply = await _connection.GetDatabase().ExecuteAsync("NOTI.PUBLISH", channel, message).WithTimeout();
        return reply[1].ToString();
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}

internal static class Auth
{
    public static Action<HttpRequestMessage> Bearer(string token) =>
        request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
}
