// The 2-D diffusion toy in a real browser: the page trains it on the CPU inside wasm (the fused
// trainer, memgen_models::toy::fused); K = 2 lowers the loss, and samples of the trained model
// gather at the two training points.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openLab, describeLog, frameLags, memgenBin, startFrameGaps, takeFrameGap, assertNoFreeze, keptRuns, watchWorkers, keepRun } from './lab.mjs';

/** The float32 values of a little-endian .npy file (the header's length, then the data). */
function readNpyF32(file) {
  const b = fs.readFileSync(file);
  const headerLen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLen).toString('latin1');
  assert.match(header, /'descr': '<f4'/);
  const data = b.subarray(10 + headerLen);
  return Array.from(new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)));
}

const STEPS = 800;
// The sampler's slices aim at 30 ms of work between yields (src/panels/toy/sampling.rs); the
// bound on their median leaves room for a busy machine. Before the slicing, one chunk of
// 10,000 samples held the tab 1.6–2.5 s.
const SLICE_MS = 100;

test('toy K=2: training in the tab (fused CPU trainer in wasm) lowers the loss and samples gather at the two points', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: '#/toy' });
  const { page, log } = lab;
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  await page.locator('[data-testid="toy-k2"]').click();
  for (const [id, v] of [['toy-steps', String(STEPS)], ["toy-samples", "300"], ['toy-lr', '0.003']]) {
    const input = page.locator(`[data-testid="${id}"]`);
    await input.fill(v);
    await input.dispatchEvent('change');
  }
  await page.locator('[data-testid="toy-train"]').click();
  const progress = page.locator('[data-testid="toy-progress"]');
  // The run survives a reload (issue 18): paused part way, it is kept in browser storage, and
  // the reloaded page goes on from it. The samples compared with memgen toy's below come from
  // this resumed run, so it must end where the uninterrupted one does.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="toy-progress"]')?.dataset.step || 0) >= 200, null, { timeout: 300_000 });
  await page.locator('[data-testid="toy-pause"]').click();
  await page.waitForFunction(() => {
    const d = document.querySelector('[data-testid="toy-progress"]')?.dataset;
    return d?.state === 'paused' && d.savedStep !== '' && d.savedStep === d.step;
  }, null, { timeout: 300_000 });
  const pausedAt = Number(await progress.getAttribute('data-step'));
  const lossesBefore = await progress.getAttribute('data-first-losses');
  await page.reload();
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'paused', null, { timeout: 300_000 });
  assert.equal(Number(await progress.getAttribute('data-step')), pausedAt, 'the reloaded page is not at the step it paused at');
  assert.equal(await progress.getAttribute('data-first-losses'), lossesBefore, 'the loss curve was not kept');
  t.diagnostic(`paused at step ${pausedAt}, reloaded, going on from the stored run`);
  await page.locator('[data-testid="toy-resume"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 480_000 });
  const step = Number(await progress.getAttribute('data-step'));
  const [head, tail] = (await progress.getAttribute('data-losses')).split(',').map(Number);
  t.diagnostic(`trained ${step} steps at ${await progress.getAttribute('data-rate')} steps/s (batch 512): mean loss of the first 50 steps ${head}, last 50 ${tail}`);
  assert.equal(step, STEPS);
  assert.ok(Number.isFinite(head) && Number.isFinite(tail), `losses ${head}, ${tail}`);
  assert.ok(tail < 0.8 * head, `loss did not go down: ${head} → ${tail}`);

  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="toy-sample"]').click();
  await page.waitForFunction(() => (document.querySelector('[data-testid="toy-centroids"]')?.dataset.nearFraction || '') !== '', null, { timeout: 300_000 });
  // Sampling runs in slices of rows between frames (issue 18): the tab never stalls. Before,
  // 10 whole steps a chunk stalled it for 1.6–2.5 s at 10,000 samples. The bound leaves room
  // for a software-rendered frame and the clustering at the end.
  // What the page's code controls is asserted: the median stretch of its own work between two
  // yields (the page measures each). The longest stretch and the frame gaps also count the
  // machine's other load (CI runs three browsers and the native tests on 2 cores: a stretch of
  // 325 ms was seen there while the median stayed near 40 ms), so they are reported, and the
  // gap is bounded only against a freeze.
  await assertNoFreeze(t, page, 'sampling 300 points', 10);
  const sampleSlice = Number(await progress.getAttribute('data-median-slice-ms'));
  t.diagnostic(`sampling 300 points: stretches of work between yields: median ${sampleSlice} ms, longest ${await progress.getAttribute('data-longest-slice-ms')} ms`);
  assert.ok(sampleSlice > 0 && sampleSlice < SLICE_MS, `the sampler held the tab ${sampleSlice} ms between yields (median)`);
  const c = page.locator('[data-testid="toy-centroids"]');
  const near = Number(await c.getAttribute('data-near-fraction'));
  const memorized = Number(await c.getAttribute('data-memorized'));
  t.diagnostic(`samples within 0.1 of a training point: ${near}; memorized centroids: ${memorized}`);
  assert.ok(near >= 0.6, `only ${near} of samples gather at the two points`);
  assert.ok(memorized >= 1, `no memorized centroid`);
  // A memorized centroid probed here (issue 16): its basin search runs to the end and the
  // learned energy there is a well (both Hessian eigenvalues positive).
  // It is clicked on the trained network's view (plane [−1.5, 1.5]², y up), not on its button.
  const button = page.locator('[data-testid^="toy-probe-"][data-kind="memorized"]').first();
  const [ax, ay] = (await button.getAttribute('data-at')).split(',').map(Number);
  const view = page.locator('[data-testid="toy-learned"]');
  const box = await view.boundingBox();
  await view.click({ position: { x: ((ax + 1.5) / 3) * box.width, y: ((1.5 - ay) / 3) * box.height } });
  await page.waitForFunction(() => /^(done|error)/.test(document.querySelector('[data-testid="toy-probe"]')?.dataset.state || ''), null, { timeout: 300_000 });
  const probe = page.locator('[data-testid="toy-probe"]');
  assert.equal(await probe.getAttribute('data-state'), `done:${await button.getAttribute('data-index')}`, await probe.textContent());
  const eig = (await probe.getAttribute('data-eigenvalues')).split(',').map(Number);
  t.diagnostic(`memorized centroid: t_c ${await probe.getAttribute('data-t-c')}, Hessian eigenvalues ${eig}`);
  assert.ok(eig.length === 2 && eig[0] > 0 && eig[1] > 0, `not a well: eigenvalues ${eig}`);
  // The same seed and settings on the command line (the fused engine, as in the tab) give the
  // same samples: one trainer, one sampler, one noise stream. Native gemm and wasm's
  // matrixmultiply round differently, so the points agree closely, not bit for bit.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-toy-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  execFileSync(memgenBin(), ['toy', '--k', '2', '--seed', '0', '--steps', String(STEPS), '--samples', '300', '--lr', '0.003', '--engine', 'fused',
    '--out-samples', path.join(dir, 's.npy'), '--out-train', path.join(dir, 't.npy')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = readNpyF32(path.join(dir, 's.npy'));
  const tab = (await c.getAttribute('data-samples-head')).split(',').map(Number);
  assert.equal(tab.length, 600);
  assert.equal(cli.length, 600);
  const gaps = [];
  for (let i = 0; i < 300; i++) gaps.push(Math.hypot(tab[2 * i] - cli[2 * i], tab[2 * i + 1] - cli[2 * i + 1]));
  gaps.sort((a, b) => a - b);
  // Measured in CI: median gap 9.8e-4, 50% within 1e-3, largest 0.12 (800 steps of training
  // drift apart by rounding, and the sampler carries the gap). Another noise stream or trainer
  // would send about half of the samples to the other training point (gap ≈ 2) and scatter the
  // rest by the samples' own spread (≈ 0.05), so 95% within 1e-2 and a median under 5e-3 still
  // tell one pipeline from two.
  const close = gaps.filter((g) => g <= 1e-2).length / gaps.length;
  t.diagnostic(`tab vs memgen toy, 300 samples of seed 0: median gap ${gaps[150].toExponential(2)}, largest ${gaps[299].toExponential(2)}, ${(100 * close).toFixed(1)}% within 1e-2`);
  assert.ok(close >= 0.95, `only ${close} of the tab's samples lie within 1e-2 of memgen toy's`);
  assert.ok(gaps[150] < 5e-3, `median gap ${gaps[150]} between the tab's samples and memgen toy's`);
  await lab.screenshot('toy-k2');
  // Cancelling a sampling keeps the trained model: the default 10,000 samples begun, cancelled part way,
  // and the panel is back at "trained" with its samples and centroids, ready to sample again.
  const samples = page.locator('[data-testid="toy-samples"]');
  await samples.fill('10000');
  await samples.dispatchEvent('change');
  await page.locator('[data-testid="toy-sample"]').click();
  await page.waitForFunction(() => /Sampling… [1-9]/.test(document.querySelector('[data-testid="toy-progress"]')?.textContent || ''), null, { timeout: 300_000 });
  // Frames from here on are the sampling's alone (the screenshot and the settings' redraw
  // before it are not counted).
  await takeFrameGap(page);
  await page.waitForFunction(() => /Sampling… ([2-9]|\d\d)/.test(document.querySelector('[data-testid="toy-progress"]')?.textContent || ''), null, { timeout: 300_000 });
  await assertNoFreeze(t, page, 'sampling 10,000 points', 10);
  t.diagnostic(`10,000 samples under way: stretches of work between yields: median ${await progress.getAttribute('data-median-slice-ms')} ms, longest ${await progress.getAttribute('data-longest-slice-ms')} ms; ${await progress.textContent()}`);
  const duringSlice = Number(await progress.getAttribute('data-median-slice-ms'));
  assert.ok(duringSlice > 0 && duringSlice < SLICE_MS, `the sampler held the tab ${duringSlice} ms between yields at 10,000 points (median)`);
  assert.match(await progress.textContent(), /left/);
  await page.locator('[data-testid="toy-cancel"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 300_000 });
  assert.equal(Number(await progress.getAttribute('data-step')), STEPS);
  assert.equal(await page.locator('[data-testid="toy-sample"]').isEnabled(), true);
  assert.equal(Number(await c.getAttribute('data-near-fraction')), near, 'the last samples were kept');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

// SwiftShader trains the toy at ~0.3 steps/s in the worker (the CPU backend in the tab: ~9), so
// CI runs a short preset (15 steps, 100 samples) and checks that the WebGPU run is the CPU run of
// the same seed, step for step and sample for sample; MEMGEN_TOY_GPU_STEPS=30 also asserts that
// its samples begin to gather at the two points (≥ 3× the prior's share near them), 150 that
// they have gathered (≥ 70% within 0.25).
const GPU_STEPS = Number(process.env.MEMGEN_TOY_GPU_STEPS || 15);
// Samples drawn from each run (SwiftShader runs the sampler's network on WebGPU too).
const GPU_SAMPLES = Number(process.env.MEMGEN_TOY_GPU_SAMPLES || 100);

test('toy K=2 on WebGPU: a worker trains it while the tab stays responsive (pause, resume); the loss goes down and equals the CPU run of the same seed; samples too', { timeout: 900_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: `?tk=2&tseed=0&tsteps=${GPU_STEPS}&tlr=0.01&tn=${GPU_SAMPLES}#/toy` });
  const { page, log } = lab;
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  assert.equal(await page.locator('[data-testid="backend"]').getAttribute('data-backend'), 'webgpu');
  const progress = page.locator('[data-testid="toy-progress"]');
  const cents = page.locator('[data-testid="toy-centroids"]');
  const gpu = page.locator('[data-testid="toy-gpu"]');
  // On a software adapter WebGPU training is opt-in.
  assert.equal(await gpu.isChecked(), false, 'WebGPU training is off by default on SwiftShader');
  const trainAndSample = async (label, click = true) => {
    if (click) await page.locator('[data-testid="toy-train"]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 600_000 });
    const losses = (await progress.getAttribute('data-first-losses')).split(',').map(Number);
    await page.locator('[data-testid="toy-sample"]').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid="toy-centroids"]')?.dataset.nearFraction || '') !== '', null, { timeout: 300_000 });
    const near = [Number(await cents.getAttribute('data-near-fraction')), Number(await cents.getAttribute('data-near-wide'))];
    const head = (await cents.getAttribute('data-samples-head')).split(',').map(Number);
    t.diagnostic(`${label}: device ${await progress.getAttribute('data-device')}, ${losses.length} losses, samples within 0.1 / 0.25 of a training point: ${near}`);
    return { losses, near, head };
  };
  // The same seed and settings in the tab on the CPU backend: the reference.
  const cpu = await trainAndSample('CPU in the tab');

  await gpu.check();
  const t0 = Date.now();
  await page.locator('[data-testid="toy-train"]').click();
  assert.equal(await progress.getAttribute('data-device'), 'webgpu-worker');
  // The first chunk (10 steps) builds burn's kernels in the worker, for a minute or more on
  // SwiftShader; meanwhile the page answers at once.
  const lags = await frameLags(page, 5, 200);
  t.diagnostic(`the page answers a frame in ${lags.join(', ')} ms while the worker builds its kernels and trains`);
  assert.ok(Math.max(...lags) < 2000, `the page froze while the worker trained: ${lags}`);
  // Pause, asked during the first chunk: the worker stops after it and says at which step; while
  // paused the page answers; on resume the worker says where it goes on from: the same step, and
  // the page saw no step in between.
  await page.locator('[data-testid="toy-pause"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.workerPausedAt !== '', null, { timeout: 300_000 });
  t.diagnostic(`first chunk after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const held = Number(await progress.getAttribute('data-worker-paused-at'));
  assert.ok(held > 0 && held < GPU_STEPS, `paused at step ${held} of ${GPU_STEPS}`);
  assert.equal(Number(await progress.getAttribute('data-step')), held, 'the page shows another step than the one the worker paused at');
  const pausedLags = await frameLags(page, 5, 200);
  assert.ok(Math.max(...pausedLags) < 2000, `the page froze while paused: ${pausedLags}`);
  assert.equal(Number(await progress.getAttribute('data-step')), held, 'training went on while paused');
  const t1 = Date.now();
  await page.locator('[data-testid="toy-resume"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.workerResumedFrom !== '', null, { timeout: 300_000 });
  assert.equal(Number(await progress.getAttribute('data-worker-resumed-from')), held, 'the worker trained while paused');
  const gpuRun = await trainAndSample('WebGPU worker', false);
  const rate = (GPU_STEPS - held) / ((Date.now() - t1) / 1000);
  t.diagnostic(`WebGPU worker on SwiftShader: ${rate.toFixed(2)} steps/s after warm-up (batch 512), sampling included`);

  const n = Math.min(GPU_STEPS, 50);
  assert.equal(gpuRun.losses.length, n);
  assert.equal(cpu.losses.length, n);
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
  const tenth = Math.max(1, Math.floor(n / 3));
  assert.ok(mean(gpuRun.losses.slice(-tenth)) < 0.8 * mean(gpuRun.losses.slice(0, tenth)), `loss did not go down: ${gpuRun.losses}`);
  const dev = gpuRun.losses.map((l, i) => Math.abs(l - cpu.losses[i]) / Math.max(1e-3, Math.abs(cpu.losses[i])));
  t.diagnostic(`largest relative difference WebGPU vs CPU loss: first 5 steps ${Math.max(...dev.slice(0, 5)).toExponential(2)}, all ${Math.max(...dev).toExponential(2)}`);
  assert.ok(Math.max(...dev.slice(0, 5)) < 1e-3, `the first losses differ: ${gpuRun.losses.slice(0, 5)} vs ${cpu.losses.slice(0, 5)}`);
  assert.ok(Math.max(...dev) < 2e-2, `losses drift apart: ${gpuRun.losses} vs ${cpu.losses}`);
  // Same seed, (nearly) the same network, the same noise stream: sample for sample, the WebGPU
  // run's points are the CPU run's (f32 rounding on two devices, carried through the sampler's
  // steps, moves them a little; another stream or network would move them by their own spread,
  // ~0.5 this early in training).
  assert.equal(gpuRun.head.length, cpu.head.length);
  assert.ok(gpuRun.head.length >= 2 * Math.min(GPU_SAMPLES, 50), `only ${gpuRun.head.length / 2} samples in the hook`);
  const gaps = [];
  for (let i = 0; i < gpuRun.head.length; i += 2) gaps.push(Math.hypot(gpuRun.head[i] - cpu.head[i], gpuRun.head[i + 1] - cpu.head[i + 1]));
  gaps.sort((a, b) => a - b);
  const median = gaps[gaps.length >> 1];
  t.diagnostic(`WebGPU vs CPU samples, same seed: median distance ${median.toExponential(2)}, largest ${gaps.at(-1).toExponential(2)} over ${gaps.length}`);
  assert.ok(median < 1e-2, `the WebGPU run's samples are not the CPU run's: median distance ${median}`);
  assert.ok(Math.abs(gpuRun.near[1] - cpu.near[1]) <= 0.1, `samples differ: ${gpuRun.near} vs ${cpu.near}`);
  // After 30 or more steps they have begun to gather at the two points: N(0, I), the SDE's prior
  // (what sampling starts from), puts 0.038 of its mass within 0.25 of two points on the unit
  // circle (Monte Carlo, 200k draws); after 30 steps the WebGPU-trained network put 0.187 there
  // (~5×). With MEMGEN_TOY_GPU_STEPS=150 they have gathered: ≥ 70% (90% measured).
  const prior = 0.038;
  t.diagnostic(`samples within 0.25 of the two points: ${gpuRun.near[1]} (N(0, I) prior: ${prior}, ${(gpuRun.near[1] / prior).toFixed(1)}×)`);
  if (GPU_STEPS >= 30) assert.ok(gpuRun.near[1] >= 3 * prior, `samples did not gather: ${gpuRun.near[1]} within 0.25 of the two points, the prior has ${prior}`);
  if (GPU_STEPS >= 150) assert.ok(gpuRun.near[1] >= 0.7, `only ${gpuRun.near[1]} of samples within 0.25 of the two points`);
  await lab.screenshot('toy-k2-webgpu');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

// The worker's GPU device lost part way (its devices destroyed from the test, as a driver reset
// would): the page says so and the run goes on in the tab on the CPU from the worker's last
// snapshot, to the end, with no error in the page's or the worker's console.
const LOST_STEPS = 40;
test('toy on WebGPU: the worker\'s GPU device lost mid-run; the page says so and the run goes on on the CPU from its last snapshot', { timeout: 900_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: `?tk=2&tseed=0&tsteps=${LOST_STEPS}&tlr=0.01&tn=100#/toy` });
  const { page, log } = lab;
  const { workers, workerErrors } = watchWorkers(page);
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  assert.equal(await page.locator('[data-testid="backend"]').getAttribute('data-backend'), 'webgpu');
  const progress = page.locator('[data-testid="toy-progress"]');
  const losses = async () => (await progress.getAttribute('data-first-losses')).split(',').filter((x) => x !== '').map(Number);
  // The reference: the same seed on the CPU in the tab, uninterrupted.
  await page.locator('[data-testid="toy-train"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 300_000 });
  const cpu = await losses();
  assert.equal(cpu.length, LOST_STEPS);

  await page.locator('[data-testid="toy-gpu"]').check();
  await page.locator('[data-testid="toy-train"]').click();
  assert.equal(await progress.getAttribute('data-device'), 'webgpu-worker');
  // The worker's first snapshot kept (after its first chunk of 10 steps).
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="toy-progress"]')?.dataset.savedStep || 0) > 0, null, { timeout: 600_000 });
  const snapshotAt = Number(await progress.getAttribute('data-saved-step'));
  const trainWorker = workers.find((w) => w.url().includes('train-worker.js'));
  assert.ok(trainWorker, `no training worker among ${workers.map((w) => w.url())}`);
  const destroyed = await trainWorker.evaluate(() => { for (const d of self.__memgenGpuDevices) d.destroy(); return self.__memgenGpuDevices.length; });
  assert.ok(destroyed >= 1, 'the worker opened no GPU device');
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.recoveredFrom !== '', null, { timeout: 300_000 });
  const from = Number(await progress.getAttribute('data-recovered-from'));
  assert.ok(from >= snapshotAt && from > 0 && from < LOST_STEPS, `went on from step ${from}; the snapshot kept was step ${snapshotAt}`);
  assert.equal(await progress.getAttribute('data-device'), 'cpu');
  const notice = await page.locator('[data-testid="panel-toy"] [data-testid="notice"]').allTextContents();
  t.diagnostic(`device lost after the snapshot at step ${snapshotAt}; notice: ${notice.join(' | ')}`);
  assert.ok(notice.some((n) => new RegExp(`The GPU device was lost \\(destroyed.*at step \\d+ of the WebGPU run; it goes on in this tab on the CPU from step ${from}, the worker's last snapshot`).test(n)), notice.join(' | '));
  // The page answers while the CPU takes over, and the run ends at its last step.
  await startFrameGaps(page);
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 300_000 });
  // The page's own thread is bounded (its longest task); its frames are not: once the
  // worker's device is destroyed, SwiftShader's GPU process presented no frame for 5 s and
  // 39 s in two CI runs (three browsers on 2 cores; 200 ms alone) while the page's longest
  // task stayed 332 ms. That stall is the software GPU's, reported here.
  await assertNoFreeze(t, page, 'the CPU going on from the snapshot', { minFrames: 1, hangMs: Infinity });
  assert.equal(Number(await progress.getAttribute('data-step')), LOST_STEPS);
  const run = await losses();
  assert.equal(run.length, LOST_STEPS, 'steps were lost or trained twice in the losses');
  // Up to the snapshot the WebGPU run's losses are the CPU run's (same seed); the first step
  // after it is taken from the snapshot's weights on the same batch, so it equals the
  // uninterrupted run's too (the steps after differ a little: Adam's moments started again).
  const rel = (i) => Math.abs(run[i] - cpu[i]) / Math.max(1e-3, Math.abs(cpu[i]));
  const before = Math.max(...run.slice(0, from).map((_, i) => rel(i)));
  t.diagnostic(`against the uninterrupted CPU run: largest relative loss gap up to the snapshot ${before.toExponential(2)}, at step ${from + 1} ${rel(from).toExponential(2)}; mean of the last 10 losses ${(run.slice(-10).reduce((a, b) => a + b) / 10).toFixed(4)} against ${(cpu.slice(-10).reduce((a, b) => a + b) / 10).toFixed(4)}`);
  assert.ok(before < 2e-2 && rel(from) < 2e-2, `the resumed run is not the same run: ${run} vs ${cpu}`);
  assert.ok(run.every(Number.isFinite));
  // It trained: the loss went down as the uninterrupted run's did.
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
  assert.ok(mean(run.slice(-10)) < 0.8 * mean(run.slice(0, 10)), `loss did not go down: ${run}`);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
  assert.deepEqual(workerErrors, []);
  await lab.screenshot('toy-device-lost');
});

