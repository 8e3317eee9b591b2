using System.Text;
using BenchmarkDotNet.Attributes;
using Notistream.RespServer.PubSub;

namespace Notistream.Benchmarks;

/// <summary>Finding the patterns that match a channel: the channel trie against Redis's way, a glob of every pattern.</summary>
[MemoryDiagnoser]
public class PatternLookupBenchmarks
{
    private readonly ChannelTrie _trie = new();
    private readonly List<PatternSubscription> _all = [];
    private readonly List<PatternSubscription> _matches = [];
    private readonly byte[] _channel = "bench.7.updates"u8.ToArray();

    [Params(10, 1_000, 100_000)]
    public int Patterns { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < Patterns; i++)
        {
            var pattern = new PatternSubscription(Encoding.ASCII.GetBytes($"bench.{i}.*"));
            _trie.Add(pattern);
            _all.Add(pattern);
        }
    }

    [Benchmark]
    public int Trie()
    {
        _matches.Clear();
        _trie.Collect(_channel, _matches);
        return _matches.Count;
    }

    [Benchmark(Baseline = true)]
    public int LinearGlob()
    {
        var count = 0;
        foreach (var pattern in _all)
        {
            if (GlobMatcher.IsMatch(pattern.Pattern, _channel))
            {
                count++;
            }
        }

        return count;
    }
}
