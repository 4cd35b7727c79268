// Soak benchmark (issue 18, item 6): one tab kept busy for a long time — the toy trained and
// sampled in the tab, the Dense Associative Memory's β swept, an image point trained in the
// tab, and the views switched between — with the JS heap, the wasm memories and the live
// WebGPU buffers sampled every minute. A benchmark, not a test: it prints each sample and the
// least-squares slope of each measure after the warm-up, and writes them as JSON.
//
//   node scripts/soak.mjs [--minutes 30] [--warmup 5] [--out test-artifacts/soak.json] [--heap-diff]
//
// --heap-diff takes a V8 heap snapshot (DevTools protocol) at the first sample after the warm-up
// and another at the end, and prints what grew between them: retained objects grouped by
// constructor (or by kind: strings, closures, code, arrays), count and bytes, largest growth
// first, per round — to name what a heap slope is made of.
//
// Needs dist/ (bash scripts/build-web.sh) and the test command's Chromium and Playwright.
// The heap is read after a forced garbage collection (--js-flags=--expose-gc), so a slope is
// memory that is kept, not garbage not yet collected. "Live GPU buffers" are those created on
// the page's devices and neither destroyed nor collected (counted by wrapping createBuffer and
// destroy, with a FinalizationRegistry for the ones the garbage collector takes).
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser, serve, watchPage, describeLog, waitForFirstFrame } from '../tests/e2e/lab.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const MINUTES = Number(arg('minutes', 30));
const WARMUP = Number(arg('warmup', 5));
const OUT = arg('out', path.join('test-artifacts', 'soak.json'));
const HEAP_DIFF = process.argv.includes('--heap-diff');

const server = await serve();
const browser = await launchBrowser({ webgpu: true, extraArgs: ['--js-flags=--expose-gc', '--enable-precise-memory-info'] });
const { page, context } = browser;
const log = watchPage(page);
await context.addInitScript(() => {
  const live = { created: 0, destroyed: 0, collected: 0, bytes: 0 };
  window.__gpuBuffers = live;
  if (!self.GPUDevice) return;
  const gone = new FinalizationRegistry((size) => {
    live.collected += 1;
    live.bytes -= size;
  });
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (desc) {
    const b = create.call(this, desc);
    live.created += 1;
    live.bytes += desc.size;
    b.__size = desc.size;
    gone.register(b, desc.size, b);
    return b;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    if (!this.__destroyed) {
      this.__destroyed = true;
      live.destroyed += 1;
      live.bytes -= this.__size || 0;
      gone.unregister(this);
    }
    return destroy.call(this);
  };
});

/** A heap snapshot (after a forced collection) as a map from group to { count, bytes }. */
async function heapGroups() {
  await page.evaluate(() => window.gc && window.gc());
  const cdp = await context.newCDPSession(page);
  const chunks = [];
  cdp.on('HeapProfiler.addHeapSnapshotChunk', (e) => chunks.push(e.chunk));
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  await cdp.detach();
  const snap = JSON.parse(chunks.join(''));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [ti, ni, si] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const groups = new Map();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + ti]];
    const key = type === 'object' || type === 'native' ? `${type} ${snap.strings[snap.nodes[i + ni]]}` : `(${type})`;
    const g = groups.get(key) || { count: 0, bytes: 0 };
    g.count += 1;
    g.bytes += snap.nodes[i + si];
    groups.set(key, g);
  }
  return groups;
}

const wait = (fn, arg, timeout = 600_000) => page.waitForFunction(fn, arg, { timeout });
const view = async (slug) => {
  await page.locator(`[data-testid="view-link-${slug}"]`).click();
  await wait((s) => document.querySelector('[data-testid="views"]')?.dataset.view === s, slug);
};

async function measure(minute, rounds) {
  return page.evaluate(async ([minute, rounds]) => {
    if (window.gc) window.gc();
    await new Promise((r) => setTimeout(r, 200));
    const mem = performance.memory || {};
    const wasm = window.__memgenWasm?.memory?.buffer?.byteLength ?? null;
    const g = window.__gpuBuffers || {};
    return {
      minute,
      rounds,
      js_heap_mb: (mem.usedJSHeapSize || 0) / 2 ** 20,
      wasm_mb: wasm === null ? null : wasm / 2 ** 20,
      gpu_buffers_live: (g.created || 0) - (g.destroyed || 0) - (g.collected || 0),
      gpu_buffer_mb: (g.bytes || 0) / 2 ** 20,
      dom_nodes: document.getElementsByTagName('*').length,
    };
  }, [minute, rounds]);
}

