using System.Diagnostics;
using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;

namespace Notistream.RespServer.Robustness.Tests.Cluster;

/// <summary>What the cluster's counting and shard tests share: subscribing on a node, bounded polling, reply shapes.</summary>
internal static class ClusterReplies
{
    public static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(20);

    /// <summary>A client of <paramref name="node"/> that sent <paramref name="command"/> <paramref name="name"/> and read its confirmation.</summary>
    public static async Task<WireClient> Subscribed(NatsNode node, string command, string name)
    {
        var client = await node.ConnectAsync();
        await client.SendAsync(command, name);
        Assert.Equal(command.ToLowerInvariant(), Kind(await client.ReadAsync(ReadLimit)));
        return client;
    }

    /// <summary>Polls until <paramref name="actual"/> is <paramref name="expected"/> or <paramref name="bound"/> has passed since <paramref name="since"/> started; then asserts it.</summary>
    public static async Task AssertWithin<T>(Stopwatch since, TimeSpan bound, T expected, Func<Task<T>> actual, string what)
    {
        var value = await actual();
        while (!EqualityComparer<T>.Default.Equals(value, expected) && since.Elapsed < bound)
        {
            await Task.Delay(10);
            value = await actual();
        }

        Assert.True(EqualityComparer<T>.Default.Equals(value, expected),
            $"{what}: {value} after {since.Elapsed.TotalMilliseconds:0} ms, expected {expected} within {bound.TotalMilliseconds:0} ms");
    }

    /// <summary>A PUBSUB NUMSUB (or SHARDNUMSUB) reply as "name count …".</summary>
    public static string NumSub(object? reply)
    {
        var items = (object?[])reply!;
        var parts = new List<string>();
        for (var i = 0; i < items.Length; i += 2)
        {
            parts.Add(Encoding.UTF8.GetString((byte[])items[i]!) + " " + ((long)items[i + 1]!).ToString(CultureInfo.InvariantCulture));
        }

        return string.Join(' ', parts);
    }

    /// <summary>A list of names, sorted.</summary>
    public static string[] Names(object? reply) => [.. ((object?[])reply!).Select(n => Encoding.UTF8.GetString((byte[])n!)).Order(StringComparer.Ordinal)];

    /// <summary>A push frame's kind.</summary>
    public static string Kind(object? frame) => Encoding.UTF8.GetString((byte[])((object?[])frame!)[0]!);
}
