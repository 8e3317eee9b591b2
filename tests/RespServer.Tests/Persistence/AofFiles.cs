using System.Text;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Persistence;

namespace Notistream.RespServer.Tests.Persistence;

/// <summary>Builds AOF files as the server writes them (header, groups of records, checksum annotations) for the loader's tests.</summary>
internal sealed class AofFiles
{
    private readonly MemoryStream _bytes = new();
    private readonly MemoryStream _group = new();
    private long _generated;

    /// <summary>Where each group ends (the offset after its annotation).</summary>
    public List<long> GroupEnds { get; } = [];

    /// <summary>Where each record starts.</summary>
    public List<long> RecordStarts { get; } = [];

    public static AofFiles Checksummed()
    {
        var files = new AofFiles();
        files._bytes.Write(AofFormat.Header);
        return files;
    }

    public static byte[] Command(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Adds a record to the open group.</summary>
    public AofFiles Record(params string[] args)
    {
        RecordStarts.Add(_bytes.Length + _group.Length);
        _group.Write(Command(args));
        if (args is ["XADD", _, var id, ..] && id.Split('-') is [var ms, _] && long.TryParse(ms, out var value))
        {
            _generated = Math.Max(_generated, value);
        }

        return this;
    }

    /// <summary>Ends the open group with its annotation.</summary>
    public AofFiles Seal()
    {
        var group = _group.ToArray();
        _bytes.Write(group);
        Span<byte> line = stackalloc byte[128];
        var n = AofLog.FormatAnnotation(line, Crc32C.Compute(group), group.Length, new StreamId((ulong)_generated, 0));
        _bytes.Write(line[..n]);
        _group.SetLength(0);
        GroupEnds.Add(_bytes.Length);
        return this;
    }

    /// <summary>The file, with whatever of the open group is there (unsealed).</summary>
    public byte[] ToArray()
    {
        var all = new MemoryStream();
        all.Write(_bytes.ToArray());
        all.Write(_group.ToArray());
        return all.ToArray();
    }

    public static string Write(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"notistream-aof-{Guid.NewGuid():N}.aof");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
