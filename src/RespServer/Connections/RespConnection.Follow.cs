using System.Buffers;
using Notistream.RespServer.Keyspace;
using Notistream.RespServer.Output;
using Notistream.RespServer.Protocol;
using Notistream.RespServer.PubSub;

namespace Notistream.RespServer.Connections;

/// <summary>
/// A connection that follows channels from a cursor (NOTI.SUBSCRIBE). Its pushes are written by its own
/// follow loop, not by publishers: the loop pulls what follows the cursor from the channels' streams under
/// the gate (<see cref="Follower.Pull"/>), queues it, and waits for the next append or for the client to
/// read. A client that does not read therefore holds at most <see cref="FollowWindow"/> bytes of queued
/// pushes; it falls behind in the history instead, and learns of any gap when it catches up.
/// <para>
/// Who does what: the read loop starts following (the handler) and stops it (RESET, the connection's end);
/// the follow loop is the only writer of pushes. Stopping sets <see cref="Follower.Stopped"/> under the gate
/// and the follower's push lock, so no push is queued after RESET's reply or the end.
/// </para>
/// </summary>
internal sealed partial class RespConnection
{
    /// <summary>Queued output past which the follow loop pulls no more until the client reads.</summary>
    public const int FollowWindow = 256 * 1024;

    /// <summary>Entries and bytes one pull takes at most (one hold of the gate).</summary>
    private const int FollowPullEntries = 1024;
    private const int FollowPullBytes = 128 * 1024;

    /// <summary>What this connection follows, or null; set and cleared by the read loop.</summary>
    private Follower? _follower;

    /// <summary>Counts this follower in PUBLISH's receivers and PUBSUB NUMSUB, as a subscriber would be; receives nothing.</summary>
    private FollowerReceiver? _receiver;

    public bool IsFollowing => Volatile.Read(ref _follower) is not null;

    /// <summary>What this connection follows, or null (read from other threads: ACL SETUSER).</summary>
    public Follower? Following => Volatile.Read(ref _follower);

    /// <summary>
    /// Starts following with <paramref name="follower"/>, registered in the keyspace's index by the caller
    /// (NOTI.SUBSCRIBE, under the gate, after queuing its confirmation). Read loop.
    /// </summary>
    public void Follow(Follower follower)
    {
        _receiver = new FollowerReceiver();
        foreach (var channel in follower.Channels)
        {
            Server.Registry.Subscribe(_receiver, channel, shard: false);
        }

        foreach (var pattern in follower.Patterns)
        {
            Server.Registry.SubscribePattern(_receiver, pattern);
        }

        Volatile.Write(ref _follower, follower);
        _ = Task.Run(() => FollowLoopAsync(follower));
    }

    /// <summary>Stops following (RESET, the connection's end): nothing is pushed after this returns. Read loop.</summary>
    public void StopFollowing()
    {
        if (_follower is not { } follower)
        {
            return;
        }

        var keys = Server.Keys;
        lock (keys.Gate)
        {
            keys.Followers.Unregister(follower);
            lock (follower.PushLock)
            {
                follower.Stop();
            }
        }

        follower.Wake();
        Output.WakeFollower();
        if (_receiver is { } receiver)
        {
            foreach (var channel in follower.Channels)
            {
                Server.Registry.Unsubscribe(receiver, channel, shard: false);
            }

            foreach (var pattern in follower.Patterns)
            {
                Server.Registry.UnsubscribePattern(receiver, pattern);
            }
        }

        _receiver = null;
        Volatile.Write(ref _follower, null);
    }

    private async Task FollowLoopAsync(Follower follower)
    {
        var buffer = new ReplyBuffer();
        var keys = Server.Keys;
        try
        {
            while (!follower.Stopped && !Output.IsFinished)
            {
                follower.Rearm();
                if (Output.BufferedBytes > FollowWindow)
                {
                    // Woken by the drain, the output's end, or this follower's stop (whichever comes first).
                    await Task.WhenAny(Output.WaitForFollowDrainAsync(FollowWindow / 2), follower.StoppedTask).ConfigureAwait(false);
                    continue;
                }

                bool more;
                long logged;
                lock (keys.Gate)
                {
                    if (follower.Stopped)
                    {
                        break;
                    }

                    follower.Pull(keys, new RespWriter(buffer, Protocol), buffer, FollowPullEntries, FollowPullBytes, out more);

                    // The records of everything pulled lie before this position of the append-only file.
                    logged = Server.Aof.AppendedPosition;
                }

                if (buffer.Length > 0 && !await FollowedLoggedAsync(logged).ConfigureAwait(false))
                {
                    // Never delivered what the log could not take: the client resumes from its cursor later.
                    Abort(ConnectionEnd.PersistenceFailure, "the messages it follows could not be logged");
                    break;
                }

                if (buffer.Length > 0)
                {
                    var (array, length) = buffer.Detach();
                    lock (follower.PushLock)
                    {
                        if (follower.Stopped)
                        {
                            ArrayPool<byte>.Shared.Return(array);
                            break;
                        }

                        Output.Enqueue(array, length, pooled: true);
                    }
                }

                if (!more)
                {
                    await follower.Woken.ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            Log.ConnectionError(Server.Logger, Id, Address, "follow: " + ex.Message);
            Abort(ConnectionEnd.TransportError, ex.Message);
        }
        finally
        {
            buffer.Release();
        }
    }

    /// <summary>
    /// A follower is sent a message only once its record is in the append-only file as appendfsync requires,
    /// as a subscriber is (I12): written (everysec, no), or written and synced (always), sharing the write or
    /// the sync with whoever else waits. False when the log failed.
    /// </summary>
    private async ValueTask<bool> FollowedLoggedAsync(long position)
    {
        var aof = Server.Aof;
        if (!aof.IsOn || (position <= aof.WrittenPosition && (position <= aof.SyncedPosition || !aof.SyncsEachWrite)))
        {
            return true;
        }

        return aof.SyncsEachWrite ? await aof.WaitDurableAsync(position).ConfigureAwait(false) : aof.CommitWrite(position);
    }

    /// <summary>Stands for a follower in the subscriber lists; what is published is read from the streams instead.</summary>
    private sealed class FollowerReceiver : ISubscriber
    {
        public int Protocol => 2;

        /// <summary>What is published on another node is not in this node's history: the other nodes must not count it.</summary>
        public bool LocalOnly => true;

        public void Deliver(MessageFrame frame, DeliveryBatch? batch)
        {
        }
    }
}
