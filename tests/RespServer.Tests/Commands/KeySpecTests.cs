using Notistream.RespServer.Commands;
using static Notistream.RespServer.Commands.KeySpecFlags;

namespace Notistream.RespServer.Tests.Commands;

/// <summary>COMMAND INFO's first key, last key, step and movablekeys, as redis-server 7.0.15 reports them.</summary>
public class KeySpecTests
{
    [Theory]
    [InlineData("get", 1, 1, 1, false)]
    [InlineData("del", 1, -1, 1, false)]
    [InlineData("exists", 1, -1, 1, false)]
    [InlineData("xadd", 1, 1, 1, false)]
    [InlineData("xinfo|stream", 2, 2, 1, false)]
    [InlineData("xinfo|groups", 2, 2, 1, false)]
    [InlineData("xinfo|consumers", 2, 2, 1, false)]
    [InlineData("xinfo|help", 0, 0, 0, false)]
    [InlineData("xread", 0, 0, 0, true)]
    [InlineData("keys", 0, 0, 0, false)]
    [InlineData("publish", 0, 0, 0, false)]
    public void Legacy_range_is_redis_s(string command, int first, int last, int step, bool movable)
    {
        var specs = KeySpecs.For(command);
        Assert.Equal((first, last, step), KeySpec.LegacyRange(specs));
        Assert.Equal(movable, KeySpec.Movable(specs));
    }

    [Fact]
    public void Consecutive_index_specs_merge_as_rename_s_do()
    {
        KeySpec[] rename = [KeySpec.At(1, RW | Access | Delete), KeySpec.At(2, OW | Update)];
        Assert.Equal((1, 2, 1), KeySpec.LegacyRange(rename));
        Assert.False(KeySpec.Movable(rename));
    }
}
