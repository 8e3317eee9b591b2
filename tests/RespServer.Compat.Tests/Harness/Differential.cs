using System.Text;
using Notistream.Testing;
using Xunit;

namespace Notistream.RespServer.Compat.Tests.Harness;

/// <summary>
/// Plays a script against redis-server, then against our server, and compares what each step
/// received, byte for byte after the step's explicit normalisation.
/// </summary>
internal static class Differential
{
    private static readonly TimeSpan RedisTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan OurTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Fails the test with every differing step listed.</summary>
    public static async Task AssertSameAsync(ServerPair servers, params Script[] scripts)
    {
        var failures = new List<string>();
        foreach (var script in scripts)
        {
            failures.AddRange(await CompareAsync(servers, script));
        }

        if (failures.Count > 0)
        {
            Assert.Fail(string.Join("\n\n", failures));
        }
    }

    /// <summary>Differences between the servers for one script, each described with the bytes sent and both replies.</summary>
    public static async Task<List<string>> CompareAsync(ServerPair servers, Script script)
    {
        var expected = await PlayAsync(script, servers.RedisPort, servers.Password, RedisTimeout);
        if (expected.Error is not null)
        {
            throw new InvalidOperationException($"script '{script.Name}' does not hold against redis-server: {expected.Error}");
        }

        var actual = await PlayAsync(script, servers.OurPort, servers.Password, OurTimeout);
        var failures = new List<string>();
        for (var i = 0; i < script.Steps.Count; i++)
        {
            var step = script.Steps[i];
            var theirs = expected.Steps[i];
            var ours = i < actual.Steps.Count ? actual.Steps[i] : "(not reached)";
            if (theirs != ours)
            {
                failures.Add($"{script.Name}, step {i + 1}: {step.Label}\n  sent:  {RespFrame.Escape(step.Bytes.AsSpan(0, Math.Min(step.Bytes.Length, 300)))}\n  redis: {theirs}\n  ours:  {ours}");
                if (i >= actual.Steps.Count - 1 && actual.Error is not null)
                {
                    break;
                }
            }
        }

        if (actual.Error is not null && failures.Count == 0)
        {
            failures.Add($"{script.Name}: {actual.Error}");
        }

        return failures;
    }

    /// <summary>Sends <paramref name="bytes"/> in the given pieces on a fresh connection and returns the rendered frames.</summary>
    public static async Task<string> PlaySplitAsync(int port, byte[] bytes, IEnumerable<int> cuts, int frames)
    {
        await using var connection = await RawConnection.ConnectAsync(port);
        var start = 0;
        foreach (var cut in cuts.Append(bytes.Length))
        {
            if (cut > start)
            {
                await connection.SendAsync(bytes.AsMemory(start, cut - start));
                start = cut;
            }
        }

        try
        {
            return Render(await connection.ReadFramesAsync(frames, OurTimeout));
        }
        catch (IncompleteReplyException ex)
        {
            return $"{Render(ex.Frames)}{RespFrame.Escape(ex.Pending)} <{ex.Message}>";
        }
    }

    public static string Render(IEnumerable<RespFrame> frames)
    {
        var text = new StringBuilder();
        foreach (var frame in frames)
        {
            text.Append(RespFrame.Escape(frame.Raw));
        }

        return text.ToString();
    }

    private static async Task<Playback> PlayAsync(Script script, int port, string? password, TimeSpan timeout)
    {
        await WaitForEarlierConnectionsGoneAsync(port, password);
        var connections = new RawConnection?[script.ConnectionCount];
        var steps = new List<string>();
        try
        {
            foreach (var step in script.Steps)
            {
                var connection = connections[step.Connection] ??= await RawConnection.ConnectAsync(port);
                if (step.Bytes.Length > 0)
                {
                    await connection.SendAsync(step.Bytes);
                }

                if (step.Kind == StepKind.Poll)
                {
                    var ready = await PollAsync(connection, step, timeout);
                    steps.Add(ready);
                    if (ready != "<ready>")
                    {
                        return new Playback(steps, $"step {steps.Count} ({step.Label}): {ready}");
                    }

                    continue;
                }

                if (step.Kind == StepKind.Close)
                {
                    steps.Add(RespFrame.Escape(await connection.ReadToCloseAsync(timeout)) + " <closed>");
                    continue;
                }

                try
                {
                    var frames = await connection.ReadFramesAsync(step.Frames, timeout);
                    steps.Add(Render(step.Normalize is null ? frames : step.Normalize(frames)));
                }
                catch (IncompleteReplyException ex)
                {
                    var partial = $"{Render(ex.Frames)}{RespFrame.Escape(ex.Pending)} <{ex.Message}>";
                    steps.Add(partial);
                    return new Playback(steps, $"step {steps.Count} ({step.Label}): {partial}");
                }
            }

            return new Playback(steps, null);
        }
        finally
        {
            foreach (var connection in connections)
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync();
                }
            }
        }
    }

    /// <summary>Repeats a poll step's command (its first send is done) until its condition holds, within a deadline.</summary>
    private static async Task<string> PollAsync(RawConnection connection, Step step, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.DefaultTimeout;
        while (true)
        {
            var frames = await connection.ReadFramesAsync(1, timeout);
            if (step.Until!(frames[0]))
            {
                return "<ready>";
            }

            if (DateTime.UtcNow > deadline)
            {
                return $"<never ready: {Render(frames)}>";
            }

            await Task.Delay(5);
            await connection.SendAsync(step.Bytes);
        }
    }

    /// <summary>
    /// PUBSUB NUMPAT and CHANNELS, CLIENT LIST and CLIENT KILL are server-wide: before a script
    /// starts, the previous script's connections must be gone from the server, their subscriptions
    /// and themselves (a connection the client has closed leaves the server a moment later, in
    /// either server). Waits on that condition: no subscription, and the probe the only client.
    /// </summary>
    private static async Task WaitForEarlierConnectionsGoneAsync(int port, string? password)
    {
        await using var probe = await RawConnection.ConnectAsync(port);
        if (password is not null)
        {
            await probe.SendAsync(Script.Encode("AUTH", password));
            await probe.ReadFramesAsync(1, RedisTimeout);
        }

        var query = Script.Encode("PUBSUB", "NUMPAT").Concat(Script.Encode("PUBSUB", "CHANNELS"))
            .Concat(Script.Encode("PUBSUB", "SHARDCHANNELS")).Concat(Script.Encode("CLIENT", "LIST")).ToArray();
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.DefaultTimeout;
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (true)
        {
            await probe.SendAsync(query);
            var frames = await probe.ReadFramesAsync(4, RedisTimeout);
            var reply = Render(frames[..3]);
            var clients = frames[3].Text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
            if (reply == ":0\\r\\n*0\\r\\n*0\\r\\n" && clients == 1)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"earlier connections still present on port {port}: {reply}, {clients} clients");
            }

            await poll.WaitForNextTickAsync();
        }
    }

    private sealed record Playback(List<string> Steps, string? Error);
}
