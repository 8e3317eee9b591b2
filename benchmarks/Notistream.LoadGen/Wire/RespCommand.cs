using System.Globalization;
using System.Text;

namespace Notistream.LoadGen.Wire;

/// <summary>Encodes one command as a RESP array of bulk strings (set-up traffic only, not the hot path).</summary>
internal static class RespCommand
{
    public static byte[] Encode(params IReadOnlyList<string> args)
    {
        var text = new StringBuilder().Append('*').Append(args.Count.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        foreach (var arg in args)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(arg).ToString(CultureInfo.InvariantCulture)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
