// The web console of `hako serve`: the VM table (refreshed every second from GET /vms), lifecycle buttons, the live
// entitlement control, a CPU chart per VM, and the serial console of one VM in xterm.js over the console WebSocket.
// Over TCP the API needs the server's token: open the page once as /?token=TOKEN; it is kept in this tab's
// sessionStorage (and taken out of the address bar), sent as a bearer header, and as ?token= on the WebSocket
// (a browser cannot set headers there).
'use strict';

const ACTIONS = ['start', 'pause', 'resume', 'shutdown', 'reset', 'stop'];
const CHART_POINTS = 60;
const REFRESH_MS = 1000;

const token = takeToken();
const rows = new Map(); // VM name -> {row, cells, chart}
let consoleSession = null; // {name, socket}
const terminal = new Terminal({ rendererType: 'dom', convertEol: false, scrollback: 5000, rows: 24, cols: 100 });
terminal.open(document.getElementById('terminal'));
terminal.onData(data => {
  if (consoleSession && consoleSession.socket.readyState === WebSocket.OPEN) {
    consoleSession.socket.send(data);
  }
});

/** The token from ?token= (then kept for this tab and removed from the address) or from earlier. */
function takeToken() {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (given) {
    sessionStorage.setItem('hako-token', given);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem('hako-token');
}

function showStatus(text, isError) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.className = isError ? 'error' : '';
}

/** Calls the API; resolves to the parsed JSON answer, rejects with the API's error message. */
async function api(method, path, body) {
  const headers = {};
  if (token) headers['Authorization'] = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) {
    if (response.status === 401) {
      throw new Error('the server needs its token: open this page as /?token=TOKEN (the server\'s token file)');
    }
    throw new Error(json && json.message ? json.message : method + ' ' + path + ': HTTP ' + response.status);
  }
  return json;
}

