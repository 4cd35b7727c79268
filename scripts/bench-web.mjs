#!/usr/bin/env node
// Benchmark of the built web app (a measurement, not a test): run after scripts/build-web.sh.
//
//   node scripts/bench-web.mjs [--runs 3] [--json out.json] [--dist dist] [--query ''] [--bench-query '?k=1000']
//
// Reports
//   - gzip -9 sizes (node zlib, level 9) of the shipped .wasm and .js files in dist/, and of
//     those the default view's first load actually fetches (the lite module, src/lite.rs)
//   - time from navigation start to the first energy heatmap frame (body[data-first-frame-ms])
//     in headless Chromium on WebGPU (SwiftShader), median of N fresh loads (fresh profile each)
//     of the default view (--query)
//   - the toy's two CPU trainers in the tab ([data-testid=run-toy-cpu]): burn's autodiff on its
//     CPU backend vs the fused trainer the toy panel uses, same seed, steps/s and their ratio
//   - the image UNet (94k parameters, MNIST 28×28, K = 8, batch 8) in the Phase transition
//     panel: training steps/s and sampling network evaluations/s (DDIM) on the CPU backend in
//     the tab, then training on WebGPU in the worker, in one page (--unet-gpu-steps 0 skips it)
//   - the in-page frame benchmark ([data-testid=run-frame-bench]) in a page opened with
//     --bench-query (default ?k=1000): 512×512 grid, K = 1000,
//     WebGPU vs the CPU path in the same page, and their ratio
//   - with --live-defaults K, only the in-tab point with the panel's default settings on MNIST's
//     S_K at K: each phase's wall time, its labels and its sample quality
//   - with --probe K, only the live probe of the shipped MNIST bundle's first gallery sample at
//     K (its probe file's settings: the paper's 10 trials, 20 DDIM steps, stride 25): the basin
//     and the 784-value spectrum on the CPU in the tab, then on WebGPU in the worker (its start
//     and kernel compilation included), and `memgen probe` of the same sample natively
// as a table on stderr and JSON on stdout (and in --json FILE).
// SwiftShader is a CPU emulation of a GPU: absolute GPU times here are not a real GPU's; the
// ratio says how the two paths compare on this machine.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { openLab, openView, waitForFirstFrame, waitForResult, memgenBin, DIST } from '../tests/e2e/lab.mjs';

function parseArgs(argv) {
  const o = { runs: 3, json: null, dist: DIST, query: '', benchQuery: '?k=1000', unetSteps: 40, unetGpuSteps: 6, unetOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') o.runs = Math.max(1, Number(argv[++i]) | 0);
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--dist') o.dist = path.resolve(argv[++i]);
    else if (a === '--query') o.query = argv[++i];
    else if (a === '--bench-query') o.benchQuery = argv[++i];
    else if (a === '--unet-steps') o.unetSteps = Math.max(1, Number(argv[++i]) | 0);
    else if (a === '--unet-gpu-steps') o.unetGpuSteps = Math.max(0, Number(argv[++i]) | 0);
    else if (a === '--unet-only') o.unetOnly = true;
    else if (a === '--live-defaults') o.liveDefaults = Number(argv[++i]) | 0;
    else if (a === '--probe') o.probe = Number(argv[++i]) | 0;
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/bench-web.mjs [--runs 3] [--json FILE] [--dist dist] [--query ""] [--bench-query "?k=1000"] [--unet-steps 40] [--unet-gpu-steps 6] [--unet-only] [--live-defaults K] [--probe K]');
      process.exit(0);
    } else throw new Error(`bench-web: unknown argument ${a}`);
  }
  return o;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function listFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out;
}