// One round of work, about a minute or two on SwiftShader and 2 cores.
async function round(i) {
  await view('memory');
  await page.locator('[data-testid="beta-slider"]').evaluate((el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, String(200 + (i % 5) * 150));
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  await view('toy');
  await page.locator('[data-testid="toy-train"]').click();
  await wait(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained');
  await page.locator('[data-testid="toy-sample"]').click();
  await wait(() => (document.querySelector('[data-testid="toy-centroids"]')?.dataset.nearFraction || '') !== '');
  await view('images');
  await wait(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state !== 'loading');
  await view('data');
  await view('system');
}

const start = Date.now();
const samples = [];
await page.goto(`${server.url}?tk=2&tsteps=300&tn=400#/memory`, { waitUntil: 'load', timeout: 300_000 });
await waitForFirstFrame(page);
let rounds = 0;
let next = 0;
let heapAt = null;
while ((Date.now() - start) / 60_000 < MINUTES) {
  const minute = (Date.now() - start) / 60_000;
  if (minute >= next) {
    const s = await measure(Number(minute.toFixed(2)), rounds);
    samples.push(s);
    console.log(JSON.stringify(s));
    next = Math.floor(minute) + 1;
    if (HEAP_DIFF && !heapAt && minute >= WARMUP) heapAt = { rounds, groups: await heapGroups() };
  }
  await round(rounds);
  rounds += 1;
}
samples.push(await measure(Number(((Date.now() - start) / 60_000).toFixed(2)), rounds));
console.log(JSON.stringify(samples.at(-1)));

// Least-squares slope per minute of each measure over the samples after the warm-up.
const slope = (key) => {
  const pts = samples.filter((s) => s.minute >= WARMUP && s[key] !== null).map((s) => [s.minute, s[key]]);
  if (pts.length < 2) return null;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const sxy = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : null;
};
const keys = ['js_heap_mb', 'wasm_mb', 'gpu_buffers_live', 'gpu_buffer_mb', 'dom_nodes'];
let heapDiff = null;
if (heapAt) {
  const end = await heapGroups();
  const per = Math.max(1, rounds - heapAt.rounds);
  heapDiff = [...new Set([...end.keys(), ...heapAt.groups.keys()])]
    .map((k) => {
      const [a, b] = [heapAt.groups.get(k) || { count: 0, bytes: 0 }, end.get(k) || { count: 0, bytes: 0 }];
      return { group: k, count: b.count - a.count, bytes: b.bytes - a.bytes, bytes_per_round: (b.bytes - a.bytes) / per };
    })
    .filter((d) => d.bytes !== 0 || d.count !== 0)
    .sort((x, y) => y.bytes - x.bytes);
  const total = heapDiff.reduce((a, d) => a + d.bytes, 0);
  console.log(`heap diff over ${per} rounds (from round ${heapAt.rounds}): ${total} bytes in all, ${(total / per).toFixed(0)} a round; largest growth:`);
  for (const d of heapDiff.slice(0, 15)) console.log(`  ${d.group}: ${d.count >= 0 ? '+' : ''}${d.count} objects, ${d.bytes >= 0 ? '+' : ''}${d.bytes} bytes (${d.bytes_per_round.toFixed(0)} a round)`);
  console.log('largest shrink:');
  for (const d of heapDiff.slice(-5)) console.log(`  ${d.group}: ${d.count} objects, ${d.bytes} bytes`);
}
const report = {
  minutes: MINUTES,
  warmup_minutes: WARMUP,
  rounds,
  samples,
  slope_per_minute_after_warmup: Object.fromEntries(keys.map((k) => [k, slope(k)])),
  heap_diff: heapDiff?.slice(0, 40) ?? null,
  errors: { page: log.pageErrors, console: log.consoleErrors },
};
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, JSON.stringify(report, null, 2));
console.log(`soak: ${rounds} rounds in ${MINUTES} min; slope per minute after minute ${WARMUP}:`);
for (const k of keys) console.log(`  ${k}: ${report.slope_per_minute_after_warmup[k]?.toFixed(4) ?? 'n/a'}`);
if (log.pageErrors.length || log.consoleErrors.length) console.log(describeLog(log));
console.log(`written: ${OUT}`);
await browser.close();
await server.close();
