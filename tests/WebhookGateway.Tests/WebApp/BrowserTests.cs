using System.Globalization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Notistream.Gateway.Tests.Infrastructure;
using Notistream.Testing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using StackExchange.Redis;

namespace Notistream.Gateway.Tests.WebApp;

/// <summary>
/// The web app in a real browser: Debian's Chromium, headless, driven through the system's chromedriver
/// (nothing downloaded). It loads the app from the gateway, subscribes, receives a published message and
/// raises a notification, then loses the gateway for a while and catches up with nothing lost or shown twice.
/// Screenshots of each step go to <c>artifacts/browser/</c> beside the test assembly.
/// </summary>
public sealed class BrowserTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly string _profile = Directory.CreateTempSubdirectory("notistream-chromium-").FullName;
    private readonly string _artifacts = Directory.CreateDirectory(Path.Join(AppContext.BaseDirectory, "artifacts", "browser")).FullName;
    private ChromeDriver? _driver;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _driver?.Quit();
        _driver?.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium's last writes to its profile can race the delete; the folder is in /tmp.
        }

        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task The_app_subscribes_notifies_and_catches_up_after_losing_the_gateway()
    {
        var driver = StartBrowser();
        await using var server = await OurServer.StartAsync();
        var webPort = FreePort.Next();
        var gateway = await GatewayHost.StartConnectedAsync(server.Port, "--urls", $"http://127.0.0.1:{webPort}");
        try
        {
            var origin = $"http://127.0.0.1:{webPort}";
            driver.ExecuteCdpCommand("Browser.grantPermissions", new Dictionary<string, object?>
            {
                ["origin"] = origin,
                ["permissions"] = new[] { "notifications" },
            });

            // ci/github/notistream: a channel with slashes, matched by the pattern ci/*.
            driver.Navigate().GoToUrl($"{origin}/?channels=alerts,ci/*");
            WaitFor(driver, d => d.FindElement(By.Id("state")).GetDomAttribute("data-state") == "live", "the app to say live");
            Assert.Equal("Notistream", driver.Title);
            WaitFor(driver, d => (bool)((IJavaScriptExecutor)d).ExecuteScript("return navigator.serviceWorker.controller !== null || document.readyState === 'complete'")!, "the page to load");
            driver.FindElement(By.Id("notify")).Click();
            WaitFor(driver, d => d.FindElement(By.Id("hint")).Text.Contains("Notifications are on", StringComparison.Ordinal), "notifications to be on");

            using (var publish = new HttpRequestMessage(HttpMethod.Post, "/alerts") { Content = new StringContent("disk full on db1") })
            {
                publish.Headers.Add("Title", "Disk");
                publish.Headers.Add("Priority", "5");
                using var reply = await gateway.Client.SendAsync(publish, TestContext.Current.CancellationToken);
                Assert.True(reply.IsSuccessStatusCode, await reply.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            }

            WaitFor(driver, d => Messages(d).Any(m => m.Text.Contains("disk full on db1", StringComparison.Ordinal)), "the published message on the page");
            var shown = Assert.Single(Messages(driver));
            Assert.Contains("Disk", shown.Text, StringComparison.Ordinal);
            Assert.Contains("alerts", shown.Text, StringComparison.Ordinal);
            // The page shows the message, then raises its notification through the service worker (asynchronously).
            WaitFor(driver, d => Notifications((ChromeDriver)d).Contains("Disk|disk full on db1"), "the notification");
            Screenshot(driver, "1-live");

            // The gateway goes away; messages go on being published to the server meanwhile.
            await gateway.DisposeAsync();
            WaitFor(driver, d => d.FindElement(By.Id("state")).GetDomAttribute("data-state") is "reconnecting" or "connecting", "the app to notice the gateway is gone");
            Screenshot(driver, "2-gateway-gone");
            var sent = new List<string>();
            await using (var redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}"))
            {
                var db = redis.GetDatabase();
                for (var i = 0; i < 30; i++)
                {
                    var channel = i % 2 == 0 ? "alerts" : "ci/github/notistream";
                    var text = $"while away {i.ToString("00", CultureInfo.InvariantCulture)}";
                    await db.ExecuteAsync("NOTI.PUBLISH", channel, text);
                    sent.Add(text);
                }

                await db.ExecuteAsync("NOTI.PUBLISH", "other", "not subscribed");
            }

            gateway = await GatewayHost.StartConnectedAsync(server.Port, "--urls", $"http://127.0.0.1:{webPort}");
            WaitFor(driver, d => Messages(d).Count >= 1 + sent.Count, "the app to catch up", TimeSpan.FromSeconds(60));
            WaitFor(driver, d => d.FindElement(By.Id("state")).GetDomAttribute("data-state") == "live", "the app to be live again");
            Screenshot(driver, "3-caught-up");

            // Newest first on the page: read back oldest first.
            var texts = Messages(driver).Select(m => m.FindElement(By.ClassName("body")).Text).Reverse().ToList();
            Assert.Equal(["disk full on db1", .. sent], texts);
            var ids = Messages(driver).Select(m => m.GetDomAttribute("data-id")!).Reverse().ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
            Assert.DoesNotContain(Messages(driver), m => m.Text.Contains("not subscribed", StringComparison.Ordinal));
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_dashboard_shows_a_publish_within_its_polls()
    {
        var driver = StartBrowser();
        await using var server = await OurServer.StartAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port);
        await gateway.WaitUntilReadyAsync();

        driver.Navigate().GoToUrl(new Uri(gateway.BaseAddress, "/dashboard"));
        WaitFor(driver, d => d.FindElement(By.Id("state")).GetDomAttribute("data-state") == "live", "the dashboard to say live");
        Assert.Equal("Notistream dashboard", driver.Title);
        WaitFor(driver, d => d.FindElement(By.Id("published")).Text == "0", "no publish yet");

        using (var publish = await gateway.Client.PostAsync("/dashboard-news", new StringContent("seen on the dashboard"), TestContext.Current.CancellationToken))
        {
            Assert.True(publish.IsSuccessStatusCode);
        }

        WaitFor(driver, d => d.FindElement(By.Id("published")).Text == "1", "the publish to show");
        WaitFor(driver, d => d.FindElement(By.Id("history")).Text == "1", "the history entry to show");
        Assert.Contains($"127.0.0.1:{server.Port}", driver.FindElement(By.Id("server")).Text, StringComparison.Ordinal);
        Screenshot(driver, "4-dashboard");
    }

    [Fact]
    public async Task The_dashboard_works_under_a_reverse_proxys_path_prefix_with_its_token_passed_on()
    {
        var driver = StartBrowser();
        await using var server = await OurServer.StartAsync();
        await using var gateway = await GatewayHost.StartConnectedAsync(server.Port, "--token", "prefix-token");
        await gateway.WaitUntilReadyAsync();

        // A reverse proxy that serves the gateway under /notify/ and nothing at its root: a request for a path
        // outside the prefix is a 404 there, as it would be on a shared host.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var proxy = builder.Build();
        using var upstream = new HttpClient { BaseAddress = gateway.BaseAddress };
        proxy.MapGet("/notify/{**rest}", async (HttpContext context) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/" + context.Request.RouteValues["rest"] + context.Request.QueryString);
            if (context.Request.Headers.Authorization is { Count: > 0 } authorization)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization.ToString());
            }

            using var response = await upstream.SendAsync(request, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        });
        await proxy.StartAsync(TestContext.Current.CancellationToken);

        var auth = System.Buffers.Text.Base64Url.EncodeToString("Bearer prefix-token"u8);
        driver.Navigate().GoToUrl(new Uri(new Uri(proxy.Urls.Single()), $"/notify/dashboard?auth={auth}"));
        WaitFor(driver, d => d.FindElement(By.Id("state")).GetDomAttribute("data-state") == "live", "the dashboard under /notify/ to say live");
        Assert.Contains($"127.0.0.1:{server.Port}", driver.FindElement(By.Id("server")).Text, StringComparison.Ordinal);
        Screenshot(driver, "5-dashboard-prefix");
    }

    private ChromeDriver StartBrowser()
    {
        var chromium = ExternalProgram.Require("chromium", "apt-get install chromium");
        var chromedriver = ExternalProgram.Require("chromedriver", "apt-get install chromium-driver");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(chromedriver)!, Path.GetFileName(chromedriver));
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--window-size=800,1000", $"--user-data-dir={_profile}");
        _driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        _driver.Manage().Timeouts().AsynchronousJavaScript = Wait;
        return _driver;
    }

    private static IReadOnlyList<IWebElement> Messages(IWebDriver driver) => driver.FindElements(By.CssSelector("#messages li.message"));

    /// <summary>The notifications the app's service worker shows now, as "title|body".</summary>
    private static List<string> Notifications(ChromeDriver driver)
    {
        var result = driver.ExecuteAsyncScript("""
            const done = arguments[arguments.length - 1];
            navigator.serviceWorker.ready
              .then((r) => r.getNotifications())
              .then((list) => done(list.map((n) => n.title + '|' + n.body)))
              .catch((e) => done(['error: ' + e.message]));
            """);
        return [.. ((IEnumerable<object>)result!).Select(o => (string)o)];
    }

    private static void WaitFor(IWebDriver driver, Func<IWebDriver, bool> condition, string what, TimeSpan? timeout = null)
    {
        var wait = new WebDriverWait(driver, timeout ?? Wait) { Message = "waiting for " + what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        wait.Until(condition);
    }

    private void Screenshot(ChromeDriver driver, string name) =>
        driver.GetScreenshot().SaveAsFile(Path.Join(_artifacts, name + ".png"));
}
