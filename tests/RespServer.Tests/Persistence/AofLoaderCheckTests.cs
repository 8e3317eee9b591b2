using System.Text;
using Notistream.RespServer.Persistence;

namespace Notistream.RespServer.Tests.Persistence;

/// <summary>
/// The loader's first pass: where a file's valid part ends, and whether what follows is a torn tail (cut at
/// start-up with aof-load-truncated yes) or damage (start-up stops).
/// </summary>
public class AofLoaderCheckTests
{
    private static AofFiles ThreeGroups() => AofFiles.Checksummed()
        .Record("SELECT", "0").Record("XADD", "a", "1-1", "message", "one").Seal()
        .Record("XADD", "a", "2-1", "message", "two").Record("XTRIM", "a", "MINID", "=", "2-1").Seal()
        .Record("XADD", "b", "3-1", "f", new string('v', 300)).Record("DEL", "a").Seal();

    private static AofLoader.FileCheck Check(byte[] bytes)
    {
        var path = AofFiles.Write(bytes);
        try
        {
            return AofLoader.Check(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_whole_file_is_valid_to_its_end()
    {
        var bytes = ThreeGroups().ToArray();
        var check = Check(bytes);
        Assert.Equal(AofLoader.CheckStatus.Ok, check.Status);
        Assert.Equal(bytes.Length, check.ValidEnd);
        Assert.True(check.Checksummed);
    }

    [Fact]
    public void A_file_cut_anywhere_inside_its_last_group_is_torn_back_to_the_group_before()
    {
        var files = ThreeGroups();
        var bytes = files.ToArray();
        var lastStart = files.GroupEnds[^2];
        for (var cut = lastStart + 1; cut < bytes.Length; cut++)
        {
            var check = Check(bytes[..(int)cut]);
            Assert.True(check.Status == AofLoader.CheckStatus.Torn, $"cut at {cut}: {check}");
            Assert.Equal(lastStart, check.ValidEnd);
        }

        // Cut exactly at a group's end: nothing is torn.
        Assert.Equal(AofLoader.CheckStatus.Ok, Check(bytes[..(int)lastStart]).Status);
    }

    [Fact]
    public void Whole_records_without_their_checksum_at_the_end_are_a_torn_group()
    {
        var files = ThreeGroups().Record("XADD", "c", "4-1", "f", "v");
        var check = Check(files.ToArray());
        Assert.Equal(AofLoader.CheckStatus.Torn, check.Status);
        Assert.Equal(files.GroupEnds[^1], check.ValidEnd);
        Assert.Contains("without its checksum", check.Detail);
    }

    [Fact]
    public void A_last_group_whose_checksum_does_not_match_is_torn_when_nothing_valid_follows()
    {
        var files = ThreeGroups();
        var bytes = files.ToArray();
        bytes[files.RecordStarts[^2] + 20] ^= 0x20;
        var check = Check(bytes);
        Assert.Equal(AofLoader.CheckStatus.Torn, check.Status);
        Assert.Equal(files.GroupEnds[^2], check.ValidEnd);

        // Zeros where a power loss left a page unwritten, at the end: torn as well.
        var zeroed = files.ToArray();
        Array.Clear(zeroed, (int)files.GroupEnds[^2] + 4, zeroed.Length - (int)files.GroupEnds[^2] - 4);
        Assert.Equal(AofLoader.CheckStatus.Torn, Check(zeroed).Status);
    }

    [Fact]
    public void A_flipped_byte_in_an_early_payload_is_damage_at_its_group()
    {
        var files = ThreeGroups();
        var bytes = files.ToArray();
        var at = Encoding.ASCII.GetString(bytes).IndexOf("one", StringComparison.Ordinal);
        bytes[at] = (byte)'O';
        var check = Check(bytes);
        Assert.Equal(AofLoader.CheckStatus.Damaged, check.Status);
        Assert.Equal(AofFormat.Header.Length, check.Offset);
        Assert.Contains("checksum", check.Detail);
    }

    [Fact]
    public void Broken_framing_in_an_early_record_is_damage_at_that_line()
    {
        var files = ThreeGroups();
        var bytes = files.ToArray();
        var record = (int)files.RecordStarts[1];
        bytes[record] = (byte)'+';
        var check = Check(bytes);
        Assert.Equal(AofLoader.CheckStatus.Damaged, check.Status);
        Assert.Equal(record, check.Offset);
    }

    [Fact]
    public void A_file_Redis_wrote_has_Redis_s_rules_short_read_cuts_back_to_the_last_whole_command()
    {
        var commands = AofFiles.Command("SELECT", "0").Concat(AofFiles.Command("XADD", "a", "1-1", "f", "v")).ToArray();
        var extra = AofFiles.Command("XADD", "a", "2-1", "f", "v");
        var check = Check([.. commands, .. extra[..(extra.Length - 3)]]);
        Assert.False(check.Checksummed);
        Assert.Equal(AofLoader.CheckStatus.Torn, check.Status);
        Assert.Equal(commands.Length, check.ValidEnd);

        // Redis's "#TS:" annotations are skipped; bad framing is damage (fmterr), whatever follows.
        Assert.Equal(AofLoader.CheckStatus.Ok, Check([.. "#TS:1700000000\r\n"u8, .. commands]).Status);
        Assert.Equal(AofLoader.CheckStatus.Damaged, Check([.. commands, .. "garbage\r\n"u8]).Status);
    }

    /// <summary>One bit flipped in a length in the middle ('$100' to '$900') makes the first pass read past the
    /// end, as a torn tail does; the valid group after it says it is damage, not a tail to cut.</summary>
    [Fact]
    public void A_length_flipped_in_the_middle_is_damage_not_a_torn_tail()
    {
        var files = AofFiles.Checksummed()
            .Record("SELECT", "0").Record("XADD", "a", "1-1", "message", "one").Seal()
            .Record("XADD", "a", "2-1", "message", new string('v', 100)).Seal()
            .Record("XADD", "a", "3-1", "message", "three, acknowledged and intact").Seal();
        var bytes = files.ToArray();
        var at = Encoding.ASCII.GetString(bytes).IndexOf("$100\r\n", StringComparison.Ordinal);
        bytes[at + 1] ^= 0x08;
        var path = AofFiles.Write(bytes);
        try
        {
            var check = AofLoader.Check(path);
            Assert.True(check.Status == AofLoader.CheckStatus.Damaged, check.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
