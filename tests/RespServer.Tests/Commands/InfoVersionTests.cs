using System.Globalization;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Tests.Connections;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Commands;

public class InfoVersionTests
{
    [Fact]
    public async Task INFO_server_has_notistream_version_beside_redis_version_in_key_value_lines()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync(RawClient.Command("INFO", "server"));

        var header = "";
        while (!header.EndsWith("\r\n", StringComparison.Ordinal))
        {
            header += await client.ReadAsync(1);
        }

        Assert.StartsWith("$", header, StringComparison.Ordinal);
        var length = int.Parse(header.AsSpan(1, header.Length - 3), CultureInfo.InvariantCulture);
        var info = (await client.ReadAsync(length + 2))[..length];

        var lines = info.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("# Server", lines[0]);
        // What Redis tools parse: a section header, then name:value lines only.
        Assert.All(lines[1..], line => Assert.Matches("^[a-z_0-9]+:[^\r\n]*$", line));
        var fields = lines[1..].Select(line => line.Split(':', 2)).ToDictionary(pair => pair[0], pair => pair[1]);
        Assert.Equal(ServerContext.RedisVersion, fields["redis_version"]);
        Assert.Equal(ProductVersion.Text, fields["notistream_version"]);
        Assert.StartsWith(typeof(InfoVersionTests).Assembly.GetName().Version!.ToString(3), fields["notistream_version"], StringComparison.Ordinal);
        Assert.Equal(ServerContext.GitSha1, fields["redis_git_sha1"]);
        Assert.Matches("^[0-9a-f]{8}$", fields["redis_git_sha1"]);
    }

    [Theory]
    [InlineData("0.9.0+aab9688eedca5c4c69e969e51383c2a09ba17c55", "0.9.0+aab9688")]
    [InlineData("0.9.0", "0.9.0")]
    [InlineData("1.0.0-rc.1+abc", "1.0.0-rc.1+abc")]
    [InlineData(null, "0.0.0")]
    public void The_version_shows_seven_digits_of_the_commit(string? informational, string shown)
    {
        Assert.Equal(shown, ProductVersion.Format(informational));
    }
}
