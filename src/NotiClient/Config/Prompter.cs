namespace Notistream.Client.Config;

/// <summary>Asks one question at a time on a text terminal. End of input ends the questions.</summary>
internal sealed class Prompter
{
    private readonly TextReader _input;
    private readonly TextWriter _output;
    private readonly Func<string?>? _readSecret;

    /// <param name="readSecret">Reads a line without echoing it (a real terminal); null reads it like any answer.</param>
    public Prompter(TextReader input, TextWriter output, Func<string?>? readSecret = null)
    {
        _input = input;
        _output = output;
        _readSecret = readSecret;
    }

    /// <summary>Asks, returns the trimmed answer or <paramref name="defaultValue"/> for an empty one.</summary>
    /// <exception cref="SetupCancelledException">the input ended.</exception>
    public string Ask(string question, string? defaultValue)
    {
        _output.Write(defaultValue is { Length: > 0 } ? $"{question} [{defaultValue}]: " : $"{question}: ");
        _output.Flush();
        var line = _input.ReadLine() ?? throw new SetupCancelledException();
        var answer = line.Trim();
        return answer.Length == 0 ? defaultValue ?? string.Empty : answer;
    }

    public string AskSecret(string question)
    {
        _output.Write($"{question}: ");
        _output.Flush();
        var line = (_readSecret is null ? _input.ReadLine() : _readSecret()) ?? throw new SetupCancelledException();
        return line;
    }

    /// <summary>Asks until <paramref name="parse"/> accepts the answer, saying what was wrong each time.</summary>
    public T AskUntilValid<T>(string question, string? defaultValue, TryParse<T> parse)
    {
        while (true)
        {
            var answer = Ask(question, defaultValue);
            if (parse(answer, out var value, out var error))
            {
                return value;
            }

            _output.WriteLine($"  {Capitalize(error)}.");
        }
    }

    public delegate bool TryParse<T>(string text, out T value, out string error);

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}

internal sealed class SetupCancelledException : Exception
{
    public SetupCancelledException()
        : base("the questions were not answered (input ended)")
    {
    }
}
