using Notistream.Client.Delivery;

namespace Notistream.Client.Resume;

/// <summary>
/// Saves the cursor to the state file as the outputs deliver: at most every <see cref="SaveInterval"/>
/// while it moves (a rename is cheap, a flush to disk is not, and a message repeated after a crash is
/// better than one lost), and once more when the client stops. The cursor is the last id up to which
/// every output has delivered every message, never a message still queued or held for a summary.
/// With several servers it is the first server's cursor, written only until the client leaves that server's
/// history in a run (<see cref="ResumePosition.Left"/>): moving between nodes of one shared history, it goes on,
/// with the history named (<see cref="ResumePosition.SharedHistory"/>).
/// </summary>
internal sealed class CursorKeeper
{
    public static readonly TimeSpan SaveInterval = TimeSpan.FromMilliseconds(250);

    private readonly CursorStore _store;
    private readonly MessageDispatcher _dispatcher;
    private readonly ResumePosition _resume;
    private readonly Action<string> _report;
    private readonly TimeProvider _time;
    private MessageId? _saved;
    private int _savedGaps;
    private string? _savedShared;
    private bool _failed;

    public CursorKeeper(CursorStore store, MessageDispatcher dispatcher, ResumePosition resume, Action<string> report, MessageId? saved, TimeProvider? time = null)
    {
        _store = store;
        _dispatcher = dispatcher;
        _resume = resume;
        _report = report;
        _saved = saved;
        _savedGaps = resume.GapVersion;
        _savedShared = resume.SharedHistory;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>What may be saved now: every message up to it has been delivered; null before the server confirmed anything.</summary>
    public MessageId? Current
    {
        get
        {
            var confirmed = _resume.FirstConfirmed;
            var delivered = _dispatcher.DeliveredThrough;
            return (confirmed, delivered) switch
            {
                (null, _) => null,
                ({ } c, null) => c,
                ({ } c, { } d) => MessageId.Max(c, d),
            };
        }
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(SaveInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                SaveIfMoved();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Saves when the cursor, the open gaps or the shared history changed since the last save.</summary>
    public void SaveIfMoved()
    {
        if (_resume.Left)
        {
            // Several servers, and the client has been on another history than the first server's in this run: the
            // state file holds the first server's cursor, and what was delivered since mixes the histories' ids. Left
            // as it was: a restart resumes on the first server from there (repeating, never skipping).
            return;
        }

        if (Current is not { } cursor)
        {
            return;
        }

        var gaps = _resume.GapVersion;
        var shared = _resume.SharedHistory;
        if (_saved is { } saved && cursor <= saved && gaps == _savedGaps && shared == _savedShared)
        {
            return;
        }

        // Never backwards: a run that started from an older --since keeps the newer saved cursor until it passes it.
        var next = _saved is { } s && s > cursor ? s : cursor;
        try
        {
            _store.Save(new CursorState(next, _resume.OpenGaps, shared));
            _saved = next;
            _savedGaps = gaps;
            _savedShared = shared;
            _failed = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (!_failed)
            {
                _report($"cannot save the cursor to {_store.Path}: {ex.Message}");
                _failed = true;
            }
        }
    }
}
