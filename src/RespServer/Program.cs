using Microsoft.Extensions.Hosting;
using Notistream;
using Notistream.RespServer.Connections;
using Notistream.RespServer.Hosting;

// Socket completions run on the socket event threads instead of being queued to the thread pool: with
// the read loop inline (RespServerService.ReceiveInline) a request is received, parsed, executed and its
// replies and messages sent on one thread, as in Redis's event loop. Nothing in a read loop waits for
// another connection. Each socket stays with one event thread, so there are two per core, for clients
// that pipeline hard and happen to share a thread (docs/performance.md: what the measurements of one
// against two per core do and do not show). Read once, before the first socket is used;
// DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 turns it off, DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT
// sets the number of threads.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
const string EventThreads = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

if (Environment.GetEnvironmentVariable(InlineCompletions) == "1" && Environment.GetEnvironmentVariable(EventThreads) is null)
{
    Environment.SetEnvironmentVariable(EventThreads, (2 * Environment.ProcessorCount).ToString(System.Globalization.CultureInfo.InvariantCulture));
}

if (args is ["--version"] or ["-v"])
{
    // The line all three programs print, then redis-server's own, for tools that read v= from it.
    Console.WriteLine(ProductVersion.Line("notistream-server"));
    Console.WriteLine($"Redis server v={ServerContext.RedisVersion} sha={ServerContext.GitSha1}:0 malloc=libc bits={IntPtr.Size * 8} build=0");
    return 0;
}

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine("""
        Usage: notistream-server [/path/to/notistream.conf] [--directive value ...]
               notistream-server -v | --version

        config/notistream.conf in the source tree lists every directive with its default.

        A pub/sub server that speaks the Redis protocol (RESP2 and RESP3).
        Directives (redis.conf syntax in the file, --name value on the command line):
          port <n>                          TCP port (default 6379)
          bind <addr> [addr ...]            addresses to listen on (default 127.0.0.1)
          requirepass <password>            require AUTH (default: none)
          protected-mode yes|no             without a password serve loopback clients only (default yes)
          user <name> <rules...>            an ACL user, e.g. user alice on >pw &news:* +@pubsub
          aclfile <path>                    ACL users file for ACL LOAD / ACL SAVE (not with user lines)
          acl-pubsub-default resetchannels|allchannels   channels of new users (default resetchannels)
          maxclients <n>                    most clients at once (default 10000)
          timeout <seconds>                 close idle non-subscriber clients (default 0 = never)
          tcp-keepalive <seconds>           TCP keepalive (default 300)
          client-output-buffer-limit <class> <hard> <soft> <seconds>
                                            default: pubsub 32mb 8mb 60, normal 0 0 0
          proto-max-bulk-len <bytes>        largest request argument (default 512mb)
          client-query-buffer-limit <bytes> largest unprocessed input per client (default 1gb)
          loglevel debug|verbose|notice|warning   (default notice)
          logfile <path>                    log to a file instead of standard output (opened for
                                            every line, so a renamed log needs no signal)
          supervised no|systemd|auto|upstart  READY=1/STOPPING=1 to NOTIFY_SOCKET (systemd; auto: when
                                            NOTIFY_SOCKET is set); upstart is accepted, runs as no
          appendonly yes|no                 keep the streams in Redis's append-only file (default no)
          appendfsync always|everysec|no    when the file is synced to the disk (default everysec)
          dir <path>                        the folder the appendonlydir folder goes in (default: current)
          aof-load-truncated yes|no         cut a torn end of the file at start-up (default yes)
          auto-aof-rewrite-percentage <n>   rewrite the file when it grew this much (default 100)
          auto-aof-rewrite-min-size <bytes> and holds at least this much (default 64mb)
          tls-port <n>                      also listen for TLS on this port (default 0 = off;
                                            with port 0: TLS only)
          tls-cert-file / tls-key-file <path>   server certificate and key, PEM
          tls-key-file-pass <password>      password of an encrypted key
          tls-ca-cert-file / tls-ca-cert-dir <path>   CA for client certificates
          tls-auth-clients yes|no|optional  client certificate required (default yes)
          tls-protocols "TLSv1.2 TLSv1.3"   allowed TLS versions
          metrics-port <n>                  serve GET /metrics (Prometheus text) on this port (default 0 = off)
          metrics-bind <addr>               the metrics listener's address (default 127.0.0.1)

        Examples:
          notistream-server --port 6380 --bind 127.0.0.1 --requirepass s3cret
          notistream-server /etc/notistream.conf --loglevel verbose
          notistream-server --appendonly yes --dir /var/lib/notistream
          notistream-server --tls-port 6380 --tls-cert-file server.crt --tls-key-file server.key --tls-ca-cert-file ca.crt
        """);
    return 0;
}

RespServerOptions options;
try
{
    options = ConfigLoader.Load(args);
}
catch (ConfigException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}

using var host = RespServerHost.Build(options);
try
{
    await host.RunAsync().ConfigureAwait(false);
}
catch (ConfigException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 1;
}

return 0;
