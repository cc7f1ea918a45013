// Energo dashboard: plain JavaScript, no dependencies, no network beyond this node's own API.
// Field names are exactly those of the node's answers (docs/node.md "Queries": book, epochs,
// summary, ev_sessions, trades; /api/v1/status and /api/v1/members). A section whose request
// fails shows "no data" with the error code.
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
  if (!a.ok || !a.body || !Array.isArray(a.body.members)) { body.innerHTML = '<tr><td colspan="9" class="nodata">no data</td></tr>'; return; }
  // Progress (match index, lag, state) is known on the leader only; followers show "–".
  body.innerHTML = a.body.members.map((m) => `<tr data-name="${esc(m.name)}"><td>${esc(m.name)}</td><td class="id">${esc(m.id)}</td>` +
    `<td>${esc(m.peer)}</td><td>${esc(m.registry_role)}</td><td>${esc(m.raft_role)}</td><td>${m.leader ? '★ leader' : ''}</td>` +
    `<td class="num">${fmt(m.match_index)}</td><td class="num">${fmt(m.lag)}</td>` +
    `<td class="num">${m.last_contact_ms !== undefined ? m.last_contact_ms + ' ms' : '–'}</td></tr>`).join('');
  $('members-term').textContent = a.body.term;
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

// book answer: {bids: [{price_units_per_wh, total_wh, funded_wh, orders}], asks: [...], ...}
function levelsOf(side) {
  if (!Array.isArray(side)) return null;
  return side.map((l) => ({ price: l.price_units_per_wh, total: l.total_wh, funded: Math.min(l.funded_wh, l.total_wh), orders: l.orders }));
}

async function loadBook() {
  const el = $('book');
  const a = await api('/api/v1/book');
  if (!a.ok || !a.body) return noData(el, a);
  const bids = levelsOf(a.body.bids), asks = levelsOf(a.body.asks);
  if (!bids || !asks) return noData(el, a);
  const levels = [...bids.map((l) => ({ ...l, side: 'bid' })), ...asks.map((l) => ({ ...l, side: 'ask' }))]
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

// epochs answer: {current_epoch, epochs: [{epoch, volume_wh, trades, last_price_units_per_wh, ...}]}, newest first
async function loadEpochs() {
  const el = $('epochs');
  const a = await api('/api/v1/epochs');
  if (!a.ok || !a.body || !Array.isArray(a.body.epochs)) return noData(el, a);
  let rows = a.body.epochs.map((e) => ({ epoch: e.epoch, volume: e.volume_wh, trades: e.trades, price: e.last_price_units_per_wh })).reverse();
  if (rows.length > 0) $('last-price').textContent = rows[rows.length - 1].price;
  if (rows.length === 0) { el.innerHTML = '<p class="nodata">no epoch with trades yet</p>'; return; }
  rows = rows.slice(-48);
  const W = 600, H = 200, vmax = Math.max(...rows.map((r) => r.volume), 1), pmax = Math.max(...rows.map((r) => r.price), 1);
  const bw = W / rows.length, s = svg(W, H + 14);
  let path = '';
  rows.forEach((r, i) => {
    rect(s, i * bw + 1, H - (r.volume / vmax) * H, bw - 2, (r.volume / vmax) * H, '#7fa7d9', `epoch ${r.epoch}: ${r.volume} Wh in ${r.trades} trades, last price ${r.price}`);
    path += (i ? 'L' : 'M') + (i * bw + bw / 2) + ' ' + (H - (r.price / pmax) * H);
    if (rows.length <= 24 || i % 4 === 0) text(s, i * bw + bw / 2, H + 11, String(r.epoch), 'middle');
  });
  const p = document.createElementNS(svgNS, 'path');
  p.setAttribute('d', path); p.setAttribute('fill', 'none'); p.setAttribute('stroke', '#d4822a'); p.setAttribute('stroke-width', '2');
  s.appendChild(p);
  el.innerHTML = legend([['#7fa7d9', 'volume (Wh)'], ['#d4822a', `last price (max ${pmax} units/Wh)`]]);
  el.appendChild(s);
}

// --- energy flows -----------------------------------------------------------------------------

async function loadFlows() {
  const el = $('flows');
  const a = await api('/api/v1/summary');
  if (!a.ok || !a.body) return noData(el, a);
  // summary answer: {storage_capacity_wh, totals: {watt_minted_wh, watt_burned_wh, grid_export_wh, grid_import_wh, ...}}
  const t = a.body.totals;
  if (!t) return noData(el, a);
  const flows = [
    ['produced', t.watt_minted_wh + t.grid_export_wh, '#f2b134'],
    ['stored (minted)', t.watt_minted_wh, '#2e8b57'],
    ['consumed', t.watt_burned_wh + t.grid_import_wh, '#c0392b'],
    ['from storage (burned)', t.watt_burned_wh, '#8e44ad'],
    ['grid import', t.grid_import_wh, '#7f8c8d'],
    ['grid export', t.grid_export_wh, '#34495e'],
    ['storage capacity', a.body.storage_capacity_wh, '#7fa7d9'],
  ];
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

// ev_sessions answer: {open: [session], closed: [session]}; session = {id, vehicle, state, cap_units,
// delivered_wh, settled_wh, unsettled_wh, energy_cost_units, fees_units, spent_units, opened_epoch, ...}
const evColumns = ['id', 'vehicle', 'state', 'opened_epoch', 'delivered_wh', 'settled_wh', 'unsettled_wh', 'energy_cost_units', 'fees_units', 'spent_units', 'cap_units'];
async function loadEv() {
  const el = $('ev');
  const a = await api('/api/v1/ev/sessions');
  if (!a.ok || !a.body || !Array.isArray(a.body.open) || !Array.isArray(a.body.closed)) return noData(el, a);
  const list = [...a.body.open, ...a.body.closed];
  if (list.length === 0) { el.innerHTML = '<p class="nodata">no session</p>'; return; }
  el.innerHTML = '<table id="ev-table"><thead><tr>' + evColumns.map((c) => `<th>${esc(c)}</th>`).join('') + '</tr></thead><tbody>' +
    list.slice(0, 50).map((r) => '<tr>' + evColumns.map((c) => `<td${typeof r[c] === 'number' ? ' class="num"' : ''}>${esc(r[c] ?? '–')}</td>`).join('') + '</tr>').join('') +
    '</tbody></table>';
}

// trades answer: {trades: [{id, epoch, buyer, seller, price_units_per_wh, quantity_wh, notional_units, ...}]}, newest first
async function loadTrades() {
  const a = await api('/api/v1/trades?limit=20');
  if (!a.ok || !a.body || !Array.isArray(a.body.trades)) return;
  const body = $('trades').tBodies[0];
  body.innerHTML = '';
  for (const t of [...a.body.trades].reverse()) addTradeRow(t, '–');
}

// --- live: the event stream ---------------------------------------------------------------------

let refreshTimer = null;
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    await Promise.all([loadStatus(), loadAccount(), loadBook(), loadFlows(), loadEpochs(), loadEv()]);
  }, 500);  // at most two refreshes a second, however fast entries apply
}

