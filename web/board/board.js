// PneumoScan training board: polls the board server's JSON API and draws
// every run's scalars on canvases (runs overlaid, smoothed like TensorBoard),
// the latest images and a table of runs. Plain JS, no libraries, works offline.
'use strict';

const POLL_MS = 2000;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf',
                 '#bcbd22', '#7f7f7f'];
const state = {
  cursor: 0,
  series: {},        // run -> tag -> [[step, value, wall_time], ...]
  runs: [],          // /api/runs
  colours: {},       // run -> colour
  hidden: new Set(), // runs switched off in the table
  imageSteps: {},    // "run\u0000tag" -> step shown
  charts: {},        // tag -> {canvas, tooltip, points}
  polling: false,
};

const $ = (id) => document.getElementById(id);

function colourOf(run) {
  if (!(run in state.colours)) state.colours[run] = PALETTE[Object.keys(state.colours).length % PALETTE.length];
  return state.colours[run];
}

function format(value, digits = 4) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  return Number(value.toPrecision(digits)).toString();
}

// TensorBoard's smoothing: an exponential moving average with debiasing, so the
// first points are not pulled towards zero.
function smooth(points, weight) {
  let last = 0, count = 0;
  return points.map(([step, value]) => {
    if (!Number.isFinite(value)) return [step, value];
    last = last * weight + (1 - weight) * value;
    count += 1;
    const debias = weight === 1 ? 1 : 1 - Math.pow(weight, count);
    return [step, last / debias];
  });
}

function niceTicks(min, max, count) {
  const span = max - min || Math.abs(max) || 1;
  const step0 = span / count;
  const magnitude = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function visibleSeries(tag) {
  const out = [];
  for (const run of Object.keys(state.series).sort()) {
    if (state.hidden.has(run)) continue;
    const points = state.series[run][tag];
    if (points && points.length) out.push({ run, points });
  }
  return out;
}

function drawChart(tag) {
  const chart = state.charts[tag];
  const canvas = chart.canvas;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (width === 0) return;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);

  const weight = Number($('smoothing').value);
  const series = visibleSeries(tag).map((s) => ({ ...s, smoothed: smooth(s.points, weight) }));
  chart.points = series.reduce((n, s) => n + s.points.length, 0);
  canvas.dataset.points = String(chart.points);
  let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
  for (const s of series) {
    for (const [x, y] of s.points) {
      xmin = Math.min(xmin, x); xmax = Math.max(xmax, x);
      if (Number.isFinite(y)) { ymin = Math.min(ymin, y); ymax = Math.max(ymax, y); }
    }
  }
  if (!Number.isFinite(xmin) || !Number.isFinite(ymin)) {
    g.fillStyle = '#5d6b7a';
    g.fillText('no points', 10, 20);
    return;
  }
  if (xmax === xmin) { xmin -= 1; xmax += 1; }
  if (ymax === ymin) { ymin -= Math.abs(ymin) * 0.05 || 0.5; ymax += Math.abs(ymax) * 0.05 || 0.5; }
  const pad = (ymax - ymin) * 0.05;
  ymin -= pad; ymax += pad;
  const left = 52, right = 10, top = 8, bottom = 24;
  const px = (x) => left + (x - xmin) / (xmax - xmin) * (width - left - right);
  const py = (y) => top + (1 - (y - ymin) / (ymax - ymin)) * (height - top - bottom);
  chart.scale = { px, py, xmin, xmax, left, right, width, series };

  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = '#e3e8ee';
  g.fillStyle = '#5d6b7a';
  g.lineWidth = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const t of niceTicks(ymin, ymax, 4)) {
    g.beginPath(); g.moveTo(left, py(t)); g.lineTo(width - right, py(t)); g.stroke();
    g.fillText(format(t, 3), left - 4, py(t));
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const t of niceTicks(xmin, xmax, 5)) {
    if (t < xmin || t > xmax) continue;
    g.beginPath(); g.moveTo(px(t), top); g.lineTo(px(t), height - bottom); g.stroke();
    g.fillText(format(t, 6), px(t), height - bottom + 4);
  }

  const line = (points, colour, alpha, lineWidth) => {
    g.globalAlpha = alpha;
    g.strokeStyle = colour;
    g.lineWidth = lineWidth;
    g.beginPath();
    let pen = false;
    for (const [x, y] of points) {
      if (!Number.isFinite(y)) { pen = false; continue; }
      if (pen) g.lineTo(px(x), py(y)); else g.moveTo(px(x), py(y));
      pen = true;
    }
    g.stroke();
    if (points.length === 1 && Number.isFinite(points[0][1])) {
      g.fillStyle = colour;
      g.beginPath(); g.arc(px(points[0][0]), py(points[0][1]), 3, 0, 2 * Math.PI); g.fill();
    }
    g.globalAlpha = 1;
  };
  for (const s of series) {
    const colour = colourOf(s.run);
    if (weight > 0) line(s.points, colour, 0.25, 1);
    line(s.smoothed, colour, 1, 1.8);
  }
}

