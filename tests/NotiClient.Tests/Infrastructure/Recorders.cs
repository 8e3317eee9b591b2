using System.Collections.Concurrent;
using System.Text;
using Notistream.Client.Config;
using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;

namespace Notistream.Client.Tests.Infrastructure;

internal sealed class RecordingTarget : IMessageTarget
{
    private readonly ConcurrentQueue<IncomingMessage> _messages = new();

    /// <summary>The messages only (no gap notices, no end-of-catch-up markers).</summary>
    public IReadOnlyList<IncomingMessage> Messages => [.. _messages.Where(m => m.Kind == IncomingKind.Message)];

    /// <summary>Everything posted, markers included.</summary>
    public IReadOnlyList<IncomingMessage> All => [.. _messages];

    public void Post(IncomingMessage message) => _messages.Enqueue(message);
}

/// <summary>Connection events as lines: "connected", "lost: reason", "failed: reason", "reconnecting".</summary>
internal sealed class RecordingObserver : IConnectionObserver
{
    private readonly ConcurrentQueue<string> _events = new();

    public IReadOnlyList<string> Events => [.. _events];

    public int Count(string prefix) => _events.Count(e => e.StartsWith(prefix, StringComparison.Ordinal));

    public void Connecting(string endPoint) => _events.Enqueue("connecting");

    public void Connected(string endPoint, IReadOnlyList<ChannelSpec> channels) => _events.Enqueue("connected");

    public void ConnectFailed(string endPoint, string reason) => _events.Enqueue("failed: " + reason);

    public void Lost(string endPoint, string reason) => _events.Enqueue("lost: " + reason);

    public void Reconnecting(string endPoint, BackoffStep step) => _events.Enqueue("reconnecting");

    public void Skipped(string endPoint, string what) => _events.Enqueue(what);
}

internal sealed class RecordingNotifier : INotifier
{
    private readonly ConcurrentQueue<Notification> _shown = new();

    public string Description => "recording";

    public IReadOnlyList<Notification> Shown => [.. _shown];

    public Func<Notification, Task>? OnShow { get; set; }

    public async Task ShowAsync(Notification notification, CancellationToken cancellationToken)
    {
        if (OnShow is { } hook)
        {
            await hook(notification);
        }

        _shown.Enqueue(notification);
    }
}

internal sealed class FakeProcessRunner : IProcessRunner
{
    private readonly ConcurrentQueue<ProcessSpec> _runs = new();

    public IReadOnlyList<ProcessSpec> Runs => [.. _runs];

    public Func<ProcessSpec, ProcessResult> Result { get; set; } = _ => new ProcessResult(0, string.Empty);

    public Task<ProcessResult> RunAsync(ProcessSpec spec, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _runs.Enqueue(spec);
        return Task.FromResult(Result(spec));
    }
}

/// <summary>A StringWriter that may be written by one thread and read by another.</summary>
internal sealed class LockedStringWriter : StringWriter
{
    private readonly Lock _lock = new();

    public override void Write(char value)
    {
        lock (_lock)
        {
            base.Write(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_lock)
        {
            base.Write(value);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        lock (_lock)
        {
            base.Write(buffer, index, count);
        }
    }

    public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            base.Write(buffer.Span);
            base.Write(CoreNewLine);
        }

        return Task.CompletedTask;
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return base.ToString();
        }
    }
}

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("notistream-test-").FullName;
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Join(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class TestHosts
{
    /// <summary>A host with exactly these variables and these installed programs.</summary>
    public static HostEnvironment Fake(HostPlatform platform, IReadOnlyDictionary<string, string>? variables = null, params string[] programs) =>
        new(platform,
            name => variables is not null && variables.TryGetValue(name, out var value) ? value : null,
            name => programs.Contains(name) ? "/fake/bin/" + name : null);

    public static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
