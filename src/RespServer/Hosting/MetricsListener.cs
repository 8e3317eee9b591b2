using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Connections;
using Prometheus;

namespace Notistream.RespServer.Hosting;

/// <summary>
/// metrics-port: a small HTTP/1.1 listener that answers <c>GET /metrics</c> with the server's instruments in
/// Prometheus's text format (PrometheusBridge over the Notistream.Server meter, and prometheus-net's process
/// metrics), one request per connection. Off unless metrics-port is set; bound to metrics-bind (127.0.0.1 by
/// default), apart from the RESP port, so that nothing about the server is shown to a network by default.
/// </summary>
internal sealed partial class MetricsListener(ServerContext server, ILogger<MetricsListener> logger) : BackgroundService
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private Socket? _listener;
    private CollectorRegistry? _registry;
    private IDisposable? _adapter;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var options = server.Options;
        if (options.MetricsPort == 0)
        {
            return Task.CompletedTask;
        }

        _registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(_registry);
        var meter = server.Metrics.Meter;
        _adapter = new Notistream.Metrics.PrometheusBridge(_registry, meter, _ => LatencyBuckets);
        var address = IPAddress.Parse(options.MetricsBind);
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(address, options.MetricsPort == -1 ? 0 : options.MetricsPort));
        _listener.Listen(64);
        server.BoundMetricsPort = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        Log.Listening(logger, options.MetricsBind, server.BoundMetricsPort);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Seconds: 10 µs to 1 s, for the time from a PUBLISH to its deliveries queued.</summary>
    private static readonly double[] LatencyBuckets =
        [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Dispose();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _adapter?.Dispose();
    }

    /// <summary>
    /// One dedicated thread with blocking socket calls, one scrape at a time. Blocking calls keep the metrics
    /// sockets off the runtime's socket event threads: an asynchronous accept or read would register each
    /// socket with one of them, which both adds work to a thread that serves clients and shifts which event
    /// thread every later client socket is given (round robin), changing the server's layout under load.
    /// </summary>
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is not { } listener)
        {
            return Task.CompletedTask;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                AcceptLoop(listener, stoppingToken);
            }
            finally
            {
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "metrics listener",
        };
        thread.Start();
        return done.Task;
    }

    private void AcceptLoop(Socket listener, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = listener.Accept();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or SocketException && stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            using (client)
            {
                Serve(client);
            }
        }
    }

    private void Serve(Socket socket)
    {
        socket.ReceiveTimeout = socket.SendTimeout = (int)RequestTimeout.TotalMilliseconds;
        try
        {
            var request = ReadHead(socket);
            var line = request is null ? "" : request[..Math.Max(0, request.IndexOf('\r'))];
            var parts = line.Split(' ');
            if (parts is not [var method, var target, _])
            {
                Write(socket, "400 Bad Request", "text/plain; charset=utf-8", "bad request\n"u8.ToArray(), false);
                return;
            }

            if (target.Split('?')[0] != "/metrics")
            {
                Write(socket, "404 Not Found", "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n"u8.ToArray(), false);
                return;
            }

            if (method is not ("GET" or "HEAD"))
            {
                Write(socket, "405 Method Not Allowed", "text/plain; charset=utf-8", "GET /metrics\n"u8.ToArray(), false);
                return;
            }

            using var body = new MemoryStream();
            _registry!.CollectAndExportAsTextAsync(body).GetAwaiter().GetResult();
            Write(socket, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body.ToArray(), method == "HEAD");
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The scraper went away or was too slow: nothing to answer.
        }
        catch (Exception ex)
        {
            Log.ScrapeFailed(logger, ex);
        }
    }

    /// <summary>The request line and headers, up to the blank line; null when the client sent more than 8 KiB or closed first.</summary>
    private static string? ReadHead(Socket socket)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (read == 0)
            {
                return null;
            }

            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                return Encoding.ASCII.GetString(buffer, 0, length);
            }
        }

        return null;
    }

    private static void Write(Socket socket, string status, string contentType, byte[] body, bool headOnly)
    {
        var head = $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        socket.Send(Encoding.ASCII.GetBytes(head));
        if (!headOnly)
        {
            socket.Send(body);
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1023, Level = LogLevel.Information, Message = "Metrics at http://{Address}:{Port}/metrics")]
        public static partial void Listening(ILogger logger, string address, int port);

        [LoggerMessage(EventId = 1024, Level = LogLevel.Warning, Message = "A metrics scrape failed")]
        public static partial void ScrapeFailed(ILogger logger, Exception exception);
    }
}
