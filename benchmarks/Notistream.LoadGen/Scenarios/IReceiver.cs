using Notistream.LoadGen.Verification;
using Notistream.LoadGen.Wire;

namespace Notistream.LoadGen.Scenarios;

/// <summary>A connection that receives a case's messages (a subscriber or a stream reader) and checks them.</summary>
internal interface IReceiver
{
    LoadConnection Connection { get; }

    DeliveryVerifier Verifier { get; }

    /// <summary>Channel indexes whose messages this receiver must get.</summary>
    List<int> Receives { get; }

    string? Problem { get; }

    /// <summary>Reads until the connection is aborted or fails.</summary>
    Task ReadAsync();
}
