using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Notistream.LoadGen.Reporting;
using Notistream.Testing;

namespace Notistream.LoadGen.Tests;

/// <summary>
/// The sse scenario in smoke sizes against our server (in-process) and the gateway built beside the tests
/// (its own process, so its memory and CPU time are its own): every message over both transports, sane figures.
/// </summary>
public sealed class SseScenarioTests
{
    [Fact]
    public async Task Sse_and_resp_subscribers_of_one_channel_get_every_message_with_figures_side_by_side()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var gateway = await GatewayProcess.StartAsync(server.Port);
        var options = LoadGenOptions.Smoke("127.0.0.1", server.Port) with
        {
            Scenarios = ["sse"],
            DurationSeconds = 1,
            SseSubscribers = 20,
            SseRates = [500, 0],
            GatewayUrl = gateway.Url,
            GatewayPid = gateway.Pid,
        };

        var report = await LoadGenerator.RunAsync(options).WaitAsync(TimeSpan.FromSeconds(90), TestContext.Current.CancellationToken);

        var text = TableWriter.Format(report);
        Assert.True(report.Valid, text + "\n" + gateway.Output);
        Assert.Equal(
            ["sse idle N=20", "sse N=20 500/s", "resp N=20 500/s", "sse / resp N=20 500/s", "sse N=20 max", "resp N=20 max", "sse / resp N=20 max"],
            report.Results.Select(r => r.Case));
        double? Figure(string @case, string metric) => report.Results.Single(r => r.Case == @case).Metrics.Single(m => m.Name == metric).Value;

        // Memory: the gateway's own process grows with 20 connected subscribers; the in-process server has no pid.
        Assert.True(Figure("sse idle N=20", "gateway RSS per idle subscriber") is >= -2048 and <= 4096, text);
        Assert.True(Figure("sse idle N=20", "gateway RSS, no subscriber") > 10, text);
        Assert.Null(Figure("sse idle N=20", "server RSS per idle subscriber"));

        foreach (var transport in new[] { "sse", "resp" })
        {
            // At 500 msg/s for 1 s every subscriber gets all 500; the rate counts 20 deliveries a message. The
            // rate is only sane here, not close to 10,000/s: deliveries held up by a busy machine (the other test
            // classes run beside this one) land after the measured window. sse-fanout.sh measures it.
            var paced = report.Results.Single(r => r.Case == $"{transport} N=20 500/s");
            Assert.True(paced.Delivery.Received == 20 * 500, text);
            Assert.True(Figure(paced.Case, "deliveries/s") is > 0 and <= 20 * 500 * 2, text);
            var max = report.Results.Single(r => r.Case == $"{transport} N=20 max");
            Assert.True(max.Delivery.Received > 20, text);
            Assert.Equal(0, max.Delivery.Received % 20);
            foreach (var @case in new[] { paced.Case, max.Case })
            {
                Assert.True(Figure(@case, "samples") > 0, text);
                Assert.True(Figure(@case, "p50") > 0, text);
                Assert.True(Figure(@case, "p50") <= Figure(@case, "p99") && Figure(@case, "p99") <= Figure(@case, "max"), text);
                Assert.Null(Figure(@case, "server CPU"));
                Assert.True(Figure(@case, "generator CPU") >= 0, text);
            }
        }

        // The gateway's CPU time only for the SSE cases; over a second of 500 msg/s x 20 it used some.
        Assert.True(Figure("sse N=20 max", "gateway CPU") > 0, text);
        Assert.True(Figure("sse N=20 max", "gateway CPU per 1M deliveries") > 0, text);
        Assert.Null(Figure("resp N=20 max", "gateway CPU"));
        Assert.True(Figure("sse / resp N=20 500/s", "deliveries/s ratio") > 0, text);
        Assert.True(Figure("sse / resp N=20 max", "p99 ratio") > 0, text);
        Assert.Equal(report.ToJson(), RunReport.FromJson(report.ToJson()).ToJson());
    }

    [Fact]
    public async Task Without_a_gateway_url_the_sse_scenario_says_what_it_needs()
    {
        await using var server = await NotistreamServer.StartAsync();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await Cli.RunAsync(["--port", server.Port.ToString(CultureInfo.InvariantCulture), "--scenario", "sse", "--smoke"], stdout, stderr);
        Assert.Equal(2, exit);
        Assert.Contains("--gateway-url", stderr.ToString(), StringComparison.Ordinal);
    }

    /// <summary>notistream-gateway as built beside the tests, on a free port, connected to the server; Dispose kills it.</summary>
    private sealed class GatewayProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private GatewayProcess(Process process, int port)
        {
            _process = process;
            Url = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        }

        public string Url { get; }

        public int Pid => _process.Id;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static async Task<GatewayProcess> StartAsync(int serverPort)
        {
            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
                : ExternalProgram.Find("dotnet") ?? "dotnet";
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            for (var attempt = 0; ; attempt++)
            {
                var port = FreePort.Next();
                var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var arg in new[]
                {
                    Path.Join(AppContext.BaseDirectory, "notistream-gateway.dll"), "--server", $"127.0.0.1:{serverPort}", "--web-port", port.ToString(CultureInfo.InvariantCulture),
                    "--Subscribe:MaxSubscribers", "200",
                })
                {
                    info.ArgumentList.Add(arg);
                }

                var gateway = new GatewayProcess(Process.Start(info)!, port);
                gateway._process.OutputDataReceived += (_, e) => gateway.Append(e.Data);
                gateway._process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
                gateway._process.BeginOutputReadLine();
                gateway._process.BeginErrorReadLine();
                var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
                while (!gateway._process.HasExited && Stopwatch.GetTimestamp() < deadline)
                {
                    try
                    {
                        using var ready = await http.GetAsync(new Uri(gateway.Url + "/readyz"), TestContext.Current.CancellationToken);
                        if (ready.StatusCode == HttpStatusCode.OK)
                        {
                            return gateway;
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                    }

                    await Task.Delay(100, TestContext.Current.CancellationToken);
                }

                await gateway.DisposeAsync();
                if (attempt >= 2)
                {
                    throw new InvalidOperationException($"the gateway did not start:\n{gateway.Output}");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.AppendLine(line);
                }
            }
        }
    }
}
