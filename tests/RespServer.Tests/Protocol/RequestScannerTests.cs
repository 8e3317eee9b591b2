using System.Buffers;
using System.Text;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Tests.Protocol;

public class RequestScannerTests
{
    public static TheoryData<string, string[]> Requests => new()
    {
        { "*1\r\n$4\r\nPING\r\n", ["PING"] },
        { "*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$5\r\nhello\r\n", ["PUBLISH", "ch", "hello"] },
        { "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", ["ECHO", ""] },
        { "*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\0\xff\r\n", ["ECHO", "\r\n\0\xff"] },
        { "PING\r\n", ["PING"] },
        { "PING\n", ["PING"] },
        { "  subscribe   a  b\t c\r\n", ["subscribe", "a", "b", "c"] },
        { "ECHO \"a b\\r\\n\\x41\\\"\"\r\n", ["ECHO", "a b\r\nA\""] },
        { "ECHO 'it\\'s'\r\n", ["ECHO", "it's"] },
        { "ECHO a\"b c\" d\r\n", ["ECHO", "ab c", "d"] },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void Frames_a_request_whole_split_at_every_byte_and_one_byte_per_segment(string wire, string[] expected)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);
        AssertRequest(new ReadOnlySequence<byte>(bytes), bytes.Length, expected);
        for (var at = 1; at < bytes.Length; at++)
        {
            AssertRequest(Segments.SplitAt(bytes, at), bytes.Length, expected);
        }

