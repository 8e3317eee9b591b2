// Notistream's web app: subscribes with Server-Sent Events (GET /<channels>/sse), resumes from the
// last id it showed, raises notifications, publishes (POST /<channel>) and registers Web Push.
// No framework and nothing from a CDN: the gateway serves these files itself.
'use strict';

const MaxShown = 200;          // messages kept on the page
const FirstSince = '12h';      // what a first visit shows from history
const MaxBackoffMs = 30000;
const NotifyBurst = 5;         // more than this many in NotifyWindowMs become one summary notification
const NotifyWindowMs = 2000;

const $ = (id) => document.getElementById(id);
const openedAt = Date.now();
let source = null;             // the EventSource; one at a time
let retryTimer = null;
let backoffMs = 1000;
let lastId = null;             // the greatest message id shown for the current channel list
let channelsKey = '';
let recentNotifications = [];

function channelList() {
  return $('channels').value.split(',').map((c) => c.trim()).filter((c) => c.length > 0);
}

// A channel may hold "/" (GitHub's owner/repo): each name is percent-encoded, "/" as %2F.
function channelPath(list) {
  return list.map((c) => encodeURIComponent(c)).join(',');
}

// ntfy's ?auth=: the Authorization header's value, base64url without padding (EventSource sends no headers).
function authParam(token) {
  const bytes = new TextEncoder().encode('Bearer ' + token);
  let text = '';
  bytes.forEach((b) => { text += String.fromCharCode(b); });
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function authHeaders(token) {
  return token ? { Authorization: 'Bearer ' + token } : {};
}

// Ids are "ms-seq"; compared as two numbers.
function idAfter(a, b) {
  if (b === null) return true;
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am > bm || (am === bm && as > bs);
}

function setState(kind, text) {
  const state = $('state');
  state.className = 'state ' + kind;
  state.textContent = text;
  state.dataset.state = kind;
}

function cursorKey(list) {
  return 'notistream.cursor.' + list.join(',');
}

function connect() {
  disconnect();
  const list = channelList();
  localStorage.setItem('notistream.channels', $('channels').value);
  localStorage.setItem('notistream.token', $('token').value);
  if (list.length === 0) {
    setState('idle', 'not connected');
    $('hint').textContent = 'Name at least one channel or pattern.';
    return;
  }

  if (list.join(',') !== channelsKey) {
    channelsKey = list.join(',');
    lastId = localStorage.getItem(cursorKey(list));
  }

  const params = new URLSearchParams();
  params.set('since', lastId ?? FirstSince);
  const token = $('token').value;
  if (token) params.set('auth', authParam(token));
  setState(lastId ? 'reconnecting' : 'connecting', 'connecting…');
  const es = new EventSource('/' + channelPath(list) + '/sse?' + params.toString());
  source = es;
  const handle = (e) => { if (source === es) onEvent(e, list); };
  es.onmessage = handle;
  for (const name of ['open', 'keepalive', 'gap', 'poll_request']) es.addEventListener(name, handle);
  es.onerror = () => {
    if (source !== es) return;
    // The browser would reconnect by itself with the same URL; reconnect here instead, from the last id shown.
    es.close();
    source = null;
    const wait = backoffMs;
    backoffMs = Math.min(backoffMs * 2, MaxBackoffMs);
    setState('reconnecting', 'reconnecting in ' + Math.round(wait / 1000) + ' s');
    retryTimer = setTimeout(connect, wait);
  };
}

function disconnect() {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
  if (source !== null) source.close();
  source = null;
}

function onEvent(e, list) {
  if (!e.data) return; // the EventSource's own "open" (the connection) has no data
  let event;
  try { event = JSON.parse(e.data); } catch { return; }
  switch (event.event) {
    case 'open':
      backoffMs = 1000;
      setState('live', 'live');
      $('hint').textContent = '';
      break;
    case 'keepalive':
      setState('live', 'live');
      break;
    case 'gap':
      showGap(event);
      break;
    case 'message':
      if (!event.id || !idAfter(event.id, lastId)) return; // already shown
      lastId = event.id;
      localStorage.setItem(cursorKey(list), lastId);
      showMessage(event);
      maybeNotify(event);
      break;
    default:
      break; // unknown events are ignored, as ntfy's clients do
  }
}

function priorityName(p) {
  return ['', 'min', 'low', 'default', 'high', 'max'][p] ?? 'default';
}

function addItem(li) {
  const list = $('messages');
  list.prepend(li);
  while (list.children.length > MaxShown) list.lastElementChild.remove();
}

function showMessage(m) {
  const li = document.createElement('li');
  li.className = 'message p' + (m.priority ?? 3);
  li.dataset.id = m.id;
  li.dataset.channel = m.topic;
  const meta = document.createElement('div');
  meta.className = 'meta';
  const when = new Date((m.time ?? 0) * 1000);
  for (const text of [m.topic, when.toLocaleString(), m.priority && m.priority !== 3 ? priorityName(m.priority) : '', (m.tags ?? []).join(', ')]) {
    if (!text) continue;
    const span = document.createElement('span');
    span.textContent = text;
    meta.append(span);
  }

  li.append(meta);
  if (m.title) {
    const title = document.createElement('div');
    title.className = 'title';
    title.textContent = m.title;
    li.append(title);
  }

  const body = document.createElement('div');
  body.className = 'body';
  body.textContent = m.message ?? '';
  li.append(body);
  if (m.click && /^https?:\/\//i.test(m.click)) {
    const a = document.createElement('a');
    a.href = m.click;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    a.textContent = m.click;
    li.append(a);
  }

  addItem(li);
}

function showGap(g) {
  const li = document.createElement('li');
  li.className = 'gap';
  const where = g.topic ?? g.channel ?? '';
  li.textContent = (g.missed === null || g.missed === undefined ? 'Some messages' : g.missed + ' message' + (g.missed === 1 ? '' : 's'))
    + ' on ' + where + ' are no longer kept and were missed.';
  addItem(li);
}

async function maybeNotify(m) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if ((m.time ?? 0) * 1000 < openedAt - 5000) return; // history from before this page opened: shown, not notified
  const now = Date.now();
  recentNotifications = recentNotifications.filter((t) => now - t < NotifyWindowMs);
  recentNotifications.push(now);
  let title = m.title || m.topic;
  let options = { body: m.message ?? '', tag: 'notistream:' + m.topic, data: { click: m.click ?? null } };
  if (recentNotifications.length > NotifyBurst) {
    title = 'Notistream';
    options = { body: recentNotifications.length + ' new messages', tag: 'notistream:burst', data: {} };
  }

  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (registration) {
      await registration.showNotification(title, options);
    } else {
      new Notification(title, options);
    }
    document.body.dataset.notified = String(Number(document.body.dataset.notified ?? 0) + 1);
  } catch (err) {
    $('hint').textContent = 'Could not show a notification: ' + err.message;
  }
}

