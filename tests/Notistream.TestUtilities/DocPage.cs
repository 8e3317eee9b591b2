using Xunit;

namespace Notistream.Testing;

/// <summary>
/// The commands README.md and docs/*.md show, read from the pages themselves so that a test runs what
/// a reader copies: a changed page changes what the test runs, and a command the test looks for that
/// is gone fails it.
/// </summary>
public static class DocPage
{
    /// <summary>The folder that holds notistream.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The text of <paramref name="page"/> (e.g. <c>docs/security.md</c>).</summary>
    public static string Read(string page) => File.ReadAllText(Path.Join(Root, page)).Replace("\r\n", "\n", StringComparison.Ordinal);

    /// <summary>The contents of every fenced block of <paramref name="page"/> whose language is one of <paramref name="languages"/>.</summary>
    public static IReadOnlyList<string> Blocks(string page, params string[] languages)
    {
        var blocks = new List<string>();
        var lines = Read(page).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var open = lines[i].TrimStart();
            if (!open.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var indent = lines[i].Length - open.Length;
            var language = open[3..].Trim();
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i].Length >= indent ? lines[i][indent..] : lines[i].TrimStart());
            }

            if (languages.Contains(language))
            {
                blocks.Add(string.Join('\n', body) + "\n");
            }
        }

        return blocks;
    }

    /// <summary>The one <c>sh</c> block of <paramref name="page"/> that contains <paramref name="text"/>.</summary>
    public static string Block(string page, string text, string language = "sh")
    {
        var found = Blocks(page, language).Where(b => b.Contains(text, StringComparison.Ordinal)).ToList();
        Assert.True(found.Count == 1, $"{page} has {found.Count} ```{language} blocks with '{text}', not one");
        return found[0];
    }

    /// <summary>
    /// The command in a <c>sh</c> block of <paramref name="page"/> that starts with <paramref name="start"/>:
    /// the whole line, with the lines it continues onto (a trailing <c>\</c>) without its comment. A command
    /// shown more than once on the page must read the same each time. A <paramref name="start"/> ending in a
    /// newline matches the whole command.
    /// </summary>
    public static string Command(string page, string start)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var block in Blocks(page, "sh"))
        {
            var lines = block.TrimEnd('\n').Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var first = i;
                while (lines[i].TrimEnd().EndsWith('\\') && i + 1 < lines.Length)
                {
                    i++;
                }

                var command = string.Join('\n', lines[first..(i + 1)].Select(WithoutComment)).Trim() + "\n";
                if (command.StartsWith(start, StringComparison.Ordinal))
                {
                    found.Add(command);
                }
            }
        }

        Assert.True(found.Count == 1, $"{page} shows {found.Count} different commands starting with '{start}', not one:\n{string.Join("---\n", found)}");
        return found.First();
    }

    /// <summary>A shell line without its trailing <c># comment</c> (a <c>#</c> after a space, outside quotes).</summary>
    public static string WithoutComment(string line)
    {
        char quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && i > 0 && char.IsWhiteSpace(line[i - 1]))
            {
                return line[..i].TrimEnd();
            }
        }

        return line.TrimEnd();
    }

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Join(folder.FullName, "notistream.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException("notistream.sln not found above " + AppContext.BaseDirectory);
    }
}