        AssertRequest(Segments.OneBytePerSegment(bytes), bytes.Length, expected);
    }

    [Theory]
    [MemberData(nameof(Requests))]
    public void Every_proper_prefix_is_incomplete_and_the_scan_resumes_where_it_stopped(string wire, string[] expected)
    {
        var bytes = Encoding.Latin1.GetBytes(wire);
        var scanner = new RequestScanner();
        for (var length = 1; length < bytes.Length; length++)
        {
            // The same scanner sees the input grow byte by byte, as successive reads deliver it.
            var status = scanner.Scan(new ReadOnlySequence<byte>(bytes, 0, length), authRequired: false);
            if (status == ScanStatus.Request)
            {
                Assert.Fail($"a request was framed from {length} of {bytes.Length} bytes");
            }

            Assert.Equal(ScanStatus.Incomplete, status);
        }

        Assert.Equal(ScanStatus.Request, scanner.Scan(new ReadOnlySequence<byte>(bytes), authRequired: false));
        Assert.Equal(expected, Arguments(scanner, new ReadOnlySequence<byte>(bytes)));
    }

    [Fact]
    public void Pipelined_requests_are_framed_one_after_another()
    {
        var bytes = Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\nECHO x\r\n*2\r\n$4\r\nECHO\r\n$1\r\ny\r\n");
        var buffer = new ReadOnlySequence<byte>(bytes);
        var scanner = new RequestScanner();
        var seen = new List<string>();
        while (scanner.Scan(buffer, false) == ScanStatus.Request)
        {
            seen.Add(string.Join(' ', Arguments(scanner, buffer)));
            buffer = buffer.Slice(scanner.FrameLength);
            scanner.Reset();
        }

        Assert.Equal(["PING", "ECHO x", "ECHO y"], seen);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [InlineData("*0\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("\r\n")]
    [InlineData("   \n")]
    public void Empty_requests_are_consumed_and_ignored(string wire)
    {
        var bytes = Encoding.ASCII.GetBytes(wire);
        var scanner = new RequestScanner();
        Assert.Equal(ScanStatus.Empty, scanner.Scan(new ReadOnlySequence<byte>(bytes), false));
        Assert.Equal(bytes.Length, scanner.FrameLength);
    }

    [Theory]
    [InlineData("*x\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*2147483648\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*01\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n:1\r\n", "Protocol error: expected '$', got ':'")]
    [InlineData("*1\r\n$-1\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$x\r\n", "Protocol error: invalid bulk length")]
    [InlineData("ECHO \"abc\r\n", "Protocol error: unbalanced quotes in request")]
    [InlineData("ECHO \"abc\"d\r\n", "Protocol error: unbalanced quotes in request")]
    [InlineData("ECHO 'abc\r\n", "Protocol error: unbalanced quotes in request")]
    public void Malformed_input_gets_Redis_protocol_error(string wire, string error)
    {
        var bytes = Encoding.ASCII.GetBytes(wire);
        var scanner = new RequestScanner();
        Assert.Equal(ScanStatus.ProtocolError, scanner.Scan(new ReadOnlySequence<byte>(bytes), false));
        Assert.Equal(error, scanner.Error);
        for (var at = 1; at < bytes.Length; at++)
        {
            var split = new RequestScanner();
            Assert.Equal(ScanStatus.ProtocolError, split.Scan(Segments.SplitAt(bytes, at), false));
            Assert.Equal(error, split.Error);
        }
    }

    [Fact]
    public void Lines_without_a_newline_are_refused_past_64KB()
    {
        var inline = new byte[RequestScanner.InlineMaxSize + 1];
        inline.AsSpan().Fill((byte)'a');
        var scanner = new RequestScanner();
        Assert.Equal(ScanStatus.ProtocolError, scanner.Scan(new ReadOnlySequence<byte>(inline), false));
        Assert.Equal("Protocol error: too big inline request", scanner.Error);

        var count = Encoding.ASCII.GetBytes("*" + new string('1', RequestScanner.InlineMaxSize + 1));
        scanner = new RequestScanner();
        Assert.Equal(ScanStatus.ProtocolError, scanner.Scan(new ReadOnlySequence<byte>(count), false));
        Assert.Equal("Protocol error: too big mbulk count string", scanner.Error);

        // At the limit itself it still waits for the rest.
        scanner = new RequestScanner();
        Assert.Equal(ScanStatus.Incomplete, scanner.Scan(new ReadOnlySequence<byte>(inline, 0, RequestScanner.InlineMaxSize), false));
    }

    [Fact]
    public void Before_auth_large_frames_are_refused_as_Redis_does()
    {
        var scanner = new RequestScanner();
        Assert.Equal(ScanStatus.ProtocolError, scanner.Scan(new ReadOnlySequence<byte>("*11\r\n"u8.ToArray()), authRequired: true));
        Assert.Equal("Protocol error: unauthenticated multibulk length", scanner.Error);

        scanner = new RequestScanner();
        Assert.Equal(ScanStatus.ProtocolError, scanner.Scan(new ReadOnlySequence<byte>("*1\r\n$16385\r\n"u8.ToArray()), authRequired: true));
        Assert.Equal("Protocol error: unauthenticated bulk length", scanner.Error);
    }

    [Fact]
    public void A_large_payload_waits_for_all_its_bytes_without_rescanning_headers()
    {
        var payload = new byte[100_000];
        Random.Shared.NextBytes(payload);
        var frame = Encoding.ASCII.GetBytes($"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n${payload.Length}\r\n").Concat(payload).Concat("\r\n"u8.ToArray()).ToArray();
        var scanner = new RequestScanner();
        for (var length = 4096; length < frame.Length; length += 4096)
        {
            Assert.Equal(ScanStatus.Incomplete, scanner.Scan(new ReadOnlySequence<byte>(frame, 0, length), false));
        }

        Assert.Equal(ScanStatus.Request, scanner.Scan(new ReadOnlySequence<byte>(frame), false));
        Assert.Equal(frame.Length, scanner.FrameLength);
        var slot = scanner.Slots[2];
        Assert.True(frame.AsSpan(slot.Offset, slot.Length).SequenceEqual(payload));
    }

    private static void AssertRequest(ReadOnlySequence<byte> buffer, int frameLength, string[] expected)
    {
        var scanner = new RequestScanner();
        Assert.Equal(ScanStatus.Request, scanner.Scan(buffer, authRequired: false));
        Assert.Equal(frameLength, scanner.FrameLength);
        Assert.Equal(expected, Arguments(scanner, buffer));
    }

    private static string[] Arguments(RequestScanner scanner, ReadOnlySequence<byte> buffer)
    {
        var bytes = scanner.IsInline ? scanner.InlineBytes.ToArray() : buffer.Slice(0, scanner.FrameLength).ToArray();
        return [.. scanner.Slots.ToArray().Select(s => Encoding.Latin1.GetString(bytes, s.Offset, s.Length))];
    }
}