function showTooltip(tag, event) {
  const chart = state.charts[tag];
  if (!chart.scale) return;
  const rect = chart.canvas.getBoundingClientRect();
  const { xmin, xmax, left, right, width, series } = chart.scale;
  const x = xmin + (event.clientX - rect.left - left) / (width - left - right) * (xmax - xmin);
  const lines = [];
  for (const s of series) {
    let best = 0;
    for (let i = 1; i < s.points.length; i++)
      if (Math.abs(s.points[i][0] - x) < Math.abs(s.points[best][0] - x)) best = i;
    const [step, value] = s.points[best];
    lines.push(`<span style="color:${colourOf(s.run)}">■</span> ${escapeHtml(s.run)}: ${format(s.smoothed[best][1])}` +
               ` (raw ${format(value)}, step ${step})`);
  }
  if (!lines.length) return hideTooltip(tag);
  chart.tooltip.innerHTML = lines.join('<br>');
  chart.tooltip.hidden = false;
  const room = chart.box.clientWidth - chart.tooltip.offsetWidth - 4;
  chart.tooltip.style.left = `${Math.max(0, Math.min(event.clientX - rect.left + 14, room))}px`;
  chart.tooltip.style.top = `${event.clientY - rect.top + 30}px`;
}

function hideTooltip(tag) { state.charts[tag].tooltip.hidden = true; }

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function allTags() {
  const tags = new Set();
  for (const run of Object.values(state.series)) for (const tag of Object.keys(run)) tags.add(tag);
  // Per-epoch figures first, then per-step ones, then anything else.
  const rank = (t) => (t.startsWith('epoch/') ? 0 : t.startsWith('step/') ? 1 : 2);
  return [...tags].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function ensureCharts() {
  const filter = $('tag-filter').value.trim().toLowerCase();
  const container = $('charts');
  for (const tag of allTags()) {
    if (!state.charts[tag]) {
      const box = document.createElement('div');
      box.className = 'chart';
      box.dataset.tag = tag;
      const title = document.createElement('h3');
      title.textContent = tag;
      const canvas = document.createElement('canvas');
      canvas.dataset.tag = tag;
      const tooltip = document.createElement('div');
      tooltip.className = 'tooltip';
      tooltip.hidden = true;
      box.append(title, canvas, tooltip);
      canvas.addEventListener('mousemove', (e) => showTooltip(tag, e));
      canvas.addEventListener('mouseleave', () => hideTooltip(tag));
      state.charts[tag] = { canvas, tooltip, box, points: 0 };
      // Keep the sorted order when tags arrive later.
      const next = [...container.children].find((el) => allTags().indexOf(el.dataset.tag) > allTags().indexOf(tag));
      container.insertBefore(box, next || null);
    }
    state.charts[tag].box.hidden = filter !== '' && !tag.toLowerCase().includes(filter);
  }
}

function redraw(tags) {
  ensureCharts();
  for (const tag of tags || Object.keys(state.charts))
    if (state.charts[tag] && !state.charts[tag].box.hidden) drawChart(tag);
}

function configOf(run) {
  const text = run.texts && run.texts.config ? run.texts.config.text : '';
  // Written as an indented (markdown code) block of JSON.
  const json = text.split('\n').map((line) => line.replace(/^ {4}/, '')).join('\n');
  try { return { text: json, value: JSON.parse(json) }; } catch (e) { return { text: json, value: null }; }
}

function renderRuns() {
  const body = document.querySelector('#runs tbody');
  $('no-runs').hidden = state.runs.length > 0;
  const rows = state.runs.map((run) => {
    const s = run.scalars || {};
    const best = (tag) => (s[tag] ? `${format(s[tag].best)} <span class="muted">@${s[tag].best_step}</span>` : '–');
    const config = configOf(run);
    const arch = config.value && config.value.train ? config.value.train.architecture : (config.value || {}).architecture;
    const epochs = s['epoch/val_loss'] ? s['epoch/val_loss'].last_step : '–';
    const updated = run.updated ? new Date(run.updated * 1000).toLocaleTimeString() : '–';
    const errors = run.errors.map((e) => `<div class="error">${escapeHtml(e)}</div>`).join('');
    return `<tr data-run="${escapeHtml(run.name)}">
      <td><input type="checkbox" ${state.hidden.has(run.name) ? '' : 'checked'} aria-label="show run"></td>
      <td><span class="swatch" style="background:${colourOf(run.name)}"></span>${escapeHtml(run.name)}${errors}</td>
      <td>${escapeHtml(arch || '–')}</td>
      <td class="number">${epochs}</td>
      <td class="number">${best('epoch/val_loss')}</td>
      <td class="number">${best('epoch/val_roc_auc')}</td>
      <td class="number">${best('epoch/val_pr_auc')}</td>
      <td class="number">${s['epoch/images_per_second'] ? format(s['epoch/images_per_second'].last, 3) : '–'}</td>
      <td>${updated}</td>
      <td>${config.text ? `<details><summary>show</summary><pre>${escapeHtml(config.text)}</pre></details>` : '–'}</td>
    </tr>`;
  });
  // Keep open <details> open across refreshes: only rebuild when something changed.
  const html = rows.join('');
  if (body.dataset.html !== html) {
    const open = new Set([...body.querySelectorAll('details[open]')].map((d) => d.closest('tr').dataset.run));
    body.innerHTML = html;
    body.dataset.html = html;
    for (const tr of body.querySelectorAll('tr')) {
      if (open.has(tr.dataset.run)) tr.querySelector('details')?.setAttribute('open', '');
      tr.querySelector('input').addEventListener('change', (e) => {
        if (e.target.checked) state.hidden.delete(tr.dataset.run); else state.hidden.add(tr.dataset.run);
        redraw();
        renderImages();
      });
    }
  }
}

function renderImages() {
  const container = $('images');
  const byTag = {};
  for (const run of state.runs) {
    if (state.hidden.has(run.name)) continue;
    for (const [tag, info] of Object.entries(run.images || {})) (byTag[tag] = byTag[tag] || []).push({ run: run.name, ...info });
  }
  const tags = Object.keys(byTag).sort();
  const wanted = new Set(tags);
  for (const el of [...container.children]) if (!wanted.has(el.dataset.tag)) el.remove();
  for (const tag of tags) {
    let section = [...container.children].find((el) => el.dataset.tag === tag);
    if (!section) {
      section = document.createElement('div');
      section.dataset.tag = tag;
      section.innerHTML = `<h3>${escapeHtml(tag)}</h3><div class="image-row"></div>`;
      container.appendChild(section);
    }
    const row = section.querySelector('.image-row');
    for (const item of byTag[tag]) {
      const key = `${item.run}\u0000${tag}`;
      let figure = [...row.children].find((el) => el.dataset.run === item.run);
      if (!figure) {
        figure = document.createElement('figure');
        figure.dataset.run = item.run;
        figure.innerHTML = '<img alt=""><figcaption></figcaption>';
        row.appendChild(figure);
      }
      if (state.imageSteps[key] !== item.step) {
        state.imageSteps[key] = item.step;
        const img = figure.querySelector('img');
        img.alt = `${tag} of ${item.run} at step ${item.step}`;
        img.src = `api/image?run=${encodeURIComponent(item.run)}&tag=${encodeURIComponent(tag)}&step=${item.step}`;
        figure.querySelector('figcaption').textContent = `${item.run} · step ${item.step} · ${item.width}×${item.height}`;
      }
    }
  }
}

async function getJson(url) {
  const response = await fetch(url, { cache: 'no-store' });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function poll() {
  if (state.polling) return;
  state.polling = true;
  try {
    const [scalars, runs] = await Promise.all([getJson(`api/scalars?since=${state.cursor}`), getJson('api/runs')]);
    const changed = new Set();
    for (const [run, tags] of Object.entries(scalars.series)) {
      colourOf(run);
      const target = (state.series[run] = state.series[run] || {});
      for (const [tag, points] of Object.entries(tags)) {
        (target[tag] = target[tag] || []).push(...points.map(([s, v, w]) => [s, v === null ? NaN : v, w]));
        changed.add(tag);
      }
    }
    state.cursor = scalars.cursor;
    state.runs = runs;
    renderRuns();
    redraw([...changed]);
    renderImages();
    const dropped = scalars.dropped ? ` · ${scalars.dropped} points over the memory limit not shown` : '';
    $('status').classList.remove('error');
    $('status').textContent = `${runs.length} run${runs.length === 1 ? '' : 's'} · ${state.cursor} points · ` +
        `checked ${new Date().toLocaleTimeString()}${dropped}`;
  } catch (error) {
    $('status').classList.add('error');
    $('status').textContent = `cannot reach the board server (${error.message}); retrying`;
  } finally {
    state.polling = false;
  }
}

$('smoothing').addEventListener('input', () => {
  $('smoothing-value').textContent = Number($('smoothing').value).toFixed(2);
  redraw();
});
$('tag-filter').addEventListener('input', () => redraw());
window.addEventListener('resize', () => redraw());
setInterval(() => { if ($('live').checked) poll(); }, POLL_MS);
poll();
