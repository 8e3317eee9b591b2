using System.Diagnostics;
using System.Globalization;
using System.Net;
using Notistream.LoadGen.Reporting;
using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>
/// Many idle subscribers: each connection subscribes to its own channel. Measures how fast connections are
/// opened and subscribed, the server's resident memory per connection (VmRSS of <c>--server-pid</c> before
/// and after), and that a PUBLISH to one of them is still answered :1 and delivered.
/// </summary>
internal static class ConnectionsScenario
{
    public static async Task<ScenarioResult> RunAsync(LoadGenOptions options, EndPoint endPoint)
    {
        var count = options.IdleConnections;
        var prefix = "lg" + Guid.NewGuid().ToString("N")[..8] + ":idle:";
        var width = (count - 1).ToString(CultureInfo.InvariantCulture).Length;
        string Channel(int i) => prefix + i.ToString("D" + width.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        var connections = new LoadConnection?[count];
        var problems = new List<string>();
        try
        {
            var rssBefore = ReadRss(options.ServerPid);
            var started = Stopwatch.GetTimestamp();
            var cpu0 = CpuSample.Take(options.ServerPid);
            var opened = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
            {
                try
                {
                    var connection = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
                    connections[i] = connection;
                    Interlocked.Increment(ref opened);
                    await connection.SubscribeAsync("SUBSCRIBE", [Channel(i)]).ConfigureAwait(false);
                }
                catch (LoadGenException ex)
                {
                    var ours = ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.TooManyOpenSockets };
                    var hint = ours ? "" : " (the server's maxclients or open-file limit may be below the connection count)";
                    throw new LoadGenException($"with {Volatile.Read(ref opened)} of {count} connections open: {ex.Message}{hint}", ex);
                }
            }).ConfigureAwait(false);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var cpu1 = CpuSample.Take(options.ServerPid);

            // Let the server finish whatever it does after the last confirmation before reading its memory.
            await Task.Delay(500).ConfigureAwait(false);
            var rssAfter = ReadRss(options.ServerPid);

            var target = count / 2;
            using var publisher = await LoadConnection.ConnectAsync(endPoint, busy: false).ConfigureAwait(false);
            var batch = new PublishBatch(Channel(target), options.PayloadSize, 1);
            batch.SetMessage(0, 0, 0, 0);
            await publisher.SendAsync(batch.Frames(1)).ConfigureAwait(false);
            var reply = await publisher.ReadReplyAsync().ConfigureAwait(false);
            long mismatches = 0;
            if (reply.Kind != RespKind.Integer || reply.Integer != 1)
            {
                problems.Add($"PUBLISH to one of {count} idle subscribers answered {reply} instead of :1");
                mismatches = 1;
            }

            var verifier = new DeliveryVerifier();
            var message = await connections[target]!.ReadReplyAsync().ConfigureAwait(false);
            if (message.Kind == RespKind.Array && message.Items.Count == 3 && message.Items[0].Text == "message")
            {
                var payload = System.Text.Encoding.UTF8.GetBytes(message.Items[2].Text ?? "");
                Payload.Read(payload, out var stream, out var sequence, out _);
                verifier.Observe(stream, sequence);
            }
            else
            {
                problems.Add($"the idle subscriber received {message} instead of the message");
            }

            var delivery = verifier.Finish([new(0, 1)]) with { ReplyMismatches = mismatches };
            double? perConnection = rssBefore is { } b && rssAfter is { } a ? (a - b) / 1024.0 / count : null;
            var metrics = new List<Metric>
            {
                Metric.Higher("connect+subscribe/s", count / seconds, "conn/s"),
                Metric.Context("server CPU", (cpu1.Server - cpu0.Server) / seconds, "cores"),
                Metric.Lower("server CPU per connection", (cpu1.Server - cpu0.Server) / count * 1e6, "CPU µs"),
                Metric.Context("generator CPU", (cpu1.Generator - cpu0.Generator) / seconds, "cores"),
                Metric.Lower("server RSS per connection", perConnection, "KiB"),
                Metric.Info("server RSS before", rssBefore / 1048576.0, "MiB"),
                Metric.Info("server RSS after", rssAfter / 1048576.0, "MiB"),
            };
            return new ScenarioResult("connections", $"connections {count} idle", delivery, metrics, problems);
        }
        finally
        {
            foreach (var connection in connections)
            {
                connection?.Dispose();
            }
        }
    }

    /// <summary>VmRSS of the process in bytes, or null without a pid (or off Linux).</summary>
    internal static long? ReadRss(int? pid)
    {
        if (pid is null)
        {
            return null;
        }

        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/status");
        }
        catch (IOException ex)
        {
            throw new LoadGenException($"cannot read the memory of server process {pid}: {ex.Message}", ex);
        }

        var line = lines.FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            ?? throw new LoadGenException($"/proc/{pid}/status has no VmRSS line");
        var kilobytes = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return kilobytes * 1024;
    }
}
