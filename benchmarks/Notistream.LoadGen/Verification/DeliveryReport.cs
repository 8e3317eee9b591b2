namespace Notistream.LoadGen.Verification;

/// <summary>
/// What the subscribers saw against what was published: <see cref="Lost"/> messages never arrived,
/// <see cref="Duplicated"/> arrived more than once, <see cref="OutOfOrder"/> arrived after a later one of
/// the same stream; <see cref="ReplyMismatches"/> PUBLISH replies counted other receivers than expected.
/// </summary>
public sealed record DeliveryReport(long Received, long Lost, long Duplicated, long OutOfOrder, long ReplyMismatches = 0)
{
    public static readonly DeliveryReport Empty = new(0, 0, 0, 0);

    public bool Clean => Lost == 0 && Duplicated == 0 && OutOfOrder == 0 && ReplyMismatches == 0;

    public DeliveryReport Add(DeliveryReport other) => new(
        Received + other.Received,
        Lost + other.Lost,
        Duplicated + other.Duplicated,
        OutOfOrder + other.OutOfOrder,
        ReplyMismatches + other.ReplyMismatches);

    public override string ToString() =>
        $"received {Received}, lost {Lost}, duplicated {Duplicated}, out of order {OutOfOrder}, wrong PUBLISH replies {ReplyMismatches}";
}