function sizes(dist) {
  const files = listFiles(dist).filter((f) => /\.(wasm|js|mjs)$/.test(f));
  const rows = files.map((f) => {
    const buf = fs.readFileSync(f);
    return { file: path.relative(dist, f), bytes: buf.length, gzip9: zlib.gzipSync(buf, { level: 9 }).length };
  });
  const sum = (k, re) => rows.filter((r) => re.test(r.file)).reduce((a, r) => a + r[k], 0);
  return {
    files: rows,
    wasm_gzip9: sum('gzip9', /\.wasm$/),
    js_gzip9: sum('gzip9', /\.m?js$/),
    total_gzip9: sum('gzip9', /./),
    wasm_bytes: sum('bytes', /\.wasm$/),
  };
}

/** Clicks "Train, generate and label" and polls the point's phase until it is done or failed
 * (a benchmark, so polling is fine): when each phase was first seen, and the start. */
async function runLivePoint(page, limitMs) {
  await page.locator('[data-testid="live-run"]').click();
  const seen = {};
  const t0 = Date.now();
  for (;;) {
    const st = await page.locator('[data-testid="live-progress"]').getAttribute('data-state');
    if (!(st in seen)) seen[st] = Date.now();
    if (st === 'done' || /^error/.test(st)) break;
    if (Date.now() - t0 > limitMs) throw new Error(`the point did not finish in ${limitMs / 60_000} min`);
    await page.waitForTimeout(100);
  }
  return { seen, t0 };
}

/** The live probe of the shipped bundle's first gallery sample at K = `opts.probe`: basin and
 * spectrum on the CPU in the tab, then on WebGPU in the worker; `memgen probe` natively. */