async function enableNotifications() {
  if (!('Notification' in window)) {
    $('hint').textContent = 'This browser has no notifications.';
    return;
  }

  const permission = await Notification.requestPermission();
  $('hint').textContent = permission === 'granted' ? 'Notifications are on while this page is open.' : 'Notifications were not allowed.';
}

function base64UrlToBytes(text) {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function enablePush() {
  try {
    if (!('serviceWorker' in navigator) || !('PushManager' in window)) throw new Error('this browser has no Web Push');
    if ((await Notification.requestPermission()) !== 'granted') throw new Error('notifications were not allowed');
    const token = $('token').value;
    const keyResponse = await fetch('/v1/webpush/key', { headers: authHeaders(token) });
    if (!keyResponse.ok) throw new Error('the gateway has no Web Push key (' + keyResponse.status + ')');
    const keyText = await keyResponse.text();
    let key = keyText.trim();
    try { const json = JSON.parse(keyText); key = json.publicKey ?? json.key ?? key; } catch { /* plain text */ }
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) });
    const body = { ...subscription.toJSON(), channels: channelList() };
    const response = await fetch('/v1/webpush', { method: 'POST', headers: { 'Content-Type': 'application/json', ...authHeaders(token) }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error('the gateway refused the subscription (' + response.status + ')');
    $('hint').textContent = 'This browser gets a push for ' + channelList().join(', ') + ', even with the page closed.';
  } catch (err) {
    $('hint').textContent = 'Web Push is not on: ' + err.message;
  }
}

async function publish(e) {
  e.preventDefault();
  const channel = $('pub-channel').value.trim();
  const headers = { 'Content-Type': 'text/plain; charset=utf-8', ...authHeaders($('token').value) };
  if ($('pub-title').value) headers.Title = $('pub-title').value;
  if ($('pub-priority').value !== '3') headers.Priority = $('pub-priority').value;
  try {
    const response = await fetch('/' + encodeURIComponent(channel), { method: 'POST', headers, body: $('pub-message').value });
    const text = await response.text();
    let reply = {};
    try { reply = JSON.parse(text); } catch { /* not JSON */ }
    $('pub-result').textContent = response.ok
      ? 'Published' + (reply.id ? ' as ' + reply.id : '') + (reply.receivers !== undefined ? ', ' + reply.receivers + ' receiving now' : '') + '.'
      : 'Not published (' + response.status + '): ' + (reply.error ?? reply.detail ?? text);
    if (response.ok) $('pub-message').value = '';
  } catch (err) {
    $('pub-result').textContent = 'Not published: ' + err.message;
  }
}

window.addEventListener('DOMContentLoaded', () => {
  const query = new URLSearchParams(location.search);
  $('channels').value = query.get('channels') ?? localStorage.getItem('notistream.channels') ?? '';
  $('token').value = localStorage.getItem('notistream.token') ?? '';
  $('subscribe').addEventListener('submit', (e) => { e.preventDefault(); backoffMs = 1000; connect(); });
  $('notify').addEventListener('click', enableNotifications);
  $('push').addEventListener('click', enablePush);
  $('publish').addEventListener('submit', publish);
  window.addEventListener('online', () => { if (source === null && channelList().length > 0) { backoffMs = 1000; connect(); } });
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(() => { /* served over plain http to a non-local host: no worker */ });
  if (channelList().length > 0) connect();
});
