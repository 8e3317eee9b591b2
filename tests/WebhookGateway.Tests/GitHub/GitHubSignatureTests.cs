using System.Text;
using Notistream.Gateway.GitHub;

namespace Notistream.Gateway.Tests.GitHub;

public sealed class GitHubSignatureTests
{
    // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
    private const string DocumentedSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    [Fact]
    public void Matches_githubs_documented_example()
    {
        var signature = new GitHubSignature("It's a Secret to Everybody");

        Assert.True(signature.IsValid(DocumentedSignature, "Hello, World!"u8));
        Assert.Equal(DocumentedSignature, signature.Sign("Hello, World!"u8));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256=")]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1")]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e177")]
    [InlineData("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18")]
    [InlineData("sha256=g57107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    public void Rejects_anything_but_the_exact_digest(string? header)
    {
        Assert.False(new GitHubSignature("It's a Secret to Everybody").IsValid(header, "Hello, World!"u8));
    }

    [Fact]
    public void Covers_every_byte_of_the_body()
    {
        var signature = new GitHubSignature("s");
        var body = Encoding.UTF8.GetBytes("{\"a\":1}");
        var header = signature.Sign(body);

        for (var i = 0; i < body.Length; i++)
        {
            var changed = (byte[])body.Clone();
            changed[i] ^= 1;
            Assert.False(signature.IsValid(header, changed));
        }

        Assert.False(signature.IsValid(header, [.. body, (byte)' ']));
        Assert.True(signature.IsValid(header, body));
    }

    [Fact]
    public void Cannot_be_made_without_a_secret()
    {
        Assert.Throws<ArgumentException>(() => new GitHubSignature(""));
        Assert.Throws<ArgumentNullException>(() => new GitHubSignature(null!));
    }
}
