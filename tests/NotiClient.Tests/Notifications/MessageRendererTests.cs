using Notistream.Client.Notifications;
using Notistream.Client.Subscriptions;
using Xunit;

namespace Notistream.Client.Tests.Notifications;

public sealed class MessageRendererTests
{
    private static Notification Render(string payload, string channel = "owner/repo") =>
        MessageRenderer.Render(new IncomingMessage(channel, null, payload, DateTimeOffset.UnixEpoch));

    [Fact]
    public void Plain_text_title_is_the_channel_and_body_the_message()
    {
        var n = Render("build 42 passed");
        Assert.Equal(("owner/repo", "build 42 passed", Urgency.Normal, "owner/repo"), (n.Title, n.Body, n.Urgency, n.Channel));
    }

    [Fact]
    public void Json_fields_title_message_url_priority_are_used()
    {
        var n = Render("""{"title":"Deploy","message":"api is live","url":"https://example.com/d/1","priority":5,"extra":[1,2]}""");
        Assert.Equal("Deploy", n.Title);
        Assert.Equal("api is live\nhttps://example.com/d/1", n.Body);
        Assert.Equal("https://example.com/d/1", n.Url);
        Assert.Equal(Urgency.Critical, n.Urgency);
    }

    [Fact]
    public void Json_body_is_an_alias_of_message_and_title_defaults_to_the_channel()
    {
        var n = Render("""{"body":"hello"}""");
        Assert.Equal(("owner/repo", "hello"), (n.Title, n.Body));
    }

    [Theory]
    [InlineData("1", "Low")]
    [InlineData("2", "Low")]
    [InlineData("3", "Normal")]
    [InlineData("4", "Critical")]
    [InlineData("\"low\"", "Low")]
    [InlineData("\"default\"", "Normal")]
    [InlineData("\"HIGH\"", "Critical")]
    [InlineData("\"urgent\"", "Critical")]
    [InlineData("\"5\"", "Critical")]
    [InlineData("\"whatever\"", "Normal")]
    [InlineData("\"NaN\"", "Normal")]
    [InlineData("null", "Normal")]
    public void Priority_maps_to_urgency(string priority, string expected)
    {
        Assert.Equal(Enum.Parse<Urgency>(expected), Render($$"""{"message":"m","priority":{{priority}}}""").Urgency);
    }

    [Theory]
    [InlineData("javascript:alert(1)")]
    [InlineData("file:///etc/passwd")]
    [InlineData("/relative")]
    public void Only_http_urls_are_kept(string url)
    {
        var n = Render($$"""{"message":"m","url":"{{url}}"}""");
        Assert.Null(n.Url);
        Assert.Equal("m", n.Body);
    }

    [Theory]
    [InlineData("""{"status":"ok"}""")]
    [InlineData("""{"title": broken""")]
    [InlineData("""[{"title":"x"}]""")]
    public void Json_without_our_fields_or_invalid_json_is_shown_as_text(string payload)
    {
        Assert.Equal(payload, Render(payload).Body);
    }

    [Fact]
    public void Control_characters_and_direction_overrides_are_removed()
    {
        var n = Render("red \u001b[31malert\u001b[0m\u0007 \u202Egnp.exe\0 done\r\n\tnext line");
        Assert.Equal("red [31malert[0m gnp.exe done\nnext line", n.Body);
        Assert.DoesNotContain(n.Body, c => char.IsControl(c) && c != '\n');
    }

    [Fact]
    public void Title_is_one_line()
    {
        Assert.Equal("line one line two", Render("""{"title":"line one\nline two","message":"m"}""").Title);
    }

    [Fact]
    public void Long_bodies_are_cut_with_an_ellipsis_and_never_inside_a_surrogate_pair()
    {
        var payload = string.Concat(Enumerable.Repeat("ab😀", 400));
        var n = Render(payload);
        Assert.True(n.Body.Length <= MessageRenderer.MaxBodyLength, $"{n.Body.Length}");
        Assert.EndsWith("…", n.Body, StringComparison.Ordinal);
        var beforeEllipsis = n.Body[^2];
        Assert.False(char.IsHighSurrogate(beforeEllipsis), "a surrogate pair was cut in half");
        Assert.StartsWith(n.Body[..^1], payload, StringComparison.Ordinal);
    }

    [Fact]
    public void Many_lines_are_limited()
    {
        var n = Render(string.Join('\n', Enumerable.Range(1, 30).Select(i => $"line {i}")));
        Assert.Equal(MessageRenderer.MaxBodyLines, n.Body.Split('\n').Length);
        Assert.EndsWith("line 8…", n.Body, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_json_title_falls_back_to_the_channel()
    {
        Assert.Equal("alerts", Render("""{"title":"\u0007 ","message":"m"}""", "alerts").Title);
    }

    [Fact]
    public void Ntfy_click_is_the_url_and_our_url_wins_over_it()
    {
        var click = Render("""{"message":"Backup failed","title":"Nightly backup","click":"https://example.com/logs"}""");
        var both = Render("""{"message":"m","url":"https://example.com/url","click":"https://example.com/click"}""");
        var unsafeClick = Render("""{"message":"m","click":"javascript:alert(1)"}""");

        Assert.Equal(("Nightly backup", "Backup failed\nhttps://example.com/logs", "https://example.com/logs"), (click.Title, click.Body, click.Url));
        Assert.Equal("https://example.com/url", both.Url);
        Assert.Null(unsafeClick.Url);
    }

    [Fact]
    public void Ntfy_tags_that_name_emoji_go_before_the_title_and_the_others_into_a_tags_line()
    {
        var n = Render("""{"message":"Remote access detected","title":"Unauthorized access","priority":5,"tags":["warning","skull","phils-laptop"," ",7]}""");

        Assert.Equal("⚠️💀 Unauthorized access", n.Title);
        Assert.Equal("Remote access detected\nTags: phils-laptop", n.Body);
        Assert.Equal(Urgency.Critical, n.Urgency);
    }

    [Fact]
    public void Emoji_tags_without_a_title_go_before_the_channel_and_the_tags_line_comes_before_the_url()
    {
        var n = Render("""{"message":"m","tags":["tada","deploy"],"click":"https://example.com/"}""", channel: "builds");

        Assert.Equal("🎉 builds", n.Title);
        Assert.Equal("m\nTags: deploy\nhttps://example.com/", n.Body);
    }

    [Fact]
    public void Tags_that_are_not_an_array_of_strings_are_ignored_and_at_most_16_are_shown()
    {
        var notArray = Render("""{"message":"m","tags":"warning"}""");
        var many = Render($$"""{"message":"m","tags":[{{string.Join(',', Enumerable.Range(0, 20).Select(i => $"\"t{i}\""))}}]}""");

        Assert.Equal(("owner/repo", "m"), (notArray.Title, notArray.Body));
        Assert.EndsWith("t14, t15", many.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("t16", many.Body, StringComparison.Ordinal);
    }
}
