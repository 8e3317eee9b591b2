using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Faults;

/// <summary>
/// Out of file descriptors, accept fails (EMFILE) and the client stays in the listen backlog, so the
/// next accept fails at once too: the server must back off rather than spin, and serve again once
/// descriptors are free.
/// </summary>
[Collection(nameof(TimingMeasuredCollection))]
public sealed class AcceptBackoffTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Out_of_descriptors_the_accept_loop_backs_off_and_recovers()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "limits the server's descriptors with prlimit and reads its CPU time from /proc");
        await using var server = await ServerProcess.StartAsync(FreePort.Next());
        var pid = server.Process.Id;

        // At its descriptor limit the .NET runtime cannot start a thread (it needs descriptors to), and
        // aborts with "Out of memory." if the thread pool grows then. Many clients at once first, while
        // descriptors are plenty, let the pool grow to what the rest of the test needs.
        await WarmUpAsync(server.Port);

        // Room for a few connections more than the server has open now.
        const int Room = 8;
        ProcessControl.SetDescriptorLimit(pid, ProcessControl.OpenDescriptors(pid) + Room);

        // Clients connect (the kernel completes the handshake) until one is no longer served: from
        // there on accept fails and clients wait in the backlog.
        var served = new List<WireClient>();
        var waiting = new List<WireClient>();
        try
        {
            while (waiting.Count == 0)
            {
                Assert.True(served.Count <= 4 * Room, "the server went on accepting past its descriptor limit");
                Assert.False(server.Process.HasExited, $"the server exited:\n{server.Output}");
                var client = await WireClient.ConnectAsync(server.Port);
                await client.SendAsync("PING");
                if (await AnsweredAsync(client, TimeSpan.FromSeconds(1)))
                {
                    served.Add(client);
                }
                else
                {
                    waiting.Add(client);
                }
            }

            Assert.NotEmpty(served);
            for (var i = 0; i < Room / 2; i++)
            {
                var client = await WireClient.ConnectAsync(server.Port);
                await client.SendAsync("PING");
                waiting.Add(client);
            }

            // Accept fails over and over now. Retrying at once burned a whole core (and logged each
            // failure); backing off, the server sleeps between attempts.
            await TaskTimeoutExtensions.WaitUntil(
                () => server.Output.Contains("Accepting a client connection failed", StringComparison.Ordinal), "accept to fail");
            await Task.Delay(300, Token);
            var before = ProcessControl.CpuTime(pid);
            await Task.Delay(1000, Token);
            var cpu = ProcessControl.CpuTime(pid) - before;
            var failures = server.Output.Split('\n').Count(line => line.Contains("Accepting a client connection failed", StringComparison.Ordinal));
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"served {served.Count}, waiting {waiting.Count}; CPU while accept fails: {cpu.TotalMilliseconds:F0} ms in 1 s; accept failures logged: {failures}");
            Assert.True(cpu < TimeSpan.FromMilliseconds(200), $"the server used {cpu.TotalMilliseconds:F0} ms of CPU in 1 s while accept failed");
            Assert.InRange(failures, 1, 20);

            // Descriptors free up: the waiting clients are accepted and answered, and a new one is served.
            foreach (var client in served)
            {
                await client.DisposeAsync();
            }

            served.Clear();
            try
            {
                foreach (var client in waiting)
                {
                    Assert.Equal("PONG", await client.ReadAsync(TimeSpan.FromSeconds(10)));
                }

                await using var late = await WireClient.ConnectAsync(server.Port);
                await late.SendAsync("PING");
                Assert.Equal("PONG", await late.ReadAsync(TimeSpan.FromSeconds(10)));
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                Assert.Fail($"not served after descriptors were freed ({ex.Message}); server {(server.Process.HasExited ? "exited" : "running")}:\n{server.Output}");
            }
        }
        finally
        {
            foreach (var client in served.Concat(waiting))
            {
                await client.DisposeAsync();
            }
        }
    }

    private static async Task WarmUpAsync(int port)
    {
        var clients = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => WireClient.ConnectAsync(port)));
        await Task.WhenAll(clients.Select(async client => Assert.Equal("PONG", await client.CallAsync("PING"))));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await Task.Delay(500, Token); // their ends are handled by then
    }

    private static async Task<bool> AnsweredAsync(WireClient client, TimeSpan timeout)
    {
        try
        {
            Assert.Equal("PONG", await client.ReadAsync(timeout));
            return true;
        }
        catch (OperationCanceledException) when (!Token.IsCancellationRequested)
        {
            return false; // the pending receive is cancelled; the socket stays usable (Linux)
        }
    }
}
