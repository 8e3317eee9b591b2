using System.IO.Pipelines;
using System.Text;
using Notistream.RespServer.PubSub;
using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

/// <summary>What the tests of connection outputs share: a frame of given text, and a pipe read back as text.</summary>
internal static class OutputTesting
{
    /// <summary>A pooled frame holding <paramref name="text"/>, held once by the test.</summary>
    public static MessageFrame Frame(string text)
    {
        var frame = MessageFrame.Rent(text.Length);
        Encoding.ASCII.GetBytes(text, frame.Buffer);
        return frame;
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes from the pipe as ASCII text.</summary>
    public static async Task<string> ReadAsync(PipeReader reader, int length)
    {
        var text = new StringBuilder();
        while (text.Length < length)
        {
            var result = await reader.ReadAsync().AsTask().WithTimeout();
            text.Append(Encoding.ASCII.GetString(result.Buffer));
            reader.AdvanceTo(result.Buffer.End);
        }

        Assert.Equal(length, text.Length);
        return text.ToString();
    }
}
