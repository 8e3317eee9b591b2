using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>
/// Three nats-server processes clustered on 127.0.0.1 (routes between them, monitoring on), and three
/// Notistream nodes, A, B and C, each joined through a different one. Shared by the tests of a class;
/// every nats-server is killed on dispose, also when start-up fails half-way.
/// </summary>
public class NatsCluster : IAsyncLifetime
{
    private readonly List<Process> _nats = [];
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Null when nats-server is not installed: each test then skips (or fails under CI) with the reason.</summary>
    public string? NatsServer { get; } = ExternalProgram.Find("nats-server");

    public NatsNode[] Nodes { get; private set; } = [];

    public NatsNode A => Nodes[0];

    public NatsNode B => Nodes[1];

    public NatsNode C => Nodes[2];

    public string NatsOutput
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public async ValueTask InitializeAsync()
    {
        if (NatsServer is null)
        {
            return;
        }

        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await StartNatsAsync();
                    break;
                }
                catch (Exception) when (attempt < 3)
                {
                    // A free port taken in between: kill what started and try again with other ports.
                    KillNats();
                }
            }

            var nodes = new List<NatsNode>();
            foreach (var (client, monitor) in _ports)
            {
                var server = await NotistreamServer.StartAsync([.. NodeArguments(client), .. MoreNodeArguments]);
                nodes.Add(new NatsNode(server, monitor, client));
            }

            Nodes = [.. nodes];
            foreach (var node in Nodes)
            {
                await WaitUntilAsync(async () => (await node.InfoAsync())["nats_connected"] == "1", $"node on {node.Port} connected to NATS");
                await WaitUntilAsync(async () => (await node.InfoAsync()).GetValueOrDefault("nats_history_ready", "1") == "1",
                    $"node on {node.Port} reading the history's JetStream stream");
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private List<(int Client, int Monitor)> _ports = [];

    private async Task StartNatsAsync()
    {
        var ports = Enumerable.Range(0, 3).Select(_ => (Client: FreePort.Next(), Cluster: FreePort.Next(), Monitor: FreePort.Next())).ToList();
        for (var i = 0; i < 3; i++)
        {
            var psi = new ProcessStartInfo(NatsServer!)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in NatsArguments(i, ports, _store))
            {
                psi.ArgumentList.Add(arg);
            }

            var process = Process.Start(psi) ?? throw new InvalidOperationException("nats-server did not start");
            _nats.Add(process);
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        // Routes up: each server sees the two others.
        foreach (var (_, _, monitor) in ports)
        {
            await WaitUntilAsync(async () =>
            {
                if (_nats.Any(p => p.HasExited))
                {
                    throw new InvalidOperationException("a nats-server exited: " + NatsOutput);
                }

                using var routez = await MonitorAsync(monitor, "/routez");
                return routez.RootElement.GetProperty("num_routes").GetInt32() >= 2;
            }, $"nats-server monitored on {monitor} routed to the two others");
        }

        _ports = [.. ports.Select(p => (p.Client, p.Monitor))];
    }

    /// <summary>
    /// The arguments of the <paramref name="index"/>th nats-server, with JetStream storing under
    /// <paramref name="store"/> (docs/cluster.md shows them with fixed ports and <c>data</c>).
    /// </summary>
    public static string[] NatsArguments(int index, IReadOnlyList<(int Client, int Cluster, int Monitor)> ports, string store = "data")
    {
        var routes = string.Join(',', ports.Where((_, j) => j != index).Select(p => $"nats://127.0.0.1:{Text(p.Cluster)}"));
        return
        [
            "-a", "127.0.0.1", "-p", Text(ports[index].Client), "-n", $"nats-{index}", "-m", Text(ports[index].Monitor),
            "--cluster_name", "notistream", "-cluster", $"nats://127.0.0.1:{Text(ports[index].Cluster)}", "-routes", routes,
            "-js", "-sd", $"{store}/nats-{index}",
        ];
    }

    /// <summary>Where this cluster's nats-servers keep JetStream's files; removed on dispose.</summary>
    private readonly string _store = Directory.CreateTempSubdirectory("notistream-nats-").FullName;

    /// <summary>What every node of this cluster is started with besides <see cref="NodeArguments"/>.</summary>
    protected virtual string[] MoreNodeArguments => [];

    /// <summary>The arguments of a node joined through the nats-server on <paramref name="natsPort"/>.</summary>
    public static string[] NodeArguments(int natsPort) => ["--nats-servers", $"nats://127.0.0.1:{Text(natsPort)}"];

    /// <summary>
    /// kill -9 of the nats-server that takes clients on <paramref name="clientPort"/>. For the tests that
    /// kill servers only: each such class has a cluster of its own (<see cref="NatsFailoverCollection"/>).
    /// </summary>
    public void KillNatsServer(int clientPort)
    {
        var index = _ports.FindIndex(p => p.Client == clientPort);
        if (index < 0)
        {
            throw new ArgumentException($"no nats-server of this cluster takes clients on {clientPort}", nameof(clientPort));
        }

        // SIGKILL on Unix: no goodbye to its clients or its routes.
        _nats[index].Kill(entireProcessTree: false);
        _nats[index].WaitForExit(10_000);
    }

    /// <summary>A nats-server's monitoring endpoint (/routez, /connz?subs=1, /subsz), parsed.</summary>
    public async Task<JsonDocument> MonitorAsync(int monitorPort, string path)
    {
        try
        {
            var text = await _http.GetStringAsync($"http://127.0.0.1:{monitorPort}{path}");
            return JsonDocument.Parse(text);
        }
        catch (HttpRequestException)
        {
            return JsonDocument.Parse("{\"num_routes\":0,\"connections\":[]}");
        }
    }

    /// <summary>Every subscription of every client connection of a nats-server (its nodes' NATS subscriptions).</summary>
    public async Task<List<string>> ClientSubscriptionsAsync(NatsNode node)
    {
        using var connz = await MonitorAsync(node.NatsMonitorPort, "/connz?subs=1");
        var subjects = new List<string>();
        foreach (var connection in connz.RootElement.GetProperty("connections").EnumerateArray())
        {
            if (connection.TryGetProperty("subscriptions_list", out var list))
            {
                subjects.AddRange(list.EnumerateArray().Select(s => s.GetString()!));
            }
        }

        return subjects;
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; fails with <paramref name="what"/> after the limit.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? limit = null)
    {
        var deadline = Stopwatch.StartNew();
        var max = limit ?? TimeSpan.FromSeconds(20);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!await condition())
        {
            if (deadline.Elapsed > max)
            {
                throw new TimeoutException($"not within {max.TotalSeconds:0} s: {what}");
            }

            await poll.WaitForNextTickAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        Nodes = [];
        KillNats();
        _http.Dispose();
        try
        {
            Directory.Delete(_store, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void KillNats()
    {
        foreach (var process in _nats)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }

            process.Dispose();
        }

        _nats.Clear();
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

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One Notistream node of the test cluster, and the client and monitoring ports of the nats-server it joined through.</summary>
public sealed class NatsNode(NotistreamServer server, int natsMonitorPort, int natsPort) : IAsyncDisposable
{
    public int Port => server.Port;

    public int NatsMonitorPort { get; } = natsMonitorPort;

    public int NatsPort { get; } = natsPort;

    internal Task<WireClient> ConnectAsync() => WireClient.ConnectAsync(server.Port);

    /// <summary>INFO cluster, as name → value.</summary>
    public async Task<Dictionary<string, string>> InfoAsync()
    {
        await using var client = await WireClient.ConnectAsync(server.Port);
        var reply = (byte[])(await client.CallAsync("INFO", "cluster"))!;
        return Encoding.UTF8.GetString(reply).Split("\r\n")
            .Where(line => line.Contains(':', StringComparison.Ordinal) && !line.StartsWith('#'))
            .Select(line => line.Split(':', 2))
            .ToDictionary(p => p[0], p => p[1]);
    }

    public async Task<long> InfoNumberAsync(string name) => long.Parse((await InfoAsync())[name], CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync() => server.DisposeAsync();
}

/// <summary>
/// A cluster whose nodes keep history for the channels under <c>follow.</c> only (what NOTI.SUBSCRIBE tests
/// follow): every other message goes over core NATS, the live path whose interest routing, counting and
/// loss accounting the tests of this fixture check (docs/cluster.md#ordering-and-loss).
/// </summary>
public sealed class NatsClusterWithoutHistory : NatsCluster
{
    protected override string[] MoreNodeArguments => ["--channel-history", "follow.* 1000 24h"];
}
