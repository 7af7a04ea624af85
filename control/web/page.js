// tilesyncd's status page: polls /status every second and shows it.
//
// Every name, path, tileset and message on this page comes from whoever
// writes to a watch folder, or from Mapbox: it is only ever put in the page
// as text (text nodes, textContent, attribute values through setAttribute),
// never parsed as HTML. The page's Content-Security-Policy allows no inline
// script and no other origin, so a slip here could not run a script either.
//
// Buttons POST to the endpoint's /api/ paths as JSON, with this start's
// action token (from the page's meta tag) in the X-Tilesyncd-Action-Token
// header.

import { $, POLL_MS, clock, el, facts, isSet, rows, setFile, setText, shown, size, span, when } from './dom.js';

const token = document.querySelector('meta[name="tilesyncd-action-token"]').content;

// ---- actions ----

let busy = false;

function notice(text, problem) {
  const n = $('notice');
  n.hidden = !text;
  n.className = 'banner' + (problem ? ' problem' : ' ok');
  setText(n, text || '');
}

function describe(what, res) {
  const done = (res.done || []).length;
  const skipped = res.skipped || [];
  let text = what + ': ' + done + ' done';
  for (const s of skipped) {
    const name = s.folder || (s.source ? s.source.watch + '/' + s.source.path : '');
    text += '\n' + (name ? name + ': ' : '') + s.reason;
  }
  return text;
}

async function act(path, body, what) {
  if (busy) return;
  busy = true;
  document.body.dataset.busy = 'true';
  for (const b of document.querySelectorAll('button')) b.disabled = true;
  notice(what + '…');
  try {
    const resp = await fetch(path, {
      method: 'POST', cache: 'no-store', credentials: 'omit',
      headers: { 'Content-Type': 'application/json', 'X-Tilesyncd-Action-Token': token },
      body: JSON.stringify(body),
    });
    const text = await resp.text();
    if (!resp.ok) {
      notice(what + ' failed: ' + text.trim(), true);
    } else {
      notice(describe(what, JSON.parse(text)), false);
    }
  } catch (e) {
    notice(what + ' failed: ' + e, true);
  } finally {
    busy = false;
    delete document.body.dataset.busy;
    for (const b of document.querySelectorAll('button')) b.disabled = false;
    refresh();
  }
}

$('pause-all').addEventListener('click', () => act('api/pause', {}, 'Pause every folder'));
$('resume-all').addEventListener('click', () => act('api/resume', {}, 'Resume every folder'));
$('retry-all').addEventListener('click', () => act('api/retry', { failed: true }, 'Retry every failed file'));

// ---- sections ----

function renderHeader(st) {
  const h = $('health');
  const ok = st.health ? st.health.ok : true;
  h.dataset.ok = String(ok);
  setText(h, ok ? 'healthy' : 'problem: ' + st.health.reason);
  const auth = $('auth');
  auth.hidden = !st.auth_error;
  setText(auth, st.auth_error ? 'Mapbox refuses the token; nothing is sent until it is fixed: ' + st.auth_error : '');
}

function renderSummary(st) {
  const s = st.state;
  const list = [
    ['Running since', when(st.started)],
    ['Last upload', when(st.last_success)],
    ['Health', st.health && !st.health.ok ? st.health.reason : 'ok', st.health && !st.health.ok],
    ['State file', s.path + ' (' + size(s.bytes) + ', ' + s.files + ' files, ' + s.tilesets + ' tilesets)'],
  ];
  if (st.paused && st.paused.length) list.push(['Paused', st.paused.join(', '), true]);
  facts($('summary'), list);
  const stages = ['queued', 'staging', 'staged', 'processing', 'retry-wait', 'failed'];
  const jobs = stages.map((name) => el('div', { class: 'count', 'data-stage': name },
    el('b', {}, String((s.counts || {})[name] || 0)), el('span', {}, name)));
  const up = st.uploads || {};
  const since = ['uploaded', 'unchanged', 'refused', 'failed', 'cancelled'].map((name) =>
    el('div', { class: 'count since', 'data-result': name }, el('b', {}, String(up[name] || 0)), el('span', {}, name)));
  const groups = [el('div', { class: 'counts' }, el('div', { class: 'counts-label' }, 'Jobs now'), jobs)];
  if (st.uploads) groups.push(el('div', { class: 'counts' }, el('div', { class: 'counts-label' }, 'Files since start'), since));
  $('counts').replaceChildren(...groups);
}