function addTradeRow(t, index) {
  $('trades-empty').style.display = 'none';
  const body = $('trades').tBodies[0];
  const tr = document.createElement('tr');
  tr.dataset.trade = t.id;
  tr.innerHTML = `<td>${esc(t.id)}</td><td>${esc(t.epoch)}</td><td class="num">${esc(t.price_units_per_wh)}</td>` +
    `<td class="num">${fmt(t.quantity_wh)}</td><td class="num">${fmt(t.notional_units)}</td><td>${esc(index)}</td>`;
  body.insertBefore(tr, body.firstChild);
  while (body.rows.length > 50) body.deleteRow(body.rows.length - 1);
}

// trade event: {id, epoch, buy_order, sell_order, price_units_per_wh, quantity_wh, notional_units, applied_index}
let tradesSeen = 0;
function onTrade(t) {
  addTradeRow(t, t.applied_index);
  $('last-price').textContent = t.price_units_per_wh;
  tradesSeen += 1;
  document.body.dataset.liveTrade = t.id;
}

// until=trade (tests): close the stream once the delivery with a trade was applied, so that a
// headless browser's virtual time (paused while any request is open) runs on to the dump.
function live() {
  if (params.get('live') === '0' || !window.EventSource) { $('live').textContent = 'off'; return; }
  const es = new EventSource('/api/v1/events');
  es.addEventListener('hello', (m) => { $('live').textContent = 'on'; document.body.dataset.live = '1'; $('applied-index').textContent = JSON.parse(m.data).applied_index; });
  // applied event: {applied_index, commands, ledger_time_ms, epoch}
  es.addEventListener('applied', (m) => {
    const d = JSON.parse(m.data);
    $('applied-index').textContent = d.applied_index;
    $('epoch').textContent = d.epoch;
    scheduleRefresh();
    if (params.get('until') === 'trade' && tradesSeen > 0) { es.close(); $('live').textContent = 'closed after a trade'; }
  });
  es.addEventListener('trade', (m) => onTrade(JSON.parse(m.data)));
  // price event: {last_price_units_per_wh, buy_price_units_per_wh, sell_price_units_per_wh, epoch, applied_index}
  es.addEventListener('price', (m) => {
    const d = JSON.parse(m.data);
    $('last-price').textContent = d.last_price_units_per_wh;
  });
  es.onerror = () => { if (es.readyState !== EventSource.CLOSED) $('live').textContent = 'reconnecting'; };
}

(async function main() {
  await Promise.all([loadStatus(), loadMembers(), loadAccount(), loadBook(), loadEpochs(), loadFlows(), loadEv(), loadTrades()]);
  document.body.dataset.ready = '1';  // every section rendered once (tests wait for it)
  live();
  setInterval(() => { loadMembers(); loadEv(); if (!document.body.dataset.live) scheduleRefresh(); }, 5000);
})();