test('toy: settings come from the URL (bad ones get a notice); the three regimes from the shipped checkpoints, labelled pretrained', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?tk=9&tseed=3&tsteps=abc&tn=500#/toy' });
  const { page, log } = lab;
  // The link's toy settings: K = 9 takes its preset's Ward threshold; the bad step count keeps
  // the default and says so; the URL is rewritten with every toy key.
  await page.locator('[data-testid="toy-k"]').waitFor({ timeout: 300_000 });
  assert.equal((await page.locator('[data-testid="toy-k"]').textContent()).trim(), '9');
  assert.equal(await page.locator('[data-testid="toy-seed"]').inputValue(), '3');
  assert.equal(await page.locator('[data-testid="toy-samples"]').inputValue(), '500');
  assert.equal(await page.locator('[data-testid="toy-threshold"]').inputValue(), '2');
  assert.equal(await page.locator('[data-testid="toy-steps"]').inputValue(), '4000');
  const notices = await page.locator('[data-testid="notice"]').allTextContents();
  assert.ok(notices.some((n) => /tsteps/.test(n) && /abc/.test(n)), JSON.stringify(notices));
  await page.waitForFunction(() => /[?&]tk=9(&|$)/.test(location.search) && /[?&]tsteps=4000(&|$)/.test(location.search) && /[?&]tseed=3(&|$)/.test(location.search), null, { timeout: 300_000 });
  // A change goes into the URL, and the same link reproduces it.
  await page.locator('[data-testid="toy-k1000"]').click();
  await page.waitForFunction(() => /[?&]tk=1000(&|$)/.test(location.search) && /[?&]tthr=0.45(&|$)/.test(location.search), null, { timeout: 300_000 });

  const regimes = page.locator('[data-testid="toy-regimes"]');
  await regimes.waitFor({ timeout: 300_000 });
  await page.waitForFunction(() => ['done'].includes(document.querySelector('[data-testid="toy-regimes"]')?.dataset.state) || /^error/.test(document.querySelector('[data-testid="toy-regimes"]')?.dataset.state || ''), null, { timeout: 300_000 });
  assert.equal(await regimes.getAttribute('data-state'), 'done', await regimes.textContent());
  const counts = {};
  for (const k of [2, 9, 1000]) {
    const c = page.locator(`[data-testid="toy-regime-k${k}"]`);
    counts[k] = Object.fromEntries(await Promise.all(['memorized', 'spurious', 'generalized'].map(async (n) => [n, Number(await c.getAttribute(`data-${n}`))])));
  }
  t.diagnostic(`Ward centroids per K: ${JSON.stringify(counts)}`);
  // K = 2: both training points are memorized wells, nothing else.
  assert.equal(counts[2].memorized, 2, JSON.stringify(counts));
  assert.equal(counts[2].spurious + counts[2].generalized, 0, JSON.stringify(counts));
  // K = 1000: the samples spread along the circle.
  assert.ok(counts[1000].generalized >= 1, JSON.stringify(counts));
  assert.equal(counts[1000].memorized, 0, JSON.stringify(counts));
  // K = 9: some centroids at all.
  assert.ok(counts[9].memorized + counts[9].spurious + counts[9].generalized >= 1, JSON.stringify(counts));
  const text = await regimes.textContent();
  assert.match(text, /pretrained/);
  assert.match(text, /memgen toy --k 1000/);
  await regimes.screenshot({ path: `${process.env.MEMGEN_ARTIFACTS || 'test-artifacts'}/toy-regimes.png` });
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('toy: when browser storage refuses the run (quota exceeded), the panel says so and training goes on in memory', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?tk=2&tseed=1&tsteps=60&tn=800&tlr=0.003#/toy' });
  const { page, log } = lab;
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  // What a full storage does: every write throws QuotaExceededError (runs are kept as bytes in
  // IndexedDB, the small records in localStorage).
  await page.evaluate(() => {
    const full = function () {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
    Storage.prototype.setItem = full;
    IDBObjectStore.prototype.put = full;
  });
  await page.locator('[data-testid="toy-train"]').click();
  const progress = page.locator('[data-testid="toy-progress"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 300_000 });
  assert.equal(Number(await progress.getAttribute('data-step')), 60);
  assert.equal(await progress.getAttribute('data-saved-step'), 'refused');
  const status = await page.locator('[data-testid="toy-status"]').textContent();
  t.diagnostic(status);
  assert.match(status, /did not keep the run .*quota.*goes on in memory/i);
  // The trained model is there to sample. 800 samples are clustered (Ward, n²/2 distances) in a
  // worker of their own on the lite module, not in the tab (src/cluster_worker.rs).
  assert.equal(await page.locator('[data-testid="toy-sample"]').isEnabled(), true);
  await startFrameGaps(page);
  await takeFrameGap(page);
  const workers = [];
  page.on('worker', (w) => workers.push(w.url()));
  await page.locator('[data-testid="toy-sample"]').click();
  await page.waitForFunction(() => (document.querySelector('[data-testid="toy-centroids"]')?.dataset.nearFraction || '') !== '', null, { timeout: 300_000 });
  const gap = await assertNoFreeze(t, page, 'sampling and clustering 800 points');
  const c = page.locator('[data-testid="toy-centroids"]');
  const counts = ['data-memorized', 'data-spurious', 'data-generalized'].map(async (k) => Number(await c.getAttribute(k)));
  const total = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
  t.diagnostic(`800 samples clustered in ${workers.length} worker(s): ${total} centroids; longest frame gap ${gap.max.toFixed(0)} ms over ${gap.frames} frames`);
  assert.ok(total >= 1, `no centroids: ${await c.textContent()}`);
  assert.ok(workers.some((u) => u.includes('cluster-worker.js')), `the clustering ran in no worker: ${workers}`);
  assert.doesNotMatch(await page.locator('[data-testid="toy-status"]').textContent(), /clustering failed/);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('corrupt entries in browser storage: the toy\'s kept run and the images view\'s unfinished sweep each get a notice and are removed; the views work on in memory', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?tk=2&tseed=1&tsteps=30&tn=200&tlr=0.003#/toy' });
  const { page, log } = lab;
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  // Entries as a broken or foreign write would leave them: bytes that are not a kept run, and a
  // cut JSON record; then the page reads them at its next load.
  await keepRun(page, 'memgen-toy-run', [...new TextEncoder().encode('MGRUN\u00001\n')].concat([255, 255, 255, 255, 0, 0, 0, 0, 1, 2, 3]));
  await page.evaluate(() => localStorage.setItem('memgen-sweep-active', '["2,4", {"steps": "many"'));
  await page.reload({ waitUntil: 'load' });
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  await page.waitForFunction(() => /unreadable .*and has been removed/.test(document.querySelector('[data-testid="toy-status"]')?.textContent || ''), null, { timeout: 300_000 });
  const status = await page.locator('[data-testid="toy-status"]').textContent();
  t.diagnostic(status);
  assert.match(status, /toy run kept in this browser's storage was unreadable \(a kept run claims \d+ losses/);
  await page.waitForFunction(async () => !(await new Promise((res) => {
    const r = indexedDB.open('memgen-lab', 1);
    r.onsuccess = () => { const q = r.result.transaction('runs').objectStore('runs').get('memgen-toy-run'); q.onsuccess = () => { r.result.close(); res(q.result); }; };
  })), null, { timeout: 60_000 });
  // The toy still trains, and keeps its new run as bytes.
  await page.locator('[data-testid="toy-train"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 300_000 });
  assert.equal(Number(await page.locator('[data-testid="toy-progress"]').getAttribute('data-step')), 30);
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.savedStep === '30', null, { timeout: 60_000 });
  assert.deepEqual(await keptRuns(page, 'memgen-toy-run'), ['memgen-toy-run']);
  // The images view: the unfinished sweep's record is refused with a notice and removed.
  await page.locator('[data-testid="view-link-images"]').click();
  await page.locator('[data-testid="panel-sweep"]').waitFor({ timeout: 300_000 });
  const notice = page.locator('[data-testid="panel-sweep"] [data-testid="notice"]', { hasText: 'unfinished sweep' });
  await notice.first().waitFor({ timeout: 300_000 });
  assert.match(await notice.first().textContent(), /unfinished sweep kept in this browser's storage was unreadable and has been removed/);
  assert.equal(await page.evaluate(() => localStorage.getItem('memgen-sweep-active')), null, 'the corrupt sweep record is removed');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
