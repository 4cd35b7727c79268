// With WebGPU turned off in Chromium (--disable-webgpu: navigator.gpu exists but requestAdapter()
// resolves to null), the lab falls back to its CPU path inside wasm, says so on screen, and the
// DenseAM panel still draws and computes its basin map.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLab, waitForFirstFrame, waitForResult, screenshotPanels, describeLog, WEBGPU_TEST_TIMEOUT } from './lab.mjs';

test('CPU fallback without WebGPU: says so, and the DenseAM panel still works', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: false });
  const { page, log } = lab;

  const firstFrameMs = await waitForFirstFrame(page);
  t.diagnostic(`first frame (CPU) at ${firstFrameMs} ms`);

  const backend = page.locator('[data-testid="backend"]');
  await backend.waitFor({ state: 'visible', timeout: 300_000 });
  const text = (await backend.textContent()).trim();
  t.diagnostic(`backend: ${text}`);
  assert.equal(await backend.getAttribute('data-backend'), 'cpu', `backend says "${text}"`);
  assert.match(text, /CPU fallback/);

  const summary = await waitForResult(page, 'attractor-summary');
  t.diagnostic(`attractors: ${JSON.stringify(summary.attrs)}`);
  assert.equal(summary.state, 'done', `attractor summary: ${summary.text}`);
  assert.ok(Number(summary.attrs['data-stored']) >= 1, `data-stored=${summary.attrs['data-stored']}`);
  assert.ok(await page.locator('[data-testid="attractor-list"] li').count() >= 1, 'attractor list is empty');

  // The heatmap canvas has non-blank pixels (it is drawn, not just sized).
  const painted = await page.evaluate(() => {
    const c = document.querySelector('[data-testid="energy-canvas"]');
    if (!c) return 'no canvas';
    const tmp = document.createElement('canvas');
    tmp.width = 64;
    tmp.height = 64;
    const g = tmp.getContext('2d');
    g.drawImage(c, 0, 0, 64, 64);
    const d = g.getImageData(0, 0, 64, 64).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
  assert.ok(typeof painted === 'number' && painted > 8, `energy canvas looks blank (${painted} distinct colours)`);

  await lab.screenshot('cpu-fallback-page');
  await screenshotPanels(page, 'cpu');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
