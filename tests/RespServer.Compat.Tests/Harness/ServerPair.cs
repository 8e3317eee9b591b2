using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Harness;

/// <summary>A redis-server and our server started with the same arguments, for one test class.</summary>
public class ServerPair : IAsyncLifetime
{
    private readonly string[] _args;
    private readonly string[] _redisArgs;
    private RedisServerProcess? _redis;
    private NotistreamServer? _ours;

    public ServerPair()
        : this([])
    {
    }

    protected ServerPair(string[] args, string[]? redisArgs = null)
    {
        _args = args;
        _redisArgs = redisArgs ?? [];
    }

    /// <summary>The requirepass both servers run with, or null.</summary>
    public string? Password
    {
        get
        {
            var i = Array.IndexOf(_args, "--requirepass");
            return i >= 0 ? _args[i + 1] : null;
        }
    }

    public int RedisPort => _redis?.Port ?? throw new InvalidOperationException("not started");

    public int OurPort => _ours?.Port ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync()
    {
        // RedisServerProcess waits for +PONG, which a password-protected server never gives: the
        // password is set once it is up, which is the same server state as --requirepass.
        _redis = await RedisServerProcess.StartAsync(_redisArgs).WithTimeout();
        if (Password is { } password)
        {
            await using var admin = await RawConnection.ConnectAsync(_redis.Port);
            await admin.SendAsync(Script.Encode("CONFIG", "SET", "requirepass", password));
            var reply = await admin.ReadFramesAsync(1, TaskTimeoutExtensions.DefaultTimeout);
            Assert.Equal("+OK\r\n"u8.ToArray(), reply[0].Raw);
        }

        _ours = await NotistreamServer.StartAsync(_args).WithTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        if (_ours is not null)
        {
            await _ours.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>Both servers with <c>--requirepass pw</c>.</summary>
public sealed class AuthServerPair : ServerPair
{
    public AuthServerPair()
        : base(["--requirepass", "pw"])
    {
    }
}
