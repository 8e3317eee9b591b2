using Notistream.RespServer.Protocol;

namespace Notistream.RespServer.Commands;

/// <summary>Redis's addReplyHelp: a header line, the command's lines, and the HELP line, as simple strings.</summary>
internal static class HelpText
{
    public static void Write(RespWriter writer, string command, string[] lines)
    {
        writer.WriteArrayHeader(lines.Length + 3);
        writer.WriteSimpleString($"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        foreach (var line in lines)
        {
            writer.WriteSimpleString(line);
        }

        writer.WriteSimpleString("HELP");
        writer.WriteSimpleString("    Prints this help.");
    }
}
