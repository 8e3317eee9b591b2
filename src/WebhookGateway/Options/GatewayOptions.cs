namespace Notistream.Gateway.Options;

/// <summary>
/// Settings of the gateway, section <c>Gateway</c>: each can be given as <c>--Key value</c>, as
/// <c>Gateway__Key</c> in the environment, in appsettings.json, and the main ones through the
/// variables <see cref="GatewayConfiguration"/> maps. Defaults suit a single machine behind NAT.
/// </summary>
internal sealed class GatewayOptions
{
    /// <summary>GitHub's documented maximum payload size: larger deliveries are capped by GitHub itself.</summary>
    public const int GitHubMaximumPayloadBytes = 25 * 1024 * 1024;

    /// <summary>
    /// The pub/sub server as <c>host:port</c>, or several as <c>host:port,host:port…</c>: the gateway uses one
    /// and moves to the next when it goes away (<c>--server</c>; <c>NOTISTREAM_HOST</c> and <c>NOTISTREAM_PORT</c>
    /// for one, formerly <c>NOTISTREAM_SERVER</c>).
    /// </summary>
    public string Server { get; set; } = "127.0.0.1:6379";

    private ServerAddresses? _servers;

    /// <summary>
    /// <see cref="Server"/> as a list, with the follow connections' place in it; made on first use, after
    /// validation (internal: not bound from configuration).
    /// </summary>
    internal ServerAddresses Servers => LazyInitializer.EnsureInitialized(ref _servers, () => new ServerAddresses(ServerAddresses.Split(Server)));

    /// <summary>
    /// ACL user the gateway authenticates as (<c>--server-user</c>, <c>NOTISTREAM_USER</c>), with
    /// <see cref="ServerPassword"/>; unset means the default user. Give it only PUBLISH on its channels.
    /// </summary>
    public string? ServerUser { get; set; }

    /// <summary>Password for the server's AUTH, if it has <c>requirepass</c> (<c>--server-password</c>, <c>NOTISTREAM_PASSWORD</c>).</summary>
    public string? ServerPassword { get; set; }

    /// <summary>
    /// TLS to the pub/sub server, i.e. to its tls-port (<c>--server-tls true</c>, <c>NOTISTREAM_TLS</c>).
    /// Giving <see cref="ServerCaFile"/> or <see cref="ServerCertFile"/> turns it on too.
    /// </summary>
    public bool ServerTls { get; set; }

    /// <summary>CA certificate (PEM) the server's certificate must chain to; unset: the system's trust store (<c>--server-ca-file</c>, <c>NOTISTREAM_CA_FILE</c>).</summary>
    public string? ServerCaFile { get; set; }

    /// <summary>Client certificate (PEM) for a server with tls-auth-clients yes (<c>--server-cert</c>, <c>NOTISTREAM_CERT_FILE</c>); needs <see cref="ServerKeyFile"/>.</summary>
    public string? ServerCertFile { get; set; }

    /// <summary>The client certificate's private key (PEM) (<c>--server-key</c>, <c>NOTISTREAM_KEY_FILE</c>).</summary>
    public string? ServerKeyFile { get; set; }

    /// <summary>Whether the connection to the server uses TLS.</summary>
    public bool UsesServerTls => ServerTls || !string.IsNullOrEmpty(ServerCaFile) || !string.IsNullOrEmpty(ServerCertFile);

    /// <summary>
    /// When set, the publish routes (<c>POST /</c>, <c>POST /{channel}</c>, ntfy's) require <c>Authorization: Bearer &lt;token&gt;</c>
    /// (<c>--token</c>, <c>NOTISTREAM_TOKEN</c>). Unset: anyone who reaches the port may publish.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// Publish tokens scoped to channel patterns (Redis glob syntax, as PSUBSCRIBE): each allows
    /// only channels matching one of its <see cref="ScopedTokenOptions.Channels"/>. Configured as
    /// <c>Gateway:Tokens:0:Token</c> and <c>Gateway:Tokens:0:Channels:0</c> (appsettings.json, or
    /// <c>Gateway__Tokens__0__Token</c> in the environment). With <see cref="Token"/> unset, they alone
    /// guard publishing.
    /// </summary>
    public IList<ScopedTokenOptions> Tokens { get; } = [];

