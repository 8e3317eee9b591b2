using Notistream.Testing;

namespace Notistream.Client.Tests.Infrastructure;

/// <summary>
/// Runs a program on a pseudo terminal through util-linux <c>script</c>, so it sees a real terminal
/// (isatty, echo, Ctrl+C as SIGINT) the way a person at a keyboard would. Keys go in as typed;
/// <see cref="ExpectAsync"/> reads the screen output in order, like a person reading the prompts.
/// </summary>
internal sealed class PseudoTerminal : IAsyncDisposable
{
    private readonly ChildProcess _script;
    private int _cursor;

    private PseudoTerminal(ChildProcess script)
    {
        _script = script;
    }

    public string Screen => _script.StandardOutput;

    public static PseudoTerminal Start(string program, IEnumerable<string> arguments, Dictionary<string, string?> environment)
    {
        var script = ExternalProgram.Require("script", "util-linux's script, Debian package bsdutils");
        // script runs the command through $SHELL -c, or /bin/sh when SHELL is unset. dash does not
        // exec a lone command: it would stay as the parent, take the Ctrl+C itself and die of it,
        // and script would report 130 whatever the program did. exec makes the program script's child.
        var command = "exec " + string.Join(' ', new[] { program }.Concat(arguments).Select(Quote));
        environment["TERM"] = "xterm";
        // -q quiet, -f flush as written, -e exit with the program's code; no typescript file.
        return new PseudoTerminal(ChildProcess.Start(script, ["-qfec", command, "/dev/null"], environment, redirectInput: true));
    }

    /// <summary>Waits for <paramref name="text"/> to appear after what was already read, then reads past it.</summary>
    public async Task ExpectAsync(string text, TimeSpan? timeout = null)
    {
        var from = _cursor;
        await TaskTimeoutExtensions.WaitUntil(
            () => Screen.IndexOf(text, from, StringComparison.Ordinal) >= 0,
            $"'{text}' on the terminal after position {from}; the screen so far:\n{Screen}\n--- stderr of script ---\n{_script.StandardError}",
            timeout);
        _cursor = Screen.IndexOf(text, from, StringComparison.Ordinal) + text.Length;
    }

    /// <summary>Types <paramref name="line"/> and presses Enter (a carriage return, as a keyboard sends).</summary>
    public async Task TypeLineAsync(string line)
    {
        await _script.StandardInput.WriteAsync(line + "\r");
        await _script.StandardInput.FlushAsync();
    }

    public async Task PressControlCAsync()
    {
        await _script.StandardInput.WriteAsync("\u0003");
        await _script.StandardInput.FlushAsync();
    }

    public Task<int> WaitForExitAsync() => _script.WaitForExitAsync();

    public ValueTask DisposeAsync() => _script.DisposeAsync();

    private static string Quote(string argument) => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
