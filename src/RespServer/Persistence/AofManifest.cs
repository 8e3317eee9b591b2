using System.Globalization;
using System.Text;
using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Persistence;

/// <summary>One line of the manifest: a file, its sequence number, and its type (b base, h history, i incr).</summary>
internal sealed record AofFileInfo(string Name, long Seq, char Type)
{
    public const char BaseType = 'b';
    public const char HistoryType = 'h';
    public const char IncrType = 'i';
}

/// <summary>A manifest line that stops start-up, with Redis's text (aofLoadManifestFromFile).</summary>
internal sealed class AofManifestException(string message, int line, string? text) : Exception(message)
{
    public int Line { get; } = line;

    public string? Text { get; } = text;
}

/// <summary>
/// Redis 7.0's AOF manifest (aof.c): which files hold the keyspace and in what order. One line a file,
/// <c>file &lt;name&gt; seq &lt;n&gt; type b|h|i</c>: the base first, then history files (left by a rewrite,
/// deleted right after), then the incr files in sequence order. Loaded at start-up and written whole, through
/// a temp file, fsync, rename and fsync of the folder, whenever the set of files changes. Owned by whoever
/// holds the log's lifecycle lock (<see cref="AofLog"/>): start-up, a rewrite, turning the log on.
/// </summary>
internal sealed class AofManifest
{
    public const string BaseSuffix = ".base";
    public const string IncrSuffix = ".incr";
    public const string AofFormatSuffix = ".aof";
    public const string ManifestSuffix = ".manifest";
    public const string TempPrefix = "temp-";

    /// <summary>MANIFEST_MAX_LINE.</summary>
    private const int MaxLine = 1024;

    public AofFileInfo? Base { get; set; }

    public List<AofFileInfo> History { get; } = [];

    public List<AofFileInfo> Incrs { get; } = [];

    public long BaseSeq { get; set; }

    public long IncrSeq { get; set; }

    public AofManifest Clone()
    {
        var copy = new AofManifest { Base = Base, BaseSeq = BaseSeq, IncrSeq = IncrSeq };
        copy.History.AddRange(History);
        copy.Incrs.AddRange(Incrs);
        return copy;
    }

    public static string FileName(string appendFilename) => appendFilename + ManifestSuffix;

    public static string TempFileName(string appendFilename) => TempPrefix + appendFilename + ManifestSuffix;

    /// <summary>getNewBaseFileNameAndMarkPreAsHistory: the next base; the current one becomes history.</summary>
    public AofFileInfo NewBase(string appendFilename)
    {
        if (Base is not null)
        {
            History.Insert(0, Base with { Type = AofFileInfo.HistoryType });
        }

        Base = new AofFileInfo($"{appendFilename}.{++BaseSeq}{BaseSuffix}{AofFormatSuffix}", BaseSeq, AofFileInfo.BaseType);
        return Base;
    }

    /// <summary>getNewIncrAofName: the next incr file, added last.</summary>
    public AofFileInfo NewIncr(string appendFilename)
    {
        var incr = new AofFileInfo($"{appendFilename}.{++IncrSeq}{IncrSuffix}{AofFormatSuffix}", IncrSeq, AofFileInfo.IncrType);
        Incrs.Add(incr);
        return incr;
    }

    /// <summary>markRewrittenIncrAofAsHistory: every incr file but <paramref name="keep"/> (the one being written) becomes history.</summary>
    public void MarkIncrsAsHistory(AofFileInfo? keep)
    {
        for (var i = Incrs.Count - 1; i >= 0; i--)
        {
            if (keep is not null && Incrs[i].Name == keep.Name)
            {
                continue;
            }

            History.Insert(0, Incrs[i] with { Type = AofFileInfo.HistoryType });
            Incrs.RemoveAt(i);
        }
    }

