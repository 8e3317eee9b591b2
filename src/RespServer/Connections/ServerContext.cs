using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Notistream.RespServer.Acl;
using Notistream.RespServer.Hosting;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Output;
using Notistream.RespServer.Persistence;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Connections;

/// <summary>What every connection and command shares: settings, the subscription registry, the client list, counters.</summary>
internal sealed class ServerContext
{
    public const string RedisVersion = "7.0.15";

    /// <summary>redis_git_sha1 (and redis-server --version's sha=): the first 8 digits of the commit built, or 00000000.</summary>
    public static string GitSha1 { get; } = ProductVersion.Commit is { Length: >= 8 } commit ? commit[..8] : "00000000";

    public ServerContext(RespServerOptions options, ILoggerFactory loggerFactory)
    {
        Options = options;
        LoggerFactory = loggerFactory;
        Logger = loggerFactory.CreateLogger("Notistream.RespServer");
        RunId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        Clients = new ConnectionManager();
        var start = new StreamId(ChannelHistory.NowMs(), 0);
        Keys = new KeyStore(options.Databases)
        {
            // Whatever was kept before this start is gone unless a log is loaded (which says how complete it is).
            HistoryIncompleteBefore = start,
        };
        Keys.GeneratorAtLeast(start);
        Aof = new AofLog(Keys, options, loggerFactory.CreateLogger("Notistream.RespServer.Persistence"));
        Keys.Log = Aof;
        Acl = new AclStore(options.RequirePass, options.Users, options.AclFile, options.AclPubSubAllChannels);
        Metrics = new ServerMetrics(this);
    }

    /// <summary>ACL users; the default user's password follows requirepass.</summary>
    public AclStore Acl { get; }

    public RespServerOptions Options { get; }

    public ILoggerFactory LoggerFactory { get; }

    public ILogger Logger { get; }

    public SubscriptionRegistry Registry { get; } = new();

    /// <summary>Every database's keys (streams).</summary>
    public KeyStore Keys { get; }

    /// <summary>The append-only file the keyspace is kept in (appendonly); off unless configured.</summary>
    public AofLog Aof { get; }

    /// <summary>The link to the other nodes through NATS (docs/cluster.md); null when standalone (no nats-servers).</summary>
    public Cluster.ClusterLink? Cluster { get; set; }

    /// <summary>Batches fanning out now, for the ordering of messages and unsubscribe confirmations.</summary>
    public FanOutTracker FanOuts { get; } = new();

    public ConnectionManager Clients { get; }

    public ServerStats Stats { get; } = new();

    /// <summary>The server's instruments (meter Notistream.Server); they cost nothing until something listens.</summary>
    public ServerMetrics Metrics { get; }

    public string RunId { get; }

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public Stopwatch Uptime { get; } = Stopwatch.StartNew();

    /// <summary>The port actually bound (differs from the option when it was 0).</summary>
    public int BoundPort { get; set; }

    /// <summary>The metrics port actually bound; 0 without metrics-port.</summary>
    public int BoundMetricsPort { get; set; }

    /// <summary>The TLS port actually bound; 0 without tls-port.</summary>
    public int BoundTlsPort { get; set; }

    /// <summary>maxclients against the open-file limit; null where the platform has none (set at start-up).</summary>
    public OpenFilesLimit? OpenFiles { get; set; }

    /// <summary>Redis's authRequired for a client not yet authenticated.</summary>
    public bool RequiresPassword => Acl.DefaultRequiresAuth;
}
