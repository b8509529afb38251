// PneumoScan web page: uploads one X-ray to /api/v1/predict and shows the
// result (diagnosis, input check, uncertainty, X-ray and heatmap side by
// side, similar cases); with a DICOM node, the live triage worklist, whose
// rows open the same case view. Plain JavaScript, no dependencies, works offline.
'use strict';

const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

// Set from /api/v1/health: the server has a case index, so ask for similar cases.
let hasIndex = false;
const kSimilarCases = 5;

function authHeaders() {
  const token = $('token').value.trim();
  return token ? { Authorization: 'Bearer ' + token } : {};
}

async function showModel() {
  try {
    const response = await fetch('api/v1/health');
    const health = await response.json();
    const m = health.model;
    hasIndex = health.index !== null && health.index !== undefined;
    $('model-info').textContent = `Model: ${m.name} (${m.architecture}, ${m.version})`;
    if (health.worklist) startWorklist();
  } catch (e) {
    $('model-info').textContent = 'Server not reachable.';
  }
}

function showSimilar(similar) {
  const list = $('similar-list');
  list.replaceChildren();
  const present = Array.isArray(similar) && similar.length > 0;
  $('similar-cases').hidden = !present;
  if (!present) return;
  for (const item of similar) {
    const li = document.createElement('li');
    if (item.thumbnail) {
      const img = document.createElement('img');
      img.src = item.thumbnail;
      img.alt = item.label || 'similar case';
      li.append(img);
    }
    const caption = document.createElement('div');
    const similarity = typeof item.similarity === 'number' ? ` (${item.similarity.toFixed(3)})` : '';
    caption.textContent = `${item.label || ''}${similarity}`;
    const path = document.createElement('div');
    path.className = 'muted';
    path.textContent = item.path || '';
    li.append(caption, path);
    list.append(li);
  }
}

function showGate(gate) {
  const status = gate ? gate.status : 'ok';
  $('gate').hidden = status === 'ok';
  $('gate').className = status;
  $('gate-title').textContent = status === 'refuse'
    ? 'Not analysed: the input check refused this image'
    : 'Input check warnings (the diagnosis stands, with these caveats)';
  $('gate-reasons').replaceChildren(...((gate && gate.reasons) || []).map((reason) => {
    const li = document.createElement('li');
    li.textContent = reason.message;
    return li;
  }));
}

// `images`: {xray, overlay, overlayOpacity} URLs to show side by side, or null.
function showResult(result, images, source) {
  $('case-source').textContent = source || '';
  showGate(result.gate);
  const diagnosed = typeof result.probability === 'number';
  $('diagnosis').hidden = !diagnosed;
  if (diagnosed) {
    const positive = result.probability >= result.threshold;
    $('label').textContent = result.label;
    $('label').className = positive ? 'positive' : 'negative';
    $('probability').textContent = result.probability.toFixed(3);
    $('threshold').textContent = result.threshold.toFixed(3);
    $('type').textContent = positive && result.type ? `· most likely ${result.type.toLowerCase()}` : '';
    $('probability-bar').style.width = `${(100 * result.probability).toFixed(1)}%`;
    $('threshold-mark').style.left = `${(100 * result.threshold).toFixed(1)}%`;
    const u = result.uncertainty;
    $('uncertainty').textContent = u
      ? `P(pneumonia) ranges ${u.low.toFixed(3)}–${u.high.toFixed(3)} over ${u.samples} ` +
        `${u.method === 'ensemble' ? 'ensemble members' : 'test-time augmentations'}` +
        (u.uncertain ? ': uncertain, another look could change the label' : ': certain')
      : '';
    $('uncertainty').className = u && u.uncertain ? 'uncertain' : '';
  }
  const t = result.timing_ms || {};
  const model = result.model ? result.model.name : (result.provenance ? result.provenance.model : '');
  $('timing').textContent = t.total !== undefined
    ? `${model} · total ${t.total.toFixed(0)} ms (inference ${t.inference.toFixed(0)} ms)`
    : model;

  $('viewer').hidden = !images;
  if (images) {
    $('xray-plain').src = images.xray;
    $('xray').src = images.xray;
    $('heatmap').src = images.overlay;
    $('heatmap').style.opacity = images.overlayOpacity;
    $('opacity').value = Math.round(100 * images.overlayOpacity);
    $('opacity-value').textContent = `${$('opacity').value}%`;
    $('method-used').textContent = images.method ? `Explanation: ${images.method}` : '';
  }
  showSimilar(result.similar);
  $('result').hidden = false;
}

