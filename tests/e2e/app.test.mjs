// The lab in a real browser on WebGPU (SwiftShader): load, backend, first frame, the shader
// self-check against the core crate's formula, and a real burn training step on the page's device.
// Runs against the release build in dist/ (bash scripts/build-web.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  DIST,
  openLab,
  openView,
  waitForFirstFrame,
  waitForResult,
  screenshotPanels,
  describeLog,
  startFrameGaps,
  takeFrameGap,
  assertNoFreeze,
  WEBGPU_TEST_TIMEOUT,
} from './lab.mjs';

/** First frame must be drawn within this many ms of navigation start (issue 2). */
const FIRST_FRAME_BUDGET_MS = 20_000;

test('loads on WebGPU with no console errors and draws the first frame', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: null });
  const { page, log } = lab;
  const fetched = [];
  page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  await lab.goto('');

  const firstFrameMs = await waitForFirstFrame(page);
  t.diagnostic(`first frame at ${firstFrameMs} ms after navigation start`);
  assert.ok(Number.isFinite(firstFrameMs) && firstFrameMs > 0, `bad data-first-frame-ms: ${firstFrameMs}`);
  assert.ok(firstFrameMs <= FIRST_FRAME_BUDGET_MS, `first frame after ${firstFrameMs} ms (> ${FIRST_FRAME_BUDGET_MS} ms)`);

  const backend = page.locator('[data-testid="backend"]');
  await backend.waitFor({ state: 'visible', timeout: 300_000 });
  const text = (await backend.textContent()).trim();
  t.diagnostic(`backend: ${text}`);
  assert.equal(await backend.getAttribute('data-backend'), 'webgpu', `expected WebGPU, backend says "${text}"`);
  assert.ok(text.startsWith('WebGPU · ') && text.length > 'WebGPU · '.length, `backend text "${text}"`);

  const panel = page.locator('[data-testid="panel-dense-am"]');
  await panel.waitFor({ state: 'visible' });
  const canvas = panel.locator('[data-testid="energy-canvas"]');
  const box = await canvas.boundingBox();
  assert.ok(box, 'energy canvas not laid out');
  assert.ok(Math.abs(box.width - 512) <= 1 && Math.abs(box.height - 512) <= 1, `energy canvas is ${box.width}×${box.height} CSS px, want 512×512`);

  // The basin map and attractor list finish too.
  const summary = await waitForResult(page, 'attractor-summary');
  assert.equal(summary.state, 'done', `attractor summary: ${summary.text}`);
  assert.ok(Number(summary.attrs['data-stored']) >= 1, `data-stored=${summary.attrs['data-stored']}`);

  // The first view loads the lite module only (src/lite.rs): the full one is for views that train.
  const code = fetched.filter((p) => /\.(wasm|m?js)$/.test(p));
  assert.ok(code.includes('/lite/memgen-lab_bg.wasm'), `the lite module was not loaded: ${code}`);
  assert.ok(!code.includes('/memgen-lab_bg.wasm') && !code.includes('/memgen-lab.js'), `the full module was loaded for the first view: ${code}`);
  const gz = code.reduce((a, p) => a + zlib.gzipSync(fs.readFileSync(path.join(DIST, p))).length, 0);
  t.diagnostic(`first load: ${code.join(', ')}: ${(gz / 1024).toFixed(0)} KiB gzipped`);
  assert.ok(gz <= 3e6, `the first load is ${gz} bytes gzipped, over 3 MB`);

  await lab.screenshot('webgpu-page');
  await screenshotPanels(page, 'webgpu');

  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
});

/** A DenseAM sweep's points from its plot's hook: [{x, spurious, retrieval}]. */
async function sweepPoints(page, id) {
  const text = (await page.locator(`[data-testid="${id}"]`).getAttribute('data-points')) || '';
  return text ? text.split(';').map((p) => p.split(':').map(Number)).map(([x, spurious, retrieval]) => ({ x, spurious, retrieval })) : [];
}

