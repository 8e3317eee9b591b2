using System.Collections.Immutable;
using System.Text.Json;

namespace Notistream.Gateway.WebPush;

/// <summary>
/// The registrations, in memory and in the subscriptions file (rewritten whole, atomically, after
/// every change), so that a phone stays registered across restarts.
/// <para>
/// Concurrency: written by request threads (register, unregister) and by the senders (a push
/// service's 404/410 prunes); read by the dispatcher and the subscriber. <see cref="_lock"/>
/// serialises the writers, including their file write, so the file always follows the same order of
/// changes as memory. Readers take <see cref="Current"/>, an immutable snapshot replaced under the
/// lock, without locking. <see cref="Changed"/> is raised after each change, outside the lock.
/// </para>
/// </summary>
internal sealed class WebPushSubscriptionStore
{
    private readonly Lock _lock = new();
    private readonly string _path;
    private readonly int _capacity;
    private volatile ImmutableDictionary<string, WebPushRegistration> _registrations;

    private WebPushSubscriptionStore(string path, int capacity, ImmutableDictionary<string, WebPushRegistration> registrations)
    {
        _path = path;
        _capacity = capacity;
        _registrations = registrations;
    }

    /// <summary>Raised after every change, on the thread that made it; handlers must not block.</summary>
    public event Action? Changed;

    /// <summary>The registrations by endpoint; a snapshot that never changes.</summary>
    public ImmutableDictionary<string, WebPushRegistration> Current => _registrations;

    /// <summary>Reads the file, or starts empty when there is none.</summary>
    /// <exception cref="InvalidOperationException">the file exists but cannot be read as registrations</exception>
    public static WebPushSubscriptionStore Load(string path, int capacity)
    {
        var registrations = ImmutableDictionary.Create<string, WebPushRegistration>(StringComparer.Ordinal);
        if (File.Exists(path))
        {
            List<WebPushRegistration>? list;
            try
            {
                list = JsonSerializer.Deserialize<List<WebPushRegistration>>(File.ReadAllBytes(path));
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException(
                    $"The Web Push subscriptions file '{path}' (WebPush:SubscriptionsFile) is not the JSON the gateway writes ({ex.Message}). "
                    + "Restore it from a backup, or delete it: every browser and phone then has to register again.", ex);
            }

            foreach (var registration in list ?? [])
            {
                if (registration is { Endpoint: not null, P256dh: not null, Auth: not null, Channels: not null })
                {
                    registrations = registrations.SetItem(registration.Endpoint, registration);
                }
            }
        }

        return new WebPushSubscriptionStore(path, capacity, registrations);
    }

    public enum AddResult
    {
        Added,
        Replaced,
        Full,
    }

    /// <summary>Adds <paramref name="registration"/>, or replaces the one with its endpoint; refuses a new one beyond the capacity.</summary>
    public AddResult Add(WebPushRegistration registration)
    {
        AddResult result;
        lock (_lock)
        {
            var exists = _registrations.ContainsKey(registration.Endpoint);
            if (!exists && _registrations.Count >= _capacity)
            {
                return AddResult.Full;
            }

            Save(_registrations.SetItem(registration.Endpoint, registration));
            result = exists ? AddResult.Replaced : AddResult.Added;
        }

        Changed?.Invoke();
        return result;
    }

    /// <summary>Removes the registration of <paramref name="endpoint"/>; false when there is none.</summary>
    public bool Remove(string endpoint)
    {
        lock (_lock)
        {
            if (!_registrations.ContainsKey(endpoint))
            {
                return false;
            }

            Save(_registrations.Remove(endpoint));
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>Writes the file first: memory changes only when the file holds the change too. Under <see cref="_lock"/>.</summary>
    private void Save(ImmutableDictionary<string, WebPushRegistration> next)
    {
        var list = next.Values.OrderBy(r => r.Endpoint, StringComparer.Ordinal).ToList();
        WebPushFiles.WriteAtomically(_path, JsonSerializer.Serialize(list, _json));
        _registrations = next;
    }

    private static readonly JsonSerializerOptions _json = new() { WriteIndented = true };
}
