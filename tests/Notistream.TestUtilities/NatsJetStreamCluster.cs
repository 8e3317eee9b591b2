using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
namespace Notistream.Testing;

/// <summary>
/// Three nats-servers routed to each other with JetStream on, as docs/cluster.md starts them, on free ports and
/// storing in a temporary folder: Notistream nodes joined through them (<c>--nats-servers</c>,
/// <see cref="NodeArguments"/>) share one history. Dispose kills them and removes the folder.
/// </summary>
public sealed class NatsJetStreamCluster : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly StringBuilder _output = new();
    private readonly string _store = Directory.CreateTempSubdirectory("notistream-nats-").FullName;

    private NatsJetStreamCluster(IReadOnlyList<int> clientPorts)
    {
        ClientPorts = clientPorts;
    }

    /// <summary>The port each nats-server takes clients on.</summary>
    public IReadOnlyList<int> ClientPorts { get; }

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

    /// <summary>
    /// Starts the three and waits until each takes connections (JetStream's own readiness is the nodes'
    /// <c>nats_history_ready</c>). A port taken between <see cref="FreePort.Next"/> and nats-server's bind (other
    /// tests run meanwhile) makes one exit: then all three start again on other ports, up to three times.
    /// </summary>
    public static async Task<NatsJetStreamCluster> StartAsync(string natsServer)
    {
        for (var attempt = 1; ; attempt++)
        {
            var ports = Enumerable.Range(0, 3).Select(_ => (Client: FreePort.Next(), Cluster: FreePort.Next(), Monitor: FreePort.Next())).ToList();
            var cluster = new NatsJetStreamCluster([.. ports.Select(p => p.Client)]);
            try
            {
                for (var i = 0; i < ports.Count; i++)
                {
                    var routes = string.Join(',', ports.Where((_, j) => j != i).Select(p => $"nats://127.0.0.1:{Text(p.Cluster)}"));
                    cluster.Run(natsServer,
                    [
                        "-a", "127.0.0.1", "-p", Text(ports[i].Client), "-n", $"nats-{i}", "-m", Text(ports[i].Monitor),
                        "--cluster_name", "notistream", "-cluster", $"nats://127.0.0.1:{Text(ports[i].Cluster)}", "-routes", routes,
                        "-js", "-sd", Path.Join(cluster._store, $"nats-{i}"),
                    ]);
                }

                foreach (var port in cluster.ClientPorts)
                {
                    await TaskTimeoutExtensions.WaitUntil(() => cluster.Accepts(port), $"nats-server taking clients on {port}:\n{cluster.Output}", TimeSpan.FromSeconds(20));
                }

                return cluster;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                cluster.Dispose();
            }
            catch
            {
                cluster.Dispose();
                throw;
            }
        }
    }

    /// <summary>The arguments of a Notistream node joined through the <paramref name="index"/>th nats-server.</summary>
    public string[] NodeArguments(int index) => ["--nats-servers", $"nats://127.0.0.1:{Text(ClientPorts[index])}"];

    public void Dispose()
    {
        foreach (var process in _processes)
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

        try
        {
            Directory.Delete(_store, recursive: true);
        }
        catch (IOException)
        {
            // a file still held; left to the temporary folder's cleaning
        }
    }

    private void Run(string program, string[] arguments)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        _processes.Add(process);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private bool Accepts(int port)
    {
        if (_processes.FirstOrDefault(p => p.HasExited) is { } exited)
        {
            exited.WaitForExit(); // its output read to the end
            throw new InvalidOperationException($"a nats-server exited:\n{Output}");
        }

        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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
