namespace Notistream.RespServer.Hosting;

/// <summary>
/// The server's settings, named and defaulted as redis.conf does. Set at start-up from the config
/// file and command line; the ones Redis can change at run time are changed by CONFIG SET, which is
/// why the fields are read fresh where they are used.
/// </summary>
internal sealed class RespServerOptions
{
    /// <summary>TCP port; 6379 as Redis. 0 disables the plain port when tls-port is set (as Redis); otherwise 0 asks the OS for a free port (tests).</summary>
    public int Port { get; set; } = 6379;

    /// <summary>
    /// What the config file and command line held that was accepted but has no effect here (Redis
    /// directives that do not apply to a pub/sub server), one line each; logged once at start-up.
    /// </summary>
    public List<string> IgnoredDirectives { get; } = [];

    /// <summary>Addresses to listen on. Loopback only unless told otherwise.</summary>
    public IReadOnlyList<string> Bind { get; set; } = ["127.0.0.1"];

    /// <summary>Password of the default user; null or empty means no AUTH needed.</summary>
    public string? RequirePass { get; set; }

    /// <summary>Redis's protected-mode: with no password on the default user, only loopback clients are served.</summary>
    public bool ProtectedMode { get; set; } = true;

    /// <summary>ACL users declared with <c>user name rules...</c> lines in the config file.</summary>
    public IReadOnlyList<string[]> Users { get; set; } = [];

    /// <summary>File of ACL users (one <c>user</c> line each) for ACL LOAD / ACL SAVE; empty = none.</summary>
    public string AclFile { get; set; } = "";

    /// <summary>acl-pubsub-default: new users start with no channels (resetchannels, Redis 7) or all (allchannels).</summary>
    public bool AclPubSubAllChannels { get; set; }

    /// <summary>Most clients connected at once; one more is told "max number of clients reached".</summary>
    public int MaxClients { get; set; } = 10000;

    /// <summary>Close a client idle this many seconds (0 = never). Pub/sub clients are exempt, as in Redis.</summary>
    public int Timeout { get; set; }

    /// <summary>TCP keepalive interval in seconds (0 = off); Redis's default 300 detects dead peers.</summary>
    public int TcpKeepAlive { get; set; } = 300;

    public OutputBufferLimit NormalOutputLimit { get; set; } = OutputBufferLimit.Normal;

    public OutputBufferLimit ReplicaOutputLimit { get; set; } = OutputBufferLimit.Replica;

    /// <summary>A subscriber that cannot keep up is cut off here: 32mb hard, 8mb for 60 s soft.</summary>
    public OutputBufferLimit PubSubOutputLimit { get; set; } = OutputBufferLimit.PubSub;

    /// <summary>Largest bulk string accepted in a request (512mb, as Redis).</summary>
    public long ProtoMaxBulkLen { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest unprocessed input held for one client (1gb, as Redis).</summary>
    public long ClientQueryBufferLimit { get; set; } = 1024L * 1024 * 1024;

    /// <summary>debug, verbose, notice, warning, nothing.</summary>
    public string LogLevel { get; set; } = "notice";

    /// <summary>Log file; empty logs to standard output.</summary>
    public string LogFile { get; set; } = "";

    public int Databases { get; set; } = 16;

    /// <summary>The nats-* directives; standalone unless nats-servers is set (docs/cluster.md).</summary>
    public Cluster.ClusterOptions Cluster { get; set; } = new();

    /// <summary>The tls-* directives; TLS is off unless tls-port is set.</summary>
    public TlsOptions Tls { get; set; } = new();

    /// <summary>Which channels keep history, and how much (channel-history); empty is none.</summary>
    public IReadOnlyList<HistoryRule> ChannelHistory { get; set; } = HistoryRule.Defaults;

    /// <summary>
    /// history-max-memory: the most bytes all channel histories together may hold; past it the oldest
    /// messages of all channels go first. 0 is no limit. 64mb keeps about 900,000 messages of 64 bytes.
    /// </summary>
    public long HistoryMaxMemory { get; set; } = 64L * 1024 * 1024;

    /// <summary>Whether a channel-history directive was read at start-up: the first replaces the default rules, later ones add to them.</summary>
    public bool ChannelHistoryConfigured { get; set; }

    /// <summary>
    /// appendonly: keep the keyspace (the streams, channel history included) in Redis 7.0's multi-part
    /// append-only file under <see cref="Dir"/>, and load it at start-up. Off by default, as in Redis.
    /// </summary>
    public bool AppendOnly { get; set; }

    /// <summary>appendfsync: when the log is flushed to the disk (everysec by default, as in Redis).</summary>
    public AppendFsync AppendFsync { get; set; } = AppendFsync.EverySec;

    /// <summary>
    /// dir: the working folder, where the append-only folder lives; an absolute path (a relative one is
    /// taken from the folder the server started in, as Redis's chdir takes it). The current folder by default.
    /// </summary>
    public string Dir { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>appendfilename: the base name of the append-only files and of their manifest.</summary>
    public string AppendFilename { get; set; } = "appendonly.aof";

    /// <summary>appenddirname: the folder, inside <see cref="Dir"/>, that holds the append-only files.</summary>
    public string AppendDirname { get; set; } = "appendonlydir";

    /// <summary>aof-load-truncated: a torn tail of the last file is cut at start-up (yes) or stops it (no).</summary>
    public bool AofLoadTruncated { get; set; } = true;

    /// <summary>auto-aof-rewrite-percentage: rewrite when the files grew this much since the last rewrite (0: never by itself).</summary>
    public int AutoAofRewritePercentage { get; set; } = 100;

    /// <summary>auto-aof-rewrite-min-size: and only once they hold at least this many bytes.</summary>
    public long AutoAofRewriteMinSize { get; set; } = 64L * 1024 * 1024;

    /// <summary>metrics-port: serve GET /metrics (Prometheus text) on this port; 0 (the default) is off, -1 asks the OS for a free port (tests).</summary>
    public int MetricsPort { get; set; }

    /// <summary>metrics-bind: the one address the metrics listener binds; loopback unless told otherwise.</summary>
    public string MetricsBind { get; set; } = "127.0.0.1";
    /// <summary>supervised: upstart, systemd, auto or no (see <see cref="Supervision"/>). As in Redis, once
    /// supervision is in effect it holds the mode found (auto becomes systemd), which CONFIG GET shows.</summary>
    public string Supervised { get; set; } = "no";

    /// <summary>Whether READY=1 and STOPPING=1 go to systemd (INFO process_supervised); set at start-up.</summary>
    public bool SupervisedBySystemd { get; set; }

    /// <summary>The config file the server was started with, if any (INFO config_file).</summary>
    public string? ConfigFile { get; set; }
}

/// <summary>appendfsync: always (before a write is acknowledged), everysec (a background flush each second), no (the system's own).</summary>
internal enum AppendFsync
{
    Always,
    EverySec,
    No,
}
