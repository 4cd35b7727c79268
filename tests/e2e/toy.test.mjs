// The 2-D diffusion toy in a real browser: the page trains it with burn's CPU backend inside wasm
// K = 2 lowers the loss, and samples of the trained model gather at the two training points.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openLab, waitForFirstFrame, describeLog } from './lab.mjs';

const STEPS = 800;

test('toy K=2: training in the tab (burn CPU backend in wasm) lowers the loss and samples gather at the two points', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: true });
  const { page, log } = lab;
  await waitForFirstFrame(page);
  await page.locator('[data-testid="toy-k2"]').click();
  for (const [id, v] of [['toy-steps', String(STEPS)], ["toy-samples", "300"], ['toy-lr', '0.003']]) {
    const input = page.locator(`[data-testid="${id}"]`);
    await input.fill(v);
    await input.dispatchEvent('change');
  }
  await page.locator('[data-testid="toy-train"]').click();
  const progress = page.locator('[data-testid="toy-progress"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-progress"]')?.dataset.state === 'trained', null, { timeout: 480_000 });
  const step = Number(await progress.getAttribute('data-step'));
  const [head, tail] = (await progress.getAttribute('data-losses')).split(',').map(Number);
  t.diagnostic(`trained ${step} steps: mean loss of the first 50 steps ${head}, last 50 ${tail}`);
  assert.equal(step, STEPS);
  assert.ok(Number.isFinite(head) && Number.isFinite(tail), `losses ${head}, ${tail}`);
  assert.ok(tail < 0.8 * head, `loss did not go down: ${head} → ${tail}`);

  await page.locator('[data-testid="toy-sample"]').click();
  await page.waitForFunction(() => (document.querySelector('[data-testid="toy-centroids"]')?.dataset.nearFraction || '') !== '', null, { timeout: 300_000 });
  const c = page.locator('[data-testid="toy-centroids"]');
  const near = Number(await c.getAttribute('data-near-fraction'));
  const memorized = Number(await c.getAttribute('data-memorized'));
  t.diagnostic(`samples within 0.1 of a training point: ${near}; memorized centroids: ${memorized}`);
  assert.ok(near >= 0.6, `only ${near} of samples gather at the two points`);
  assert.ok(memorized >= 1, `no memorized centroid`);
  await lab.screenshot('toy-k2');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
