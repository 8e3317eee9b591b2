using Notistream.Client.Delivery;
using Notistream.Client.Subscriptions;
using Notistream.Client.Tests.Infrastructure;
using Notistream.Testing;
using Xunit;

namespace Notistream.Client.Tests.Delivery;

public sealed class ExecSinkTests
{
    private static async Task<List<string>> RunAsync(string command, params IncomingMessage[] messages)
    {
        var reports = new List<string>();
        var sink = new ExecSink(command, HostPlatform.Linux, reports.Add, TimeSpan.FromSeconds(10));
        var queue = new BoundedMessageQueue();
        foreach (var message in messages)
        {
            queue.Post(message);
        }

        queue.Complete();
        await sink.RunAsync(queue.Reader, _ => { }, CancellationToken.None).WithTimeout();
        return reports;
    }

    [Fact]
    public async Task The_command_gets_the_message_in_variables_and_on_stdin_and_cannot_be_injected()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses /bin/sh");
        using var dir = new TempDirectory();
        var marker = dir.File("pwned");
        var output = dir.File("out");
        var payload = $"$(touch {marker}); `touch {marker}` \" ' \n second line";
        var command = $"printf '%s\\n%s\\n%s\\n%s\\n' \"$NOTISTREAM_CHANNEL\" \"$NOTISTREAM_PATTERN\" \"$NOTISTREAM_TITLE\" \"$NOTISTREAM_MESSAGE\" >> '{output}'; cat >> '{output}'";

        var reports = await RunAsync(command, new IncomingMessage("build/api", "build/*", payload, DateTimeOffset.UtcNow));

        Assert.Empty(reports);
        Assert.False(File.Exists(marker), "the message was run as shell code");
        Assert.Equal($"build/api\nbuild/*\nbuild/api\n{payload}\n{payload}", await File.ReadAllTextAsync(output));
    }

    [Fact]
    public async Task Runs_once_per_message_in_order()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses /bin/sh");
        using var dir = new TempDirectory();
        var output = dir.File("out");
        var messages = Enumerable.Range(1, 5).Select(i => new IncomingMessage("c", null, $"m{i}", DateTimeOffset.UtcNow)).ToArray();

        await RunAsync($"echo \"$NOTISTREAM_MESSAGE\" >> '{output}'", messages);

        Assert.Equal(["m1", "m2", "m3", "m4", "m5"], await File.ReadAllLinesAsync(output));
    }

    [Fact]
    public async Task A_failing_command_is_reported_and_the_next_message_still_runs()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses /bin/sh");
        var reports = await RunAsync("test \"$NOTISTREAM_MESSAGE\" = ok",
            new IncomingMessage("c", null, "bad", DateTimeOffset.UtcNow),
            new IncomingMessage("c", null, "ok", DateTimeOffset.UtcNow));
        Assert.Equal(["--exec command exited with 1 for a message on c"], reports);
    }

    [Fact]
    public void A_huge_message_is_cut_in_the_variable_and_flagged()
    {
        var sink = new ExecSink("true", HostPlatform.Linux, _ => { });
        var info = sink.BuildStartInfo(new IncomingMessage("c", null, new string('x', ExecSink.MaxVariableLength + 10) + "\0", DateTimeOffset.UtcNow));
        Assert.Equal(ExecSink.MaxVariableLength, info.Environment["NOTISTREAM_MESSAGE"]!.Length);
        Assert.Equal("1", info.Environment["NOTISTREAM_MESSAGE_TRUNCATED"]);
        Assert.Equal(["-c", "true"], info.ArgumentList);
    }
}
