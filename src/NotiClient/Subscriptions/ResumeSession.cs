using Notistream.Client.Resume;

namespace Notistream.Client.Subscriptions;

/// <summary>
/// What one resumable session (a NOTI.SUBSCRIBE over RESP, or the gateway's <c>/json</c> stream over HTTP)
/// does with what it reads, whatever carried it: each message once, in id order, past the cursor; a gap
/// once until its channel's next message; the catch-up marked, counted and ended.
/// </summary>
/// <remarks>
/// Threads: one reader calls <see cref="MessageAsync"/>, <see cref="GapAsync"/> and <see cref="EndCatchUpAsync"/>;
/// a watchdog reads <see cref="Activity"/> and <see cref="Stalled"/>.
/// </remarks>
internal sealed class ResumeSession
{
    private readonly IMessageTarget _target;
    private readonly ResumePosition _resume;
    private readonly IConnectionObserver _observer;
    private readonly TimeProvider _time;
    private readonly string _endPoint;
    private readonly IReadOnlySet<string> _patterns;
    private long _activity;
    private volatile bool _stalled;

    /// <param name="last">The server's last id when the session started: messages up to it are the catch-up; null when unknown (no catch-up).</param>
    /// <param name="catchingUp">Whether there is a catch-up to read (the session starts before <paramref name="last"/>).</param>
    public ResumeSession(IMessageTarget target, ResumePosition resume, IConnectionObserver observer, TimeProvider time, string endPoint,
        IReadOnlySet<string> patterns, MessageId? last, bool catchingUp)
    {
        _target = target;
        _resume = resume;
        _observer = observer;
        _time = time;
        _endPoint = endPoint;
        _patterns = patterns;
        Last = last;
        CatchingUp = catchingUp && last is not null;
    }

    public MessageId? Last { get; }

    public bool CatchingUp { get; private set; }

    public long CaughtUpMessages { get; private set; }

    /// <summary>Frames or lines read so far; a watchdog sees the connection is alive when this moves.</summary>
    public long Activity => Interlocked.Read(ref _activity);

    /// <summary>The reader waits for an output to make room: nothing is being read, through no fault of the connection.</summary>
    public bool Stalled => _stalled;

    public void Touch() => Interlocked.Increment(ref _activity);

    public async Task MessageAsync(string channel, string? pattern, MessageId id, string text, CancellationToken cancellationToken)
    {
        if (CatchingUp && id > Last)
        {
            await EndCatchUpAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!_resume.TryAdvance(id))
        {
            return; // already handed on before a reconnect
        }

        _resume.CloseGaps(channel, pattern);
        var catchUp = Last is { } last && id <= last;
        await PostAsync(new IncomingMessage(channel, pattern, text, _time.GetUtcNow()) { Id = id, CatchUp = catchUp }, cancellationToken).ConfigureAwait(false);
        if (catchUp)
        {
            CaughtUpMessages++;
        }

        if (CatchingUp && id == Last)
        {
            await EndCatchUpAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The session began on a node the client had no position for (several servers): what that node had
    /// meanwhile is not known, nor how much, so each channel and pattern gets a gap of unknown size.
    /// </summary>
    public async Task MovedWithoutPositionAsync(IEnumerable<string> subjects, CancellationToken cancellationToken)
    {
        foreach (var subject in subjects)
        {
            await GapAsync(subject, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>History no longer reaches back to the cursor on <paramref name="subject"/> (a channel, or a followed pattern).</summary>
    public async Task GapAsync(string subject, long? missed, CancellationToken cancellationToken)
    {
        if (_resume.OpenGap(subject))
        {
            await PostAsync(IncomingMessage.Gap(subject, _patterns.Contains(subject), missed, _time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Every message up to the server's last id at the start has been read.</summary>
    public async Task EndCatchUpAsync(CancellationToken cancellationToken)
    {
        if (!CatchingUp)
        {
            return;
        }

        CatchingUp = false;
        await PostAsync(IncomingMessage.CaughtUpMarker(_time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
        _observer.CaughtUp(_endPoint, CaughtUpMessages);
    }

    private async Task PostAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        _stalled = true;
        try
        {
            await _target.PostAsync(message, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _stalled = false;
        }
    }
}
