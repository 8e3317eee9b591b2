using System.Text;

namespace Notistream.Client.Cli;

/// <summary>The terminal the commands talk to. Tests pass their own readers and writers.</summary>
/// <param name="IsInteractive">Standard input is a terminal, so questions can be asked.</param>
/// <param name="IsOutputTerminal">Standard output is a terminal (the console backend rings the bell only then).</param>
/// <param name="ReadSecret">Reads a line without echo; null when input is not a terminal.</param>
internal sealed record ClientConsole(TextReader In, TextWriter Out, TextWriter Error, bool IsInteractive, bool IsOutputTerminal, Func<string?>? ReadSecret)
{
    public static ClientConsole FromSystemConsole()
    {
        var interactive = !Console.IsInputRedirected;
        return new ClientConsole(Console.In, Console.Out, Console.Error, interactive, !Console.IsOutputRedirected, interactive ? ReadHiddenLine : null);
    }

    /// <summary>Reads a password from the terminal without showing it; Ctrl+D on an empty line ends input.</summary>
    private static string? ReadHiddenLine()
    {
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.Out.WriteLine();
                    return typed.ToString();
                case ConsoleKey.Backspace:
                    if (typed.Length > 0)
                    {
                        typed.Length--;
                    }

                    continue;
            }

            if (key.KeyChar == '\u0004' && typed.Length == 0)
            {
                return null;
            }

            if (!char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }
    }
}