function renderFolders(st) {
  const folders = st.watch || [];
  rows($('folders'), folders, (f) => f.folder,
    () => {
      const b = el('button', { type: 'button', class: 'pause' });
      b.addEventListener('click', () => {
        const f = b.closest('tr').item;
        act(f.paused ? 'api/resume' : 'api/pause', { folders: [f.folder] },
          (f.paused ? 'Resume ' : 'Pause ') + f.folder);
      });
      return el('tr', {}, el('td', { class: 'folder' }), el('td'), el('td', { class: 'num' }),
        el('td', { class: 'num' }), el('td'), el('td', { class: 'state' }), el('td', {}, b));
    },
    (r, f) => {
      r.dataset.folder = f.folder;
      r.dataset.paused = String(!!f.paused);
      const c = r.children;
      setText(c[0], f.folder);
      setText(c[1], f.mode);
      setText(c[2], String(f.files));
      setText(c[3], String(f.pending));
      setText(c[4], when(f.last_scan));
      setText(c[5], f.paused ? 'paused' : 'watching and sending');
      c[5].className = 'state ' + (f.paused ? 'state-paused' : 'state-watching');
      const b = c[6].firstChild;
      setText(b, f.paused ? 'Resume' : 'Pause');
      b.dataset.action = f.paused ? 'resume' : 'pause';
    });
}

function progressOf(j, transfers) {
  switch (j.stage) {
    case 'staging': {
      const t = transfers.get(j.id);
      if (t && t.total > 0) {
        return [t.sent / t.total, 'staging to S3: ' + size(t.sent) + ' of ' + size(t.total) +
          ' (' + Math.floor(100 * t.sent / t.total) + '%)'];
      }
      return [null, 'staging ' + size(j.size)];
    }
    case 'staged':
      return [null, 'staged; creating the upload at Mapbox'];
    case 'processing':
      return [j.progress || 0, 'Mapbox processing: ' + Math.floor(100 * (j.progress || 0)) + '% (upload ' + j.upload_id + ')'];
    case 'retry-wait':
      return [undefined, 'waiting to retry ' + when(j.next_attempt) + ', attempt ' + (j.attempts + 1) +
        ', resumes at ' + j.retry_from + ': ' + (j.last_error || '')];
  }
  return [undefined, j.stage];
}

function renderInFlight(st) {
  const transfers = new Map((st.transfers || []).map((t) => [t.job_id, t]));
  const jobs = (st.state.active || []).filter((j) => j.stage !== 'failed')
    .map((j) => ({ job: j, transfer: transfers.get(j.id) || null }));
  shown('inflight', jobs.length);
  rows($('inflight'), jobs, (x) => x.job.id,
    () => el('tr', {}, el('td', { class: 'num' }), el('td'), el('td'), el('td', { class: 'stage' }),
      el('td', {}, el('progress', { max: '1' }), el('div', { class: 'progress-text' }))),
    (r, x) => {
      const j = x.job;
      r.dataset.job = j.id;
      r.dataset.stage = j.stage;
      r.dataset.path = j.source.path;
      const c = r.children;
      setText(c[0], String(j.id));
      setText(c[1], j.tileset);
      setFile(c[2], j.source);
      setText(c[3], j.stage);
      const [value, text] = progressOf(j, transfers);
      const bar = c[4].firstChild;
      if (value === undefined) {
        bar.hidden = true;
      } else {
        bar.hidden = false;
        if (value === null) bar.removeAttribute('value'); else bar.value = value;
      }
      setText(c[4].lastChild, text);
    });
}

