using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Prometheus;

namespace Notistream.Metrics;

/// <summary>
/// Publishes the System.Diagnostics.Metrics instruments of one <see cref="Meter"/> in a prometheus-net
/// registry, with Prometheus's own names and types: <c>notistream.messages.published</c> (a counter,
/// unit <c>{message}</c>) becomes the counter <c>notistream_messages_published_total</c>, unit <c>s</c>
/// appends <c>_seconds</c>, <c>By</c> <c>_bytes</c>. Tags become labels. prometheus-net 8.2.1's own
/// MeterAdapter is not used: it prefixes the meter's name to each instrument's and exports every counter
/// as a gauge (docs/metrics.md). Observable instruments are read when the registry is scraped, never in between.
/// Shared by the server and the gateway (linked into both).
/// </summary>
internal sealed class PrometheusBridge : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly IMetricFactory _factory;
    private readonly Func<Instrument, double[]> _buckets;
    private readonly ConcurrentDictionary<Instrument, Exported> _exported = new();
    private volatile bool _disposed;

    public PrometheusBridge(CollectorRegistry registry, Meter meter, Func<Instrument, double[]> buckets)
    {
        _factory = Prometheus.Metrics.WithCustomRegistry(registry);
        _buckets = buckets;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(() =>
        {
            if (!_disposed)
            {
                _listener.RecordObservableInstruments();
            }
        });
    }

    public void Dispose()
    {
        _disposed = true;
        _listener.Dispose();
    }

    /// <summary>The Prometheus name: dots and dashes to underscores, the unit's suffix, <c>_total</c> for counters.</summary>
    public static string PrometheusName(Instrument instrument)
    {
        var name = new StringBuilder(instrument.Name.Length + 16);
        foreach (var c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_');
        }

        var suffix = instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        };
        if (suffix.Length > 0 && !name.ToString().EndsWith(suffix, StringComparison.Ordinal))
        {
            name.Append(suffix);
        }

        if (instrument is ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> or Counter<long> or Counter<int> or Counter<double>)
        {
            name.Append("_total");
        }

        return name.ToString();
    }

    private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct, IConvertible
    {
        // No allocation for an instrument without tags (the server's latency histogram, recorded on its read loops).
        var labels = tags.Length == 0 ? [] : new string[tags.Length];
        var values = tags.Length == 0 ? [] : new string[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            labels[i] = tags[i].Key.Replace('.', '_').Replace('-', '_');
            values[i] = tags[i].Value?.ToString() ?? "";
        }

        if (tags.Length > 1)
        {
            Array.Sort(labels, values, StringComparer.Ordinal);
        }

        var exported = _exported.GetOrAdd(instrument, static (i, state) => state.Self.Create(i, state.Labels), (Self: this, Labels: labels));
        if (!exported.Labels.AsSpan().SequenceEqual(labels))
        {
            return; // the same instrument with another set of tags: not representable, left out
        }

        var number = value.ToDouble(null);
        switch (exported.Collector)
        {
            case Counter counter when instrument is ObservableCounter<T>:
                counter.WithLabels(values).IncTo(number);
                break;
            case Counter counter:
                counter.WithLabels(values).Inc(number);
                break;
            case Gauge gauge when instrument is UpDownCounter<T>:
                gauge.WithLabels(values).Inc(number);
                break;
            case Gauge gauge:
                gauge.WithLabels(values).Set(number);
                break;
            case Histogram histogram:
                histogram.WithLabels(values).Observe(number);
                break;
        }
    }

    private Exported Create(Instrument instrument, string[] labels)
    {
        var name = PrometheusName(instrument);
        var help = instrument.Description ?? instrument.Name;
        Collector collector = instrument switch
        {
            Histogram<double> or Histogram<long> or Histogram<int> =>
                _factory.CreateHistogram(name, help, labels, new HistogramConfiguration { Buckets = _buckets(instrument) }),
            _ when name.EndsWith("_total", StringComparison.Ordinal) => _factory.CreateCounter(name, help, labels),
            _ => _factory.CreateGauge(name, help, labels),
        };
        return new Exported(collector, labels);
    }

    private sealed record Exported(Collector Collector, string[] Labels);
}
