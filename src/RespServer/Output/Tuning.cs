namespace Notistream.RespServer.Output;

/// <summary>
/// Every tuning constant of the delivery path in one place, with its default and why. None of these
/// is a limit a user sets (those are directives: client-output-buffer-limit, proto-max-bulk-len, ...);
/// they trade memory against system calls and cross-core traffic. Figures quoted come from
/// benchmarks/compare.sh on a 2-core machine against redis-server in the same run.
/// </summary>
internal static class Tuning
{
    // ---- Input side (RespConnection.Read.cs) ----

    /// <summary>A partial request this large moves out of the input pipe into its own buffer, since the
    /// pipe's pause threshold is far below the largest request allowed (proto-max-bulk-len).</summary>
    public const int LargeFrameThreshold = 256 * 1024;

    /// <summary>Replies written by one batch of commands are handed to the output every this many bytes,
    /// so a long pipeline of commands does not build one huge reply array.</summary>
    public const int ReplyFlushBytes = 64 * 1024;

    /// <summary>A frame copied to be contiguous (it crossed pipe segments) keeps its scratch array up to
    /// this size; a larger one goes back to the pool at once.</summary>
    public const int FrameScratchKeptBytes = 64 * 1024;

    /// <summary>Reading pauses while this much output waits for a client that has no output limit
    /// (the normal class, by default), as Kestrel pauses reading while its output is full...</summary>
    public const long OutputHighWater = 1024 * 1024;

    /// <summary>...and resumes once the client has read it down to this.</summary>
    public const long OutputLowWater = 256 * 1024;

    // ---- Delivery batch (DeliveryBatch.cs) ----

    /// <summary>Commands in one batch after which its messages go to the subscribers' writers rather
    /// than being sent by the batch's own thread at its end: a publisher pipelining hard gets more
    /// throughput from writers on other cores (fan-out throughput as before, latency tail as with
    /// inline sends).</summary>
    public const int LargeBatch = 16;

    /// <summary>Deliveries a batch stages before it queues them on their outputs: a bound on the memory
    /// staged and on how long a message waits for its batch.</summary>
    public const int MaxStaged = 4096;

    /// <summary>Outputs a batch finds by a scan; past them, by a dictionary.</summary>
    public const int ScannedOutputs = 8;

    /// <summary>Subscribers one batch sends to itself at its end; past them, a message to many idle
    /// subscribers wakes their writers, which spread over the cores.</summary>
    public const int MaxInlineOutputs = 64;

    /// <summary>The scratch buffer a batch gathers one subscriber's queue into for its non-blocking send.</summary>
    public const int InlineScratchBytes = 64 * 1024;

    // ---- Output queue (ConnectionOutput*.cs) ----

    /// <summary>Staged frames up to this size are copied together into chunks on the publisher's
    /// thread when only this delivery holds them; larger or shared ones are queued as they are.</summary>
    public const int CopyFrameBytes = 4 * 1024;

    /// <summary>The size of those chunks: below <see cref="DirectSendBytes"/>, so the writer still
    /// gathers chunks into one send.</summary>
    public const int ChunkBytes = 15 * 1024;

    /// <summary>A reply up to this size is copied into the free room of the queue's last reply array
    /// instead of being queued with its own (pooled, at least 4 KiB) array: a client that pipelines
    /// a million small commands and reads nothing holds about what its replies weigh, as in Redis,
    /// whose reply list packs replies into 16 KiB blocks.</summary>
    public const int PackReplyBytes = 1024;

    /// <summary>A queue list whose capacity grew past this (a slow subscriber once held a burst) is
    /// given back once empty, so a connection does not keep its peak forever.</summary>
    public const int KeptQueueCapacity = 1024;

    /// <summary>The writer copies small segments into one scratch buffer of this size per send call.</summary>
    public const int SendScratchBytes = 64 * 1024;

    /// <summary>Segments this large are sent from their own memory, not copied into the scratch buffer.</summary>
    public const int DirectSendBytes = 16 * 1024;
}
