// The orb console: pages over orb's REST API, kept current by its event stream.
//
// The bearer token the operator signs in with is kept in this tab's session storage and sent
// only in the Authorization header: never in a URL, a cookie or a log. Everything shown is
// put in the page as text (never as markup), and the page loads nothing from elsewhere.
'use strict';

(() => {
  const TOKEN_KEY = 'orb.token';
  const PAGE_SIZE = 25;
  // A page reloads at most this often while changes stream in; the dashboard, which every
  // change concerns and which asks two questions a time, less often.
  const RELOAD_GAP_MS = 250;
  const DASHBOARD_GAP_MS = 1000;
  const REQUEST_STATUSES = ['running', 'complete', 'complete_with_error'];
  const MACHINE_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down',
    'terminated', 'failed'];

  const session = {
    token: sessionStorage.getItem(TOKEN_KEY),
    role: null,
    stream: null,
    lastSeq: null,
  };
  let current = null; // the page shown: {refresh, wants}
  let reload = null; // the pending reload of the page shown
  let lastReload = -Infinity; // when the page shown last reloaded for a change

  const main = document.getElementById('main');

  // ---- building the page -------------------------------------------------------------------

  /** An element with attributes (`on*` functions become listeners) and children (text or nodes). */
  function h(tag, attrs, ...children) {
    const isSvg = ['svg', 'path', 'line', 'text', 'title', 'polyline', 'rect'].includes(tag);
    const el = isSvg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
      : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** Replaces what `el` holds with `children`. */
  function fill(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
  }

  /** A table with a caption, headings and rows. Each cell carries its heading, which a narrow
   * screen shows beside it, one row a card, so that no table scrolls sideways. */
  function table(caption, headings, rows, empty) {
    if (rows.length === 0) return h('p', { class: 'empty' }, empty || 'Nothing to show.');
    for (const row of rows) {
      Array.from(row.children).forEach((cell, i) => {
        if (headings[i]) cell.setAttribute('data-label', headings[i]);
      });
    }
    return h('div', { class: 'scroll' },
      h('table', {},
        h('caption', {}, caption),
        h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows)));
  }

  function badge(text) {
    return h('span', { class: `badge s-${String(text).replace(/[^a-z_-]/gi, '')}` }, text);
  }

  function link(href, text) {
    return h('a', { href, 'data-key': `link:${href}` }, text);
  }

  function when(at) {
    if (!at) return '';
    const d = new Date(at);
    return Number.isNaN(d.getTime()) ? at : d.toLocaleString();
  }

  function canAct() {
    return session.role === 'operator' || session.role === 'admin';
  }

  function notify(message, kind) {
    const box = document.getElementById('notice');
    box.className = `notice ${kind || 'error'}`;
    box.textContent = message;
    box.hidden = false;
  }

  function clearNotice() {
    document.getElementById('notice').hidden = true;
  }

  /** Asks the operator to confirm `text` in a modal dialog. With `field` ({label, min, max}),
   * also asks for a whole number. Resolves to null when they keep things as they are, else to
   * the number asked for (or true). */
  function confirmAction(title, text, yes, field) {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-yes').textContent = yes;
    const box = document.getElementById('confirm-field');
    const input = field ? h('input', {
      id: 'confirm-number', type: 'number', min: field.min, max: field.max, value: field.min, required: true,
    }) : null;
    fill(box, field ? [h('label', { for: 'confirm-number' }, field.label), input] : []);
    return new Promise((resolve) => {
      dialog.returnValue = 'no';
      dialog.addEventListener('close', () => {
        if (dialog.returnValue !== 'yes') resolve(null);
        else resolve(input ? Number(input.value) : true);
      }, { once: true });
      dialog.showModal();
      (input || document.getElementById('confirm-no')).focus();
    });
  }

  // ---- the API -----------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function headers(extra) {
    // Answers in snake_case, whatever scheduler the server is configured for.
    const all = { 'X-ORB-Scheduler': 'default', ...extra };
    if (session.token) all.Authorization = `Bearer ${session.token}`;
    return all;
  }

  async function api(method, path, body) {
    const init = {
      method,
      headers: headers({ Accept: 'application/json' }),
      credentials: 'omit',
      cache: 'no-store',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const answer = await fetch(path, init);
    const text = await answer.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!answer.ok) {
      const message = (data && data.error && data.error.message) || `${method} ${path}: HTTP ${answer.status}`;
      if (answer.status === 401 && session.role) signOut('The server refused your token: sign in again.');
      throw new ApiError(answer.status, message);
    }
    return data;
  }

  /** `path` with the query `params` (empty values left out). */
  function withQuery(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') query.set(key, value);
    }
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  // ---- the event stream --------------------------------------------------------------------

  function setLive(on) {
    const live = document.getElementById('live');
    live.textContent = on ? 'live' : 'reconnecting…';
    live.classList.toggle('on', on);
  }

  /** Reads server-sent events from a fetch (so the token goes in a header), reconnecting and
   * replaying from the last change seen after a break. */
  async function follow(stream) {
    while (session.stream === stream) {
      try {
        const from = session.lastSeq === null ? {} : { since_seq: session.lastSeq };
        const answer = await fetch(withQuery('/api/v1/events/', from), {
          headers: headers({ Accept: 'text/event-stream' }),
          credentials: 'omit',
          cache: 'no-store',
          signal: stream.signal,
        });
        if (answer.status === 401) {
          signOut('The server refused your token: sign in again.');
          return;
        }
        if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
        setLive(true);
        const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
        let pending = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pending += value.replace(/\r\n?/g, '\n');
          let end;
          while ((end = pending.indexOf('\n\n')) >= 0) {
            received(pending.slice(0, end));
            pending = pending.slice(end + 2);
          }
        }
      } catch (e) {
        if (stream.signal.aborted) return;
      }
      if (session.stream !== stream) return;
      setLive(false);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  /** One event block of the stream. */
  function received(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const [field, ...rest] = line.split(':');
      const value = rest.join(':').replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (event !== 'request' && event !== 'machine') return;
    let change;
    try {
      change = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    session.lastSeq = Math.max(session.lastSeq || 0, change.seq);
    if (current && current.wants(change)) scheduleReload(change);
  }

  /** Reloads the page shown for `change`: at once, unless it reloaded less than its gap
   * (RELOAD_GAP_MS unless it says) ago, when the changes wait (gathered) for the end of the
   * gap. Marks when each is shown. */
  function scheduleReload(change) {
    if (reload) {
      reload.changes.push(change);
      return;
    }
    const page = current;
    const pending = { changes: [change] };
    reload = pending;
    const wait = Math.max(0, lastReload + (page.gap || RELOAD_GAP_MS) - performance.now());
    setTimeout(async () => {
      reload = null;
      if (current !== page) return;
      lastReload = performance.now();
      // The page is drawn anew: the control that had the focus gets it back.
      const focused = document.activeElement && document.activeElement.dataset
        ? document.activeElement.dataset.key : undefined;
      try {
        await page.refresh();
        if (focused) {
          const again = [...main.querySelectorAll('[data-key]')].find((el) => el.dataset.key === focused);
          if (again) again.focus({ preventScroll: true });
        }
        for (const c of pending.changes) {
          performance.mark('orb:change-shown', { detail: { seq: c.seq, type: c.type, id: c.id } });
        }
      } catch (e) {
        notify(e.message);
      }
    }, wait);
  }

  // ---- signing in --------------------------------------------------------------------------

  function signInPage(message) {
    document.getElementById('nav').hidden = true;
    document.getElementById('sign-out').hidden = true;
    document.getElementById('who').textContent = '';
    const input = h('input', {
      id: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false',
      'aria-describedby': 'token-help',
    });
    const form = h('form', {
      class: 'sign-in',
      onsubmit: async (e) => {
        e.preventDefault();
        session.token = input.value.trim();
        input.value = '';
        try {
          await start();
          sessionStorage.setItem(TOKEN_KEY, session.token);
        } catch (err) {
          session.token = null;
          fill(problem, err.status === 401 ? 'That token was refused.' : err.message);
        }
      },
    },
    h('h1', {}, 'Sign in to orb'),
    h('label', { for: 'token' }, 'Bearer token or JWT'),
    input,
    h('p', { id: 'token-help', class: 'help' },
      'Kept in this tab only, and sent to this server alone. Closing the tab forgets it.'),
    h('button', { type: 'submit' }, 'Sign in'));
    const problem = h('p', { class: 'problem', role: 'alert' }, message || '');
    fill(main, form, problem);
    input.focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    session.token = null;
    session.role = null;
    if (session.stream) session.stream.abort();
    session.stream = null;
    current = null;
    document.getElementById('live').textContent = 'offline';
    signInPage(message);
  }

  /** Asks who the token is, then shows the page the address names and follows the stream. */
  async function start() {
    const me = await api('GET', '/api/v1/me/');
    session.role = me.role;
    document.getElementById('nav').hidden = false;
    document.getElementById('sign-out').hidden = !me.authenticated;
    document.getElementById('who').textContent = me.authenticated
      ? `signed in: ${me.role}` : `authentication off: ${me.role}`;
    document.body.classList.toggle('can-act', canAct());
    if (session.stream) session.stream.abort();
    session.stream = new AbortController();
    follow(session.stream);
    await route();
  }

  // ---- pages -------------------------------------------------------------------------------

  /** The page the address names: `#/requests?status=running`, `#/requests/<id>`... */
  function parseAddress() {
    const [path, query] = (location.hash.replace(/^#/, '') || '/dashboard').split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    return { parts, params: new URLSearchParams(query || '') };
  }

  async function route() {
    // Only `#/...` names a page: any other fragment is a place within the page shown.
    if (!session.role || (location.hash && !location.hash.startsWith('#/'))) return;
    const { parts, params } = parseAddress();
    const pages = {
      dashboard: dashboardPage,
      requests: parts[1] ? () => requestPage(parts[1]) : () => requestsPage(params),
      machines: () => machinesPage(params),
      templates: templatesPage,
      providers: providersPage,
    };
    const make = pages[parts[0]] || dashboardPage;
    for (const a of document.querySelectorAll('#nav a')) {
      if (a.getAttribute('href') === `#/${parts[0]}`) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    clearNotice();
    if (current && current.leave) current.leave();
    const page = make();
    current = page;
    fill(main, page.node);
    try {
      await page.refresh();
      performance.mark('orb:rendered', { detail: { page: parts[0] || 'dashboard' } });
    } catch (e) {
      notify(e.message);
    }
    const heading = main.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  }

  /** A page whose `refresh` fills `body`, reloaded on the changes `wants` picks. */
  function page(title, controls, refresh, wants, leave, gap) {
    const body = h('div', { class: 'body' });
    const node = h('section', {}, h('h1', {}, title), controls || null, body);
    return { node, refresh: () => refresh(body), wants: wants || (() => false), leave, gap };
  }

  function pager(total, offset, go) {
    const last = Math.max(0, Math.ceil(total / PAGE_SIZE) - 1);
    const at = Math.floor(offset / PAGE_SIZE);
    return h('nav', { class: 'pager', 'aria-label': 'Pages of results' },
      h('button', { type: 'button', 'data-key': 'previous', disabled: at === 0, onclick: () => go(offset - PAGE_SIZE) }, 'Previous'),
      h('span', {}, `${total === 0 ? 0 : offset + 1}–${Math.min(total, offset + PAGE_SIZE)} of ${total}`),
      h('button', { type: 'button', 'data-key': 'next', disabled: at >= last, onclick: () => go(offset + PAGE_SIZE) }, 'Next'));
  }

  /** A filter form over the address's query: changing it changes the address. */
  function filters(fields, params, base) {
    const form = h('form', {
      class: 'filters',
      role: 'search',
      onsubmit: (e) => {
        e.preventDefault();
        const next = new URLSearchParams();
        for (const el of form.elements) if (el.name && el.value) next.set(el.name, el.value);
        location.hash = `${base}?${next}`;
      },
    });
    for (const f of fields) {
      const id = `filter-${f.name}`;
      const input = f.options
        ? h('select', { id, name: f.name },
          h('option', { value: '' }, 'any'),
          f.options.map((o) => h('option', { value: o, selected: params.get(f.name) === o }, o)))
        : h('input', { id, name: f.name, type: 'search', value: params.get(f.name) || '' });
      form.append(h('span', { class: 'field' }, h('label', { for: id }, f.label), input));
    }
    form.append(h('button', { type: 'submit' }, 'Filter'));
    return form;
  }

  function goOffset(base, params, offset) {
    const next = new URLSearchParams(params);
    next.set('offset', String(Math.max(0, offset)));
    location.hash = `${base}?${next}`;
  }

  // Dashboard.

  function dashboardPage() {
    let hours = 24;
    const choose = h('select', {
      id: 'hours',
      onchange: () => {
        hours = Number(choose.value);
        current.refresh().catch((e) => notify(e.message));
      },
    }, [[1, 'last hour'], [24, 'last day'], [168, 'last week']].map(([v, t]) => h('option', { value: v, selected: v === 24 }, t)));
    const controls = h('div', { class: 'controls' }, h('label', { for: 'hours' }, 'Chart window'), choose);
    return page('Dashboard', controls, async (body) => {
      const [board, health] = await Promise.all([
        api('GET', withQuery('/api/v1/system/dashboard', { hours })),
        api('GET', '/api/v1/providers/health'),
      ]);
      const acquire = board.requests.acquire || {};
      const returns = board.requests.return || {};
      const card = (title, counts, keys) => h('div', { class: 'card' }, h('h2', {}, title),
        h('dl', {}, keys.map((k) => [h('dt', {}, k), h('dd', {}, String(counts[k] || 0))])));
      const states = Object.keys(board.machines).sort();
      fill(body,
        h('div', { class: 'cards' },
          card('Acquire requests', acquire, REQUEST_STATUSES),
          card('Return requests', returns, REQUEST_STATUSES),
          card('Machines', board.machines, states.length ? states : ['running']),
          h('div', { class: 'card' }, h('h2', {}, 'Configured'),
            h('dl', {}, h('dt', {}, 'templates'), h('dd', {}, String(board.templates)),
              h('dt', {}, 'provider instances'), h('dd', {}, String(board.providers))))),
        h('h2', {}, 'Machines over time'),
        chart(board.machines_over_time),
        h('h2', {}, 'Machines by provider instance'),
        table('Machines by provider instance and state', ['Instance', ...MACHINE_STATES],
          Object.entries(board.machines_by_provider).map(([name, counts]) => h('tr', {},
            h('th', { scope: 'row' }, name), MACHINE_STATES.map((s) => h('td', { class: 'num' }, String(counts[s] || 0))))),
          'No machines yet.'),
        h('h2', {}, 'Provider health'),
        table(`Checked ${when(health.checked_at)}`, ['Instance', 'Type', 'Health', 'Why'],
          health.providers.map((p) => h('tr', {}, h('td', {}, p.name), h('td', {}, p.type),
            h('td', {}, badge(p.status)), h('td', {}, p.error || checksText(p.checks))))),
        h('h2', {}, 'Recent changes'),
        table('The latest changes, newest first', ['#', 'What', 'When'],
          board.recent_changes.map((c) => h('tr', {}, h('td', { class: 'num' }, String(c.seq)),
            h('td', {}, c.type === 'request' ? link(`#/requests/${encodeURIComponent(c.id)}`, `request ${c.id}`)
              : link(`#/machines?q=${encodeURIComponent(c.id)}`, `machine ${c.id}`)),
            h('td', {}, when(c.at)))),
          'No changes yet.'));
    }, () => true, undefined, DASHBOARD_GAP_MS);
  }

  function checksText(checks) {
    return (checks || []).filter((c) => c.status !== 'healthy')
      .map((c) => `${c.name}: ${c.detail || c.status}`).join('; ');
  }

  /** An SVG line of machines alive over time, with its figures as a table for screen readers. */
  function chart(points) {
    const width = 900;
    const height = 200;
    const pad = 28;
    const top = Math.max(1, ...points.map((p) => p.machines));
    const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, points.length - 1);
    const y = (n) => height - pad - (n * (height - 2 * pad)) / top;
    const line = points.map((p, i) => `${x(i).toFixed(1)},${y(p.machines).toFixed(1)}`).join(' ');
    const first = points[0];
    const last = points[points.length - 1];
    const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
      h('title', { id: 'chart-title' }, `Machines alive, ${first ? when(first.at) : ''} to ${last ? when(last.at) : ''}: now ${last ? last.machines : 0}, at most ${top}`),
      h('line', { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, class: 'axis' }),
      h('line', { x1: pad, y1: pad, x2: pad, y2: height - pad, class: 'axis' }),
      h('text', { x: 2, y: pad + 4, class: 'tick' }, String(top)),
      h('text', { x: 2, y: height - pad, class: 'tick' }, '0'),
      h('text', { x: pad, y: height - 6, class: 'tick' }, first ? when(first.at) : ''),
      h('text', { x: width - pad, y: height - 6, class: 'tick end' }, 'now'),
      h('polyline', { points: line, class: 'series' }));
    return h('figure', { class: 'chart-box' }, svg,
      h('figcaption', {}, `Machines alive now: ${last ? last.machines : 0}; most in the window: ${top}.`));
  }

  // Requests.

  function requestsPage(params) {
    const offset = Number(params.get('offset') || 0);
    const controls = filters([
      { name: 'status', label: 'Status', options: REQUEST_STATUSES },
      { name: 'request_type', label: 'Type', options: ['acquire', 'return'] },
      { name: 'q', label: 'Search' },
    ], params, '#/requests');
    return page('Requests', controls, async (body) => {
      const query = Object.fromEntries(params);
      const list = await api('GET', withQuery('/api/v1/requests/', { ...query, limit: PAGE_SIZE, offset }));
      fill(body,
        table('Requests, newest first', ['Request', 'Type', 'Template', 'Status', 'Machines', 'Provider', 'Created', ''],
          list.requests.map((r) => h('tr', { 'data-request': r.request_id },
            h('td', {}, link(`#/requests/${encodeURIComponent(r.request_id)}`, r.request_id)),
            h('td', {}, r.kind),
            h('td', {}, r.template_id || ''),
            h('td', {}, badge(r.status)),
            h('td', { class: 'num' }, r.kind === 'acquire' ? `${r.running_count || 0} / ${r.target_units || 0}` : String(r.machines.length)),
            h('td', {}, r.provider_name),
            h('td', {}, when(r.created_at)),
            h('td', {}, cancelButton(r)))),
          'No request matches.'),
        pager(list.total_count, offset, (o) => goOffset('#/requests', params, o)));
    }, (c) => c.type === 'request');
  }

  function cancelButton(r) {
    if (!canAct() || r.kind !== 'acquire' || r.status !== 'running') return null;
    return h('button', {
      type: 'button',
      class: 'danger',
      'data-action': 'cancel',
      'data-key': `cancel:${r.request_id}`,
      onclick: async () => {
        const yes = await confirmAction('Cancel this request?',
          `Request ${r.request_id} stops, and the machines it made are terminated.`, 'Cancel the request');
        if (yes === null) return;
        try {
          await api('DELETE', `/api/v1/requests/${encodeURIComponent(r.request_id)}`);
          notify(`Request ${r.request_id} cancelled.`, 'ok');
          await current.refresh();
        } catch (e) {
          notify(e.message);
        }
      },
    }, 'Cancel');
  }

  function requestPage(id) {
    return page(`Request ${id}`, null, async (body) => {
      const [answer, timeline] = await Promise.all([
        api('GET', `/api/v1/requests/${encodeURIComponent(id)}`),
        api('GET', `/api/v1/requests/${encodeURIComponent(id)}/timeline`),
      ]);
      const r = answer.requests[0];
      const acquire = id.startsWith('req-');
      const returnable = r.machines.filter((m) => m.result === 'succeed' || m.status === 'running');
      const actions = [];
      if (canAct() && acquire && r.status === 'running') actions.push(cancelButton({ ...r, kind: 'acquire' }));
      if (canAct() && acquire && r.status !== 'running' && returnable.length > 0) {
        actions.push(returnButton(returnable.map((m) => m.machine_id), `Return its ${returnable.length} machines`));
      }
      fill(body,
        h('dl', { class: 'facts' },
          h('dt', {}, 'Status'), h('dd', { id: 'request-status' }, badge(r.status)),
          h('dt', {}, 'Message'), h('dd', {}, r.message || '—'),
          h('dt', {}, 'Provider'), h('dd', {}, `${r.provider_name} (${r.provider_type})`),
          h('dt', {}, 'Handler'), h('dd', {}, r.provider_api || '—'),
          acquire ? [h('dt', {}, 'Machines'), h('dd', {}, `${r.running_count || 0} running of ${r.target_units || 0}`)] : null,
          h('dt', {}, 'Cloud resources'), h('dd', {}, r.resource_ids.join(', ') || '—')),
        actions.length ? h('div', { class: 'actions' }, actions) : null,
        h('h2', {}, 'Machines'),
        table('Its machines', ['Machine', 'Name', 'State', 'Result', 'Address', 'Launched'],
          r.machines.map((m) => h('tr', {},
            h('td', {}, link(`#/machines?q=${encodeURIComponent(m.machine_id)}`, m.machine_id)),
            h('td', {}, m.name), h('td', {}, badge(m.status)), h('td', {}, m.result),
            h('td', {}, m.private_ip_address || ''), h('td', {}, when(m.launchtime ? m.launchtime * 1000 : null)))),
          'No machines yet.'),
        timeline.attempts.length ? [h('h2', {}, 'Attempts'),
          table('Each provider instance asked, in order', ['Instance', 'Asked', 'Took', 'Why not all'],
            timeline.attempts.map((a) => h('tr', {}, h('td', {}, a.instance), h('td', { class: 'num' }, String(a.asked)),
              h('td', { class: 'num' }, String(a.got)), h('td', {}, a.error || ''))))] : null,
        h('h2', {}, 'Timeline'),
        h('ol', { class: 'timeline' }, timeline.events.map((e) => h('li', {},
          h('time', { datetime: e.at }, when(e.at)), ' ', h('strong', {}, e.event.replace(/_/g, ' ')), e.detail ? `: ${e.detail}` : ''))));
    }, (c) => c.id === id || (c.data && (c.data.request_id === id || c.data.return_request_id === id)));
  }

  function returnButton(ids, label) {
    return h('button', {
      type: 'button',
      class: 'danger',
      'data-action': 'return',
      'data-key': 'return',
      onclick: async () => {
        const yes = await confirmAction('Return these machines?',
          `${ids.length} machine${ids.length === 1 ? '' : 's'} will be terminated: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? '…' : ''}`,
          'Return them');
        if (yes === null) return;
        try {
          const answer = await api('POST', '/api/v1/machines/return', { machine_ids: ids });
          notify(answer.request_id ? `Returning them: request ${answer.request_id}.` : 'Nothing was left to return.', 'ok');
          await current.refresh();
        } catch (e) {
          notify(e.message);
        }
      },
    }, label);
  }

  // Machines.

  function machinesPage(params) {
    const offset = Number(params.get('offset') || 0);
    const controls = filters([
      { name: 'status', label: 'State', options: MACHINE_STATES },
      { name: 'provider_name', label: 'Provider instance' },
      { name: 'q', label: 'Search' },
    ], params, '#/machines');
    const chosen = new Set();
    const returnBox = h('div', { class: 'actions' });
    const showReturn = () => fill(returnBox, canAct() && chosen.size
      ? returnButton([...chosen], `Return ${chosen.size} selected`) : null);
    return page('Machines', controls, async (body) => {
      const query = Object.fromEntries(params);
      const list = await api('GET', withQuery('/api/v1/machines/', { ...query, limit: PAGE_SIZE, offset }));
      chosen.clear();
      showReturn();
      const live = (m) => !['terminated', 'shutting-down', 'failed'].includes(m.status) && !m.return_request_id;
      fill(body,
        returnBox,
        table('Machines, newest first', [canAct() ? 'Select' : null, 'Machine', 'Name', 'State', 'Request', 'Template', 'Type', 'Zone', 'Address', 'Launched'].filter((t) => t !== null),
          list.machines.map((m) => h('tr', {},
            canAct() ? h('td', {}, live(m) ? h('input', {
              type: 'checkbox',
              'aria-label': `Select ${m.machine_id}`,
              onchange: (e) => {
                if (e.target.checked) chosen.add(m.machine_id); else chosen.delete(m.machine_id);
                showReturn();
              },
            }) : null) : null,
            h('td', {}, m.machine_id), h('td', {}, m.name || ''), h('td', {}, badge(m.status)),
            h('td', {}, link(`#/requests/${encodeURIComponent(m.request_id)}`, m.request_id)),
            h('td', {}, m.template_id || ''), h('td', {}, m.instance_type || ''), h('td', {}, m.zone || ''),
            h('td', {}, m.private_ip_address || ''), h('td', {}, when(m.launch_time)))),
          'No machine matches.'),
        pager(list.total_count, offset, (o) => goOffset('#/machines', params, o)));
    }, (c) => c.type === 'machine' && chosen.size === 0);
  }

  // Templates.

  function templatesPage() {
    return page('Templates', null, async (body) => {
      const list = await api('GET', withQuery('/api/v1/templates/', { limit: 1000 }));
      const checks = await Promise.all(list.templates.map((t) => api('POST', '/api/v1/templates/validate', { template_id: t.template_id })
        .catch((e) => ({ valid: false, problems: [e.message] }))));
      fill(body, table('Templates served', ['Template', 'Handler', 'Most machines', 'Instance type', 'Valid', ''],
        list.templates.map((t, i) => h('tr', {},
          h('td', {}, t.template_id),
          h('td', {}, t.provider_api || ''),
          h('td', { class: 'num' }, String(t.max_number)),
          h('td', {}, t.instance_type || Object.keys(t.vm_types || {}).join(', ')),
          h('td', {}, checks[i].valid ? badge('valid') : h('span', {}, badge('invalid'), ' ', checks[i].problems.join('; '))),
          h('td', {}, canAct() ? requestButton(t) : null))),
        'No templates: add some to the templates file.'));
    });
  }

  function requestButton(t) {
    return h('button', {
      type: 'button',
      'data-action': 'request',
      onclick: async () => {
        const count = await confirmAction('Request machines?',
          `Machines of template ${t.template_id} will be provisioned, and billed.`, 'Request them',
          { label: `How many (1 to ${t.max_number})`, min: 1, max: t.max_number });
        if (count === null) return;
        if (!Number.isInteger(count) || count < 1 || count > t.max_number) {
          notify(`Give a whole number from 1 to ${t.max_number}.`);
          return;
        }
        try {
          const accepted = await api('POST', '/api/v1/machines/request', { template_id: t.template_id, count });
          location.hash = `#/requests/${encodeURIComponent(accepted.request_id)}`;
        } catch (e) {
          notify(e.message);
        }
      },
    }, 'Request machines');
  }

  // Providers.

  function providersPage() {
    let timer = null;
    const view = page('Providers', null, async (body) => {
      const [list, health] = await Promise.all([
        api('GET', '/api/v1/providers/'),
        api('GET', '/api/v1/providers/health'),
      ]);
      const healthOf = Object.fromEntries(health.providers.map((p) => [p.name, p]));
      fill(body, table(`Provider instances (health checked ${when(health.checked_at)})`,
        ['Instance', 'Type', 'Status', 'Health', 'Circuit', 'Failures', 'Priority', 'Weight', 'Plugin', 'Interface'],
        list.providers.map((p) => h('tr', {},
          h('td', {}, p.name), h('td', {}, p.type), h('td', {}, p.status),
          h('td', {}, healthOf[p.name] ? badge(healthOf[p.name].status) : '—'),
          h('td', {}, badge(p.circuit)), h('td', { class: 'num' }, String(p.failures)),
          h('td', { class: 'num' }, String(p.priority)), h('td', { class: 'num' }, String(p.weight)),
          h('td', {}, p.plugin || '—'), h('td', {}, p.interface || '—')))));
      // Health is checked in the background, not streamed: asked again while shown.
      clearTimeout(timer);
      timer = setTimeout(() => current === view && view.refresh().catch((e) => notify(e.message)), 15000);
    }, () => false, () => clearTimeout(timer));
    return view;
  }

  // ---- wiring ------------------------------------------------------------------------------

  window.addEventListener('hashchange', route);
  document.querySelector('.skip').addEventListener('click', (e) => {
    e.preventDefault();
    main.focus();
  });
  document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));
  document.getElementById('confirm-no').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('confirm').close('no');
  });
  document.getElementById('confirm-yes').addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('confirm').close('yes');
  });
  start().catch((e) => {
    session.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    signInPage(e.status === 401 ? '' : e.message);
  });
})();
