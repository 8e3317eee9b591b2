using Notistream.Testing;

namespace Notistream.RespServer.Tests.Connections;

public class ConnectionTests
{
    [Fact]
    public async Task A_RESP3_client_gets_its_own_message_after_the_replies_before_it_and_before_its_PUBLISH_reply()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("HELLO 3\r\n");
        await client.ExpectAsync("%7\r\n");
        await client.SendAsync("SUBSCRIBE ch\r\nPING\r\nPUBLISH ch hi\r\nPING\r\n");
        // HELLO's map is drained loosely: read through to its last field.
        await client.ExpectAsync("$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n");
        await client.ExpectAsync(">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n+PONG\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n:1\r\n+PONG\r\n");
    }

    [Fact]
    public async Task A_protocol_error_is_answered_after_the_commands_before_it_and_closes_the_connection()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("PING\r\n*1\r\n$x\r\nPING\r\n");
        await client.ExpectAsync("+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
        await client.ExpectClosedAsync();
    }

    [Fact]
    public async Task Quit_replies_then_closes()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("QUIT\r\nPING\r\n");
        await client.ExpectAsync("+OK\r\n");
        await client.ExpectClosedAsync();
    }

    [Fact]
    public async Task An_HTTP_request_is_dropped_without_a_reply()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("POST / HTTP/1.1\r\nHost: example\r\n\r\n");
        await client.ExpectClosedAsync();
    }

    [Fact]
    public async Task Maxclients_refuses_one_more_with_Redis_error()
    {
        await using var server = await NotistreamServer.StartAsync("--maxclients", "1");
        await using var first = await RawClient.ConnectAsync(server.Port);
        await first.SendAsync("PING\r\n");
        await first.ExpectAsync("+PONG\r\n");
        await using var second = await RawClient.ConnectAsync(server.Port);
        await second.ExpectAsync("-ERR max number of clients reached\r\n");
        await second.ExpectClosedAsync();
    }

    [Fact]
    public async Task Stopping_the_server_flushes_queued_messages_then_closes_subscribers()
    {
        var server = await NotistreamServer.StartAsync();
        await using var subscriber = await RawClient.ConnectAsync(server.Port);
        await subscriber.SendAsync("SUBSCRIBE ch\r\n");
        await subscriber.ExpectAsync("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
        await using (var publisher = await RawClient.ConnectAsync(server.Port))
        {
            await publisher.SendAsync(string.Concat(Enumerable.Range(0, 100).Select(i => $"PUBLISH ch m{i}\r\n")));
            await publisher.ExpectAsync(string.Concat(Enumerable.Repeat(":1\r\n", 100)));
        }

        await server.DisposeAsync().WithTimeout();
        foreach (var i in Enumerable.Range(0, 100))
        {
            var payload = $"m{i}";
            await subscriber.ExpectAsync($"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n${payload.Length}\r\n{payload}\r\n");
        }

        await subscriber.ExpectClosedAsync();
    }

    [Fact]
    public async Task Config_set_proto_max_bulk_len_applies_to_a_connected_client()
    {
        await using var server = await NotistreamServer.StartAsync();
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendAsync("CONFIG SET proto-max-bulk-len 1mb\r\n");
        await client.ExpectAsync("+OK\r\n");
        await client.SendAsync($"*2\r\n$4\r\nECHO\r\n${1024 * 1024 + 1}\r\n");
        await client.ExpectAsync("-ERR Protocol error: invalid bulk length\r\n");
        await client.ExpectClosedAsync();
    }
}
