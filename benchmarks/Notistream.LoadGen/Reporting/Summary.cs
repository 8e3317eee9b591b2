using System.Globalization;
using System.Text;

namespace Notistream.LoadGen.Reporting;

/// <summary>
/// Repeated runs against one set-up as one markdown table: per case and figure the median of the valid
/// runs, then the lowest and highest, so a spread shows beside the median. Runs in which a case was not
/// valid do not count for that case and are marked.
/// </summary>
public static class Summary
{
    public static string Format(IReadOnlyList<RunReport> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var keys = runs.SelectMany(r => r.Results)
            .SelectMany(r => r.Metrics.Select(m => (r.Case, m.Name, m.Unit)))
            .Distinct()
            .ToList();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| case | metric | unit | median of {runs.Count} | lowest–highest |");
        text.AppendLine("| --- | --- | --- | ---: | ---: |");
        foreach (var (caseName, metric, unit) in keys)
        {
            var cases = runs.SelectMany(r => r.Results).Where(r => r.Case == caseName).ToList();
            var values = cases.Where(r => r.Valid)
                .Select(r => r.Metrics.FirstOrDefault(m => m.Name == metric)?.Value)
                .OfType<double>()
                .Where(v => !double.IsNaN(v) && !double.IsInfinity(v))
                .Order()
                .ToList();
            var invalid = cases.Count(r => !r.Valid);
            var note = invalid == 0 ? "" : values.Count == 0 ? " INVALID" : $" ({invalid} of {cases.Count} runs INVALID)";
            string median = "n/a", range = "";
            if (values.Count > 0)
            {
                var mid = values.Count / 2;
                median = TableWriter.Number(values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2);
                var (low, high) = (TableWriter.Number(values[0]), TableWriter.Number(values[^1]));
                range = low == high ? low : $"{low}–{high}";
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"| {caseName} | {metric} | {unit} | {median}{note} | {range} |");
        }

        return text.ToString();
    }
}
