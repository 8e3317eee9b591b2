namespace Notistream.Client.Config;

/// <summary>A config file that cannot be used; the message names the file and, where there is one, the field.</summary>
internal sealed class ConfigException : Exception
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public static ConfigException Field(string path, string field, string problem) =>
        new($"{path}: field \"{field}\": {problem}");
}
