// PneumoScan web page: uploads one X-ray to /api/v1/predict and shows the
// result. Plain JavaScript, no dependencies, works offline.
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

function showResult(result) {
  const positive = result.probability >= result.threshold;
  $('label').textContent = result.label;
  $('label').className = positive ? 'positive' : 'negative';
  $('probability').textContent = result.probability.toFixed(3);
  $('threshold').textContent = result.threshold.toFixed(3);
  $('probability-bar').style.width = `${(100 * result.probability).toFixed(1)}%`;
  $('threshold-mark').style.left = `${(100 * result.threshold).toFixed(1)}%`;
  const t = result.timing_ms;
  $('timing').textContent =
      `${result.model.name} · total ${t.total.toFixed(0)} ms (inference ${t.inference.toFixed(0)} ms)`;

  const explanation = result.explanation;
  $('viewer').hidden = !explanation;
  if (explanation) {
    $('xray').src = explanation.image;
    $('heatmap').src = explanation.heatmap;
    $('method-used').textContent = `Explanation: ${explanation.method}`;
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
    if (!response.ok) {
      setStatus(body.error || `HTTP ${response.status}`, true);
      return;
    }
    setStatus(`Result for ${file.name}`);
    showResult(body);
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

setUpUpload();
showModel();
