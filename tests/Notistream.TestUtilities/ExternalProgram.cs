using Xunit;

namespace Notistream.Testing;

/// <summary>
/// Finds programs the tests need from outside .NET (redis-server, redis-cli, dunst, ...).
/// On a developer machine a missing program skips the test with the reason; under
/// <c>NOTISTREAM_REQUIRE_EXTERNAL=1</c> (set by .ci/run) it fails the test instead, so CI never
/// skips anything silently.
/// </summary>
public static class ExternalProgram
{
    public const string RequireVariable = "NOTISTREAM_REQUIRE_EXTERNAL";

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) is "1" or "true";

    /// <summary>Full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name)
    {
        if (Path.IsPathRooted(name))
        {
            return File.Exists(name) ? name : null;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var dir in new[] { "/usr/sbin", "/usr/bin", "/usr/local/bin" })
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Returns the program's path, or skips (fails under CI) with a stated reason.</summary>
    public static string Require(string name, string installHint)
    {
        var found = Find(name);
        if (found is not null)
        {
            return found;
        }

        var reason = $"'{name}' is not installed ({installHint}).";
        if (Required)
        {
            Assert.Fail(reason + $" {RequireVariable}=1 forbids skipping.");
        }

        Assert.Skip(reason);
        return null!; // unreachable: Assert.Skip throws
    }
}
