using System.Globalization;
using System.Text;

namespace Notistream.LoadGen.Reporting;

/// <summary>The plain-text table of one run: one line per figure, the delivery check on each case's first line.</summary>
public static class TableWriter
{
    public static string Format(RunReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = new List<string[]> { new[] { "case", "metric", "value", "unit", "delivery" } };
        foreach (var result in report.Results)
        {
            var first = true;
            foreach (var metric in result.Metrics)
            {
                rows.Add(
                [
                    first ? result.Case : "",
                    metric.Name,
                    Number(metric.Value),
                    metric.Unit,
                    first ? Check(result) : "",
                ]);
                first = false;
            }
        }

        var widths = Enumerable.Range(0, 4).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{report.Server} at {report.Target}, {report.Started:yyyy-MM-dd HH:mm} UTC").AppendLine();
        foreach (var row in rows)
        {
            text.Append(row[0].PadRight(widths[0])).Append("  ")
                .Append(row[1].PadRight(widths[1])).Append("  ")
                .Append(row[2].PadLeft(widths[2])).Append("  ")
                .Append(row[3].PadRight(widths[3])).Append("  ")
                .Append(row[4]).AppendLine();
        }

        var invalid = report.Results.Count(r => !r.Valid);
        text.AppendLine(invalid == 0 ? "every message accounted for" : $"{invalid} case(s) INVALID: their figures are not results");
        return text.ToString();
    }

    internal static string Number(double? value) => value switch
    {
        null => "n/a",
        double v when double.IsNaN(v) || double.IsInfinity(v) => "n/a",
        >= 1000 => value.Value.ToString("N0", CultureInfo.InvariantCulture),
        >= 100 => value.Value.ToString("F1", CultureInfo.InvariantCulture),
        _ => value.Value.ToString("G3", CultureInfo.InvariantCulture),
    };

    private static string Check(ScenarioResult result)
    {
        var d = result.Delivery;
        var counts = $"received {d.Received}, lost {d.Lost}, dup {d.Duplicated}, ooo {d.OutOfOrder}, bad replies {d.ReplyMismatches}";
        return result.Valid ? $"ok ({counts})" : $"INVALID ({counts}{string.Concat(result.Problems.Select(p => "; " + p))})";
    }
}
