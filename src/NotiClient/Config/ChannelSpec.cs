namespace Notistream.Client.Config;

/// <summary>
/// One channel the user follows. A name holding a glob character (<c>*</c>, <c>?</c>, <c>[</c>) is a
/// pattern and is subscribed with PSUBSCRIBE; anything else is an exact channel (SUBSCRIBE).
/// </summary>
internal readonly record struct ChannelSpec(string Name)
{
    private static readonly char[] GlobCharacters = ['*', '?', '['];

    public bool IsPattern => Name.IndexOfAny(GlobCharacters) >= 0;

    public override string ToString() => Name;
}
