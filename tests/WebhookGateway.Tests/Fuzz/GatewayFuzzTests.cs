using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Notistream.Gateway.Tests.Infrastructure;

namespace Notistream.Gateway.Tests.Fuzz;

/// <summary>
/// Random requests against the gateway's endpoints — forms, JSON bodies, raw bodies, headers,
/// content types, GitHub event names, deliveries and signatures (some valid for a mutated body):
/// a rejected request gets a 4xx and publishes nothing, 201 (200 to ntfy's PUT) means exactly one publish, never a 5xx.
/// Seeded (<c>NOTISTREAM_FUZZ_SEED</c> replays) and time-bounded (<c>NOTISTREAM_FUZZ_SECONDS</c>).
/// </summary>
public sealed class GatewayFuzzTests
{
    private static readonly string[] ContentTypes =
    [
        "application/x-www-form-urlencoded", "application/json", "text/plain", "application/octet-stream",
        "multipart/form-data; boundary=x", "application/json; charset=utf-8", "application/x-www-form-urlencoded; charset=latin1",
        "text/plain; charset=bogus", "application/xml", "*/*", "application/json; charset=\"",
    ];

    private static readonly string[] Fragments =
    [
        "channel", "message", "payload", "=", "&", "%", "%zz", "%ff%fe", "%00", "+", "{", "}", "[", "]", "\"", ":", ",", "null",
        "true", "1e999", "-0", "\"channel\"", "\"message\"", "\\u0000", "\\ud800", "é", "\u0001", "\r\n", " ", "news", "a/b", "*",
    ];

