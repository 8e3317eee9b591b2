using System.Text;

namespace Notistream.RespServer.Compat.Tests.Harness;

/// <summary>What one step expects back on its connection.</summary>
internal enum StepKind
{
    /// <summary>Write the bytes (possibly none), then read <see cref="Step.Frames"/> frames.</summary>
    Frames,

    /// <summary>Write the bytes, then read everything until the server closes the connection.</summary>
    Close,

    /// <summary>Send the command, read its reply, again until <see cref="Step.Until"/> holds of it (a state another connection waits on).</summary>
    Poll,
}

internal sealed record Step(int Connection, byte[] Bytes, StepKind Kind, int Frames, int Commands, string Label)
{
    public Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>>? Normalize { get; set; }

    public Func<RespFrame, bool>? Until { get; init; }
}

/// <summary>
/// A scripted session over one or more connections, played identically against redis-server and
/// our server. Arguments are Latin-1 strings so that any byte can be written (e.g. "\u00ff").
/// </summary>
internal sealed class Script(string name)
{
    private static readonly HashSet<string> SubscribeVerbs = new(StringComparer.OrdinalIgnoreCase)
    {
        "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
    };

    private readonly List<Step> _steps = [];
    private int _connection;

    public string Name { get; } = name;

    public IReadOnlyList<Step> Steps => _steps;

    public int CommandCount => _steps.Sum(s => s.Commands);

    public int ConnectionCount => _steps.Count == 0 ? 0 : _steps.Max(s => s.Connection) + 1;

    public override string ToString() => Name;

    /// <summary>Following steps run on connection <paramref name="connection"/> (opened on first use).</summary>
    public Script On(int connection)
    {
        _connection = connection;
        return this;
    }

    /// <summary>One multibulk command; expects one frame, or one per channel for the (un)subscribe family.</summary>
    public Script Cmd(params string[] args)
    {
        var frames = args.Length > 1 && SubscribeVerbs.Contains(args[0]) ? args.Length - 1 : 1;
        return Add(Encode(args), StepKind.Frames, frames, 1, Describe(args));
    }

    /// <summary>One multibulk command expecting <paramref name="frames"/> frames (0 for CLIENT REPLY OFF).</summary>
    public Script CmdN(int frames, params string[] args) => Add(Encode(args), StepKind.Frames, frames, 1, Describe(args));

    /// <summary>A command after which the server closes the connection (QUIT, protocol errors).</summary>
    public Script CmdClose(params string[] args) => Add(Encode(args), StepKind.Close, 0, 1, Describe(args));

    /// <summary>Raw bytes (Latin-1) expecting <paramref name="frames"/> frames.</summary>
    public Script Raw(string bytes, int frames, int commands = 1) => Raw(Encoding.Latin1.GetBytes(bytes), frames, commands);

    public Script Raw(byte[] bytes, int frames, int commands = 1)
        => Add(bytes, StepKind.Frames, frames, commands, RespFrame.Escape(bytes.AsSpan(0, Math.Min(bytes.Length, 160))));

    /// <summary>Raw bytes after which the server must close; everything it sends is compared.</summary>
    public Script RawClose(string bytes, int commands = 1) => RawClose(Encoding.Latin1.GetBytes(bytes), commands);

    public Script RawClose(byte[] bytes, int commands = 1)
        => Add(bytes, StepKind.Close, 0, commands, RespFrame.Escape(bytes.AsSpan(0, Math.Min(bytes.Length, 160))));

    /// <summary>An inline (telnet) command line, CRLF added.</summary>
    public Script Inline(string line, int frames = 1) => Raw(line + "\r\n", frames);

    /// <summary>
    /// Repeats <paramref name="args"/> until its reply satisfies <paramref name="until"/> (e.g. until INFO shows
    /// a client blocked): orders the steps of different connections without sleeping. Compared as "ready".
    /// </summary>
    public Script Await(Func<RespFrame, bool> until, params string[] args)
    {
        _steps.Add(new Step(_connection, Encode(args), StepKind.Poll, 1, 1, $"[conn {_connection}] until {Describe(args)}") { Until = until });
        return this;
    }

    /// <summary>Reads pushed frames without sending anything.</summary>
    public Script Read(int frames) => Add([], StepKind.Frames, frames, 0, $"(read {frames} pushed frame(s))");

    /// <summary>Many commands in one write.</summary>
    public Script Pipeline(int frames, params string[][] commands)
    {
        var bytes = commands.SelectMany(Encode).ToArray();
        return Add(bytes, StepKind.Frames, frames, commands.Length, $"pipeline of {commands.Length}: " + string.Join(" | ", commands.Select(Describe)));
    }

    /// <summary>Normalises the last step's frames before they are compared.</summary>
    public Script Normalize(Func<IReadOnlyList<RespFrame>, IReadOnlyList<RespFrame>> normalize)
    {
        _steps[^1].Normalize = normalize;
        return this;
    }

    public static byte[] Encode(params string[] args)
    {
        var text = new StringBuilder();
        text.Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            text.Append('$').Append(Encoding.Latin1.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.Latin1.GetBytes(text.ToString());
    }

    private static string Describe(string[] args)
        => string.Join(' ', args.Select(a => RespFrame.Escape(Encoding.Latin1.GetBytes(a.Length > 40 ? a[..40] + "…" : a))));

    private Script Add(byte[] bytes, StepKind kind, int frames, int commands, string label)
    {
        _steps.Add(new Step(_connection, bytes, kind, frames, commands, $"[conn {_connection}] {label}"));
        return this;
    }
}
