using System.Reflection;

namespace Notistream;

/// <summary>
/// The version all three programs share: <c>Version</c> in Directory.Build.props, and the commit the
/// build came from when the SDK knew it (it adds <c>+&lt;sha&gt;</c> to the informational version from
/// git). <c>--version</c>, INFO's notistream_version and the gateway's <c>/healthz</c> all print
/// <see cref="Text"/>. Compiled into each program (linked), so each reads its own assembly.
/// </summary>
internal static class ProductVersion
{
    /// <summary>Characters of the commit id shown, as <c>git log --oneline</c> shows them.</summary>
    public const int ShortCommitLength = 7;

    /// <summary>E.g. <c>0.9.0+abc1234</c>, or <c>0.9.0</c> when the build did not know its commit.</summary>
    public static string Text { get; } = Format(
        typeof(ProductVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>The full commit id the build came from, or null.</summary>
    public static string? Commit { get; } = CommitOf(
        typeof(ProductVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);

    /// <summary>What <c>--version</c> prints: the program's name, a space, <see cref="Text"/>.</summary>
    public static string Line(string program) => $"{program} {Text}";

    /// <summary><c>0.9.0+&lt;40 hex digits&gt;</c> becomes <c>0.9.0+&lt;7 hex digits&gt;</c>; anything else is kept as it is.</summary>
    public static string Format(string? informational)
    {
        if (string.IsNullOrEmpty(informational))
        {
            return "0.0.0";
        }

        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 || informational.Length - plus - 1 <= ShortCommitLength
            ? informational
            : informational[..(plus + 1 + ShortCommitLength)];
    }

    private static string? CommitOf(string? informational)
    {
        var plus = informational?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        return plus < 0 ? null : informational![(plus + 1)..];
    }
}
