/**
 * The dashboard page: plain HTML, CSS and JavaScript, no build step. State arrives as JSON over
 * Server-Sent Events (/events); every value from ZooKeeper is put into the page with textContent or
 * setAttribute — never as HTML — so a member record cannot inject markup or script.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>zk-ha dashboard</title>
<style>
  :root { --fg:#111827; --muted:#6b7280; --line:#e5e7eb; --primary:#1d4ed8; --ok:#047857; --warn:#b45309; --bad:#b91c1c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: #f3f4f6; }
  header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px; background: #111827; color: #f9fafb; }
  header h1 { margin: 0; font-size: 18px; }
  header .meta { color: #d1d5db; font-size: 13px; }
  main { padding: 16px 20px; display: grid; gap: 16px; }
  section.service { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
  section.service h2 { margin: 0 0 8px; font-size: 16px; display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
  .tag { font-size: 12px; padding: 1px 8px; border-radius: 999px; background: #e5e7eb; color: #374151; font-weight: normal; }
  .tag.primary { background: #dbeafe; color: var(--primary); font-weight: 600; }
  table { border-collapse: collapse; width: 100%; font-size: 13px; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { color: var(--muted); font-weight: 600; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  tr.is-primary td { background: #eff6ff; }
  .role-primary { color: var(--primary); font-weight: 600; }
  .lease-holds { color: var(--ok); font-weight: 600; }
  .lease-lapsed { color: var(--bad); font-weight: 600; }
  .grid2 { display: grid; grid-template-columns: minmax(280px, 1fr) minmax(380px, 2fr); gap: 16px; margin-top: 12px; }
  h3 { margin: 0 0 6px; font-size: 13px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
  ol.timeline { list-style: none; margin: 0; padding: 0; max-height: 220px; overflow: auto; }
  ol.timeline li { display: flex; gap: 8px; padding: 2px 0; border-left: 3px solid var(--primary); padding-left: 8px; margin-left: 4px; }
  ol.timeline li .epoch { font-weight: 600; min-width: 70px; }
  .journal { max-height: 220px; overflow: auto; }
  .kind-failover, .kind-elected { color: var(--primary); }
  .kind-session-lost, .kind-demoted, .kind-endpoint-ejected { color: var(--bad); }
  .muted { color: var(--muted); }
  .error { color: var(--bad); }
  #conn.down { color: #fca5a5; }
</style>
</head>
<body>
<header><h1>zk-ha</h1><span class="meta" id="root"></span><span class="meta" id="zk"></span><span class="meta" id="conn">connecting…</span></header>
<main id="services"><p class="muted">waiting for the first update…</p></main>
<script>
(function () {
  'use strict';
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, String(attrs[k]));
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function text(v) { return v === null || v === undefined ? '—' : String(v); }
  function ago(ms) {
    if (!(ms >= 0)) return '—';
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function time(at) { var d = new Date(at); return isNaN(d.getTime()) ? '—' : d.toLocaleTimeString(); }
  function cls(s) { return String(s).replace(/[^a-z0-9-]/gi, ''); }

  function memberRows(s) {
    var head = el('tr', null, ['#', 'member', 'role', 'lease', 'session', 'URL', 'zone', 'weight', 'pid@host', 'uptime', 'calls/s'].map(function (h) { return el('th', null, [h]); }));
    var rows = s.members.map(function (m) {
      var isPrimary = s.primary !== null && m.id === s.primary;
      return el('tr', { 'class': isPrimary ? 'is-primary' : null, 'data-member': m.id }, [
        el('td', { 'class': 'num' }, [text(m.sequence)]),
        el('td', null, [text(m.id)]),
        el('td', { 'class': m.role ? 'role-' + cls(m.role) : 'muted' }, [m.role ? m.role : (s.mode === 'primary-backup' ? (isPrimary ? 'primary?' : 'backup?') : 'member')]),
        el('td', { 'class': m.lease ? 'lease-' + cls(m.lease) : 'muted' }, [m.lease === 'none' ? '—' : text(m.lease)]),
        el('td', { 'class': 'muted' }, [text(m.session)]),
        el('td', null, [text(m.url)]),
        el('td', null, [text(m.zone)]),
        el('td', { 'class': 'num' }, [text(m.weight)]),
        el('td', null, [text(m.pid) + '@' + text(m.host)]),
        el('td', { 'class': 'num' }, [ago(Date.now() - m.startedAt)]),
        el('td', { 'class': 'num' }, [m.callsPerSec === null ? '—' : m.callsPerSec.toFixed(1)])
      ]);
    });
    return el('table', { 'class': 'members' }, [el('thead', null, [head]), el('tbody', null, rows)]);
  }

  function timeline(s) {
    if (s.mode !== 'primary-backup') return el('p', { 'class': 'muted' }, ['redundant mode: every member serves']);
    if (!s.timeline.length) return el('p', { 'class': 'muted' }, ['no primary change seen yet']);
    var items = s.timeline.slice().reverse().map(function (t) {
      return el('li', null, [el('span', { 'class': 'epoch' }, ['epoch ' + text(t.epoch)]), el('span', null, [t.member === null ? '(no primary)' : String(t.member)]), el('span', { 'class': 'muted' }, [time(t.at)])]);
    });
    return el('ol', { 'class': 'timeline' }, items);
  }

  function journal(s) {
    if (!s.journal.length) return el('p', { 'class': 'muted' }, ['the fault journal is empty']);
    var head = el('tr', null, ['time', 'kind', 'member', 'ms', 'detail'].map(function (h) { return el('th', null, [h]); }));
    var rows = s.journal.map(function (f) {
      var detail = '';
      try { detail = JSON.stringify(f.detail); } catch (e) { detail = '?'; }
      if (detail.length > 120) detail = detail.slice(0, 117) + '…';
      return el('tr', null, [el('td', null, [time(f.at)]), el('td', { 'class': 'kind-' + cls(f.kind) }, [text(f.kind)]), el('td', null, [text(f.member)]),
        el('td', { 'class': 'num' }, [f.durationMs === undefined || f.durationMs === null ? '' : String(Math.round(f.durationMs))]), el('td', { 'class': 'muted' }, [detail])]);
    });
    return el('div', { 'class': 'journal' }, [el('table', null, [el('thead', null, [head]), el('tbody', null, rows)])]);
  }

  function render(state) {
    document.getElementById('root').textContent = 'root ' + state.root;
    document.getElementById('zk').textContent = 'ZooKeeper ' + state.zookeeper + ' · updated ' + time(state.at);
    var main = document.getElementById('services');
    main.textContent = '';
    if (!state.services.length) main.appendChild(el('p', { 'class': 'muted' }, ['no services under ' + state.root]));
    state.services.forEach(function (s) {
      var rate = s.members.reduce(function (n, m) { return m.callsPerSec === null ? n : (n === null ? 0 : n) + m.callsPerSec; }, null);
      var title = el('h2', null, [
        el('span', null, [s.service]),
        el('span', { 'class': 'tag' }, [text(s.mode)]),
        el('span', { 'class': 'tag primary', 'data-primary': s.primary === null ? '' : s.primary }, [s.mode === 'primary-backup' ? 'primary: ' + text(s.primary) + (s.epoch === null ? '' : ' · epoch ' + s.epoch) : s.members.length + ' members']),
        el('span', { 'class': 'tag' }, [s.members.length + ' members']),
        el('span', { 'class': 'tag' }, [rate === null ? 'calls/s —' : 'calls/s ' + rate.toFixed(1)])
      ]);
      var parts = [title];
      if (s.error) parts.push(el('p', { 'class': 'error' }, [s.error]));
      parts.push(memberRows(s));
      parts.push(el('div', { 'class': 'grid2' }, [
        el('div', null, [el('h3', null, ['primary epochs']), timeline(s)]),
        el('div', null, [el('h3', null, ['fault journal']), journal(s)])
      ]));
      main.appendChild(el('section', { 'class': 'service', 'data-service': s.service }, parts));
    });
  }

  var last = null;
  var conn = document.getElementById('conn');
  var source = new EventSource('events');
  source.addEventListener('state', function (e) { last = JSON.parse(e.data); render(last); });
  source.onopen = function () { conn.textContent = 'live'; conn.className = 'meta'; };
  source.onerror = function () { conn.textContent = 'reconnecting…'; conn.className = 'meta down'; };
  setInterval(function () { if (last) render(last); }, 1000); // uptimes tick
})();
</script>
</body>
</html>
`;
