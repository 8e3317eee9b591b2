using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Notistream.Testing;

/// <summary>Reads a Prometheus text exposition: samples by their full name with labels, and promtool's verdict on it.</summary>
public static class PrometheusScrape
{
    /// <summary>Each sample line as <c>name{labels}</c> (exactly as written) to its value.</summary>
    public static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var split = line.LastIndexOf(' ');
            samples[line[..split]] = double.Parse(line[(split + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return samples;
    }

    /// <summary>A sample's value, 0 when absent (a histogram not yet observed).</summary>
    public static double Value(this Dictionary<string, double> samples, string key) => samples.GetValueOrDefault(key);

    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="text"/>; fails the test with its output unless it passes without a remark.</summary>
    public static async Task CheckWithPromtoolAsync(string text)
    {
        var promtool = ExternalProgram.Require("promtool", "Debian package prometheus");
        var start = new ProcessStartInfo(promtool, ["check", "metrics"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(text);
        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var said = (await stdout + await stderr).Trim();
        Assert.True(process.ExitCode == 0 && said.Length == 0, $"promtool check metrics (exit {process.ExitCode}): {said}");
    }
}
