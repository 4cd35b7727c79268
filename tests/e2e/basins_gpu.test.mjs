// The live probe on WebGPU (issue 16): a gallery sample of a bundle made here by `memgen sweep`
// and probed by `memgen probe`, probed again in the tab by the training worker on its WebGPU
// device (SwiftShader here). Its basin levels and t_c are the CLI's, its trials come back noised
// and denoised, its spectrum is the CLI's to f16 rounding; the same sample then probed on the
// CPU in the tab, for the benchmark's side-by-side figures; and a GPU device lost in the worker
// mid-spectrum: the page says so and computes it on the CPU to its end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openLab, describeLog, memgenBin, startFrameGaps, takeFrameGap, assertNoFreeze, watchWorkers, f16s, spectrumExcess, DIST, ARTIFACTS } from './lab.mjs';

const LIVE = '[data-testid="basins-live"]';

/** Clicks `button` in the live probe and waits for it to end; returns its attributes. */
async function runLive(page, button) {
  await page.locator(`[data-testid="${button}"]`).click();
  await page.waitForFunction((sel) => /^(done|error|cancelled)/.test(document.querySelector(sel)?.dataset.state || ''), LIVE, { timeout: 600_000 });
  return page.evaluate((sel) => ({ ...document.querySelector(sel).dataset, text: document.querySelector(sel).textContent }), LIVE);
}