function renderFailed(st) {
  const failed = (st.state.active || []).filter((j) => j.stage === 'failed');
  shown('failed', failed.length);
  $('retry-all').hidden = failed.length === 0;
  rows($('failed'), failed, (j) => j.id,
    () => {
      const b = el('button', { type: 'button', class: 'retry' }, 'Retry');
      b.addEventListener('click', () => {
        const j = b.closest('tr').item;
        act('api/retry', { files: [j.source] }, 'Retry ' + j.source.path);
      });
      return el('tr', {}, el('td', { class: 'num' }), el('td'), el('td'), el('td', { class: 'message-failed' }),
        el('td', { class: 'when' }), el('td', {}, b));
    },
    (r, j) => {
      r.dataset.job = j.id;
      r.dataset.path = j.source.path;
      const c = r.children;
      setText(c[0], String(j.id));
      setText(c[1], j.tileset);
      setFile(c[2], j.source);
      setText(c[3], j.last_error || '');
      setText(c[4], when(j.updated_at));
    });
}

function renderQueued(st) {
  const paused = new Set(st.paused || []);
  const queued = st.state.queued || [];
  const total = (st.state.counts || {}).queued || 0;
  shown('queued', queued.length);
  setText($('queued-count'), total > queued.length ? '(' + total + ', the first ' + queued.length + ' shown)' : '');
  rows($('queued'), queued, (j) => j.id,
    () => el('tr', {}, el('td', { class: 'num' }), el('td'), el('td'), el('td', { class: 'num' }), el('td'), el('td', { class: 'state-paused' })),
    (r, j) => {
      r.dataset.job = j.id;
      r.dataset.path = j.source.path;
      r.dataset.paused = String(paused.has(j.source.watch));
      const c = r.children;
      setText(c[0], String(j.id));
      setText(c[1], j.tileset);
      setFile(c[2], j.source);
      setText(c[3], size(j.size));
      setText(c[4], when(j.created_at));
      setText(c[5], paused.has(j.source.watch) ? 'held: its folder is paused' : '');
    });
}

function renderRecent(st) {
  const recent = st.state.recent || [];
  shown('recent', recent.length);
  rows($('recent'), recent, (e) => e.seq,
    () => el('tr', {}, el('td', { class: 'when' }), el('td', { class: 'when' }), el('td'), el('td'), el('td')),
    (r, e) => {
      r.dataset.outcome = e.outcome;
      r.dataset.path = e.source.path;
      const c = r.children;
      setText(c[0], when(e.time));
      setText(c[1], e.outcome);
      c[1].className = 'when outcome-' + e.outcome;
      setText(c[2], e.tileset || '');
      setFile(c[3], e.source);
      setText(c[4], e.message || (e.upload_id ? 'upload ' + e.upload_id : ''));
    });
}

function renderRefused(st) {
  const refused = st.refused || [];
  $('refused-empty').hidden = refused.length > 0;
  rows($('refused'), refused, (x) => x.source.watch + '\u0000' + x.source.path,
    () => el('li'),
    (li, x) => {
      li.dataset.path = x.source.path;
      li.replaceChildren(el('span', { title: x.source.watch + '/' + x.source.path }, x.source.path), ': ' + x.reason);
    });
}

function renderBudget(st) {
  const b = st.budget;
  if (!b) {
    facts($('budget'), [['Budget', 'known only to a running daemon']]);
    return;
  }
  const list = [
    ['Limit', b.limit + ' requests per ' + span(b.window_seconds)],
    ['Spacing', 'one request every ' + b.spacing_seconds.toFixed(2) + ' s'],
    ['Granted', String(b.granted)],
    ['Waiting now', String(b.waiting)],
    ['Waited in all', span(b.waited_seconds)],
    ['429 answers', String(b.rate_limited)],
  ];
  if (b.shared) {
    list.push(['Shared', 'with the fleet: ' + (b.nodes || '?') + ' node(s) spend one budget' +
      (b.fallback ? '; Redis does not answer, so this node spends only its share' : ''), !!b.fallback]);
  }
  if (isSet(b.blocked_until)) {
    list.push(['Hold', 'every request held until ' + clock(b.blocked_until) + ' (' + when(b.blocked_until) + ')', true]);
  } else {
    list.push(['Hold', 'none']);
  }
  const bw = st.bandwidth;
  if (bw) {
    list.push(['Staging bandwidth', (bw.bytes_per_second ? size(bw.bytes_per_second) + '/s' : 'not capped now') +
      ' (mapbox.bandwidth_limit: ' + bw.limit + ')' + (isSet(bw.until) ? ', until ' + when(bw.until) : '')]);
  }
  facts($('budget'), list);
}

