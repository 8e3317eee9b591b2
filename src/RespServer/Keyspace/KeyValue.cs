namespace Notistream.RespServer.Keyspace;

/// <summary>
/// A value stored under a key. Streams are the only type this server stores; the base type is what the
/// keyspace commands (TYPE, SCAN … TYPE, WRONGTYPE) need of any type.
/// </summary>
internal abstract class KeyValue
{
    /// <summary>The name TYPE answers and SCAN … TYPE matches, as Redis's getObjectTypeName.</summary>
    public abstract string TypeName { get; }
}
