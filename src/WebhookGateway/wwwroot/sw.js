// Notistream's service worker: keeps the app's few files for offline starts, shows Web Push messages
// when no page is open, and opens the app (or the message's link) when a notification is clicked.
'use strict';

const Cache = 'notistream-app-v1';
const Shell = ['/', '/app.js', '/app.css', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(Cache).then((cache) => cache.addAll(Shell)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== Cache).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

// The shell: network first (a new version shows at once), the cache when offline. Nothing else is
// touched: subscriptions, publishes and the API always go to the network.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !Shell.includes(url.pathname)) return;
  event.respondWith(fetch(event.request)
    .then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(Cache).then((cache) => cache.put(event.request, copy));
      }
      return response;
    })
    .catch(() => caches.match(event.request).then((hit) => hit ?? Response.error())));
});

self.addEventListener('push', (event) => {
  let m = {};
  try { m = event.data ? event.data.json() : {}; } catch { m = { message: event.data ? event.data.text() : '' }; }
  const channel = m.channel ?? m.topic ?? 'Notistream';
  let body = m.message ?? '';
  if (m.missed > 0) body += (body ? '\n' : '') + '(+' + m.missed + ' earlier message' + (m.missed === 1 ? '' : 's') + ')';
  event.waitUntil(self.registration.showNotification(m.title || channel, {
    body,
    tag: 'notistream:' + channel,
    renotify: true,
    requireInteraction: m.priority === 5,
    data: { click: m.click ?? null, channel },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const click = event.notification.data?.click;
  const target = click && /^https?:\/\//i.test(click) ? click : '/';
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
    const app = windows.find((w) => new URL(w.url).origin === self.location.origin);
    if (target === '/' && app) return app.focus();
    return self.clients.openWindow(target);
  }));
});
