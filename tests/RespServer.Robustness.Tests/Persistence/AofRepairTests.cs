using System.Globalization;
using System.Text;
using Notistream.RespServer.Robustness.Tests.Infrastructure;
using Notistream.Testing;

namespace Notistream.RespServer.Robustness.Tests.Persistence;

/// <summary>Start-up on damaged files: a torn tail is cut as Redis cuts it; damage in the middle stops start-up.</summary>
public sealed class AofRepairTests
{
    private static readonly string[] KeepAll = ["--channel-history", "*", "0", "0", "--history-max-memory", "0"];

    /// <summary>Writes 40 messages, one group each (one command a batch), and returns the folder with the server stopped.</summary>
    private static async Task<DataFolder> FortyMessagesAsync()
    {
        var data = new DataFolder();
        await using var server = await AofServer.StartAsync(data.Path, KeepAll);
        await using var client = await WireClient.ConnectAsync(server.Port);
        for (var i = 1; i <= 40; i++)
        {
            await client.CallAsync("PUBLISH", "torn", i.ToString(CultureInfo.InvariantCulture));
        }

        return data;
    }

    /// <summary>The offsets just after each checksum annotation of <paramref name="bytes"/>.</summary>
    private static List<int> GroupEnds(byte[] bytes)
    {
        var text = Encoding.Latin1.GetString(bytes);
        var ends = new List<int>();
        for (var at = text.IndexOf("#crc32c:", StringComparison.Ordinal); at >= 0; at = text.IndexOf("#crc32c:", at + 1, StringComparison.Ordinal))
        {
            ends.Add(text.IndexOf('\n', at) + 1);
        }

        return ends;
    }

    [Fact]
    public async Task A_last_file_cut_at_any_offset_of_its_last_records_is_cut_back_and_loads_everything_before()
    {
        using var data = await FortyMessagesAsync();
        var incr = await File.ReadAllBytesAsync(data.LastIncr);
        var ends = GroupEnds(incr);
        Assert.Equal(41, ends.Count); // forty PUBLISHes, then the clean stop's #shutdown
        var tried = 0;
        for (var cut = ends[^4] + 1; cut < incr.Length; cut += 3, tried++)
        {
            using var copy = data.Copy();
            await File.WriteAllBytesAsync(copy.LastIncr, incr[..cut]);
            var whole = ends.Count(e => e <= cut);
            await using var server = await AofServer.StartAsync(copy.Path, KeepAll);
            Assert.True(server.StartError is null, $"cut at {cut}: {server.StartError}");
            var name = Path.GetFileName(copy.LastIncr);
            if (ends.Contains(cut))
            {
                // Cut exactly after a group: a whole file, nothing to repair.
                Assert.DoesNotContain(server.Lines, l => l.StartsWith("!!!", StringComparison.Ordinal));
            }
            else
            {
                Assert.True(server.Lines.Contains($"!!! Warning: short read while loading the AOF file {name}!!!"),
                    $"cut at {cut} of {incr.Length}, {whole} whole groups: {string.Join(" / ", server.Lines)}");
                Assert.Contains($"!!! Truncating the AOF {name} at offset {ends[whole - 1]} !!!", server.Lines);
                Assert.Contains($"AOF {name} loaded anyway because aof-load-truncated is enabled", server.Lines);
            }

            await using var client = await WireClient.ConnectAsync(server.Port);
            Assert.Equal(Enumerable.Range(1, whole).Select(i => i.ToString(CultureInfo.InvariantCulture)), await KeyspaceDump.MessagesAsync(client, "torn"));
            Assert.Equal(ends[whole - 1], new FileInfo(copy.LastIncr).Length);
        }

        Assert.True(tried > 30, $"{tried} cuts tried");
    }

    [Fact]
    public async Task With_aof_load_truncated_no_a_torn_tail_stops_start_up_in_process_and_the_executable_exits_1()
    {
        using var data = await FortyMessagesAsync();
        var incr = await File.ReadAllBytesAsync(data.LastIncr);
        await File.WriteAllBytesAsync(data.LastIncr, incr[..^7]);
        var name = Path.GetFileName(data.LastIncr);
        await using (var server = await AofServer.StartAsync(data.Path, [.. KeepAll, "--aof-load-truncated", "no"]))
        {
            Assert.NotNull(server.StartError);
            Assert.StartsWith($"Unexpected end of file reading the append only file {name}. You can: 1) Make a backup", server.StartError!.Message);
        }

        Assert.Equal(incr.Length - 7, new FileInfo(data.LastIncr).Length);
        var (code, output) = await RunExecutableAsync(data, "--aof-load-truncated", "no");
        Assert.Equal(1, code);
        Assert.Contains($"Unexpected end of file reading the append only file {name}.", output);
    }

    [Theory]
    [InlineData("payload")]
    [InlineData("framing")]
    public async Task Damage_in_the_middle_stops_the_executable_with_exit_code_1_naming_the_file_and_the_offset(string damage)
    {
        using var data = await FortyMessagesAsync();
        var incr = await File.ReadAllBytesAsync(data.LastIncr);
        var ends = GroupEnds(incr);
        var text = Encoding.Latin1.GetString(incr);
        int offset;
        if (damage == "payload")
        {
            // The payload "5" of the fifth message: the framing stays valid, the checksum catches it.
            var at = text.IndexOf("$1\r\n5\r\n", ends[3], StringComparison.Ordinal) + 4;
            incr[at] = (byte)'6';
            offset = ends[3];
        }
        else
        {
            offset = text.IndexOf("$7\r\nmessage", ends[3], StringComparison.Ordinal);
            incr[offset] = (byte)'%';
        }

        await File.WriteAllBytesAsync(data.LastIncr, incr);
        var (code, output) = await RunExecutableAsync(data);
        Assert.Equal(1, code);
        var name = Path.GetFileName(data.LastIncr);
        Assert.Contains($"Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest> (at offset {offset}:", output);

        // Nothing was cut: the file is as it was given.
        Assert.Equal(incr, await File.ReadAllBytesAsync(data.LastIncr));
    }

    /// <summary>Runs the executable on the folder until it exits on its own (start-up fails); its exit code and output.</summary>
    private static async Task<(int Code, string Output)> RunExecutableAsync(DataFolder data, params string[] args)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path)
            ? path : ExternalProgram.Find("dotnet") ?? "dotnet";
        var info = new System.Diagnostics.ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Join(AppContext.BaseDirectory, "notistream-server.dll"), "--port", FreePort.Next().ToString(CultureInfo.InvariantCulture),
            "--appendonly", "yes", "--dir", data.Path, .. KeepAll, .. args])
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
