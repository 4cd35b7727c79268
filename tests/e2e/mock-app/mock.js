// Mock of the lab's e2e contract (not the real app); see tests/e2e/README.md.
const notices = [];
const q = new URLSearchParams(location.search);
const state = { beta: 4, k: 8, preset: 'circle-even', form: 'dot' };
if (q.has('beta')) {
  const b = Number(q.get('beta'));
  if (Number.isFinite(b) && b >= 0.1 && b <= 100) state.beta = b; else notices.push(`bad beta ${q.get('beta').slice(0, 20)}`);
}
if (q.has('k')) {
  const k = Number(q.get('k'));
  if (Number.isInteger(k) && k >= 1 && k <= 1000) state.k = k; else notices.push('bad k');
}
if (q.has('preset')) {
  const p = q.get('preset');
  if (['circle-even', 'circle-random', 'square-random'].includes(p)) state.preset = p; else notices.push('unknown preset');
}
if (q.has('pts')) {
  const ok = q.get('pts').length < 10000 && q.get('pts').split(';').every((s) => /^-?[\d.]+,-?[\d.]+$/.test(s));
  if (!ok) notices.push('bad pts');
}
if (q.has('view')) {
  const v = q.get('view').split(',').map(Number);
  if (!(v.length === 3 && v.every(Number.isFinite) && v[2] > 0)) notices.push('bad view');
}
const el = (tag, attrs = {}, text) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
};
document.getElementById('boot').remove();
const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
const backend = el('p', { 'data-testid': 'backend', 'data-backend': adapter ? 'webgpu' : 'cpu' },
  adapter ? `WebGPU · ${adapter.info.vendor} ${adapter.info.architecture}` : 'CPU fallback (no WebGPU adapter)');
document.body.append(backend);
for (const n of notices) document.body.append(el('p', { 'data-testid': 'notice', role: 'status' }, n));
const panel = el('section', { 'data-testid': 'panel-dense-am' });
const canvas = el('canvas', { 'data-testid': 'energy-canvas', width: 512, height: 512, style: 'width:512px;height:512px' });
const slider = el('input', { 'data-testid': 'beta-slider', type: 'range', min: -1, max: 2, step: 0.001, value: Math.log10(state.beta) });
const betaValue = el('span', { 'data-testid': 'beta-value' });
const preset = el('select', { 'data-testid': 'preset' });
for (const p of ['circle-even', 'circle-random', 'square-random']) preset.append(el('option', { value: p }, p));
preset.value = state.preset;
const kInput = el('input', { 'data-testid': 'k-input', type: 'number', min: 1, max: 1000, value: state.k });
const summary = el('div', { 'data-testid': 'attractor-summary' });
const list = el('ul', { 'data-testid': 'attractor-list' });
panel.append(canvas, slider, betaValue, preset, kInput, summary, list);
document.body.append(panel);
function draw() {
  const g = canvas.getContext('2d');
  const img = g.createImageData(512, 512);
  for (let i = 0; i < 512 * 512; i++) {
    const x = (i % 512) / 256 - 1, y = Math.floor(i / 512) / 256 - 1;
    let s = 0;
    for (let j = 0; j < state.k; j++) { const a = 2 * Math.PI * j / state.k; s += Math.exp(state.beta * (x * Math.cos(a) + y * Math.sin(a))); }
    const e = -Math.log(s) / state.beta + 0.5 * (x * x + y * y);
    const c = Math.max(0, Math.min(255, 128 + 100 * e));
    img.data.set([c, 255 - c, 128, 255], i * 4);
  }
  g.putImageData(img, 0, 0);
}
function compute() {
  summary.dataset.state = 'computing';
  setTimeout(() => {
    const stored = state.beta > 1 ? state.k : 1, spurious = state.beta > 1 ? 0 : 1;
    summary.dataset.stored = stored; summary.dataset.spurious = spurious;
    summary.dataset.retrievalFraction = state.beta > 1 ? 1 : 0;
    list.replaceChildren(...Array.from({ length: stored + spurious }, (_, i) => el('li', {}, `attractor ${i}`)));
    summary.textContent = `${stored} stored, ${spurious} spurious`;
    summary.dataset.state = 'done';
  }, 50);
}
function update() {
  betaValue.textContent = `β = ${state.beta.toFixed(3)}`;
  const p = new URLSearchParams({ beta: String(state.beta), k: String(state.k), preset: state.preset });
  history.replaceState(null, '', '?' + p);
  draw(); compute();
}
slider.addEventListener('input', () => { state.beta = Number((10 ** Number(slider.value)).toPrecision(6)); update(); });
update();
document.body.dataset.firstFrameMs = String(Math.round(performance.now()));
function button(id, resultId, run) {
  const b = el('button', { 'data-testid': id }, id);
  const r = el('div', { 'data-testid': resultId });
  b.addEventListener('click', async () => { r.dataset.state = 'running'; await run(r); r.dataset.state = 'done'; });
  document.body.append(b, r);
}
button('run-shader-check', 'shader-check', (r) => { r.dataset.maxRelErr = '3e-7'; });
button('run-train-probe', 'train-probe', (r) => { r.dataset.losses = '[1.1,0.6,0.3,0.1]'; r.dataset.device = adapter ? 'webgpu' : 'cpu'; });
button('run-frame-bench', 'frame-bench', (r) => { r.dataset.gpuMs = '12.5'; r.dataset.cpuMs = '250'; });