// renderFleet shows fleet mode when the status has it (st.fleet): this
// node and its Redis, the nodes alive, the tilesets' leases and what
// waits for the fleet.
function renderFleet(st) {
  const f = st.fleet;
  $('fleet-section').hidden = !f;
  if (!f) return;
  const c = f.counters || {};
  facts($('fleet'), [
    ['This node', (f.node || '') + ' in group ' + (f.group || '')],
    ['Redis', (f.redis || '') + (f.redis_version ? ' (Redis ' + f.redis_version + ')' : '')],
    ['Reachable', f.reachable ? 'yes' : 'NO: the budget runs on this node\'s share; shared folders wait. ' + (f.error || ''), !f.reachable],
    ['Shared limit', f.shared_limit ? f.shared_limit + ' requests per ' + span(f.shared_window_seconds) +
      (f.limit_from ? ' (learned by ' + f.limit_from + ')' : '') : 'not learned yet: each node keeps to its requests_per_minute'],
    ['Leases held here', (f.claimed || []).join(', ') || 'none'],
    ['Since start', (c.budget_waits || 0) + ' budget waits, ' + (c.takeovers || 0) + ' takeovers, ' +
      (c.fallbacks || 0) + ' fallbacks, ' + (c.redis_errors || 0) + ' Redis errors, ' + (c.data_losses || 0) + ' data losses'],
  ]);
  rows($('fleet-nodes'), f.nodes || [], (n) => n.name,
    () => el('tr', {}, el('td'), el('td')),
    (r, n) => {
      r.dataset.node = n.name;
      setText(r.children[0], n.name);
      setText(r.children[1], span(n.seen_seconds) + ' ago');
    });
  const leases = f.leases || [];
  shown('fleet-leases', leases.length);
  rows($('fleet-leases'), leases, (l) => l.tileset,
    () => el('tr', {}, el('td'), el('td'), el('td', { class: 'num' }), el('td'), el('td')),
    (r, l) => {
      const c = r.children;
      setText(c[0], l.tileset);
      setText(c[1], l.node);
      setText(c[2], String(l.token));
      setText(c[3], span(l.held_seconds));
      setText(c[4], span(l.expires_seconds));
    });
  const waiting = f.waiting || [];
  $('fleet-waiting').replaceChildren(...waiting.map((w) =>
    el('li', {}, '#' + w.job_id + ' ' + w.tileset + ' waits for the fleet since ' + when(w.since) + ': ' + w.reason)));
}

// started is the start of the daemon this page was served by: its
// token is that start's, so after a restart (a reload of the
// configuration, say) the page must be loaded again to act.
let started = null;

function render(st) {
  if (started === null) started = st.started;
  if (st.started !== started) {
    notice('The daemon restarted at ' + clock(st.started) + ': reload this page before using its buttons.', true);
  }
  renderHeader(st);
  renderSummary(st);
  renderFolders(st);
  renderInFlight(st);
  renderFailed(st);
  renderQueued(st);
  renderRecent(st);
  renderRefused(st);
  renderBudget(st);
  renderFleet(st);
}

// ---- polling ----

let polling = false;
let again = false;
let timer = 0;
let lastGood = 0;

async function refresh() {
  if (polling) {
    again = true;
    return;
  }
  polling = true;
  clearTimeout(timer);
  try {
    const resp = await fetch('status?limit=50', { cache: 'no-store', credentials: 'omit' });
    if (!resp.ok) throw new Error((await resp.text()).trim() || resp.statusText);
    const st = await resp.json();
    render(st);
    lastGood = Date.now();
    document.body.dataset.loaded = 'true';
    setText($('updated'), 'updated ' + clock(new Date(lastGood).toISOString()));
  } catch (e) {
    const since = lastGood ? ' since ' + clock(new Date(lastGood).toISOString()) : '';
    setText($('updated'), 'the daemon does not answer' + since + ': ' + e.message);
    const h = $('health');
    h.dataset.ok = 'false';
    setText(h, 'not answering');
  } finally {
    polling = false;
    if (again) {
      again = false;
      refresh();
    } else {
      // A tab out of sight asks ten times less often.
      timer = setTimeout(refresh, document.hidden ? 10 * POLL_MS : POLL_MS);
    }
  }
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) refresh();
});
refresh();