test('basins: a sample probed live on WebGPU in the worker gives memgen probe\'s levels, t_c and spectrum; the CPU beside it; a lost device finishes on the CPU', { timeout: 900_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-basins-gpu-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'bundle');
  const data = path.join(DIST, 'www', 'data');
  execFileSync(memgenBin(), ['sweep', '--data-dir', data, '--dataset', 'mnist', '--ks', '8', '--model', 'unet', '--steps', '40', '--batch', '8',
    '--eval', '8', '--sampler', 'ddim', '--sampler-steps', '4', '--bootstrap', '20', '--seed', '3', '--engine', 'fused', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync(memgenBin(), ['probe', '--bundle', out, '--stride', '200', '--trials', '3', '--sampler-steps', '4', '--train-points', '0',
    '--data-dir', data, '--write'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const probe = JSON.parse(fs.readFileSync(path.join(out, 'probe-k8.json'), 'utf8'));

  const lab = await openLab(t, { webgpu: true, query: '#/images' });
  const { page, log } = lab;
  const { workers, workerErrors } = watchWorkers(page);
  await page.locator('[data-testid="panel-sweep"]').waitFor({ timeout: 300_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state !== 'loading', null, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(fs.readdirSync(out).map((f) => path.join(out, f)));
  await page.waitForFunction(() => {
    const b = document.querySelector('[data-testid="basins"]');
    return b?.dataset.state === 'loaded' && b.dataset.ks === '8';
  }, null, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-k8"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  const row = page.locator('[data-testid="sweep-sample"]').nth(1);
  const index = Number(await row.getAttribute('data-index'));
  await row.click();
  const cli = probe.samples.find((s) => s.index === index);
  assert.ok(cli, `memgen probe has no sample #${index}`);
  // SwiftShader is a software adapter: WebGPU is offered, and off until asked for.
  const gpu = page.locator('[data-testid="basins-live-gpu"]');
  assert.equal(await gpu.isEnabled(), true, 'the page has a WebGPU device');
  assert.equal(await gpu.isChecked(), false, 'off by default on a software adapter');
  await gpu.check();

  // The basin, level by level, in the worker.
  await startFrameGaps(page);
  await takeFrameGap(page);
  const basin = await runLive(page, 'basins-live-run');
  await assertNoFreeze(t, page, 'probing a sample\'s basin on WebGPU in the worker');
  assert.equal(basin.state, 'done', basin.text);
  assert.equal(basin.ranOn, 'webgpu');
  assert.ok(workers.some((w) => w.url().includes('train-worker.js')), 'no worker started');
  assert.equal(basin.levels, cli.basin.levels.map(([lt, lp]) => `${lt}:${lp}`).join(','));
  assert.equal(basin.tC, cli.basin.t_c === null ? 'none' : String(cli.basin.t_c));
  if (cli.basin.log_volume !== null) assert.ok(Math.abs(Number(basin.logVolume) - cli.basin.log_volume) < 1e-3, `${basin.logVolume} against ${cli.basin.log_volume}`);
  t.diagnostic(`sample #${index}: t_c ${basin.tC} on WebGPU and by memgen probe; levels ${basin.levels}`);

  // Its trials at t = 201, noised and denoised, from the worker.
  await page.locator('[data-testid="basins-live-t"]').fill('201');
  await page.locator('[data-testid="basins-live-t"]').dispatchEvent('change');
  const trials = await runLive(page, 'basins-live-show');
  assert.equal(trials.state, 'done', trials.text);
  assert.equal(trials.ranOn, 'webgpu');
  assert.equal(await page.locator('[data-testid="basins-live-trials"]').getAttribute('data-count'), '3');
  const thumbs = await page.locator('[data-testid="basins-live-trials"] canvas').count();
  assert.equal(thumbs, 6, 'each trial shown noised and denoised');

  // Its spectrum: memgen probe's at the ranks its file keeps.
  await takeFrameGap(page);
  const spec = await runLive(page, 'basins-live-spectrum');
  await assertNoFreeze(t, page, 'the score Jacobian on WebGPU in the worker');
  assert.equal(spec.state, 'done', spec.text);
  assert.equal(spec.ranOn, 'webgpu');
  const gpuSpectrum = spec.spectrum.split(',').map(Number);
  const ranks = spec.storedRanks.split(',').map(Number);
  const theirs = f16s(cli.spectrum_f16);
  assert.equal(gpuSpectrum.length, 784);
  assert.ok(gpuSpectrum[0] > 0 && gpuSpectrum.every((v, i) => i === 0 || v <= gpuSpectrum[i - 1]), 'descending, positive');
  const vsCli = spectrumExcess(gpuSpectrum, theirs, ranks);
  assert.ok(vsCli.worst <= 1, `WebGPU against memgen probe at rank ${vsCli.rank}: ${gpuSpectrum[vsCli.rank - 1]} against ${theirs[ranks.indexOf(vsCli.rank)]}`);
  await page.locator('[data-testid="panel-sweep"]').screenshot({ path: path.join(ARTIFACTS, 'sweep-basins-webgpu.png') });

  // The same sample on the CPU in this tab, for the side-by-side figures.
  await gpu.uncheck();
  const cpuBasin = await runLive(page, 'basins-live-run');
  assert.equal(cpuBasin.state, 'done', cpuBasin.text);
  assert.equal(cpuBasin.ranOn, 'cpu');
  assert.equal(cpuBasin.levels, basin.levels, 'the CPU and WebGPU read the same levels');
  const cpuSpec = await runLive(page, 'basins-live-spectrum');
  assert.equal(cpuSpec.state, 'done', cpuSpec.text);
  const cpuSpectrum = cpuSpec.spectrum.split(',').map(Number);
  const gpuVsCpu = Math.max(...gpuSpectrum.map((v, i) => Math.abs(v - cpuSpectrum[i]))) / cpuSpectrum[0];
  t.diagnostic(`benchmark, sample #${index} of K = 8 (3 trials, 4 DDIM steps, stride 200): basin ${basin.probeMs} ms on WebGPU in the worker (its start included) against ${cpuBasin.probeMs} ms on the CPU in the tab (${(Number(basin.probeMs) / Number(cpuBasin.probeMs)).toFixed(2)}×); spectrum ${spec.spectrumMs} ms against ${cpuSpec.spectrumMs} ms (${(Number(spec.spectrumMs) / Number(cpuSpec.spectrumMs)).toFixed(2)}×); largest spectrum difference ${(gpuVsCpu * 100).toFixed(3)}% of the top value; against memgen probe ${(vsCli.worst * 100).toFixed(0)}% of the allowance`);
  assert.ok(gpuVsCpu < 2e-3, `WebGPU and CPU spectra differ by ${gpuVsCpu} of the top value`);

  // The worker's device lost mid-spectrum: said, then the spectrum on the CPU to its end.
  await gpu.check();
  const before = workers.length;
  await page.locator('[data-testid="basins-live-spectrum"]').click();
  await page.waitForFunction(() => /in a worker: column \d+ of 784/.test(document.querySelector('[data-testid="basins-live"]')?.textContent || ''), null, { timeout: 600_000 });
  const worker = workers.slice(before).find((w) => w.url().includes('train-worker.js'));
  assert.ok(worker, 'no new worker for this probe');
  const destroyed = await worker.evaluate(() => { for (const d of self.__memgenGpuDevices) d.destroy(); return self.__memgenGpuDevices.length; });
  assert.ok(destroyed >= 1, 'the worker opened no GPU device');
  await page.locator('[data-testid="basins-live-device-note"]').waitFor({ timeout: 300_000 });
  assert.match(await page.locator('[data-testid="basins-live-device-note"]').textContent(), /The GPU device was lost \(destroyed.*the probe runs again in this tab on the CPU/);
  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.waitForFunction((sel) => /^(done|error|cancelled)/.test(document.querySelector(sel)?.dataset.state || ''), LIVE, { timeout: 600_000 });
  // The page's thread is bounded, not SwiftShader's frames after a destroyed device (see
  // sweep_live.test.mjs).
  await assertNoFreeze(t, page, 'the spectrum again on the CPU after the device was lost', { hangMs: Infinity });
  const after = await page.evaluate((sel) => ({ ...document.querySelector(sel).dataset }), LIVE);
  assert.equal(after.state, 'done');
  assert.equal(after.ranOn, 'cpu');
  assert.deepEqual(after.spectrum.split(',').map(Number), cpuSpectrum, 'the CPU\'s spectrum, every rank');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
  assert.deepEqual(workerErrors, []);
});