async function refresh() {
  try {
    const vms = await api('GET', '/vms');
    render(vms);
    if (!document.getElementById('status').classList.contains('error')) showStatus('');
  } catch (e) {
    showStatus(e.message, true);
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

function render(vms) {
  const seen = new Set();
  for (const vm of vms) {
    seen.add(vm.name);
    if (!rows.has(vm.name)) rows.set(vm.name, makeRow(vm.name));
    updateRow(rows.get(vm.name), vm);
  }
  for (const [name, entry] of rows) {
    if (!seen.has(name)) {
      entry.row.remove();
      rows.delete(name);
    }
  }
  document.getElementById('empty').hidden = vms.length > 0;
}

function makeRow(name) {
  const row = document.createElement('tr');
  row.dataset.vm = name;
  const cells = {};
  for (const key of ['name', 'state', 'vcpus', 'entitlement', 'memory', 'actions', 'set', 'chart']) {
    cells[key] = row.insertCell();
    cells[key].className = key;
  }
  cells.name.textContent = name;
  for (const action of ACTIONS) {
    cells.actions.append(button(action, action, () => act(name, action)));
  }
  cells.actions.append(button('console', 'console', () => openConsole(name)));
  const input = document.createElement('input');
  Object.assign(input, { type: 'number', min: '0.05', step: '0.01', className: 'entitlement' });
  input.setAttribute('aria-label', 'entitlement of ' + name + ' in cores');
  cells.set.append(input, button('apply', 'apply-entitlement', () => setEntitlement(name, input.value)));
  const canvas = document.createElement('canvas');
  Object.assign(canvas, { width: 240, height: 60, className: 'chart' });
  canvas.dataset.points = '0';
  cells.chart.append(canvas);
  document.querySelector('#vms tbody').append(row);
  return { row, cells, input, chart: { canvas, samples: [], count: 0, last: null } };
}

function button(label, action, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener('click', onClick);
  return b;
}

function updateRow(entry, vm) {
  const config = vm.config || {};
  const cpu = config.cpu || {};
  const vcpus = config.vcpus || 1;
  const entitlement = cpu.entitlement != null ? cpu.entitlement : vcpus * 1.0;
  const capped = cpu.capped !== false;
  entry.cells.state.textContent = vm.state + (vm.exit_reason ? ' (' + vm.exit_reason + ')' : '');
  entry.cells.state.className = 'state state-' + vm.state;
  entry.cells.vcpus.textContent = vcpus;
  entry.cells.entitlement.textContent = entitlement.toFixed(2) + (capped ? ' capped' : ' uncapped, weight '
      + (cpu.weight != null ? cpu.weight : 128));
  entry.cells.entitlement.dataset.value = String(entitlement);
  const memoryMib = vm.usage ? vm.usage.memory_bytes / 1048576 : config.memory_mib;
  entry.cells.memory.textContent = memoryMib != null ? Math.round(memoryMib) + ' MiB' : 'default';
  if (entry.input.value === '' && document.activeElement !== entry.input) {
    entry.input.value = entitlement.toFixed(2);
  }
  sample(entry.chart, vm, entitlement);
  draw(entry.chart, vcpus);
}

/** Adds a point while the VM runs: cores used since the last refresh (CPU seconds over wall seconds). */
function sample(chart, vm, entitlement) {
  const now = performance.now() / 1000;
  const cpuSeconds = vm.usage ? vm.usage.cpu_seconds : null;
  const previous = chart.last;
  chart.last = cpuSeconds == null ? null : { now, cpuSeconds };
  if (vm.state !== 'running' || previous == null || cpuSeconds == null || cpuSeconds < previous.cpuSeconds) {
    return;
  }
  const used = (cpuSeconds - previous.cpuSeconds) / Math.max(now - previous.now, 1e-3);
  chart.samples.push({ used, entitlement });
  if (chart.samples.length > CHART_POINTS) chart.samples.shift();
  chart.count++;
  chart.canvas.dataset.points = String(chart.count);
  chart.canvas.dataset.used = used.toFixed(3);
  chart.canvas.dataset.entitled = String(entitlement);
  chart.canvas.title = used.toFixed(2) + ' of ' + entitlement.toFixed(2) + ' cores';
}

function draw(chart, vcpus) {
  const { canvas, samples } = chart;
  const g = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  const top = Math.max(vcpus, ...samples.map(s => Math.max(s.used, s.entitlement))) * 1.1;
  const x = i => w - (samples.length - 1 - i) * (w / (CHART_POINTS - 1));
  const y = v => h - 2 - (v / top) * (h - 4);
  line(g, samples, x, s => y(s.entitlement), '#a86b00', [4, 3]);
  line(g, samples, x, s => y(s.used), '#1f6feb', []);
}

function line(g, samples, x, y, color, dash) {
  if (samples.length === 0) return;
  g.beginPath();
  g.setLineDash(dash);
  g.strokeStyle = color;
  g.lineWidth = 1.5;
  samples.forEach((s, i) => (i === 0 ? g.moveTo(x(i), y(s)) : g.lineTo(x(i), y(s))));
  g.stroke();
}

async function act(name, action) {
  try {
    if (action === 'start') openConsole(name);
    const vm = await api('POST', '/vms/' + encodeURIComponent(name) + '/' + action);
    showStatus(name + ': ' + vm.state);
    if (rows.has(name)) updateRow(rows.get(name), vm);
  } catch (e) {
    showStatus(name + ': ' + e.message, true);
  }
}

async function setEntitlement(name, value) {
  const entitlement = Number(value);
  if (value === '' || !Number.isFinite(entitlement)) {
    showStatus(name + ': the entitlement is a number of cores, such as 0.35', true);
    return;
  }
  try {
    const vm = await api('PUT', '/vms/' + encodeURIComponent(name) + '/cpu', { entitlement });
    showStatus(name + ': entitlement ' + entitlement.toFixed(2));
    if (rows.has(name)) updateRow(rows.get(name), vm);
  } catch (e) {
    showStatus(name + ': ' + e.message, true);
  }
}

/** Shows `name`'s serial console: its recent output first, then what comes; keys typed go to the guest. */
function openConsole(name) {
  if (consoleSession && consoleSession.name === name && consoleSession.socket.readyState <= WebSocket.OPEN) {
    return;
  }
  if (consoleSession) consoleSession.socket.close();
  terminal.reset();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let url = scheme + '//' + location.host + '/vms/' + encodeURIComponent(name) + '/console';
  if (token) url += '?token=' + encodeURIComponent(token);
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  const session = { name, socket };
  consoleSession = session;
  socket.onmessage = event => {
    terminal.write(typeof event.data === 'string' ? event.data : new Uint8Array(event.data));
  };
  socket.onclose = event => {
    if (consoleSession === session) {
      terminal.write('\r\n[console closed' + (event.reason ? ': ' + event.reason : '') + ']\r\n');
      consoleSession = null;
    }
  };
  document.getElementById('console-name').textContent = '— ' + name;
  document.getElementById('console-hint').hidden = true;
  for (const [vm, entry] of rows) entry.row.classList.toggle('selected', vm === name);
  terminal.focus();
}

/** The terminal's text, line by line (for scripts and tests: xterm draws into the DOM/canvas). */
window.hakoConsole = {
  terminalText() {
    const buffer = terminal.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      if (line) lines.push(line.translateToString(true));
    }
    return lines.join('\n');
  },
  consoleOf() {
    return consoleSession ? consoleSession.name : null;
  },
};

refresh();
