// The gateway's live dashboard: polls GET v1/dashboard (beside the page) every two seconds and fills the page in. The snapshot
// is the same for every viewer within a second (the gateway caches it), so polling costs the server nothing
// more per viewer. A token in the page's ?auth= is passed on; a Basic login the browser made is sent by itself.
'use strict';

const PollMilliseconds = 2000;
const auth = new URLSearchParams(location.search).get('auth');
// Beside the page, not at the root: behind a reverse proxy the gateway may be served under a path prefix
// (…/prefix/dashboard polls …/prefix/v1/dashboard).
const snapshotUrl = new URL('v1/dashboard', new URL(location.pathname.replace(/dashboard\/?$/, ''), location.origin));
if (auth) snapshotUrl.searchParams.set('auth', auth);

const $ = (id) => document.getElementById(id);
const number = (value) => (value === null || value === undefined ? '–' : Number(value).toLocaleString('en'));
const rate = (value) => (value === null || value === undefined ? '' : `${Number(value).toLocaleString('en', { maximumFractionDigits: 2 })}/s`);

function bytes(value) {
  if (value === null || value === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size.toLocaleString('en', { maximumFractionDigits: 1 })} ${units[unit]}`;
}

function setState(state, text) {
  const element = $('state');
  element.className = 'state ' + state;
  element.dataset.state = state;
  element.textContent = text;
}

function set(id, text) {
  $(id).textContent = text;
}

function render(snapshot) {
  const server = snapshot.server;
  const where = server.address ? `Pub/sub server ${server.address}` : 'Pub/sub server';
  const version = server.version ? `, version ${server.version}` : '';
  const uptime = server.uptimeSeconds !== null ? `, up ${number(server.uptimeSeconds)} s` : '';
  set('server', server.error ? `${where}: ${server.error}` : `${where}${version}${uptime}: ${server.connected ? 'connected' : 'not connected'}`);
  setState(server.connected && !server.error ? 'live' : 'degraded', server.connected && !server.error ? 'live' : 'server unreachable');

  const http = snapshot.clients.http;
  const httpTotal = Object.values(http).reduce((sum, n) => sum + n, 0);
  set('clients-server', number(snapshot.clients.server));
  set('clients-http', number(httpTotal));
  set('clients-http-detail', Object.entries(http).map(([transport, n]) => `${transport} ${n}`).join(' · '));
  set('clients-webpush', snapshot.clients.webPush === null ? 'off' : number(snapshot.clients.webPush));
  set('channels', `${number(snapshot.channels)} / ${number(snapshot.patterns)}`);
  set('published', number(snapshot.published.total));
  set('published-rate', rate(snapshot.published.perSecond));
  set('delivered', number(snapshot.delivered.total));
  set('delivered-rate', rate(snapshot.delivered.perSecond));
  set('http-delivered', number(snapshot.httpDelivered.total));
  set('http-delivered-rate', rate(snapshot.httpDelivered.perSecond));
  set('history', number(snapshot.history.entries));
  set('history-detail', [bytes(snapshot.history.bytes), snapshot.history.evicted ? `${number(snapshot.history.evicted)} evicted` : '']
    .filter((s) => s).join(' · '));
  set('cutoffs', number((snapshot.cutOffs.server ?? 0) + snapshot.cutOffs.http));
  set('cutoffs-detail', `server ${number(snapshot.cutOffs.server)} · HTTP ${number(snapshot.cutOffs.http)}`);

  const body = $('github').querySelector('tbody');
  const rows = snapshot.gitHub.map((d) => {
    const row = document.createElement('tr');
    const cells = [new Date(d.time).toLocaleTimeString(), d.event, d.repository, d.delivery, d.verification, d.channel, String(d.status)];
    cells.forEach((text, i) => {
      const cell = document.createElement('td');
      cell.textContent = text ?? '';
      if ((i === 4 && text !== 'verified') || (i === 6 && d.status >= 400)) cell.className = 'bad';
      row.appendChild(cell);
    });
    return row;
  });
  body.replaceChildren(...rows);
  $('github-empty').hidden = rows.length > 0;
  // Unsigned or badly signed deliveries are only counted: their event and id headers are anyone's to choose.
  set('github-rejected', `Refused unverified (bad, missing or unchecked signature): ${number(snapshot.gitHubRejected)}`);
  set('updated', `Updated ${new Date(snapshot.time).toLocaleTimeString()}`);
}

async function poll() {
  try {
    const response = await fetch(snapshotUrl, { cache: 'no-store', credentials: 'same-origin' });
    if (response.status === 401 || response.status === 403) {
      setState('offline', 'token needed');
      set('updated', 'The dashboard needs a token that may read every channel: open it with ?auth=, or log in with the token as password.');
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    setState('offline', 'gateway unreachable');
    set('updated', `Could not reach the gateway (${error.message}); retrying.`);
  } finally {
    setTimeout(poll, PollMilliseconds);
  }
}

poll();
