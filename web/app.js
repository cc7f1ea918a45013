// Energo dashboard: plain JavaScript, no dependencies, no network beyond this node's own API.
// Sections whose query the node does not know (404 not_supported) show "no data".
'use strict';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : (n ?? '–'));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const svgNS = 'http://www.w3.org/2000/svg';

async function api(path) {
  try {
    const r = await fetch(path, { cache: 'no-store' });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { ok: r.ok, status: r.status, body };
  } catch (e) {
    return { ok: false, status: 0, body: null };
  }
}

function noData(el, answer) {
  const code = answer && answer.body && answer.body.error ? answer.body.error.code : (answer ? 'HTTP ' + answer.status : '');
  el.innerHTML = '<p class="nodata">no data' + (code ? ' (' + esc(code) + ')' : '') + '</p>';
}

function pick(obj, names) {
  for (const n of names) if (obj && obj[n] !== undefined) return obj[n];
  return undefined;
}

function svg(w, h) {
  const s = document.createElementNS(svgNS, 'svg');
  s.setAttribute('viewBox', `0 0 ${w} ${h}`);
  s.setAttribute('preserveAspectRatio', 'none');
  return s;
}
function rect(s, x, y, w, h, fill, title) {
  const r = document.createElementNS(svgNS, 'rect');
  r.setAttribute('x', x); r.setAttribute('y', y); r.setAttribute('width', Math.max(0, w)); r.setAttribute('height', Math.max(0, h));
  r.setAttribute('fill', fill);
  if (title) { const t = document.createElementNS(svgNS, 'title'); t.textContent = title; r.appendChild(t); }
  s.appendChild(r);
}
function text(s, x, y, str, anchor) {
  const t = document.createElementNS(svgNS, 'text');
  t.setAttribute('x', x); t.setAttribute('y', y); t.setAttribute('font-size', '10');
  if (anchor) t.setAttribute('text-anchor', anchor);
  t.textContent = str;
  s.appendChild(t);
}
function legend(items) {
  return '<div class="legend">' + items.map(([c, l]) => `<span><i class="sw" style="background:${c}"></i>${esc(l)}</span>`).join('') + '</div>';
}

// --- status and members ---------------------------------------------------------------------

async function loadStatus() {
  const a = await api('/api/v1/status');
  if (!a.ok) return;
  const s = a.body;
  $('node-name').textContent = s.name;
  $('role').textContent = s.role;
  $('term').textContent = s.term;
  $('commit-index').textContent = s.commit_index;
  $('applied-index').textContent = s.applied_index;
  $('epoch').textContent = s.epoch;
  $('ledger-time').textContent = s.ledger_time_ms ? new Date(s.ledger_time_ms).toISOString().replace('.000Z', 'Z') : '–';
  $('state-root').textContent = s.state_root;
}

async function loadMembers() {
  const a = await api('/api/v1/members');
  const body = $('members').tBodies[0];
  if (!a.ok || !a.body || !Array.isArray(a.body.members)) { body.innerHTML = '<tr><td colspan="7" class="nodata">no data</td></tr>'; return; }
  body.innerHTML = a.body.members.map((m) => `<tr data-name="${esc(m.name)}"><td>${esc(m.name)}</td><td>${esc(m.registry_role)}</td>` +
    `<td>${esc(m.raft_role)}</td><td>${m.leader ? '★' : ''}</td><td class="num">${fmt(m.match_index)}</td>` +
    `<td class="num">${fmt(m.lag)}</td><td class="num">${m.last_contact_ms !== undefined ? m.last_contact_ms + ' ms' : '–'}</td></tr>`).join('');
}

// --- account ----------------------------------------------------------------------------------

let accountAddress = params.get('account') || '';
async function loadAccount() {
  if (!accountAddress) return;
  $('account-address').value = accountAddress;
  const a = await api('/api/v1/accounts/' + encodeURIComponent(accountAddress));
  if (!a.ok || !a.body) { $('account-tsl').textContent = a.body && a.body.error ? a.body.error.code : 'error'; return; }
  const b = a.body;
  if (!b.found) { $('account-tsl').textContent = 'no such account'; return; }
  $('account-tsl').textContent = b.tsl_units;
  $('account-watt').textContent = b.watt_wh;
  $('account-nonce').textContent = b.nonce;
  $('account-debt').textContent = b.fee_debt_units;
  $('account-minted').textContent = `${fmt(b.minted_wh)} / ${fmt(b.burned_wh)}`;
  $('account-grid').textContent = `${fmt(b.grid_import_wh)} / ${fmt(b.grid_export_wh)}`;
}
$('account-form').addEventListener('submit', (e) => {
  e.preventDefault();
  accountAddress = $('account-address').value.trim();
  loadAccount();
});