async function benchProbe(opts) {
  const k = opts.probe;
  const live = '[data-testid="basins-live"]';
  const run = async (page, button) => {
    await page.locator(`[data-testid="${button}"]`).click();
    await page.waitForFunction((sel) => /^(done|error|cancelled)/.test(document.querySelector(sel)?.dataset.state || ''), live, { timeout: 3_600_000 });
    return page.evaluate((sel) => ({ ...document.querySelector(sel).dataset }), live);
  };
  const lab = await openLab(null, { webgpu: true, query: '#/images', dir: opts.dist });
  const out = { k };
  try {
    const page = lab.page;
    await page.waitForFunction((k) => (document.querySelector('[data-testid="basins"]')?.dataset.ks || '').split(',').includes(String(k)), k, { timeout: 300_000 });
    await page.locator(`[data-testid="sweep-k${k}"]`).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done', null, { timeout: 300_000 });
    const row = page.locator('[data-testid="sweep-sample"]').first();
    out.index = Number(await row.getAttribute('data-index'));
    await row.click();
    const gpu = page.locator('[data-testid="basins-live-gpu"]');
    for (const on of ['cpu', 'webgpu']) {
      if (on === 'webgpu') await gpu.check();
      else await gpu.uncheck();
      const basin = await run(page, 'basins-live-run');
      const spectrum = await run(page, 'basins-live-spectrum');
      out[on] = { state: [basin.state, spectrum.state], ran_on: [basin.ranOn, spectrum.ranOn], basin_ms: Number(basin.probeMs), spectrum_ms: Number(spectrum.spectrumMs), t_c: basin.tC, levels: basin.levels, top_singular_value: Number(spectrum.spectrum.split(',')[0]) };
    }
    if (lab.log.pageErrors.length) out.page_errors = lab.log.pageErrors;
  } finally {
    await lab.close();
  }
  // memgen probe of the same sample from a copy of the bundle without its probe files (its
  // defaults are the shipped files' settings).
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-bench-probe-'));
  try {
    const shipped = path.join(opts.dist, 'www', 'bundles', 'mnist');
    for (const f of fs.readdirSync(shipped)) if (!f.startsWith('probe-')) fs.copyFileSync(path.join(shipped, f), path.join(copy, f));
    const native = JSON.parse(execFileSync(memgenBin(), ['probe', '--bundle', copy, '--ks', String(k), '--samples', '1', '--train-points', '0',
      '--data-dir', path.join(opts.dist, 'www', 'data')], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
    out.native_s = native.seconds;
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
  const both = (r) => (r.basin_ms + r.spectrum_ms) / 1000;
  out.ratios = { webgpu_over_cpu_tab: both(out.webgpu) / both(out.cpu), cpu_tab_over_native: both(out.cpu) / out.native_s, webgpu_tab_over_native: both(out.webgpu) / out.native_s };
  return out;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(opts.dist, 'index.html'))) {
    console.error(`bench-web: ${opts.dist}/index.html not found; run bash scripts/build-web.sh first`);
    process.exit(1);
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, browser: 'chromium headless, WebGPU via SwiftShader' },
    sizes: sizes(opts.dist),
    first_frame_ms: { runs: [], median: null },
    first_load: null,
    frame_bench: null,
    toy_cpu: null,
    unet: null,
  };

  // --live-defaults K: only "Run a point in this tab" with the panel's default settings on
  // MNIST's S_K (seed 0), on the CPU in the tab, as a new user would: each phase's wall time,
  // the labels and the sample quality the tab reports (issue 15, item 5).
  if (opts.liveDefaults > 0) {
    const k = opts.liveDefaults;
    const lab = await openLab(null, { webgpu: true, query: `?ds=mnist&dk=${k}&dseed=0#/images`, dir: opts.dist });
    try {
      const page = lab.page;
      await page.waitForFunction((k) => new RegExp(`mnist, K = ${k}, seed 0`).test(document.querySelector('[data-testid="sweep-live-subset"]')?.textContent || ''), k, { timeout: 300_000 });
      const settings = {};
      for (const id of ['live-steps', 'live-batch', 'live-eval', 'live-mult', 'live-sampler-steps']) settings[id] = Number(await page.locator(`[data-testid="${id}"]`).inputValue());
      const { seen, t0 } = await runLivePoint(page, 3_600_000);
      const at = (a, b) => ((seen[b] ?? seen.done) - (seen[a] ?? t0)) / 1000;
      const rel = page.locator('[data-testid="sweep-relabelled"]');
      const lq = page.locator('[data-testid="live-quality"]');
      result.live_defaults = {
        k,
        settings,
        subset: await page.locator('[data-testid="sweep-live-subset"]').textContent(),
        state: await page.locator('[data-testid="live-progress"]').getAttribute('data-state'),
        total_s: at('training', 'done'),
        train_s: at('training', 'sampling'),
        sample_s: at('sampling', 'labelling'),
        label_and_quality_s: at('labelling', 'done'),
        memorized: Number(await rel.getAttribute('data-memorized')),
        spurious: Number(await rel.getAttribute('data-spurious')),
        generalized: Number(await rel.getAttribute('data-generalized')),
        precision: Number(await lq.getAttribute('data-precision')),
        real_precision: Number(await lq.getAttribute('data-real')),
        quality_text: await lq.textContent(),
      };
      console.error(JSON.stringify(result.live_defaults, null, 1));
      if (lab.log.pageErrors.length) result.page_errors = lab.log.pageErrors;
    } finally {
      await lab.close();
    }
    const text = JSON.stringify(result, null, 2);
    if (opts.json) fs.writeFileSync(opts.json, text);
    console.log(text);
    return;
  }

  // --probe K: one sample's probe and spectrum, in the tab on the CPU and on WebGPU, and natively.
  if (opts.probe > 0) {
    result.probe = await benchProbe(opts);
    console.error(JSON.stringify(result.probe, null, 1));
    const text = JSON.stringify(result, null, 2);
    if (opts.json) fs.writeFileSync(opts.json, text);
    console.log(text);
    return;
  }

  // Time to first frame: N fresh browsers (fresh profile: no code cache, no HTTP cache).
  for (let i = 0; i < (opts.unetOnly ? 0 : opts.runs); i++) {
    const lab = await openLab(null, { webgpu: true, query: null, dir: opts.dist });
    const fetched = new Set();
    lab.page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.origin === new URL(lab.url()).origin && /\.(wasm|m?js)$/.test(u.pathname)) fetched.add(u.pathname.replace(/^\//, ''));
    });
    try {
      await lab.goto(opts.query);
      const ms = await waitForFirstFrame(lab.page);
      const rows = result.sizes.files.filter((f) => fetched.has(f.file.split(path.sep).join('/')));
      result.first_load = { files: rows.map((r) => r.file), gzip9: rows.reduce((a, r) => a + r.gzip9, 0), bytes: rows.reduce((a, r) => a + r.bytes, 0) };
      result.first_frame_ms.runs.push(ms);
      const backend = await lab.page.locator('[data-testid="backend"]').textContent().catch(() => null);
      result.backend = backend?.trim() ?? null;
      if (lab.log.pageErrors.length) result.page_errors = [...(result.page_errors ?? []), ...lab.log.pageErrors];
    } finally {
      await lab.close();
    }
  }
  result.first_frame_ms.median = opts.unetOnly ? null : median(result.first_frame_ms.runs);

  // Frame benchmark in a page opened with K = 1000 memories (--bench-query).
  if (!opts.unetOnly) {
    const lab = await openLab(null, { webgpu: true, query: opts.benchQuery, dir: opts.dist });
    try {
      await waitForFirstFrame(lab.page);
      // The benchmarks are in Under the hood (the full module: the page loads it for that view).
      await openView(lab.page, 'system');
      {
        await lab.page.locator('[data-testid="run-toy-cpu"]').click({ timeout: 60_000 });
        const r = await waitForResult(lab.page, 'toy-cpu', 600_000);
        const burn = Number(r.attrs['data-burn-rate']);
        const fused = Number(r.attrs['data-fused-rate']);
        result.toy_cpu = { state: r.state, text: r.text, burn_steps_per_s: burn, fused_steps_per_s: fused, fused_over_burn: burn > 0 ? fused / burn : null, attrs: r.attrs };
      }
      {
        await lab.page.locator('[data-testid="run-frame-bench"]').click({ timeout: 60_000 });
        const r = await waitForResult(lab.page, 'frame-bench', 600_000);
        const gpu = Number(r.attrs['data-gpu-ms']);
        const cpu = Number(r.attrs['data-cpu-ms']);
        result.frame_bench = {
          state: r.state,
          text: r.text,
          gpu_ms: gpu,
          cpu_ms: cpu,
          cpu_over_gpu: Number.isFinite(gpu) && gpu > 0 ? cpu / gpu : null,
          query: opts.benchQuery,
          attrs: r.attrs,
        };
      }
      if (lab.log.pageErrors.length) result.page_errors = [...(result.page_errors ?? []), ...lab.log.pageErrors];
    } finally {
      await lab.close();
    }
  }

  // The UNet point in the Phase transition panel: phases timed from the page's progress state.
  {
    const lab = await openLab(null, { webgpu: true, query: '?ds=mnist&dk=8&dseed=0#/images', dir: opts.dist });
    try {
      const page = lab.page;
      await page.waitForFunction(() => /mnist, K = 8/.test(document.querySelector('[data-testid="sweep-live-subset"]')?.textContent || ''), null, { timeout: 180_000 });
      const [evalN, mult, ddim] = [16, 2, 5];
      const run = async (steps, gpu) => {
        for (const [id, v] of [['live-steps', steps], ['live-batch', 8], ['live-eval', evalN], ['live-mult', mult], ['live-sampler-steps', ddim]]) {
          await page.locator(`[data-testid="${id}"]`).fill(String(v));
          await page.locator(`[data-testid="${id}"]`).dispatchEvent('change');
        }
        const box = page.locator('[data-testid="live-gpu"]');
        if ((await box.isChecked()) !== gpu && !(await box.isDisabled())) await box.click();
        const { seen, t0 } = await runLivePoint(page, 1_200_000);
        const evals = (evalN + mult * 8) * ddim;
        const train_s = ((seen.sampling ?? seen.done) - (seen.training ?? t0)) / 1000;
        const sample_s = ((seen.labelling ?? seen.done) - seen.sampling) / 1000;
        return { steps, train_s, train_steps_per_s: steps / train_s, sample_network_evals: evals, sample_s, sample_evals_per_s: evals / sample_s, text: await page.locator('[data-testid="live-progress"]').textContent() };
      };
      result.unet = { batch: 8, k: 8, cpu: await run(opts.unetSteps, false) };
      if (opts.unetGpuSteps > 0) result.unet.webgpu_worker = await run(opts.unetGpuSteps, true);
      if (lab.log.pageErrors.length) result.page_errors = [...(result.page_errors ?? []), ...lab.log.pageErrors];
    } finally {
      await lab.close();
    }
  }

  const kib = (b) => `${(b / 1024).toFixed(0)} KiB`;
  const mib = (b) => `${(b / 1048576).toFixed(2)} MiB`;
  const fb = result.frame_bench;
  const lines = [
    ['wasm, gzip -9', `${mib(result.sizes.wasm_gzip9)} (raw ${mib(result.sizes.wasm_bytes)})`, 'target ≤ 3 MB with the JS'],
    ['js, gzip -9', kib(result.sizes.js_gzip9), ''],
    ['all wasm + js in dist/, gzip -9', mib(result.sizes.total_gzip9), 'both modules: the lite one and the full one'],
    ['first load: wasm + js fetched, gzip -9', result.first_load ? mib(result.first_load.gzip9) : '-',
      result.first_load ? `${result.first_load.gzip9 <= 3e6 ? 'ok' : 'OVER 3 MB'}: ${result.first_load.files.join(', ')}` : ''],
    [`first frame, median of ${opts.runs}`, `${result.first_frame_ms.median} ms`, `runs ${result.first_frame_ms.runs.join(', ')} ms; target ≤ 2000 ms`],
    ['frame 512², K=1000, WebGPU', fb ? `${fb.gpu_ms} ms` : '-', fb?.state ?? ''],
    ['frame 512², K=1000, CPU path', fb ? `${fb.cpu_ms} ms` : '-', ''],
    ['CPU / WebGPU', fb?.cpu_over_gpu ? `${fb.cpu_over_gpu.toFixed(1)}×` : '-', 'target ≥ 5×'],
    ['toy training in the tab, burn CPU', result.toy_cpu ? `${result.toy_cpu.burn_steps_per_s} steps/s` : '-', 'batch 512'],
    ['toy training in the tab, fused', result.toy_cpu ? `${result.toy_cpu.fused_steps_per_s} steps/s` : '-', result.toy_cpu?.fused_over_burn ? `${result.toy_cpu.fused_over_burn.toFixed(1)}× burn` : ''],
    ['UNet training in the tab (CPU)', result.unet ? `${result.unet.cpu.train_steps_per_s.toFixed(2)} steps/s` : '-', 'batch 8, 28×28, includes storage snapshots'],
    ['UNet sampling in the tab (CPU)', result.unet ? `${result.unet.cpu.sample_evals_per_s.toFixed(1)} evals/s` : '-', 'DDIM, batches of ≤ 32 images'],
    ['UNet training, WebGPU worker', result.unet?.webgpu_worker ? `${result.unet.webgpu_worker.train_steps_per_s.toFixed(2)} steps/s` : '-',
      result.unet?.webgpu_worker ? `${(result.unet.cpu.train_steps_per_s / result.unet.webgpu_worker.train_steps_per_s).toFixed(1)}× slower than the tab's CPU (includes the worker's start)` : ''],
  ];
  const w0 = Math.max(...lines.map((l) => l[0].length));
  const w1 = Math.max(...lines.map((l) => l[1].length));
  console.error(`\nbackend: ${result.backend}`);
  for (const [a, b, c] of lines) console.error(`  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
  console.error('');
  const json = JSON.stringify(result, null, 2);
  if (opts.json) fs.writeFileSync(opts.json, json + '\n');
  console.log(json);
}

main().catch((e) => {
  console.error(`bench-web: ${e.stack || e}`);
  process.exit(1);
});
