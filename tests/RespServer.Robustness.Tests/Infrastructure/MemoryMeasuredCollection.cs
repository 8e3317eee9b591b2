namespace Notistream.RespServer.Robustness.Tests.Infrastructure;

/// <summary>
/// Tests that bound the server's memory through the process's GC heap: they run alone, since a
/// test running beside them would add its own allocations to the figure.
/// </summary>
[CollectionDefinition(nameof(MemoryMeasuredCollection), DisableParallelization = true)]
public sealed class MemoryMeasuredCollection;