// --- book depth: funded vs unfunded per price level --------------------------------------------

function levelsOf(body, names) {
  const side = pick(body, names);
  if (!Array.isArray(side)) return null;
  return side.map((l) => {
    const total = Number(pick(l, ['total_wh', 'quantity_wh', 'open_wh']) || 0);
    const funded = Number(pick(l, ['funded_wh']) ?? total);
    return { price: Number(pick(l, ['price_units_per_wh', 'price']) || 0), total, funded: Math.min(funded, total) };
  });
}

async function loadBook() {
  const el = $('book');
  const a = await api('/api/v1/book');
  const bids = a.ok ? levelsOf(a.body, ['bids', 'buy', 'buys']) : null;
  const asks = a.ok ? levelsOf(a.body, ['asks', 'sell', 'sells']) : null;
  if (!bids && !asks) return noData(el, a);
  const levels = [...(bids || []).map((l) => ({ ...l, side: 'bid' })), ...(asks || []).map((l) => ({ ...l, side: 'ask' }))]
    .sort((x, y) => x.price - y.price);
  if (levels.length === 0) { el.innerHTML = '<p class="nodata">empty book</p>'; return; }
  const W = 600, H = 200, max = Math.max(...levels.map((l) => l.total), 1), bw = W / levels.length;
  const s = svg(W, H + 14);
  levels.forEach((l, i) => {
    const hf = (l.funded / max) * H, ht = (l.total / max) * H;
    const c = l.side === 'bid' ? ['#2e8b57', '#a8d5b5'] : ['#c0392b', '#efb0a8'];
    rect(s, i * bw + 1, H - ht, bw - 2, ht - hf, c[1], `${l.side} ${l.price}: unfunded ${l.total - l.funded} Wh`);
    rect(s, i * bw + 1, H - hf, bw - 2, hf, c[0], `${l.side} ${l.price}: funded ${l.funded} Wh`);
    text(s, i * bw + bw / 2, H + 11, String(l.price), 'middle');
  });
  el.innerHTML = legend([['#2e8b57', 'bids funded'], ['#a8d5b5', 'bids unfunded'], ['#c0392b', 'asks funded'], ['#efb0a8', 'asks unfunded']]);
  el.appendChild(s);
}

// --- price and volume per epoch ---------------------------------------------------------------

const sessionEpochs = new Map();  // from live trades, when the node has no `epochs` query
async function loadEpochs() {
  const el = $('epochs');
  const a = await api('/api/v1/epochs');
  let rows = null, note = '';
  if (a.ok) {
    const list = Array.isArray(a.body) ? a.body : pick(a.body, ['epochs', 'items']);
    if (Array.isArray(list)) {
      rows = list.map((e) => ({ epoch: e.epoch, volume: Number(pick(e, ['volume_wh']) || 0),
        price: Number(pick(e, ['last_price_units_per_wh', 'price_units_per_wh', 'clearing_price_units_per_wh']) || 0) }));
    }
  }
  if (!rows && sessionEpochs.size > 0) {
    rows = [...sessionEpochs.entries()].sort((x, y) => x[0] - y[0]).map(([epoch, v]) => ({ epoch, ...v }));
    note = '<p class="nodata">from the trades seen since this page opened</p>';
  }
  if (!rows) return noData(el, a);
  if (rows.length === 0) { el.innerHTML = '<p class="nodata">no epoch with trades yet</p>'; return; }
  rows = rows.slice(-48);
  const W = 600, H = 200, vmax = Math.max(...rows.map((r) => r.volume), 1), pmax = Math.max(...rows.map((r) => r.price), 1);
  const bw = W / rows.length, s = svg(W, H + 14);
  let path = '';
  rows.forEach((r, i) => {
    rect(s, i * bw + 1, H - (r.volume / vmax) * H, bw - 2, (r.volume / vmax) * H, '#7fa7d9', `epoch ${r.epoch}: ${r.volume} Wh`);
    path += (i ? 'L' : 'M') + (i * bw + bw / 2) + ' ' + (H - (r.price / pmax) * H);
    if (rows.length <= 24 || i % 4 === 0) text(s, i * bw + bw / 2, H + 11, String(r.epoch), 'middle');
  });
  const p = document.createElementNS(svgNS, 'path');
  p.setAttribute('d', path); p.setAttribute('fill', 'none'); p.setAttribute('stroke', '#d4822a'); p.setAttribute('stroke-width', '2');
  s.appendChild(p);
  el.innerHTML = legend([['#7fa7d9', 'volume (Wh)'], ['#d4822a', `last price (max ${pmax} units/Wh)`]]) + note;
  el.appendChild(s);
}

