using System.Globalization;
using System.Text;

namespace Notistream.RespServer.Robustness.Tests.Fuzz;

/// <summary>
/// Seeded generators of request bytes: valid frames (RESP multibulk and inline, binary and invalid
/// UTF-8 arguments), mutations of them, deep nesting, huge and negative lengths, random bytes.
/// Every fuzz test prints its seed; <c>NOTISTREAM_FUZZ_SEED</c> replays one, <c>NOTISTREAM_FUZZ_SECONDS</c>
/// runs longer.
/// </summary>
internal static class FuzzInput
{
    /// <summary>Commands that cannot stop the server or reach the healthy clients' channel.</summary>
    private static readonly string[][] SafeCommands =
    [
        ["PING"], ["PING", "hi"], ["ECHO", "x"], ["HELLO", "3"], ["HELLO", "2"], ["SUBSCRIBE", "fz"],
        ["PSUBSCRIBE", "f*"], ["UNSUBSCRIBE"], ["PUNSUBSCRIBE", "f*"], ["PUBLISH", "fz", "m"], ["CLIENT", "SETNAME", "fuzz"],
        ["CLIENT", "INFO"], ["RESET"], ["PUBSUB", "CHANNELS"], ["PUBSUB", "NUMSUB", "fz"], ["COMMAND", "COUNT"], ["SSUBSCRIBE", "fz"],
        ["CLIENT", "REPLY", "SKIP"], ["SELECT", "0"], ["QUIT"], ["NOSUCHCOMMAND", "a"], ["AUTH", "nopass"],
    ];

    private static readonly string[] Tokens =
    [
        "*", "$", ":", "+", "-", "\r\n", "\r", "\n", "0", "1", "2", "3", "-1", "-5", "10", "4294967296",
        "9223372036854775808", "99999999999999999999", " ", "\"", "'", "\\", "\\x41", "\\xzz", "PING", "ECHO", "HELLO",
        "\u00ff", "\0", "\t", "a", "\"a b\"", "'x'",
    ];

    public static int Seconds(double fallback)
        => (int)Math.Ceiling(double.TryParse(Environment.GetEnvironmentVariable("NOTISTREAM_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : fallback);

    public static int Seed()
        => int.TryParse(Environment.GetEnvironmentVariable("NOTISTREAM_FUZZ_SEED"), CultureInfo.InvariantCulture, out var seed) ? seed : Random.Shared.Next();

    public static byte[] ValidFrame(Random random, out string[] args)
    {
        args = SafeCommands[random.Next(SafeCommands.Length)];
        if (random.Next(4) == 0)
        {
            // Binary and invalid UTF-8 payloads.
            var payload = new byte[random.Next(0, 40)];
            random.NextBytes(payload);
            return Encode([Encoding.ASCII.GetBytes("ECHO"), payload], out args, random.Next(3) == 0);
        }

        return Encode([.. args.Select(Encoding.UTF8.GetBytes)], out _, inline: random.Next(4) == 0 && args.All(a => a.All(char.IsLetterOrDigit)));
    }

    public static byte[] Encode(byte[][] parts, out string[] args, bool inline)
    {
        args = [.. parts.Select(Encoding.Latin1.GetString)];
        var bytes = new List<byte>();
        if (inline && parts.All(p => p.All(b => b > 32 && b < 127 && b != '"' && b != '\'')) && parts.All(p => p.Length > 0))
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(string.Join(' ', args) + "\r\n"));
            return [.. bytes];
        }

        bytes.AddRange(Encoding.ASCII.GetBytes($"*{parts.Length}\r\n"));
        foreach (var part in parts)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes($"${part.Length}\r\n"));
            bytes.AddRange(part);
            bytes.AddRange("\r\n"u8.ToArray());
        }

        return [.. bytes];
    }

    /// <summary>Some bytes of a bad kind, chosen at random.</summary>
    public static byte[] Garbage(Random random)
    {
        switch (random.Next(8))
        {
            case 0:
                return Mutate(random, ValidFrame(random, out _));
            case 1:
                // Deep nesting: Redis reads the inner '*' where it expects '$'.
                return Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("*1\r\n", random.Next(1, 5000))) + "$4\r\nPING\r\n");
            case 2:
                return Encoding.ASCII.GetBytes($"*1\r\n${(random.Next(2) == 0 ? "-" : "")}{random.NextInt64()}\r\n");
            case 3:
                return Encoding.ASCII.GetBytes($"*{(random.Next(2) == 0 ? "-" : "")}{random.NextInt64()}\r\n");
            case 4:
                var noise = new byte[random.Next(1, 300)];
                random.NextBytes(noise);
                return noise;
            case 5:
                return Encoding.UTF8.GetBytes($"ECHO {Quote(random)}\r\n");
            default:
                var text = new StringBuilder();
                for (var i = random.Next(1, 30); i > 0; i--)
                {
                    text.Append(Tokens[random.Next(Tokens.Length)]);
                }

                return Encoding.Latin1.GetBytes(text.ToString());
        }
    }

    public static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = input.ToList();
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(5))
            {
                case 0 when at < bytes.Count:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.Insert(at, (byte)"*$\r\n-0123456789 \"'"[random.Next(18)]);
                    break;
                case 2 when at < bytes.Count:
                    bytes.RemoveAt(at);
                    break;
                case 3:
                    bytes.InsertRange(at, Encoding.Latin1.GetBytes(Tokens[random.Next(Tokens.Length)]));
                    break;
                default:
                    bytes.InsertRange(at, bytes.Take(Math.Min(at, 20)).ToArray());
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>Cut points that split <paramref name="length"/> bytes into random pieces.</summary>
    public static int[] Cuts(Random random, int length)
    {
        var cuts = new SortedSet<int>();
        for (var i = random.Next(0, 6); i > 0 && length > 1; i--)
        {
            cuts.Add(random.Next(1, length));
        }

        return [.. cuts];
    }

    private static string Quote(Random random)
    {
        var parts = new[] { "\"a\\x41\"", "'b c'", "\"\\n\\r\\t\\b\\a\"", "\"unterminated", "'x'y", "\"\\xff\"", "plain", "\"\"", "''", "\"é\"" };
        return string.Join(' ', Enumerable.Range(0, random.Next(1, 4)).Select(_ => parts[random.Next(parts.Length)]));
    }
}
