namespace Notistream.RespServer.Cluster;

/// <summary>
/// The nats-* directives (docs/cluster.md). With no <see cref="Servers"/> the server is standalone and
/// no NATS code runs. Read once at start-up: CONFIG SET cannot change them.
/// </summary>
internal sealed class ClusterOptions
{
    /// <summary>nats-servers: the NATS servers to join through, comma-separated nats:// or tls:// URLs; empty is standalone.</summary>
    public string Servers { get; set; } = "";

    /// <summary>nats-user and nats-password: NATS user credentials; empty is none.</summary>
    public string User { get; set; } = "";

    public string Password { get; set; } = "";

    /// <summary>nats-token: a NATS authentication token; empty is none.</summary>
    public string Token { get; set; } = "";

    /// <summary>nats-subject-prefix: the first tokens of every subject the nodes use; nodes that share it form one cluster.</summary>
    public string SubjectPrefix { get; set; } = "notistream";

    /// <summary>nats-tls-ca-file: the CA (PEM) that signs the NATS servers' certificates, for tls:// URLs; empty trusts the system's.</summary>
    public string TlsCaFile { get; set; } = "";

    /// <summary>
    /// nats-history: <c>jetstream</c> (the default) keeps the channels' history in one JetStream stream that every
    /// node applies, so ids and cursors are the same on every node; <c>local</c> keeps each node's own, as a
    /// standalone server does (docs/cluster.md#history).
    /// </summary>
    public string History { get; set; } = "jetstream";

    /// <summary>nats-history-replicas: the stream's replicas when a node makes it; 0 is three, or one when JetStream refuses three.</summary>
    public int HistoryReplicas { get; set; }

    public bool SharedHistory => History == "jetstream";

    public bool Enabled => Servers.Length > 0;

    public ClusterOptions Clone() => (ClusterOptions)MemberwiseClone();
}
