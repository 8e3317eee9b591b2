namespace Notistream.Gateway.Options;

/// <summary>
/// The pub/sub servers of <see cref="GatewayOptions.Server"/> (<c>host:port[,host:port…]</c>) in the order
/// given, and which of them the follow connections try first.
/// <para>
/// Each server is a node of its own: with several, the gateway uses one at a time and moves to the next
/// in the list when it goes away (<see cref="Failed"/>), round and round. One address behaves as before.
/// </para>
/// <para>
/// Concurrency: <see cref="_preferred"/> is read and moved with interlocked operations by any request
/// or the Web Push loop; a move only ever goes past the address its caller saw fail, so two callers that
/// saw the same node fail move once.
/// </para>
/// </summary>
internal sealed class ServerAddresses
{
    private int _preferred;

    public ServerAddresses(IReadOnlyList<string> all)
    {
        if (all.Count == 0)
        {
            throw new ArgumentException("at least one address is needed", nameof(all));
        }

        All = all;
    }

    /// <summary>The comma-separated list, each entry trimmed; empty entries are kept (as "") for the validator to name.</summary>
    public static IReadOnlyList<string> Split(string? server) =>
        string.IsNullOrWhiteSpace(server) ? [] : server.Split(',', StringSplitOptions.TrimEntries);

    public IReadOnlyList<string> All { get; }

    public int Count => All.Count;

    /// <summary>The address a new follow connection tries first: the last one that worked, or the next after the last that failed.</summary>
    public string Preferred => All[Volatile.Read(ref _preferred) % All.Count];

    /// <summary>The addresses in the order a new connection tries them: <see cref="Preferred"/> first, then the ones after it.</summary>
    public IEnumerable<string> InOrder()
    {
        var start = Volatile.Read(ref _preferred) % All.Count;
        for (var i = 0; i < All.Count; i++)
        {
            yield return All[(start + i) % All.Count];
        }
    }

    /// <summary>The address after <paramref name="address"/> in the list (itself when it is the only one).</summary>
    public string After(string address)
    {
        var index = IndexOf(address);
        return All[(index + 1) % All.Count];
    }

    /// <summary><paramref name="address"/> went away or could not be reached: new connections start with the next one.</summary>
    public void Failed(string address)
    {
        var index = IndexOf(address);
        if (index >= 0)
        {
            Interlocked.CompareExchange(ref _preferred, (index + 1) % All.Count, index);
        }
    }

    /// <summary><paramref name="address"/> answered: new connections start with it.</summary>
    public void Worked(string address)
    {
        var index = IndexOf(address);
        if (index >= 0)
        {
            Volatile.Write(ref _preferred, index);
        }
    }

    private int IndexOf(string address)
    {
        for (var i = 0; i < All.Count; i++)
        {
            if (string.Equals(All[i], address, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
