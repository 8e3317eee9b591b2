using System.Text;
using Notistream.Gateway.Publishing;

namespace Notistream.Gateway.Tests.Ntfy;

/// <summary>The RESP payload of an ntfy-style publish, both ways: the exact bytes encoded, and what decodes.</summary>
public sealed class NtfyPayloadTests
{
    private static string Encoded(NtfyFields fields) => Encoding.UTF8.GetString(NtfyPayload.Encode(fields));

    [Fact]
    public void A_message_alone_is_the_message_itself()
    {
        Assert.Equal("disk full", Encoded(new NtfyFields { Message = "disk full" }));
        Assert.Equal("{\"message\":\"x\"}", Encoded(new NtfyFields { Message = "{\"message\":\"x\"}" }));
        // 3 is the default: nothing to carry.
        Assert.Equal("disk full", Encoded(new NtfyFields { Message = "disk full", Priority = 3 }));
    }

    [Fact]
    public void Every_field_is_written_compactly_in_the_contract_order()
    {
        var fields = new NtfyFields
        {
            Message = "Disk \"/\" is 97% full\nnow",
            Title = "Ünïcode ✓",
            Priority = 5,
            Tags = ["warning", "skull"],
            Click = "https://example.com/disk",
            Icon = "https://example.com/icon.png",
            Markdown = true,
        };

        Assert.Equal(
            """{"message":"Disk \"/\" is 97% full\nnow","title":"Ünïcode ✓","priority":5,"tags":["warning","skull"],"click":"https://example.com/disk","icon":"https://example.com/icon.png","markdown":true}""",
            Encoded(fields));
    }

    [Theory]
    [InlineData(1, """{"message":"m","priority":1}""")]
    [InlineData(3, """{"message":"m","title":"t"}""")]
    [InlineData(null, """{"message":"m","title":"t"}""")]
    public void Only_present_keys_are_written_and_priority_3_is_left_out(int? priority, string expected)
    {
        var fields = new NtfyFields { Message = "m", Priority = priority, Title = priority == 1 ? null : "t" };

        Assert.Equal(expected, Encoded(fields));
    }

    [Fact]
    public void What_is_encoded_decodes_to_the_same_fields()
    {
        var fields = new NtfyFields
        {
            Message = "m\u0001\"é😀",
            Title = "t",
            Priority = 2,
            Tags = ["a", "b,c"],
            Click = "mailto:x@example.com",
            Icon = "https://example.com/i.png",
            Markdown = true,
        };

        Assert.True(NtfyPayload.TryDecode(NtfyPayload.Encode(fields), out var decoded));

        Assert.Equal(fields.Message, decoded.Message);
        Assert.Equal(fields.Title, decoded.Title);
        Assert.Equal(fields.Priority, decoded.Priority);
        Assert.Equal(fields.Tags, decoded.Tags);
        Assert.Equal(fields.Click, decoded.Click);
        Assert.Equal(fields.Icon, decoded.Icon);
        Assert.True(decoded.Markdown);
    }

    [Theory]
    [InlineData("""{"message":"m"}""")]
    [InlineData(""" {"message":"m","priority":3,"markdown":false} """)]
    [InlineData("""{"tags":[],"message":"m"}""")]
    public void A_message_with_nothing_else_decodes_as_plain_fields(string payload)
    {
        Assert.True(NtfyPayload.TryDecode(Encoding.UTF8.GetBytes(payload), out var fields));
        Assert.Equal("m", fields.Message);
        Assert.True(fields.IsPlain);
    }

    [Theory]
    [InlineData("disk full")]
    [InlineData("")]
    [InlineData("[\"message\"]")]
    [InlineData("{}")]
    [InlineData("""{"title":"no message"}""")]
    [InlineData("""{"message":"m","id":"1-0"}""")]
    [InlineData("""{"message":"m","message":"twice"}""")]
    [InlineData("""{"message":1}""")]
    [InlineData("""{"message":"m","priority":6}""")]
    [InlineData("""{"message":"m","priority":0}""")]
    [InlineData("""{"message":"m","priority":"high"}""")]
    [InlineData("""{"message":"m","priority":2.5}""")]
    [InlineData("""{"message":"m","tags":"a,b"}""")]
    [InlineData("""{"message":"m","tags":[1]}""")]
    [InlineData("""{"message":"m","markdown":"yes"}""")]
    [InlineData("""{"message":"m","title":null}""")]
    [InlineData("""{"message":"m"} trailing""")]
    [InlineData("""{"message":"m"}{}""")]
    [InlineData("""{"message":"m",""")]
    [InlineData("""{"message":"\ud800"}""")]
    public void Anything_else_is_a_plain_message(string payload)
    {
        Assert.False(NtfyPayload.TryDecode(Encoding.UTF8.GetBytes(payload), out _));
    }

    [Fact]
    public void Bytes_that_are_not_UTF8_are_a_plain_message()
    {
        Assert.False(NtfyPayload.TryDecode([(byte)'{', 0xFF, 0xFE, (byte)'}'], out _));
        Assert.False(NtfyPayload.TryDecode([.. "{\"message\":\""u8, 0xC3, .. "\"}"u8], out _));
    }
}