// --- energy flows -----------------------------------------------------------------------------

async function loadFlows() {
  const el = $('flows');
  const a = await api('/api/v1/summary');
  if (!a.ok || !a.body) return noData(el, a);
  const b = a.body;
  const flows = [
    ['produced', pick(b, ['produced_wh', 'minted_wh', 'total_minted_wh']), '#f2b134'],
    ['stored', pick(b, ['stored_wh', 'watt_supply_wh', 'total_watt_wh']), '#2e8b57'],
    ['consumed', pick(b, ['consumed_wh', 'burned_wh', 'total_burned_wh']), '#c0392b'],
    ['grid import', pick(b, ['grid_import_wh', 'total_grid_import_wh']), '#7f8c8d'],
    ['grid export', pick(b, ['grid_export_wh', 'total_grid_export_wh']), '#34495e'],
    ['storage capacity', pick(b, ['storage_capacity_wh']), '#7fa7d9'],
  ].filter((f) => typeof f[1] === 'number');
  if (flows.length === 0) return noData(el, null);
  const W = 600, rowH = 26, max = Math.max(...flows.map((f) => f[1]), 1), s = svg(W, rowH * flows.length);
  s.style.height = rowH * flows.length + 'px';
  flows.forEach(([label, v, c], i) => {
    rect(s, 120, i * rowH + 4, ((W - 260) * v) / max, rowH - 8, c, `${label}: ${v} Wh`);
    text(s, 4, i * rowH + 17, label);
    text(s, W - 4, i * rowH + 17, fmt(v) + ' Wh', 'end');
  });
  el.innerHTML = '';
  el.appendChild(s);
}

// --- EV sessions ------------------------------------------------------------------------------

async function loadEv() {
  const el = $('ev');
  const a = await api('/api/v1/ev/sessions');
  const list = a.ok ? (Array.isArray(a.body) ? a.body : pick(a.body, ['sessions', 'items'])) : null;
  if (!Array.isArray(list)) return noData(el, a);
  if (list.length === 0) { el.innerHTML = '<p class="nodata">no session</p>'; return; }
  const cols = Object.keys(list[0]).slice(0, 8);
  el.innerHTML = '<table><thead><tr>' + cols.map((c) => `<th>${esc(c)}</th>`).join('') + '</tr></thead><tbody>' +
    list.slice(-50).map((r) => '<tr>' + cols.map((c) => `<td>${esc(typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c])}</td>`).join('') + '</tr>').join('') +
    '</tbody></table>';
}

// --- live: the event stream ---------------------------------------------------------------------

let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    await Promise.all([loadStatus(), loadAccount(), loadBook(), loadFlows(), loadEpochs()]);
  }, 500);  // at most two refreshes a second, however fast entries apply
}

function onTrade(t) {
  $('trades-empty').style.display = 'none';
  const body = $('trades').tBodies[0];
  const tr = document.createElement('tr');
  tr.innerHTML = `<td>${t.id}</td><td>${t.epoch}</td><td class="num">${t.price_units_per_wh}</td><td class="num">${fmt(t.quantity_wh)}</td><td>${t.applied_index}</td>`;
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > 50) body.deleteRow(body.rows.length - 1);
  const e = sessionEpochs.get(t.epoch) || { volume: 0, price: 0 };
  e.volume += t.quantity_wh;
  e.price = t.price_units_per_wh;
  sessionEpochs.set(t.epoch, e);
}

function live() {
  if (params.get('live') === '0' || !window.EventSource) { $('live').textContent = 'off'; return; }
  const es = new EventSource('/api/v1/events');
  es.addEventListener('hello', (m) => { $('live').textContent = 'on'; document.body.dataset.live = '1'; $('applied-index').textContent = JSON.parse(m.data).applied_index; });
  es.addEventListener('applied', (m) => {
    const d = JSON.parse(m.data);
    $('applied-index').textContent = d.applied_index;
    $('epoch').textContent = d.epoch;
    scheduleRefresh();
  });
  es.addEventListener('trade', (m) => onTrade(JSON.parse(m.data)));
  es.onerror = () => { $('live').textContent = 'reconnecting'; };
}

(async function main() {
  await Promise.all([loadStatus(), loadMembers(), loadAccount(), loadBook(), loadEpochs(), loadFlows(), loadEv()]);
  document.body.dataset.ready = '1';  // every section rendered once (tests wait for it)
  live();
  setInterval(() => { loadMembers(); loadEv(); if (!document.body.dataset.live) scheduleRefresh(); }, 5000);
})();
