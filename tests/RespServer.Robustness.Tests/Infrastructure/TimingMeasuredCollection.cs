namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>
/// Tests that measure a server process's latency or CPU time under a load they make: they run alone,
/// since a test running beside them would take CPU from the server and skew the figure.
/// </summary>
[CollectionDefinition(nameof(TimingMeasuredCollection), DisableParallelization = true)]
public sealed class TimingMeasuredCollection;
