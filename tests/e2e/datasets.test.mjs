// The Datasets panel (issue 4): nothing is fetched before a pick; picking MNIST streams the
// packed file with a bytes progress bar up to the manifest's size and previews S_K; a tiny .npy
// made here is uploaded and previewed; garbage gives a notice and the previous set stays; the
// panel's URL keys (ds, dk, dseed) coexist with the DenseAM panel's.
// Runs on the CPU fallback (the panel needs no GPU), against dist/ (bash scripts/build-web.sh,
// with www/data built by bash scripts/datasets.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openLab, waitForResult, readResult, describeLog, DIST, ARTIFACTS } from './lab.mjs';

const TIMEOUT = 180_000;
const PANEL = '[data-testid="panel-datasets"]';

/** A NumPy .npy (format 1.0) file holding uint8 values of `shape`. */
function npyU8(shape, data) {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data)]);
}

function manifest() {
  return JSON.parse(fs.readFileSync(path.join(DIST, 'www', 'data', 'datasets.json'), 'utf8'));
}

async function panelNotices(page) {
  return page.locator(`${PANEL} [data-testid="notice"]`).allTextContents();
}

async function waitPreview(page, count) {
  await page.waitForFunction(
    ([sel, n]) => {
      const el = document.querySelector(sel);
      return !!el && el.dataset.state === 'done' && el.dataset.count === String(n);
    },
    ['[data-testid="dataset-preview"]', count],
    { timeout: TIMEOUT, polling: 100 },
  );
  return readResult(page, 'dataset-preview');
}

test('datasets: pick MNIST, preview S_K, upload .npy, garbage keeps the previous set', { timeout: TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: null });
  const { page, log } = lab;
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await lab.goto('');
  await page.locator(PANEL).waitFor({ timeout: 60_000 });
  // Nothing is fetched before a dataset is picked.
  await page.waitForTimeout(500);
  assert.equal(requests.filter((u) => u.includes('/www/data/')).length, 0, `fetched before a pick: ${requests.join(', ')}`);
  assert.equal((await readResult(page, 'dataset-preview')).state, 'empty');

  const K = 64;
  await page.locator('[data-testid="dataset-k"]').fill(String(K));
  await page.locator('[data-testid="dataset-k"]').dispatchEvent('change');
  await page.locator('[data-testid="dataset-picker"]').selectOption('mnist');
  const pv = await waitPreview(page, K);
  assert.equal(pv.attrs['data-count'], await page.locator('[data-testid="dataset-k"]').inputValue());
  assert.equal(Number(pv.attrs['data-drawn']), K);

  const want = manifest().files.find((f) => f.dataset === 'mnist' && f.web);
  const prog = await readResult(page, 'dataset-progress');
  assert.equal(prog.state, 'done', JSON.stringify(prog));
  assert.equal(Number(prog.attrs['data-total']), want.bytes);
  assert.equal(Number(prog.attrs['data-bytes']), Number(prog.attrs['data-total']), JSON.stringify(prog));

  const info = await page.locator('[data-testid="dataset-info"]').textContent();
  assert.match(info, /60000 images/);
  assert.match(info, /\[60000, 28, 28\]/);
  assert.match(info, /CC-BY-SA-3\.0/);
  assert.match(info, /LeCun/);
  assert.ok(info.includes(want.header.payload_sha256.slice(0, 12)), info);
  assert.match(page.url(), /[?&]ds=mnist(&|$)/);
  assert.match(page.url(), /[?&]dk=64(&|$)/);

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'datasets-mnist.png') });

  // A tiny .npy, 5 grey 8x8 images: shown as the new set.
  const n = 5;
  const data = new Uint8Array(n * 8 * 8).map((_, i) => (i * 37) % 256);
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'tiny.npy', mimeType: 'application/octet-stream', buffer: npyU8([n, 8, 8], data) });
  await waitPreview(page, n);
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /tiny\.npy/);
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), 'upload');

  // Garbage: a clear notice, the previous set stays.
  const before = (await panelNotices(page)).length;
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'garbage.npy', mimeType: 'application/octet-stream', buffer: Buffer.from('this is not an array at all') });
  await page.waitForFunction(([sel, b]) => document.querySelectorAll(sel).length > b, [`${PANEL} [data-testid="notice"]`, before], { timeout: 30_000 });
  const notes = await panelNotices(page);
  assert.ok(notes.some((s) => /garbage\.npy/.test(s) && /\.npy/.test(s)), notes.join(' | '));
  await page.locator(`${PANEL} [data-testid="notice"]`).last().waitFor({ state: 'visible' });
  const still = await readResult(page, 'dataset-preview');
  assert.equal(still.state, 'done');
  assert.equal(still.attrs['data-count'], String(n));
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /tiny\.npy/);

  // Wrong format: a notice too.
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'picture.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.waitForFunction(([sel, b]) => document.querySelectorAll(sel).length > b, [`${PANEL} [data-testid="notice"]`, notes.length], { timeout: 30_000 });
  assert.equal((await readResult(page, 'dataset-preview')).attrs['data-count'], String(n));

  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'datasets-panel.png') });

  // Back to MNIST: from the tab's cache, no second download.
  const fetched = requests.filter((u) => u.endsWith('.mgds')).length;
  await page.locator('[data-testid="dataset-picker"]').selectOption('mnist');
  await waitPreview(page, K);
  assert.equal(requests.filter((u) => u.endsWith('.mgds')).length, fetched);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('datasets: URL keys parse defensively and coexist with the DenseAM panel', { timeout: TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?beta=8&ds=cifar&dk=abc&dseed=-1' });
  const { page, log } = lab;
  await page.locator(PANEL).waitFor({ timeout: 60_000 });
  const notes = await panelNotices(page);
  assert.equal(notes.length, 3, notes.join(' | '));
  assert.equal(await page.locator('[data-testid="dataset-k"]').inputValue(), '100');
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), '');

  // A link naming a dataset loads it (after the first paint), with its K and seed.
  await lab.goto('?beta=8&ds=emoji&dk=30&dseed=3');
  await page.locator(PANEL).waitFor({ timeout: 60_000 });
  await waitPreview(page, 30);
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), 'emoji');
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /Apache-2\.0/);
  // The DenseAM panel rewrites its keys without dropping ours, and ours keep its.
  await page.locator('[data-testid="k-input"]').fill('6');
  await page.locator('[data-testid="k-input"]').dispatchEvent('change');
  await page.waitForFunction(() => /[?&]k=6(&|$)/.test(location.search), null, { timeout: 30_000 });
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('ds'), 'emoji');
  assert.equal(q.get('dk'), '30');
  assert.equal(q.get('dseed'), '3');
  assert.equal(q.get('k'), '6');
  assert.ok(Math.abs(Number(q.get('beta')) - 8) < 0.1, page.url());
  await page.locator('[data-testid="dataset-seed"]').fill('4');
  await page.locator('[data-testid="dataset-seed"]').dispatchEvent('change');
  await page.waitForFunction(() => /[?&]dseed=4(&|$)/.test(location.search), null, { timeout: 30_000 });
  assert.equal(new URL(page.url()).searchParams.get('k'), '6');
  await waitPreview(page, 30);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
