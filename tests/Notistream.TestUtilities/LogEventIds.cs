using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Notistream.Testing;

/// <summary>
/// The <see cref="LoggerMessageAttribute"/> event ids of one program. Tests and log filters pick entries by
/// id, so two messages that share one make a test wait for the wrong thing (a start-up line taken for a
/// subscription opening).
/// </summary>
public static class LogEventIds
{
    /// <summary>
    /// "id: Type.Method, Type.Method" for each id that more than one message of the assembly uses, and for
    /// messages that set none (the generator then logs id 0 for all of them alike).
    /// </summary>
    public static IReadOnlyList<string> Duplicates(Assembly assembly)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var messages = Types(assembly)
            .SelectMany(type => type.GetMethods(All))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();
        if (messages.Count == 0)
        {
            throw new InvalidOperationException($"{assembly.GetName().Name} has no [LoggerMessage] method: the check would pass on nothing");
        }

        return messages
            .GroupBy(m => m.Attribute!.EventId)
            .Where(g => g.Count() > 1 || g.Key < 0)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => $"{m.Method.DeclaringType!.FullName}.{m.Method.Name}"))}")
            .ToList();
    }

    private static IEnumerable<Type> Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }
}