    /// <summary>getAofManifestAsString: base, history, incr files, one line each.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        void Line(AofFileInfo file) => text.Append(CultureInfo.InvariantCulture,
            $"file {Repr(file.Name)} seq {file.Seq} type {file.Type}\n");
        if (Base is not null)
        {
            Line(Base);
        }

        History.ForEach(Line);
        Incrs.ForEach(Line);
        return text.ToString();
    }

    /// <summary>aofLoadManifestFromFile, with its checks and error texts.</summary>
    public static AofManifest Parse(byte[] content)
    {
        var manifest = new AofManifest();
        long maxSeq = 0;
        var lineNumber = 0;
        var position = 0;
        while (position < content.Length)
        {
            var end = Array.IndexOf(content, (byte)'\n', position, Math.Min(content.Length - position, MaxLine + 1));
            var raw = end < 0 ? content.AsSpan(position, Math.Min(content.Length - position, MaxLine)) : content.AsSpan(position, end - position + 1);
            position += raw.Length;
            lineNumber++;
            if (raw[0] == (byte)'#')
            {
                continue;
            }

            var text = Encoding.UTF8.GetString(raw).Trim(' ', '\t', '\r', '\n');
            if (end < 0)
            {
                throw new AofManifestException("The AOF manifest file contains too long line", lineNumber, text);
            }

            if (text.Length == 0 || InlineSplitter.Split(Encoding.UTF8.GetBytes(text)) is not { } words || words.Count < 6 || words.Count % 2 != 0)
            {
                throw new AofManifestException("Invalid AOF manifest file format", lineNumber, text);
            }

            string? name = null;
            long seq = 0;
            var type = '\0';
            for (var i = 0; i < words.Count; i += 2)
            {
                var key = Encoding.UTF8.GetString(words[i]);
                var value = Encoding.UTF8.GetString(words[i + 1]);
                if (key.Equals("file", StringComparison.OrdinalIgnoreCase))
                {
                    name = value;
                    if (name.Contains('/') || name.Contains('\\'))
                    {
                        throw new AofManifestException("File can't be a path, just a filename", lineNumber, text);
                    }
                }
                else if (key.Equals("seq", StringComparison.OrdinalIgnoreCase))
                {
                    seq = Atoll(value);
                }
                else if (key.Equals("type", StringComparison.OrdinalIgnoreCase))
                {
                    type = value.Length > 0 ? value[0] : '\0';
                }
            }

            if (string.IsNullOrEmpty(name) || seq == 0 || type == '\0')
            {
                throw new AofManifestException("Invalid AOF manifest file format", lineNumber, text);
            }

            var file = new AofFileInfo(name, seq, type);
            switch (type)
            {
                case AofFileInfo.BaseType:
                    if (manifest.Base is not null)
                    {
                        throw new AofManifestException("Found duplicate base file information", lineNumber, text);
                    }

                    manifest.Base = file;
                    manifest.BaseSeq = seq;
                    break;
                case AofFileInfo.HistoryType:
                    manifest.History.Add(file);
                    break;
                case AofFileInfo.IncrType:
                    if (seq <= maxSeq)
                    {
                        throw new AofManifestException("Found a non-monotonic sequence number", lineNumber, text);
                    }

                    manifest.Incrs.Add(file);
                    manifest.IncrSeq = seq;
                    maxSeq = seq;
                    break;
                default:
                    throw new AofManifestException("Unknown AOF file type", lineNumber, text);
            }
        }

        if (lineNumber == 0)
        {
            throw new AofManifestException("Found an empty AOF manifest", 0, null);
        }

        return manifest;
    }

    /// <summary>
    /// writeAofManifestFile: the whole manifest to a temp file, fsync, rename over the manifest, fsync of the
    /// folder, so that after a crash at any point the manifest is the old one or the new one, whole.
    /// </summary>
    public void Persist(string folder, string appendFilename)
    {
        var temp = Path.Combine(folder, TempFileName(appendFilename));
        var bytes = Encoding.UTF8.GetBytes(Format());
        using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
        {
            AofNative.WriteAt(handle, bytes, 0);
            AofNative.SyncData(handle);
        }

        File.Move(temp, Path.Combine(folder, FileName(appendFilename)), overwrite: true);
        AofNative.SyncFolder(folder);
    }

    /// <summary>atoll: optional sign and leading digits, 0 when there are none.</summary>
    private static long Atoll(string text)
    {
        var trimmed = text.TrimStart();
        var length = 0;
        if (length < trimmed.Length && trimmed[length] is '-' or '+')
        {
            length++;
        }

        while (length < trimmed.Length && char.IsAsciiDigit(trimmed[length]))
        {
            length++;
        }

        return long.TryParse(trimmed.AsSpan(0, length), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    /// <summary>sdscatrepr when sdsneedsrepr: a name with spaces, quotes or unprintable bytes is written quoted and escaped.</summary>
    private static string Repr(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        if (!bytes.Any(b => b is (byte)'\\' or (byte)'"' or < 33 or > 126))
        {
            return name;
        }

        var text = new StringBuilder("\"");
        foreach (var b in bytes)
        {
            text.Append(b switch
            {
                (byte)'\\' => "\\\\",
                (byte)'"' => "\\\"",
                (byte)'\n' => "\\n",
                (byte)'\r' => "\\r",
                (byte)'\t' => "\\t",
                7 => "\\a",
                8 => "\\b",
                >= 33 and <= 126 or (byte)' ' => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            });
        }

        return text.Append('"').ToString();
    }
}
