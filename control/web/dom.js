// The status page's small tools: making elements from text, keeping table
// rows in step with a list, and formatting sizes and times. Everything put
// in the page goes in as text (text nodes, textContent, attribute values
// through setAttribute), never parsed as HTML.

// POLL_MS is how often the page asks for /status.
export const POLL_MS = 1000;

export const $ = (id) => document.getElementById(id);

// el makes an element with attributes and children (strings become text
// nodes). Attributes that could load or run something are refused.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (/^on/i.test(k) || ['href', 'src', 'srcdoc', 'style', 'action', 'formaction'].includes(k.toLowerCase())) {
      throw new Error('el: attribute ' + k + ' is not allowed');
    }
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// setText replaces an element's content with text.
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

// rows keeps container's children in step with items, by key: a row is
// made once by make(item), and fill(row, item) brings it up to date when
// its item changed. Rows stay the same nodes from one poll to the next,
// so a button is never replaced under a click.
export function rows(container, items, key, make, fill) {
  const old = new Map();
  for (const c of Array.from(container.children)) old.set(c.dataset.key, c);
  let prev = null;
  for (const it of items) {
    const k = String(key(it));
    let r = old.get(k);
    if (r) {
      old.delete(k);
    } else {
      r = make(it);
      r.dataset.key = k;
    }
    const sig = JSON.stringify(it) + '|' + Math.floor(Date.now() / POLL_MS);
    if (r.sig !== sig) {
      r.item = it;
      fill(r, it);
      r.sig = sig;
    }
    const want = prev ? prev.nextSibling : container.firstChild;
    if (want !== r) container.insertBefore(r, want);
    prev = r;
  }
  for (const r of old.values()) r.remove();
}

// shown shows a list's table, with its empty note when it has no rows.
export function shown(id, n) {
  $(id).closest('.scroll').hidden = n === 0;
  $(id + '-empty').hidden = n > 0;
}

// facts fills a <dl> with [term, value, problem?] triples.
export function facts(dl, list) {
  dl.replaceChildren(...list.flatMap(([dt, dd, problem]) =>
    [el('dt', {}, dt), el('dd', { class: problem ? 'problem' : null }, dd)]));
}

// ---- formatting ----

export function size(n) {
  if (n < 1024) return n + ' B';
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return v.toFixed(1) + ' ' + units[i];
}

export function isSet(t) { return t && !t.startsWith('0001-01-01'); }

export function clock(t) {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function span(seconds) {
  const s = Math.round(Math.abs(seconds));
  if (s < 90) return s + ' s';
  if (s < 90 * 60) return Math.round(s / 60) + ' min';
  if (s < 36 * 3600) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' days';
}

// when is a time with how long ago, or in how long, it is.
export function when(t) {
  if (!isSet(t)) return 'never';
  const d = (Date.now() - new Date(t).getTime()) / 1000;
  const date = new Date(t);
  const day = date.toDateString() === new Date().toDateString() ? clock(t) : date.toLocaleString();
  return day + (d >= 0 ? ' (' + span(d) + ' ago)' : ' (in ' + span(d) + ')');
}

// setFile shows a file by its path in its watch folder, the full path on hover.
export function setFile(td, src) {
  setText(td, src.path);
  td.setAttribute('title', src.watch + '/' + src.path);
}
