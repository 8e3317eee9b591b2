using System.Net;
using System.Net.Sockets;
using Notistream.Gateway.Options;
using Notistream.Gateway.Subscribing;
using Notistream.Testing;

namespace Notistream.Gateway.Tests.Subscribing;

/// <summary>Follow connections with several servers: they follow on the node in use only, never move it, and errors name it.</summary>
public sealed class SubscribeFollowConnectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_node_that_answers_the_log_in_with_loading_does_not_move_the_node_in_use()
    {
        using var loading = new LoadingServer();
        await using var second = await NotistreamServer.StartAsync("--requirepass", "secret");
        var options = new GatewayOptions { Server = $"127.0.0.1:{loading.Port},127.0.0.1:{second.Port}", ServerPassword = "secret" };

        // Only the publisher's connection moves publishing and following: this follow fails, to be retried.
        var error = await Assert.ThrowsAsync<IOException>(() => FollowConnection.ConnectAsync(options, Ct));

        Assert.Contains($"127.0.0.1:{loading.Port}: LOADING", error.Message, StringComparison.Ordinal);
        Assert.Equal($"127.0.0.1:{loading.Port}", options.Servers.InUse);
    }

    [Fact]
    public async Task A_node_in_use_that_cannot_be_reached_is_named_and_stays_in_use()
    {
        using var held = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        held.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never listening: refused
        var down = ((IPEndPoint)held.LocalEndPoint!).Port;
        await using var second = await NotistreamServer.StartAsync("--requirepass", "secret");
        var options = new GatewayOptions { Server = $"127.0.0.1:{down},127.0.0.1:{second.Port}", ServerPassword = "secret" };

        var error = await Assert.ThrowsAsync<IOException>(() => FollowConnection.ConnectAsync(options, Ct));

        Assert.Contains($"127.0.0.1:{down}:", error.Message, StringComparison.Ordinal);
        Assert.Equal($"127.0.0.1:{down}", options.Servers.InUse);
    }

    [Theory]
    [InlineData("LOADING Redis is loading the dataset in memory", true)]
    [InlineData("ERR max number of clients reached", true)]
    [InlineData("WRONGPASS invalid username-password pair or user is disabled.", false)]
    [InlineData("NOPERM this user has no permissions", false)]
    public void Only_a_not_now_refusal_is_temporary(string error, bool temporary)
        => Assert.Equal(temporary, FollowConnection.IsTemporary(error));

    /// <summary>Answers every command with -LOADING, as a node still reading its data does.</summary>
    private sealed class LoadingServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public LoadingServer()
        {
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync();
                    }
                    catch (Exception)
                    {
                        return;
                    }

                    _ = Task.Run(async () =>
                    {
                        using (client)
                        {
                            try
                            {
                                var stream = client.GetStream();
                                var buffer = new byte[1024];
                                while (await stream.ReadAsync(buffer) > 0)
                                {
                                    await stream.WriteAsync("-LOADING Redis is loading the dataset in memory\r\n"u8.ToArray());
                                }
                            }
                            catch (Exception)
                            {
                                // the gateway went away
                            }
                        }
                    });
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public void Dispose() => _listener.Stop();
    }
}