    [Fact]
    public async Task Random_requests_get_4xx_and_publish_nothing_unless_answered_as_published_never_5xx()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("NOTISTREAM_FUZZ_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        var seconds = double.TryParse(Environment.GetEnvironmentVariable("NOTISTREAM_FUZZ_SECONDS"), CultureInfo.InvariantCulture, out var t) ? t : 16;
        TestContext.Current.TestOutputHelper?.WriteLine($"seed {seed} (replay: NOTISTREAM_FUZZ_SEED={seed})");
        var random = new Random(seed);
        var publisher = new RecordingPublisher();
        await using var gateway = await GatewayHost.StartAsync(publisher, "--github-secret", GitHubDeliveries.Secret);
        var fixtures = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "GitHub"), "*.json");
        var watch = Stopwatch.StartNew();
        var budget = TimeSpan.FromSeconds(seconds / 4);
        var statuses = new SortedDictionary<int, int>();
        var cases = 0;
        while (watch.Elapsed < budget)
        {
            cases++;
            using var request = random.Next(2) == 0 ? PublishRequest(random) : GitHubRequest(random, fixtures);
            var description = $"seed {seed}, case {cases}: {request.Method} {request.RequestUri} {request.Content?.Headers.ContentType}";
            var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
            var before = publisher.Attempts.Count;
            HttpResponseMessage sent;
            try
            {
                sent = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
            }
            catch (HttpRequestException ex) when (ex.InnerException is IOException)
            {
                // Refused before its body was read (a bad channel or ntfy parameter): Kestrel answers and closes
                // while the body is still being sent, and the client sees a broken pipe. Nothing may be published.
                Assert.True(publisher.Attempts.Count == before, $"published on a refused request: {description}");
                statuses[0] = statuses.GetValueOrDefault(0) + 1;
                continue;
            }

            using var response = sent;
            var status = (int)response.StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
            var published = publisher.Attempts.Count - before;
            var detail = $"{description} body {Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 300)))} → {status} {await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}";
            Assert.True(status < 500, status < 500 ? detail : $"{detail}\n{string.Join("\n", gateway.Logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Message} {e.Exception}"))}");
            // /{channel} answers ntfy's 200 (POST and PUT); a 200 to a GitHub delivery is a redelivery, not published.
            var github = request.RequestUri is { IsAbsoluteUri: true } uri && uri.AbsolutePath.StartsWith("/github", StringComparison.Ordinal); // absolute once sent
            if (status == 201 || (status == 200 && !github))
            {
                Assert.True(published == 1, $"{status} without exactly one publish ({published}): {detail}");
            }
            else
            {
                Assert.True(published == 0, $"published on {status}: {detail}");
                Assert.True(status is >= 400 or 200 or 202, detail);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{cases} requests: {string.Join(", ", statuses.Select(p => $"{p.Key}×{p.Value}"))}");
        Assert.True(statuses.ContainsKey(201), "no request was published: the generator produces no valid request");
        Assert.True(statuses.Keys.Any(k => k >= 400), "no request was rejected");
    }

    private static HttpRequestMessage PublishRequest(Random random)
    {
        var path = random.Next(6) switch
        {
            0 => "/" + Uri.EscapeDataString(Pick(random)),
            1 => "/news",
            2 => "/a/b%2Fc",
            _ => "/",
        };
        var request = new HttpRequestMessage(random.Next(10) == 0 ? HttpMethod.Put : HttpMethod.Post, path);
        byte[] body = random.Next(5) switch
        {
            0 => Encoding.UTF8.GetBytes($"channel={Uri.EscapeDataString(Pick(random))}&message={Uri.EscapeDataString(Pick(random))}"),
            1 => Encoding.UTF8.GetBytes($"{{\"channel\":\"{Pick(random)}\",\"message\":\"{Pick(random)}\"}}"),
            2 => Encoding.UTF8.GetBytes(Noise(random)),
            3 => Bytes(random),
            _ => Encoding.UTF8.GetBytes(random.Next(2) == 0 ? "channel=news&message=hello" : "{\"channel\":\"news\",\"message\":\"hello\"}"),
        };
        request.Content = new ByteArrayContent(body);
        SetContentType(random, request.Content, body.Length > 0 && body[0] == '{' ? "application/json" : "application/x-www-form-urlencoded");
        AddHeaders(random, request);
        return request;
    }

    private static HttpRequestMessage GitHubRequest(Random random, string[] fixtures)
    {
        var file = fixtures[random.Next(fixtures.Length)];
        var json = File.ReadAllBytes(file);
        var eventName = random.Next(5) == 0 ? HeaderSafe(Pick(random)) : GitHubDeliveries.EventOf(Path.GetFileName(file));
        var body = random.Next(3) == 0 ? Mutate(random, json) : json;
        var asForm = random.Next(3) == 0;
        if (asForm)
        {
            body = Encoding.ASCII.GetBytes("payload=" + Uri.EscapeDataString(Encoding.UTF8.GetString(body)));
        }

        var signature = random.Next(6) switch
        {
            0 => null,
            1 => GitHubDeliveries.Sign(body, "wrong"),
            2 => "sha256=" + HeaderSafe(Noise(random)),
            3 => "sha1=" + Convert.ToHexStringLower(new byte[20]),
            _ => GitHubDeliveries.Sign(body),
        };
        var request = GitHubDeliveries.Request(random.Next(8) == 0 ? null : eventName, body,
            asForm ? "application/x-www-form-urlencoded" : "application/json", signature,
            random.Next(4) == 0 ? "fixed-delivery" : random.Next(8) == 0 ? HeaderSafe(Noise(random)) : null);
        SetContentType(random, request.Content!, null);
        AddHeaders(random, request);
        return request;
    }

    private static void SetContentType(Random random, HttpContent content, string? fallback)
    {
        switch (random.Next(4))
        {
            case 0:
                content.Headers.Remove("Content-Type");
                content.Headers.TryAddWithoutValidation("Content-Type", ContentTypes[random.Next(ContentTypes.Length)]);
                break;
            case 1 when fallback is not null:
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(fallback);
                break;
            case 2 when fallback is not null:
                content.Headers.ContentType = null;
                break;
        }
    }

    private static void AddHeaders(Random random, HttpRequestMessage request)
    {
        for (var i = random.Next(3); i > 0; i--)
        {
            var name = new[] { "Authorization", "X-GitHub-Event", "X-Hub-Signature-256", "X-Forwarded-For", "Accept", "X-Notistream-Token" }[random.Next(6)];
            request.Headers.TryAddWithoutValidation(name, HeaderSafe(random.Next(2) == 0 ? "Bearer " + Noise(random) : Noise(random)));
        }
    }

    /// <summary>What HTTP can carry in a header value: printable ASCII (the client refuses anything else).</summary>
    private static string HeaderSafe(string text) => string.Concat(text.Where(c => c is >= ' ' and <= '~')).Trim();

    private static string Pick(Random random) => random.Next(4) switch
    {
        0 => "",
        1 => new string('c', random.Next(1, 70_000)),
        2 => Noise(random),
        _ => "news",
    };

    private static string Noise(Random random)
    {
        var text = new StringBuilder();
        for (var i = random.Next(1, 12); i > 0; i--)
        {
            text.Append(Fragments[random.Next(Fragments.Length)]);
        }

        return text.ToString();
    }

    private static byte[] Bytes(Random random)
    {
        var bytes = new byte[random.Next(0, 200)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = input.ToList();
        for (var n = random.Next(1, 4); n > 0 && bytes.Count > 0; n--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 50), bytes.Count - at));
                    break;
                default:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)]));
                    break;
            }
        }

        return [.. bytes];
    }
}