test('DenseAM sweeps: β and K swept between frames with progress; retrieval rises with β; cancel stops a sweep', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: null });
  const { page, log } = lab;
  await lab.goto('');
  await waitForFirstFrame(page);
  assert.equal((await waitForResult(page, 'attractor-summary')).state, 'done');
  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="sweep-beta"]').click();
  await page.locator('[data-testid="sweep-progress"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('[data-testid="sweep-progress"]').getAttribute('data-state'), 'running');
  assert.match(await page.locator('[data-testid="sweep-progress"]').textContent(), /Sweeping β.*\d+% · about \d+ s left/s);
  await page.waitForFunction(() => !document.querySelector('[data-testid="sweep-progress"]'), null, { timeout: WEBGPU_TEST_TIMEOUT });
  await assertNoFreeze(t, page, 'sweeping β over 20 basin maps');
  const beta = await sweepPoints(page, 'sweep-beta-plot');
  t.diagnostic(`β sweep: ${beta.map((p) => `β ${p.x.toFixed(2)}: ${p.spurious} spurious, retrieval ${p.retrieval.toFixed(3)}`).join('; ')}`);
  assert.equal(beta.length, 20);
  assert.ok(Math.abs(beta[0].x - 0.3) < 1e-9 && Math.abs(beta[19].x - 300) < 1e-6, `β from ${beta[0].x} to ${beta[19].x}`);
  assert.ok(beta.every((p, i) => i === 0 || p.x > beta[i - 1].x), 'β ascending');
  assert.ok(beta.every((p) => p.retrieval >= 0 && p.retrieval <= 1 && Number.isInteger(p.spurious) && p.spurious >= 0));
  // At small β the memories merge into one mixture state (retrieval near 0); at large β each is
  // its own attractor and almost every start falls into one (paper Fig. 1A).
  assert.ok(beta[0].retrieval < 0.1, `retrieval ${beta[0].retrieval} at β = 0.3`);
  assert.ok(beta[0].spurious >= 1, `no mixture attractor at β = 0.3`);
  assert.ok(beta[19].retrieval > 0.9, `retrieval ${beta[19].retrieval} at β = 300`);
  assert.match(await page.locator('[data-testid="sweep-beta-plot"]').getAttribute('aria-label'), /from 0\.3 to 300/);

  // The K sweep, cancelled as soon as its progress shows (after its first point; each point is
  // a basin map and yields to the event loop): it stops, and the plot keeps what it had.
  await page.evaluate(() => new Promise((resolve) => {
    const seen = new MutationObserver(() => {
      const cancel = document.querySelector('[data-testid="sweep-cancel"]');
      if (!cancel) return;
      seen.disconnect();
      cancel.click();
      resolve();
    });
    seen.observe(document.body, { childList: true, subtree: true });
    document.querySelector('[data-testid="sweep-k"]').click();
  }));
  await page.waitForFunction(() => !document.querySelector('[data-testid="sweep-progress"]'), null, { timeout: 60_000 });
  const atCancel = (await sweepPoints(page, 'sweep-k-plot')).length;
  // Sixty frames later (each sweep point yields to the event loop) no point was added.
  await page.evaluate(() => new Promise((r) => { let n = 0; const f = () => (++n >= 60 ? r() : requestAnimationFrame(f)); requestAnimationFrame(f); }));
  const after = await sweepPoints(page, 'sweep-k-plot');
  t.diagnostic(`K sweep cancelled at ${atCancel} of 15 points`);
  assert.ok(atCancel >= 1 && atCancel < 15, `${atCancel} points at cancel`);
  assert.equal(after.length, atCancel, 'the cancelled sweep went on');
  assert.deepEqual(after.map((p) => p.x), [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64].slice(0, atCancel));
  await assertNoFreeze(t, page, 'sweeping K and cancelling');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
});

