/*
 * myorch web page (served by the daemon, README "Web UI"). No framework, no build step.
 * Data: the JSON API (/api/v1/...). Live: the event stream (/api/v1/events) triggers a re-fetch;
 * a slow poll refreshes lag between events. DOM is built with textContent only (no HTML strings).
 * The bearer token lives in the switchover dialog's input while it is open, nowhere else.
 */
'use strict';
(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const POLL_MS = 5000;          /* lag and probe ages change without events */
  const REPORT_MS = 30000;
  const LAG_WARN_S = 10;
  /* The daemon's event names (README "How it works"); any of them re-fetches the page's data. */
  const EVENTS = ['instance-discovered', 'instance-up', 'instance-down', 'instance-alias', 'instance-forgotten',
    'instance-untrusted', 'replication-changed', 'read-only-changed', 'cluster-probed', 'discovery-limit',
    'analysis', 'candidate-selected', 'recovery-started', 'recovery-done', 'recovery-failed',
    'recovery-blocked', 'recovery-skipped', 'recovery-interrupted', 'recovery-resumed', 'recovery-rollback',
    'recovery-step-failed', 'recovery-acknowledged', 'replica-promoted', 'replica-repointed', 'replica-lost',
    'replica-caught-up', 'primary-fenced', 'primary-diverged', 'primary-rejoined', 'primary-rejoining',
    'fence-deferred', 'after-care', 'after-care-failed', 'intermediate-dead', 'maintenance-started',
    'maintenance-ended', 'hook', 'hook-failed', 'hook-vetoed', 'heartbeat-period-too-long',
    'primary-dead-minority', 'multiple-writable', 'switchover-started', 'switchover-done', 'switchover-failed'];

  const state = {
    status: null, topo: {}, recs: {}, report: {}, recDetail: {},
    closed: new Set(),        /* collapsed <details>, by key */
    openRecs: new Set(),      /* expanded recovery rows, "cluster#id" */
    events: [], streamUp: false, lastReport: 0,
  };

  /* ---- small helpers ----------------------------------------------------------------- */
  function el(tag, props, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) if (kid !== null && kid !== undefined && kid !== false) e.append(kid);
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const badge = (cls, text, title) => el('span', { class: 'badge ' + cls, text, title });
  function dur(s) {
    if (s === null || s === undefined || !isFinite(s)) return '–';
    if (s < 1) return Math.round(s * 1000) + ' ms';
    if (s < 120) return s.toFixed(s < 10 ? 1 : 0) + ' s';
    if (s < 7200) return (s / 60).toFixed(1) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' d';
  }
  const ms = (v) => (v === null || v === undefined ? '–' : v < 10000 ? v + ' ms' : dur(v / 1000));
  const pct = (v, d) => (v === null || v === undefined || !isFinite(v) ? '–' : v.toFixed(d === undefined ? 3 : d) + ' %');
  function clock(t) {
    if (!t) return '–';
    const d = new Date(t);
    const p = (n) => String(n).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' +
      p(d.getMinutes()) + ':' + p(d.getSeconds());
  }
  async function getJSON(path) {
    const r = await fetch(path, { cache: 'no-store', headers: { Accept: 'application/json' } });
    let doc = null;
    try { doc = await r.json(); } catch (e) { throw new Error(path + ': HTTP ' + r.status + ' (not JSON)'); }
    if (!r.ok || doc.ok === false) throw new Error((doc && doc.error) || (path + ': HTTP ' + r.status));
    return doc;
  }
  /* Replace old by fresh only when something differs: no flicker, selection and focus survive. */
  function swap(old, fresh) {
    if (!old) return fresh;
    if (!old.isEqualNode(fresh)) old.replaceWith(fresh);
    return old.isConnected ? old : fresh;
  }
  function keep(details, key, openByDefault) {
    details.open = openByDefault ? !state.closed.has(key) : state.closed.has('+' + key);
    details.addEventListener('toggle', () => {
      if (openByDefault) { if (details.open) state.closed.delete(key); else state.closed.add(key); }
      else if (details.open) state.closed.add('+' + key); else state.closed.delete('+' + key);
    });
    return details;
  }

  /* ---- fetching ------------------------------------------------------------------------ */
  let inflight = null, again = false, timer = null;
  function refreshSoon(delay) {
    if (timer) return;
    timer = setTimeout(() => { timer = null; refresh(); }, delay === undefined ? 150 : delay);
  }
  async function refresh(withReport) {
    if (inflight) { again = true; return inflight; }
    inflight = (async () => {
      try {
        const st = await getJSON('/api/v1/clusters');
        state.status = st;
        const want = withReport || Date.now() - state.lastReport > REPORT_MS;
        await Promise.all(st.clusters.map(async (c) => {
          const n = encodeURIComponent(c.name);
          const jobs = [getJSON('/api/v1/clusters/' + n + '/topology').then((d) => { state.topo[c.name] = d.clusters[0]; }),
            getJSON('/api/v1/clusters/' + n + '/recoveries').then((d) => { state.recs[c.name] = d.recoveries; })];
          if (want) jobs.push(getJSON('/api/v1/clusters/' + n + '/report').then((d) => { state.report[c.name] = d.clusters[0]; }));
          await Promise.all(jobs);
        }));
        if (want) state.lastReport = Date.now();
        for (const key of state.openRecs) await loadRecovery(key, true);
        showBanner('');
        document.getElementById('updated').textContent = 'updated ' + clock(Date.now()).slice(11);
      } catch (e) {
        showBanner('Cannot read from myorch: ' + e.message + '. The page keeps trying.');
      }
      render();
    })();
    await inflight;
    inflight = null;
    if (again) { again = false; refresh(); }
  }
  async function loadRecovery(key, quiet) {
    const [cluster, id] = key.split('#');
    try {
      const d = await getJSON('/api/v1/clusters/' + encodeURIComponent(cluster) + '/recoveries?id=' + encodeURIComponent(id));
      state.recDetail[key] = d.recoveries[0];
    } catch (e) {
      if (!quiet) state.recDetail[key] = { error: e.message };
    }
  }
  function showBanner(text) {
    const b = document.getElementById('banner');
    b.textContent = text;
    b.hidden = !text;
  }

  /* ---- the replication tree ---------------------------------------------------------- */
  function instanceNode(cl, i) {
    const snap = i.snapshot || {};
    const rep = snap.replication || null;
    const badges = [];
    const facts = [];
    const role = i.role || 'unknown';
    const m = state.status && maintenanceOf(cl.name);
    badges.push(badge(role === 'primary' ? 'info' : role === 'replica' ? 'plain' : 'warn', role.toUpperCase()));
    if (!i.reachable) badges.push(badge('bad', i.down_for_s ? 'DOWN for ' + dur(i.down_for_s) : 'DOWN'));
    if (i.probed && i.reachable) {
      if (snap.read_only) badges.push(badge(role === 'primary' ? 'bad' : 'ok', role === 'primary' ? 'read-only primary' : 'read-only'));
      else badges.push(badge(role === 'primary' ? 'ok' : 'bad', role === 'primary' ? 'writable' : 'writable replica'));
    }
    if (rep) {
      const io = rep.io_running, sql = rep.sql_running;
      if (io === 'Yes' && sql === 'Yes') badges.push(badge('ok', 'replicating'));
      else badges.push(badge(io === 'Connecting' && sql === 'Yes' ? 'warn' : 'bad', 'IO ' + io + ' · SQL ' + sql));
    }
    if (i.lag_s !== null && i.lag_s !== undefined && i.lag_s >= LAG_WARN_S) badges.push(badge('warn', 'lag ' + dur(i.lag_s)));
    if (i.fenced) badges.push(badge('bad', 'fenced'));
    if (i.stale) badges.push(badge('warn', 'stale'));
    if (!i.probed) badges.push(badge('plain', 'not probed yet'));
    if (m && m.some((w) => w.instance === i.addr)) badges.push(badge('warn', 'maintenance'));

    if (role !== 'primary') {
      facts.push(el('span', {}, 'lag ', el('b', { text: i.lag_s === null || i.lag_s === undefined ? '–' : dur(i.lag_s) }),
        i.lag_source ? ' (' + i.lag_source.replace('_', ' ') + ')' : ''));
      if (i.behind_trx !== null && i.behind_trx !== undefined) facts.push(el('span', {}, 'behind ', el('b', { text: String(i.behind_trx) }), ' trx'));
      if (rep && rep.source) facts.push(el('span', {}, 'from ', el('b', { class: 'mono', text: rep.source })));
    }
    if (snap.version) facts.push(el('span', {}, el('b', { text: snap.version })));
    facts.push(el('span', { class: 'gtid', title: 'GTID position' }, 'GTID ', el('b', { text: i.gtid || '–' })));
    const errs = [];
    if (i.error) errs.push(el('div', { class: 'err', text: i.error }));
    if (rep && rep.last_io_error) errs.push(el('div', { class: 'err', text: 'IO error ' + rep.last_io_errno + ': ' + rep.last_io_error }));
    if (rep && rep.last_sql_error) errs.push(el('div', { class: 'err', text: 'SQL error ' + rep.last_sql_errno + ': ' + rep.last_sql_error }));
    return el('div', { class: 'node' + (i.reachable ? '' : ' down'), 'data-addr': i.addr, 'data-role': role },
      el('span', { class: 'addr', text: i.addr }), el('span', {}, ''), el('span', { class: 'badges' }, badges),
      el('div', { class: 'facts' }, facts), errs);
  }
  function tree(cl, topo) {
    const inst = (topo && topo.instances) || [];
    const by = new Map(inst.map((i) => [i.addr, i]));
    const kids = new Map();
    const roots = [];
    for (const i of inst) {
      if (i.parent && by.has(i.parent) && i.parent !== i.addr) {
        if (!kids.has(i.parent)) kids.set(i.parent, []);
        kids.get(i.parent).push(i);
      } else roots.push(i);
    }
    const order = (a, b) => (a.role === 'primary' ? -1 : b.role === 'primary' ? 1 : a.addr < b.addr ? -1 : 1);
    const seen = new Set();
    function li(i) {
      if (seen.has(i.addr)) return null;
      seen.add(i.addr);
      const ch = (kids.get(i.addr) || []).sort(order);
      if (!ch.length) return el('li', { class: 'leaf' }, instanceNode(cl, i));
      const d = keep(el('details', {}, el('summary', {}, instanceNode(cl, i)),
        el('ul', {}, ch.map(li))), 'node:' + cl.name + ':' + i.addr, true);
      return el('li', {}, d);
    }
    if (!inst.length) return el('p', { class: 'muted', text: 'No instance known yet.' });
    return el('ul', { class: 'tree', 'data-cluster': cl.name }, roots.sort(order).map(li));
  }
  function maintenanceOf(name) {
    const c = state.status.clusters.find((x) => x.name === name);
    return (c && c.recovery && c.recovery.maintenance) || [];
  }

  /* ---- recoveries -------------------------------------------------------------------- */
  function blockedMs(r) {
    const start = r.primary_lost_ms || r.started_ms;
    const end = r.promoted_ms || r.ended_ms;
    return start && end && end >= start ? end - start : null;
  }
  function stateBadge(s) {
    return badge(s === 'done' ? 'ok' : s === 'running' ? 'info' : s === 'failed' || s === 'rolled-back' ? 'bad' : 'warn', s);
  }
  function recoveryDetail(cluster, r) {
    const key = cluster + '#' + r.id;
    const d = state.recDetail[key];
    if (!d) return el('p', { class: 'muted', text: 'loading…' });
    if (d.error) return el('p', { class: 'err', text: d.error });
    const t0 = d.started_ms;
    const steps = d.steps || [];
    const plan = (d.plan && d.plan.steps) || [];
    const rows = [];
    const span = Math.max(1, ...steps.map((s) => (s.ended_ms || s.started_ms || t0) - t0));
    for (const s of steps) {
      const took = s.started_ms && s.ended_ms ? s.ended_ms - s.started_ms : null;
      const at = s.started_ms ? s.started_ms - t0 : 0;
      const bar = svg('svg', { class: 'chart', viewBox: '0 0 100 6', preserveAspectRatio: 'none', width: 120, height: 8 });
      bar.append(svg('rect', { class: 'axis', x: 0, y: 2.5, width: 100, height: 1 }));
      bar.append(svg('rect', { class: s.result === 'failed' ? 'barbad' : 'bar', x: (100 * at) / span, y: 0,
        width: Math.max(0.8, (100 * (took || 0)) / span), height: 6 }));
      rows.push(el('tr', {}, el('td', { class: 'num', text: String(s.idx) }), el('td', { class: 'nowrap', text: s.kind }),
        el('td', { class: 'mono', text: s.target || '' }), el('td', { text: s.description || '' }),
        el('td', {}, s.result ? badge(s.result === 'ok' || s.result === 'done' ? 'ok' : s.result === 'failed' ? 'bad' : 'warn', s.result) : ''),
        el('td', { class: 'num', text: '+' + ms(at) }), el('td', { class: 'num', text: took === null ? '–' : ms(took) }),
        el('td', {}, bar), el('td', { class: 'muted', text: s.message || '' })));
    }
    const facts = el('p', { class: 'muted' },
      'trigger ', el('b', { text: d.trigger || '–' }), d.analysis ? ' · analysis ' : '', d.analysis ? el('b', { text: d.analysis }) : '',
      d.evidence ? ' · ' + d.evidence : '',
      ' · primary lost → detected ', el('b', { text: d.primary_lost_ms && d.detected_ms ? ms(d.detected_ms - d.primary_lost_ms) : '–' }),
      ' · → promoted ', el('b', { text: d.primary_lost_ms && d.promoted_ms ? ms(d.promoted_ms - d.primary_lost_ms) : '–' }),
      ' · total ', el('b', { text: d.ended_ms ? ms(d.ended_ms - d.started_ms) : 'running' }),
      d.lost_gtids ? ' · lost GTIDs ' : '', d.lost_gtids ? el('b', { class: 'mono', text: d.lost_gtids }) : '');
    return el('div', { class: 'recovery-detail', 'data-id': String(r.id) }, facts,
      d.error ? el('p', { class: 'err', text: d.error }) : '',
      el('h3', { text: 'Steps as run (' + steps.length + ')' }),
      steps.length ? el('table', { class: 'steps' }, el('thead', {}, el('tr', {}, ['#', 'step', 'target', 'what', 'result', 'at', 'took', '', 'message']
        .map((h) => el('th', { text: h })))), el('tbody', {}, rows)) : el('p', { class: 'muted', text: 'No step ran.' }),
      plan.length ? el('details', {}, el('summary', {}, el('span', { text: 'The plan (' + plan.length + ' steps)' })),
        el('ol', {}, plan.map((p) => el('li', {}, el('b', { text: p.kind }), ' ', el('span', { class: 'mono', text: p.target }), ' — ',
          p.description, p.point_of_no_return ? ' ' : '', p.point_of_no_return ? badge('warn', 'point of no return') : '')))) : '');
  }
  function recoveries(cl) {
    const list = (state.recs[cl.name] || []).slice(0, 20);
    if (!list.length) return el('p', { class: 'muted', text: 'No recovery or switchover recorded.' });
    const body = [];
    for (const r of list) {
      const key = cl.name + '#' + r.id;
      const open = state.openRecs.has(key);
      body.push(el('tr', { class: 'rec' + (open ? ' open' : ''), 'data-id': String(r.id), tabindex: 0, 'aria-expanded': String(open),
        onclick: () => toggleRec(key), onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggleRec(key); } } },
      el('td', { class: 'num', text: '#' + r.id }), el('td', { text: r.kind }), el('td', { text: clock(r.started_ms) }),
      el('td', { class: 'mono' }, (r.old_primary || '–') + ' → ' + (r.new_primary || '–')),
      el('td', {}, stateBadge(r.state)), el('td', { class: 'num', text: ms(blockedMs(r)) })));
      if (open) body.push(el('tr', { class: 'detail' }, el('td', { colspan: 6 }, recoveryDetail(cl.name, r))));
    }
    return el('table', { class: 'recoveries' }, el('thead', {}, el('tr', {}, el('th', { class: 'num', text: 'id' }),
      el('th', { text: 'kind' }), el('th', { text: 'started' }), el('th', { text: 'old → new primary' }), el('th', { text: 'state' }),
      el('th', { class: 'num', text: 'writes blocked', title: 'primary lost (or start) to promotion' }))), el('tbody', {}, body));
  }
  async function toggleRec(key) {
    if (state.openRecs.has(key)) state.openRecs.delete(key);
    else { state.openRecs.add(key); render(); await loadRecovery(key); }
    render();
  }

  /* ---- availability ------------------------------------------------------------------- */
  function kpi(k, v, title) { return el('div', { class: 'kpi', title }, el('div', { class: 'v', text: v }), el('div', { class: 'k', text: k })); }
  function availability(cl) {
    const r = state.report[cl.name];
    if (!r) return el('p', { class: 'muted', text: 'No report yet.' });
    /* A = μ/(λ+μ): λ = 1/MTBF failures per second, μ = 1/MTTR repairs per second. */
    const lambda = r.mtbf_s > 0 ? 1 / r.mtbf_s : null, mu = r.mttr_s > 0 ? 1 / r.mttr_s : null;
    const a = lambda !== null && mu !== null ? (100 * mu) / (lambda + mu) : null;
    const used = (r.sla_down_ms || 0) / 1000, budget = r.budget_s || 0;
    const kpis = el('div', { class: 'kpis' },
      kpi('measured availability', pct(r.availability_pct), 'time with a writable primary / time monitored'),
      kpi('A = μ/(λ+μ)', a === null ? (r.failures ? '–' : 'no failure') : pct(a),
        'λ = 1/MTBF = ' + (lambda === null ? '–' : lambda.toExponential(2)) + ' /s, μ = 1/MTTR = ' + (mu === null ? '–' : mu.toExponential(2)) + ' /s'),
      kpi('MTBF', r.failures ? dur(r.mtbf_s) : '–', 'mean time between failures'),
      kpi('MTTR', r.failures ? dur(r.mttr_s) : '–', 'mean time to repair (writes blocked)'),
      kpi('failures', String(r.failures), 'unplanned outages'),
      kpi('planned blocks', r.planned_blocks ? r.planned_blocks + ' · ' + dur(r.planned_s || 0) : '0', 'switchovers: writes refused on purpose'),
      kpi('SLA target', pct(r.sla_target_pct, 2), r.sla_counts_planned ? 'planned blocks count' : 'planned blocks do not count'),
      kpi('SLA budget left', dur(r.budget_left_s), 'budget ' + dur(budget) + ' over ' + dur(r.monitored_s)));
    return el('div', { class: 'availability' }, kpis, budgetChart(used, budget), outageChart(cl));
  }
  function budgetChart(used, budget) {
    const W = 400, s = svg('svg', { class: 'chart budget', viewBox: '0 0 ' + W + ' 34', role: 'img' });
    const frac = budget > 0 ? Math.min(1, used / budget) : used > 0 ? 1 : 0;
    s.append(svg('title', {}, 'SLA budget: ' + dur(used) + ' used of ' + dur(budget)));
    s.append(svg('text', { x: 0, y: 10 }, 'SLA budget used: ' + dur(used) + ' of ' + dur(budget) + (budget > 0 ? ' (' + (100 * used / budget).toFixed(1) + ' %)' : '')));
    s.append(svg('rect', { class: 'left', x: 0.5, y: 15.5, width: W - 1, height: 14, rx: 3 }));
    if (frac > 0) s.append(svg('rect', { class: used > budget ? 'over' : 'used', x: 0.5, y: 15.5, width: Math.max(2, (W - 1) * frac), height: 14, rx: 3 }));
    return s;
  }
  function outageChart(cl) {
    const list = (state.recs[cl.name] || []).filter((r) => blockedMs(r) !== null).slice(0, 16).reverse();
    const W = 400, H = 90, base = 72;
    const s = svg('svg', { class: 'chart outages', viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
    s.append(svg('title', {}, 'Writes blocked per recovery (oldest left)'));
    s.append(svg('text', { x: 0, y: 10 }, 'Writes blocked per recovery' + (list.length ? '' : ': none yet')));
    s.append(svg('line', { class: 'axis', x1: 0, y1: base + 0.5, x2: W, y2: base + 0.5 }));
    if (!list.length) return s;
    const max = Math.max(...list.map(blockedMs), 1);
    const bw = Math.min(40, (W - 10) / list.length - 6);
    list.forEach((r, k) => {
      const v = blockedMs(r), h = Math.max(1.5, (50 * v) / max), x = 4 + k * (bw + 6);
      s.append(svg('rect', { class: r.state === 'failed' ? 'barbad' : 'bar', x, y: base - h, width: bw, height: h }, undefined));
      s.append(svg('text', { x: x + bw / 2, y: base - h - 3, 'text-anchor': 'middle' }, ms(v)));
      s.append(svg('text', { x: x + bw / 2, y: base + 13, 'text-anchor': 'middle' }, '#' + r.id + (r.kind === 'switchover' ? ' sw' : '')));
    });
    return s;
  }

  /* ---- a cluster ----------------------------------------------------------------------- */
  function clusterSummary(c, topo) {
    const rec = c.recovery || {};
    const items = [el('h2', { text: c.name })];
    const a = rec.analysis || 'unknown';
    items.push(badge(a === 'ok' ? 'ok' : 'bad', a === 'ok' ? 'OK' : a.toUpperCase(), rec.evidence || ''));
    items.push(el('span', {}, 'primary ', el('b', { class: 'mono', text: c.primary || 'none' })));
    items.push(badge(c.reachable === c.servers ? 'plain' : 'bad', c.reachable + '/' + c.servers + ' reachable'));
    if (c.replication_broken) items.push(badge('bad', c.replication_broken + ' replication broken'));
    if (rec.running_recovery) items.push(badge('info', (rec.running_kind || 'recovery') + ' #' + rec.running_recovery + ' running'));
    if (rec.blocked_for_s) items.push(badge('warn', 'failover blocked ' + dur(rec.blocked_for_s) + ' (anti-flap)'));
    if (rec.auto_failover === false) items.push(badge('warn', 'auto failover off'));
    for (const w of rec.maintenance || []) items.push(badge('warn', 'maintenance' + (w.instance ? ' ' + w.instance : '') + (w.reason ? ': ' + w.reason : '')));
    if (!c.first_round_done) items.push(badge('plain', 'first probe round running'));
    if (a !== 'ok' && rec.evidence) items.push(el('span', { class: 'muted', text: rec.evidence }));
    const btn = el('button', { type: 'button', class: 'switchover', 'data-cluster': c.name, text: 'Switchover…',
      disabled: !c.primary || !!rec.running_recovery,
      onclick: (e) => { e.preventDefault(); e.stopPropagation(); openSwitchover(c.name); } });
    items.push(el('span', { class: 'spacer' }), btn);
    void topo;
    return el('summary', {}, items);
  }
  function clusterSection(c) {
    const topo = state.topo[c.name];
    const body = el('div', { class: 'cluster-body' },
      el('div', { class: 'topology' }, el('h3', { text: 'Replication tree' }), tree(c, topo)),
      el('div', { class: 'report' }, el('h3', { text: 'Availability' }), availability(c)),
      el('div', { class: 'wide history' }, el('h3', { text: 'Recoveries and switchovers' }), recoveries(c)));
    const d = keep(el('details', {}, clusterSummary(c, topo), body), 'cluster:' + c.name, true);
    return el('section', { class: 'cluster', id: 'cluster-' + c.name, 'data-cluster': c.name,
      'data-primary': c.primary || '', 'data-analysis': (c.recovery && c.recovery.analysis) || '' }, d);
  }
  function render() {
    const main = document.getElementById('clusters');
    const st = state.status;
    if (st) {
      document.getElementById('controller').textContent = 'myorch ' + st.version + ' · up ' + dur(st.uptime_s) +
        ' · ' + st.clusters.length + (st.clusters.length === 1 ? ' cluster' : ' clusters');
      const seen = new Set();
      for (const c of st.clusters) {
        seen.add('cluster-' + c.name);
        const fresh = clusterSection(c);
        const old = document.getElementById('cluster-' + c.name);
        if (old) swap(old, fresh); else main.append(fresh);
      }
      for (const old of [...main.children]) if (!seen.has(old.id)) old.remove();
    }
    const sb = document.getElementById('stream');
    sb.className = 'badge ' + (state.streamUp ? 'ok' : 'warn');
    sb.textContent = state.streamUp ? 'live' : 'stream reconnecting (polling every ' + POLL_MS / 1000 + ' s)';
  }

  /* ---- events ------------------------------------------------------------------------- */
  function onEvent(e) {
    let ev = null;
    try { ev = JSON.parse(e.data); } catch (x) { return; }
    state.events.unshift(ev);
    if (state.events.length > 100) state.events.pop();
    const ol = document.getElementById('events');
    ol.prepend(el('li', { class: 'lvl-' + (ev.level || 'info') }, el('span', { class: 'muted', text: clock(ev.ts_ms).slice(11) }),
      el('b', { text: ev.name || e.type }), el('span', { text: (ev.cluster ? ev.cluster + ': ' : '') + (ev.message || '') })));
    while (ol.children.length > 100) ol.lastChild.remove();
    document.getElementById('events-count').textContent = 'last: ' + (ev.name || e.type) + ' at ' + clock(ev.ts_ms).slice(11);
    const name = ev.name || e.type;
    if (name.startsWith('recovery-') || name.startsWith('switchover-')) state.lastReport = 0;
    refreshSoon();
  }
  function connect() {
    const es = new EventSource('/api/v1/events');
    es.addEventListener('open', () => { state.streamUp = true; render(); refreshSoon(0); });
    es.addEventListener('error', () => {
      state.streamUp = false;
      render();
      /* A refusal (503: too many streams) closes it for good: try again in a while; polling goes on. */
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 15000);
    });
    for (const n of EVENTS) es.addEventListener(n, onEvent);
    es.addEventListener('message', onEvent);
  }

  /* ---- the switchover dialog --------------------------------------------------------- */
  const sw = { cluster: null, busy: false };
  function $(id) { return document.getElementById(id); }
  function swStatus(text, cls) { const p = $('sw-status'); p.textContent = text; p.className = 'status ' + (cls || ''); }
  function openSwitchover(name) {
    const c = state.status.clusters.find((x) => x.name === name);
    const topo = state.topo[name];
    sw.cluster = name;
    $('sw-cluster').textContent = name;
    $('sw-primary').textContent = (c && c.primary) || 'none';
    const sel = $('sw-to');
    sel.replaceChildren(el('option', { value: '', text: 'the best candidate (myorch chooses)' }));
    for (const i of (topo && topo.instances) || []) {
      if (i.role === 'replica' && i.reachable) sel.append(el('option', { value: i.addr, text: i.addr + (i.lag_s !== null && i.lag_s !== undefined ? ' (lag ' + dur(i.lag_s) + ')' : '') }));
    }
    $('sw-token').value = '';
    $('sw-step2').hidden = true;
    $('sw-confirm').checked = false;
    $('sw-go').disabled = true;
    $('sw-plan').disabled = false;
    $('sw-to').disabled = false;
    $('sw-plan-text').textContent = '';
    swStatus('');
    $('sw').showModal();
    $('sw-token').focus();
  }
  async function post(path, body) {
    const token = $('sw-token').value.trim();
    if (!token) throw new Error('enter the bearer token first');
    const r = await fetch(path, { method: 'POST', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token }, body: JSON.stringify(body) });
    let doc = null;
    try { doc = await r.json(); } catch (e) { throw new Error('HTTP ' + r.status); }
    return { status: r.status, doc };
  }
  function swBody(dry) {
    const b = dry ? { dry_run: true } : {};
    if ($('sw-to').value) b.to = $('sw-to').value;
    return b;
  }
  async function swPlan() {
    if (sw.busy) return;
    sw.busy = true;
    swStatus('Asking myorch for the plan (dry run)…', 'info');
    try {
      const { status, doc } = await post('/api/v1/clusters/' + encodeURIComponent(sw.cluster) + '/switchover', swBody(true));
      if (status !== 200 || !doc.ok) { swStatus('Refused (' + status + '): ' + (doc.error || 'unknown error'), 'bad'); return; }
      $('sw-plan-text').textContent = doc.text || JSON.stringify(doc.plan, null, 2);
      $('sw-refuse').hidden = !doc.would_refuse;
      $('sw-refuse').textContent = doc.would_refuse ? 'myorch would refuse this switchover: ' + doc.would_refuse : '';
      $('sw-step2').hidden = false;
      $('sw-to').disabled = true;
      $('sw-plan').disabled = true;
      $('sw-go').disabled = !$('sw-confirm').checked || !!doc.would_refuse;
      sw.refused = !!doc.would_refuse;
      swStatus(doc.would_refuse ? 'Not possible now; close and try again later.' : 'Read the plan, tick the box, then switch over.', doc.would_refuse ? 'bad' : 'info');
    } catch (e) {
      swStatus(e.message, 'bad');
    } finally { sw.busy = false; }
  }
  async function swGo() {
    if (sw.busy || !$('sw-confirm').checked) return;
    sw.busy = true;
    $('sw-go').disabled = true;
    $('sw-confirm').disabled = true;
    swStatus('Switching over… (the page follows it live)', 'info');
    try {
      const { status, doc } = await post('/api/v1/clusters/' + encodeURIComponent(sw.cluster) + '/switchover', swBody(false));
      if (status === 200 && doc.ok) {
        swStatus('Done: ' + (doc.old_primary || '?') + ' → ' + (doc.new_primary || '?') + ', writes refused for ' + ms(doc.writes_refused_ms) +
          ' (recovery #' + doc.recovery_id + ').', 'ok');
      } else {
        swStatus('Failed (' + status + '): ' + (doc.error || doc.state || 'unknown error'), 'bad');
      }
    } catch (e) {
      swStatus(e.message, 'bad');
    } finally {
      $('sw-token').value = '';   /* used once, then forgotten */
      sw.busy = false;
      $('sw-confirm').disabled = false;
      state.lastReport = 0;
      refreshSoon(0);
    }
  }
  function setupDialog() {
    $('sw-plan').addEventListener('click', swPlan);
    $('sw-go').addEventListener('click', swGo);
    $('sw-confirm').addEventListener('change', () => { $('sw-go').disabled = !$('sw-confirm').checked || sw.refused || sw.busy; });
    $('sw-token').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); swPlan(); } });
    $('sw-close').addEventListener('click', () => $('sw').close());
    $('sw').addEventListener('close', () => { $('sw-token').value = ''; sw.cluster = null; sw.refused = false; });
  }

  document.addEventListener('DOMContentLoaded', () => {
    setupDialog();
    refresh(true);
    connect();
    setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  });
})();
