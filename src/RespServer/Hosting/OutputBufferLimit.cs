namespace Notistream.RespServer.Hosting;

/// <summary>One class of client-output-buffer-limit: hard bytes, soft bytes, soft seconds (0 = no limit).</summary>
internal readonly record struct OutputBufferLimit(long HardBytes, long SoftBytes, int SoftSeconds)
{
    public static readonly OutputBufferLimit Normal = new(0, 0, 0);
    public static readonly OutputBufferLimit Replica = new(256L * 1024 * 1024, 64L * 1024 * 1024, 60);
    public static readonly OutputBufferLimit PubSub = new(32L * 1024 * 1024, 8L * 1024 * 1024, 60);

    public bool IsUnlimited => HardBytes == 0 && SoftBytes == 0;

    public override string ToString() => $"{HardBytes} {SoftBytes} {SoftSeconds}";
}