test('shader self-check: WGSL energy matches the core formula (rel err ≤ 1e-4)', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: '#/system' });
  const { page, log } = lab;
  await page.locator('[data-testid="run-shader-check"]').click();
  const r = await waitForResult(page, 'shader-check');
  t.diagnostic(`shader check: state=${r.state} max-rel-err=${r.attrs['data-max-rel-err']} text=${JSON.stringify(r.text)}`);
  assert.equal(r.state, 'done', `shader check failed: ${r.text}`);
  const err = Number(r.attrs['data-max-rel-err']);
  assert.ok(Number.isFinite(err), `data-max-rel-err=${r.attrs['data-max-rel-err']}`);
  assert.ok(err <= 1e-4, `max relative error ${err} > 1e-4`);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('toy CPU trainers in the tab: the fused trainer gives burn\'s losses for the same seed (wasm)', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: '#/system' });
  const { page, log } = lab;
  await page.locator('[data-testid="run-toy-cpu"]').click();
  const r = await waitForResult(page, 'toy-cpu');
  t.diagnostic(`toy CPU trainers: ${r.text}`);
  assert.equal(r.state, 'done', `comparison failed: ${r.text}`);
  assert.equal(Number(r.attrs['data-steps']), 20);
  const d = Number(r.attrs['data-max-rel-diff']);
  assert.ok(Number.isFinite(d) && d < 1e-3, `fused and burn losses differ by ${r.attrs['data-max-rel-diff']}`);
  assert.ok(Number(r.attrs['data-burn-rate']) > 0 && Number(r.attrs['data-fused-rate']) > 0, JSON.stringify(r.attrs));
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('train probe: burn training steps run on the page WebGPU device and the loss goes down', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: '#/system' });
  const { page, log } = lab;
  // The page's thread compiles burn's WebGPU kernels right after the click; on a busy 2-core
  // machine Playwright's default 30 s for the click's own round trip was once too short.
  await page.locator('[data-testid="run-train-probe"]').click({ timeout: 300_000 });
  const r = await waitForResult(page, 'train-probe');
  t.diagnostic(`train probe: state=${r.state} device=${r.attrs['data-device']} losses=${r.attrs['data-losses']}`);
  assert.equal(r.state, 'done', `train probe failed: ${r.text}`);
  assert.equal(r.attrs['data-device'], 'webgpu', 'the training probe did not run on WebGPU');
  let losses;
  assert.doesNotThrow(() => (losses = JSON.parse(r.attrs['data-losses'])), `data-losses is not JSON: ${r.attrs['data-losses']}`);
  assert.ok(Array.isArray(losses) && losses.length >= 3, `want ≥ 3 losses, got ${JSON.stringify(losses)}`);
  assert.ok(losses.every((x) => typeof x === 'number' && Number.isFinite(x)), `non-finite loss in ${JSON.stringify(losses)}`);
  assert.ok(losses.at(-1) < losses[0], `loss did not go down: ${JSON.stringify(losses)}`);
  await lab.screenshot('webgpu-train-probe');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('nothing loaded from elsewhere: a tour of every panel asks only the page\'s own origin, under its Content-Security-Policy, with no violation', { timeout: 3 * WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: null });
  const { page, log } = lab;
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  // Violations are reported as events on the document (and as console errors).
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const first = await lab.goto('?ds=mnist&dk=16');
  const policy = first.headers()['content-security-policy'] || '';
  assert.match(policy, /default-src 'self'/, 'the server sends the policy');
  const meta = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(meta, /default-src 'self'/, 'index.html carries it for static hosts');
  await waitForFirstFrame(page);
  // The tour: every view opened from the top bar (each fetches its assets when opened), the
  // dataset of the link previewed, the shipped bundle's plot and a gallery.
  await waitForResult(page, 'attractor-summary');
  for (const slug of ['data', 'toy', 'images', 'system']) await openView(page, slug);
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-preview"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  await page.waitForFunction(() => (document.querySelector('[data-testid="sweep-state"]')?.dataset.state || 'loading') !== 'loading', null, { timeout: 300_000 });
  const origin = new URL(lab.server.url).origin;
  const elsewhere = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  t.diagnostic(`${requests.length} requests, ${elsewhere.length} to other origins`);
  assert.ok(requests.some((u) => u.includes('/www/data/mnist')), 'the tour fetched the dataset');
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(await page.evaluate(() => window.__csp), [], 'CSP violations');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
});
