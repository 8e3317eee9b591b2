using System.Text;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Persistence;

namespace Notistream.RespServer.Tests.Persistence;

public class AofFormatTests
{
    [Fact]
    public void Crc32C_is_the_Castagnoli_checksum_any_tool_computes()
    {
        // The check value of CRC-32C (iSCSI): "123456789".
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(Crc32C.Compute("123456789"u8), Crc32C.Finish(Crc32C.Append(Crc32C.Append(Crc32C.Initial, "1234"u8), "56789"u8)));
    }

    [Fact]
    public void A_checksum_annotation_reads_back_as_written()
    {
        Span<byte> line = stackalloc byte[128];
        var n = AofLog.FormatAnnotation(line, 0x0012abcd, 1234, new StreamId(1700000000000, 7));
        Assert.Equal("#crc32c:0012abcd 1234 1700000000000-7\r\n", Encoding.ASCII.GetString(line[..n]));
        Assert.True(AofLoader.TryParseAnnotation(line[..n], out var crc, out var length, out var generated));
        Assert.Equal((0x0012abcdu, 1234L, new StreamId(1700000000000, 7)), (crc, length, generated));
        Assert.False(AofLoader.TryParseAnnotation("#crc32c:0012abcd 1234\r\n"u8, out _, out _, out _));
        Assert.False(AofLoader.TryParseAnnotation("#crc32c:zz12abcd 1234 1-1\r\n"u8, out _, out _, out _));
    }

    [Fact]
    public void The_manifest_is_written_and_read_in_Redis_7_0_syntax()
    {
        var manifest = new AofManifest();
        manifest.NewBase("appendonly.aof");
        manifest.NewIncr("appendonly.aof");
        manifest.NewIncr("appendonly.aof");
        Assert.Equal(
            "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
            manifest.Format());

        // A rewrite: the next base; every incr file but the one being written becomes history, in Redis's
        // order (each moved to the head of the history list, the old base first).
        var keep = manifest.NewIncr("appendonly.aof");
        manifest.NewBase("appendonly.aof");
        manifest.MarkIncrsAsHistory(keep);
        Assert.Equal(
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type h\n" +
            "file appendonly.aof.1.base.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\n",
            manifest.Format());

        var read = AofManifest.Parse(Encoding.UTF8.GetBytes("# a comment\n" + manifest.Format()));
        Assert.Equal(manifest.Format(), read.Format());
        Assert.Equal((2L, 3L), (read.BaseSeq, read.IncrSeq));
    }

    [Fact]
    public void A_file_name_with_spaces_is_quoted_as_sdscatrepr_quotes_it()
    {
        var manifest = new AofManifest();
        manifest.NewBase("my file.aof");
        Assert.Equal("file \"my file.aof.1.base.aof\" seq 1 type b\n", manifest.Format());
        Assert.Equal("my file.aof.1.base.aof", AofManifest.Parse(Encoding.UTF8.GetBytes(manifest.Format())).Base!.Name);
    }

    [Theory]
    [InlineData("", "Found an empty AOF manifest")]
    [InlineData("file a seq 1\n", "Invalid AOF manifest file format")]
    [InlineData("file a/b seq 1 type b\n", "File can't be a path, just a filename")]
    [InlineData("file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information")]
    [InlineData("file a seq 2 type i\nfile b seq 1 type i\n", "Found a non-monotonic sequence number")]
    [InlineData("file a seq 1 type x\n", "Unknown AOF file type")]
    [InlineData("file a seq 1 type b", "The AOF manifest file contains too long line")]
    public void A_bad_manifest_is_refused_with_Redis_s_reason(string text, string reason)
    {
        var error = Assert.Throws<AofManifestException>(() => AofManifest.Parse(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(reason, error.Message);
    }

    [Fact]
    public void A_rewrite_s_snapshot_keeps_reading_what_a_delete_changes_afterwards()
    {
        var stream = new StreamValue();
        for (var i = 1; i <= 150; i++)
        {
            stream.Append(EntryFields.Message(Encoding.ASCII.GetBytes($"m{i}")), new StreamId((ulong)i, 0), seqGiven: true, 0, out _);
        }

        var token = new SnapshotToken();
        var nodes = stream.Capture(token);
        Assert.Equal(2, nodes.Length);

        // Deleted after the capture: the live stream flags it in a copy, the snapshot's array is untouched.
        Assert.True(stream.Delete(new StreamId(5, 0)));
        stream.Trim(StreamTrimStrategy.MinId, 0, new StreamId(120, 0), approximate: false, limit: 0);
        Assert.Equal(31, stream.Length);
        var live = 0;
        foreach (var node in nodes)
        {
            for (var offset = node.EntriesStart; offset < node.Used;)
            {
                var flags = node.ReadEntry(offset, out _, out _, out _, out offset);
                live += (flags & StreamNode.FlagDeleted) == 0 ? 1 : 0;
            }
        }

        Assert.Equal(150, live);

        // Once the rewrite is done, a change in place no longer copies.
        token.Release();
        var stream2 = new StreamValue();
        stream2.Append(EntryFields.Message("x"u8), new StreamId(1, 0), seqGiven: true, 0, out _);
        stream2.Append(EntryFields.Message("y"u8), new StreamId(2, 0), seqGiven: true, 0, out _);
        var token2 = new SnapshotToken();
        var shared = stream2.Capture(token2)[0].Data;
        token2.Release();
        Assert.True(stream2.Delete(new StreamId(1, 0)));
        Assert.Equal(StreamNode.FlagDeleted, shared[stream2.Capture(new SnapshotToken())[0].EntriesStart] & StreamNode.FlagDeleted);
    }
}