    /// <summary>
    /// Secret of the GitHub webhook (<c>--github-secret</c>, <c>GITHUB_WEBHOOK_SECRET</c>). Without it
    /// <c>POST /github</c> refuses every delivery: unsigned posts would let anyone publish.
    /// </summary>
    public string? GitHubWebhookSecret { get; set; }

    /// <summary>Largest body for <c>POST /</c>, <c>POST /{channel}</c> and ntfy's routes: a notification is a line of text, 64 KiB is generous.</summary>
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Largest body for <c>POST /github</c>: GitHub's own cap, 25 MiB.</summary>
    public int MaxGitHubBodyBytes { get; set; } = GitHubMaximumPayloadBytes;

    /// <summary>Longest channel name in UTF-8 bytes; GitHub's <c>owner/repo</c> is at most 140.</summary>
    public int MaxChannelBytes { get; set; } = 256;

    /// <summary>How long the first connection attempt and each reconnect attempt may take.</summary>
    public int ConnectTimeoutMilliseconds { get; set; } = 5000;

    /// <summary>How long a PUBLISH may wait for the server's reply before the request answers 503.</summary>
    public int PublishTimeoutMilliseconds { get; set; } = 5000;

    /// <summary>The Retry-After value of a 503: about one reconnect attempt.</summary>
    public int RetryAfterSeconds { get; set; } = 5;

    /// <summary>How many <c>X-GitHub-Delivery</c> ids are remembered to drop redeliveries.</summary>
    public int DeliveryIdsRemembered { get; set; } = 10_000;

    public RateLimitOptions RateLimit { get; set; } = new();

    /// <summary>Limits of subscribing over HTTP.</summary>
    public SubscribeOptions Subscribe { get; set; } = new();

    /// <summary>
    /// Who may read <c>GET /metrics</c> (<c>--Metrics</c>): loopback clients only (the default), any client
    /// (a port only a private network reaches), or off. Never behind the publish token: scrapers carry none.
    /// </summary>
    public Metrics.MetricsAccess Metrics { get; set; } = Gateway.Metrics.MetricsAccess.Loopback;

    /// <summary>
    /// Serve the web app at <c>GET /</c> (<c>--WebApp</c>): subscribe, publish and Web Push from a browser or a
    /// phone. It only calls the gateway's own routes, with the same tokens; false leaves <c>GET /</c> unanswered (404).
    /// </summary>
    public bool WebApp { get; set; } = true;

    /// <summary>
    /// Serve the live dashboard at <c>GET /dashboard</c> and its snapshot at <c>GET /v1/dashboard</c> (<c>--Dashboard</c>):
    /// clients, channels, rates, history, cut-offs and the last GitHub deliveries. With tokens configured it needs one
    /// that may read every channel; false leaves both unanswered.
    /// </summary>
    public bool Dashboard { get; set; } = true;

    /// <summary>Web Push to browsers and phones (<c>Gateway:WebPush</c>); off until its Subject is set.</summary>
    public WebPushOptions WebPush { get; } = new();
}

/// <summary>A token that may publish to, subscribe to, or both, only channels matching one of its patterns.</summary>
internal sealed class ScopedTokenOptions
{
    /// <summary>The bearer token; never logged.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// <c>write</c> (publish; the default, which is what every token meant before subscribing existed),
    /// <c>read</c> (subscribe over HTTP) or <c>read-write</c>.
    /// </summary>
    public string? Access { get; set; }

    /// <summary>Channel patterns in Redis glob syntax: <c>alerts:*</c>, <c>builds/*</c>, <c>home</c>.</summary>
    public IList<string> Channels { get; } = [];
}

/// <summary>ASP.NET Core's fixed-window limiter, partitioned by client address.</summary>
internal sealed class RateLimitOptions
{
    /// <summary>Requests per client address per minute on the publish endpoints; 0 turns the limiter off.</summary>
    public int PermitsPerMinute { get; set; } = 120;

    /// <summary>Loopback clients (scripts on the same machine, a local reverse proxy) are not limited.</summary>
    public bool ExemptLoopback { get; set; } = true;
}