async function predict(file) {
  const method = $('method').value;
  const params = [];
  if (method) params.push(`explain=${encodeURIComponent(method)}`);
  if (hasIndex) params.push(`similar=${kSimilarCases}`);
  const url = 'api/v1/predict' + (params.length ? '?' + params.join('&') : '');
  const form = new FormData();
  form.append('file', file, file.name);
  setStatus(`Analysing ${file.name} …`);
  try {
    const response = await fetch(url, { method: 'POST', body: form, headers: authHeaders() });
    const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
    if (response.status === 401) $('token-field').hidden = false;
    if (response.status === 422 && body.gate) {  // refused by the input check: say why
      setStatus(`${file.name} was not analysed`, true);
      showResult(body, null, file.name);
      return;
    }
    if (!response.ok) {
      setStatus(body.error || `HTTP ${response.status}`, true);
      return;
    }
    setStatus(`Result for ${file.name}`);
    const e = body.explanation;
    showResult(body, e ? { xray: e.image, overlay: e.heatmap, overlayOpacity: $('opacity').value / 100,
                           method: e.method } : null, file.name);
  } catch (e) {
    setStatus(`Request failed: ${e.message}`, true);
  }
}

function setUpUpload() {
  const zone = $('drop-zone');
  $('file-input').addEventListener('change', (event) => {
    if (event.target.files.length > 0) predict(event.target.files[0]);
  });
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    if (event.dataTransfer.files.length > 0) predict(event.dataTransfer.files[0]);
  });
  $('opacity').addEventListener('input', (event) => {
    $('heatmap').style.opacity = event.target.value / 100;
    $('opacity-value').textContent = `${event.target.value}%`;
  });
}

// --- The live worklist (GET api/v1/worklist, polled) ----------------------

let worklistTimer = null;
let worklistEntries = [];

function matchesFilter(entry, filter) {
  if (filter === 'attention') return entry.status !== 'diagnosed';
  if (filter === 'positive') return entry.label === 'PNEUMONIA';
  if (filter === 'uncertain') return entry.uncertain;
  return true;
}

function renderWorklist() {
  const filter = $('worklist-filter').value;
  const rows = worklistEntries.filter((entry) => matchesFilter(entry, filter)).map((entry) => {
    const tr = document.createElement('tr');
    tr.dataset.id = entry.id;
    tr.className = [entry.gate_status === 'refuse' ? 'refuse' : '', entry.status === 'failed' ? 'failed' : '',
                    entry.label === 'PNEUMONIA' ? 'positive' : ''].join(' ').trim();
    const cells = [
      entry.received_at.replace('T', ' ').replace('Z', ''),
      `${entry.study_instance_uid}\n${entry.series_instance_uid}`,
      typeof entry.probability === 'number' ? `${entry.probability.toFixed(3)} ${entry.label}` : '—',
      entry.label === 'PNEUMONIA' && entry.type ? entry.type.toLowerCase() : '',
      entry.status === 'failed' ? 'unreadable' : entry.gate_status +
        (entry.gate_reasons.length ? `: ${entry.gate_reasons.join('; ')}` : ''),
      entry.status !== 'diagnosed' ? '' : entry.uncertain ? 'uncertain' : 'certain',
    ];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i === 1) td.className = 'uid';
      tr.append(td);
    });
    tr.addEventListener('click', () => openWorklistEntry(entry.id));
    return tr;
  });
  $('worklist-table').tBodies[0].replaceChildren(...rows);
  $('worklist-count').textContent = `(${worklistEntries.length})`;
}

async function refreshWorklist() {
  try {
    const response = await fetch('api/v1/worklist', { headers: authHeaders() });
    if (response.status === 401) $('token-field').hidden = false;
    if (!response.ok) return;
    const body = await response.json();
    worklistEntries = body.entries;
    renderWorklist();
  } catch (e) {
    // the next poll tries again
  }
}

async function openWorklistEntry(id) {
  const response = await fetch(`api/v1/worklist/${id}`, { headers: authHeaders() });
  if (!response.ok) {
    setStatus(`Worklist entry ${id}: HTTP ${response.status}`, true);
    return;
  }
  const entry = await response.json();
  const result = entry.result || {};
  const base = `api/v1/worklist/${id}`;
  const images = entry.has_xray
    ? { xray: `${base}/xray.jpg`, overlay: entry.has_overlay ? `${base}/overlay.jpg` : `${base}/xray.jpg`,
        overlayOpacity: 1, method: entry.has_overlay ? 'gradcam' : '' }
    : null;
  if (entry.status === 'failed') result.gate = { status: 'refuse', reasons: [{ message: entry.gate_reasons[0] }] };
  setStatus(`Worklist study ${entry.study_instance_uid}`);
  showResult(result, images, `Study ${entry.study_instance_uid}, received ${entry.received_at}`);
  $('result').scrollIntoView({ behavior: 'smooth' });
}

function startWorklist() {
  $('worklist').hidden = false;
  $('worklist-filter').addEventListener('change', renderWorklist);
  refreshWorklist();
  if (!worklistTimer) worklistTimer = setInterval(refreshWorklist, 2000);
}

setUpUpload();
showModel();
