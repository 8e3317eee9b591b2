using System.Globalization;
using Notistream.Gateway.Publishing;
using Notistream.Gateway.WebPush;

namespace Notistream.Gateway.Dashboard;

/// <summary>
/// Builds <c>GET /v1/dashboard</c>'s snapshot: one INFO to the pub/sub server and the gateway's own counters.
/// A snapshot is reused for <see cref="CacheFor"/>, and only one is built at a time (the others wait for it),
/// so any number of dashboards open costs the server at most one INFO a second per gateway. Rates are the
/// counters' deltas between this snapshot and the one before, over the time between them.
/// </summary>
internal sealed class DashboardSnapshots
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(1);

    private readonly DashboardCounters _counters;
    private readonly IServerInfo? _info;
    private readonly IMessagePublisher? _publisher;
    private readonly WebPushService? _webPush;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _building = new(1, 1);
    private volatile DashboardSnapshot? _latest;

    /// <summary>The counters of the snapshot before <see cref="_latest"/>; read and written while holding <see cref="_building"/>.</summary>
    private Sample? _previous;

    private long _serverQueries;

    public DashboardSnapshots(IServiceProvider services, DashboardCounters counters)
    {
        _counters = counters;
        _info = services.GetService<IServerInfo>();
        _publisher = services.GetService<IMessagePublisher>();
        _webPush = services.GetService<WebPushService>();
        _time = services.GetService<TimeProvider>() ?? TimeProvider.System;
    }

    /// <summary>How many INFO calls the snapshots have made (the cache's bound is tested on it).</summary>
    public long ServerQueries => Interlocked.Read(ref _serverQueries);

    public async Task<DashboardSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        if (_latest is { } latest && Fresh(latest))
        {
            return latest;
        }

        await _building.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_latest is { } built && Fresh(built))
            {
                return built; // built by the request this one waited for
            }

            var snapshot = await BuildAsync().ConfigureAwait(false);
            _latest = snapshot;
            return snapshot;
        }
        finally
        {
            _building.Release();
        }
    }

    private bool Fresh(DashboardSnapshot snapshot) => _time.GetUtcNow() - snapshot.Time < CacheFor;

    private async Task<DashboardSnapshot> BuildAsync()
    {
        Dictionary<string, string>? info = null;
        string? error = null;
        if (_info is null)
        {
            error = "no connection to the pub/sub server in this gateway";
        }
        else
        {
            Interlocked.Increment(ref _serverQueries);
            try
            {
                info = ParseInfo(await _info.InfoAsync().ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                // Down, refused (NOPERM: the gateway's user may lack INFO), timed out, shutting down: the page says why.
                error = ex.Message;
            }
        }

        var now = _time.GetUtcNow();
        var sample = new Sample(now, Number(info, "pubsub_messages_published"), Number(info, "pubsub_messages_delivered"), _counters.HttpDelivered);
        var previous = _previous;
        _previous = sample;
        var seconds = previous is null ? 0 : (now - previous.Time).TotalSeconds;
        double? Rate(Func<Sample, long?> counter)
        {
            if (previous is null || seconds <= 0 || counter(sample) is not { } current || counter(previous) is not { } before || current < before)
            {
                return null; // no earlier snapshot, a field this server lacks, or counters reset (CONFIG RESETSTAT, a restart)
            }

            return Math.Round((current - before) / seconds, 2);
        }

        return new DashboardSnapshot(
            now,
            previous is null ? null : Math.Round(seconds, 3),
            new ServerState(_info?.Server, _publisher?.IsConnected == true, error,
                Text(info, "notistream_version") ?? Text(info, "redis_version"), Number(info, "uptime_in_seconds")),
            new ClientCounts(Number(info, "connected_clients"), _counters.Subscribers(), _webPush?.Store?.Current.Count),
            Number(info, "pubsub_channels"),
            Number(info, "pubsub_patterns"),
            new Counted(sample.Published, Rate(s => s.Published)),
            new Counted(sample.Delivered, Rate(s => s.Delivered)),
            new Counted(sample.HttpDelivered, Rate(s => s.HttpDelivered)),
            new HistorySize(Number(info, "history_entries"), Number(info, "history_memory"), Number(info, "history_evicted_entries")),
            new CutOffs(Number(info, "client_output_buffer_limit_disconnections"), _counters.CutOffs),
            _counters.GitHubDeliveries(),
            _counters.GitHubRejectedCount);
    }

    /// <summary>INFO's <c>field:value</c> lines; section headers and blank lines skipped.</summary>
    internal static Dictionary<string, string> ParseInfo(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.TrimEnd('\r');
            var colon = trimmed.IndexOf(':', StringComparison.Ordinal);
            if (trimmed.Length == 0 || trimmed[0] == '#' || colon <= 0)
            {
                continue;
            }

            fields[trimmed[..colon]] = trimmed[(colon + 1)..];
        }

        return fields;
    }

    private static string? Text(Dictionary<string, string>? info, string field) => info is not null && info.TryGetValue(field, out var value) ? value : null;

    private static long? Number(Dictionary<string, string>? info, string field)
        => long.TryParse(Text(info, field), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private sealed record Sample(DateTimeOffset Time, long? Published, long? Delivered, long HttpDelivered);
}

/// <summary>
/// <c>GET /v1/dashboard</c>'s body. Server fields are null when the server is unreachable, refuses INFO, or has no
/// such field (Redis has no history, no <c>pubsub_messages_delivered</c>); rates are null in the first snapshot.
/// </summary>
/// <param name="RateWindowSeconds">The time between this snapshot and the one the rates are measured from.</param>
/// <param name="GitHub">The last GitHub deliveries whose signature verified, newest first.</param>
/// <param name="GitHubRejected">GitHub deliveries refused unverified since the gateway started (counted, never listed).</param>
internal sealed record DashboardSnapshot(
    DateTimeOffset Time,
    double? RateWindowSeconds,
    ServerState Server,
    ClientCounts Clients,
    long? Channels,
    long? Patterns,
    Counted Published,
    Counted Delivered,
    Counted HttpDelivered,
    HistorySize History,
    CutOffs CutOffs,
    IReadOnlyList<GitHubDeliveryRecord> GitHub,
    long GitHubRejected);

/// <param name="Connected">The gateway's publishing connection is up.</param>
/// <param name="Error">Why INFO gave nothing, when it did not.</param>
internal sealed record ServerState(string? Address, bool Connected, string? Error, string? Version, long? UptimeSeconds);

/// <param name="Server">INFO <c>connected_clients</c>: every connection the server has, the gateway's own and one per HTTP subscriber included.</param>
/// <param name="Http">The gateway's HTTP subscribers now, by transport (json, sse, raw, ws).</param>
/// <param name="WebPush">Web Push registrations; null when Web Push is off.</param>
internal sealed record ClientCounts(long? Server, IReadOnlyDictionary<string, long> Http, int? WebPush);

internal sealed record Counted(long? Total, double? PerSecond);

internal sealed record HistorySize(long? Entries, long? Bytes, long? Evicted);

/// <param name="Server">Clients the server cut off at client-output-buffer-limit (INFO <c>client_output_buffer_limit_disconnections</c>).</param>
/// <param name="Http">HTTP subscribers the gateway cut off for not keeping up.</param>
internal sealed record CutOffs(long? Server, long Http);
