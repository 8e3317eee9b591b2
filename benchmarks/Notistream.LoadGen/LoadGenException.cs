namespace Notistream.LoadGen;

/// <summary>A run cannot go on (server unreachable, refused a set-up command, open-file limit): the message says why and what to do.</summary>
internal sealed class LoadGenException : Exception
{
    public LoadGenException(string message)
        : base(message)
    {
    }

    public LoadGenException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
