// The Datasets panel (issue 4): nothing is fetched before a pick; picking MNIST streams the
// packed file with a bytes progress bar up to the manifest's size and previews S_K; a tiny .npy
// made here is uploaded and previewed; garbage gives a notice and the previous set stays; the
// panel's URL keys (ds, dk, dseed) coexist with the DenseAM panel's.
// Runs on the CPU fallback (the panel needs no GPU), against dist/ (bash scripts/build-web.sh,
// with www/data built by bash scripts/datasets.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { openLab, openView, waitForResult, readResult, describeLog, memgenBin, startFrameGaps, takeFrameGap, assertNoFreeze, DIST, ARTIFACTS, ROOT } from './lab.mjs';

const TIMEOUT = 600_000;
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

/** A PNG (8-bit RGB, no interlace) of `w`×`h` pixels from `rgb(x, y) -> [r, g, b]`. */
function png(w, h, rgb) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      raw.set([r, g, b], y * (1 + 3 * w) + 1 + 3 * x);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A zip archive (entries stored, no compression) of `files`: [[name, Buffer], ...]. */
function zipStored(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nm = Buffer.from(name, 'utf8');
    const crc = zlib.crc32(data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(nm.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(nm.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, nm, data);
    centrals.push(ch, nm);
    offset += 30 + nm.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** sha256 of the pixel payload of a .npy file written by `memgen export`. */
function npyPayloadSha(file) {
  const b = fs.readFileSync(file);
  const hlen = b.readUInt16LE(8);
  return crypto.createHash('sha256').update(b.subarray(10 + hlen)).digest('hex');
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
  await lab.goto('#/data');
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  // Nothing is fetched before a dataset is picked: once the view is up, and after a visit to
  // the images view (whose shipped bundle's fetch settles), no data file was asked for.
  await openView(page, 'images');
  await page.waitForFunction(() => (document.querySelector('[data-testid="sweep-state"]')?.dataset.state || 'loading') !== 'loading', null, { timeout: 300_000 });
  await openView(page, 'data');
  assert.equal(requests.filter((u) => u.includes('/www/data/')).length, 0, `fetched before a pick: ${requests.join(', ')}`);
  assert.equal((await readResult(page, 'dataset-preview')).state, 'empty');

  const K = 64;
  await page.locator('[data-testid="dataset-k"]').fill(String(K));
  await page.locator('[data-testid="dataset-k"]').dispatchEvent('change');
  // Streaming and unpacking the packed set runs between frames (issue 18).
  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="dataset-picker"]').selectOption('mnist');
  const pv = await waitPreview(page, K);
  await assertNoFreeze(t, page, 'loading MNIST and drawing S_K');
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
  await page.waitForFunction(([sel, b]) => document.querySelectorAll(sel).length > b, [`${PANEL} [data-testid="notice"]`, before], { timeout: 300_000 });
  const notes = await panelNotices(page);
  assert.ok(notes.some((s) => /garbage\.npy/.test(s) && /\.npy/.test(s)), notes.join(' | '));
  await page.locator(`${PANEL} [data-testid="notice"]`).last().waitFor({ state: 'visible' });
  const still = await readResult(page, 'dataset-preview');
  assert.equal(still.state, 'done');
  assert.equal(still.attrs['data-count'], String(n));
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /tiny\.npy/);

  // Wrong format: a notice too.
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'picture.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.waitForFunction(([sel, b]) => document.querySelectorAll(sel).length > b, [`${PANEL} [data-testid="notice"]`, notes.length], { timeout: 300_000 });
  assert.equal((await readResult(page, 'dataset-preview')).attrs['data-count'], String(n));

  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'datasets-panel.png') });

  // Back to MNIST: from the tab's cache, no second download.
  const fetched = requests.filter((u) => u.endsWith('.mgds')).length;
  await page.locator('[data-testid="dataset-picker"]').selectOption('mnist');
  await waitPreview(page, K);
  assert.equal(requests.filter((u) => u.endsWith('.mgds')).length, fetched);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test("datasets: an upload's labels take the paper's δ_s for its channels, said beside the run, whatever the file's name", { timeout: TIMEOUT }, async (t) => {
  // The bug this guards: the dataset was a name, and an uploaded grey set fell through to
  // CIFAR-10's δ_s (0.175). The Images view now names the rule and the value it applies.
  const lab = await openLab(t, { webgpu: false, query: null });
  const { page, log } = lab;
  await lab.goto('#/data');
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  const n = 5;
  const data = new Uint8Array(n * 8 * 8).map((_, i) => (i * 37) % 256);
  // Named like a built-in colour set: the name must not matter.
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'emoji.npy', mimeType: 'application/octet-stream', buffer: npyU8([n, 8, 8], data) });
  await waitPreview(page, 2);
  await openView(page, 'images');
  await page.waitForFunction(() => /emoji\.npy, K = /.test(document.querySelector('[data-testid="sweep-live-subset"]')?.textContent || ''), null, { timeout: 300_000 });
  const text = await page.locator('[data-testid="sweep-live-subset"]').textContent();
  assert.match(text, /δ_s = 0\.28 \(MNIST's δ_s, the paper's grey set/, text);
  assert.doesNotMatch(text, /0\.175/, text);
  assert.deepEqual(log.pageErrors, []);
});

test('datasets: URL keys parse defensively and coexist with the DenseAM panel', { timeout: TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?beta=8&ds=cifar&dk=abc&dseed=-1#/data' });
  const { page, log } = lab;
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  const notes = await panelNotices(page);
  assert.equal(notes.length, 3, notes.join(' | '));
  assert.equal(await page.locator('[data-testid="dataset-k"]').inputValue(), '2');
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), '');

  // A link naming a dataset loads it (after the first paint), with its K and seed.
  await lab.goto('?beta=8&ds=emoji&dk=30&dseed=3#/data');
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  await waitPreview(page, 30);
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), 'emoji');
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /Apache-2\.0/);
  // The DenseAM view rewrites its keys without dropping ours, and ours keep its; the hash
  // route follows the view.
  await openView(page, 'memory');
  assert.equal(new URL(page.url()).hash, '#/memory');
  await page.locator('[data-testid="k-input"]').fill('6');
  await page.locator('[data-testid="k-input"]').dispatchEvent('change');
  await page.waitForFunction(() => /[?&]k=6(&|$)/.test(location.search), null, { timeout: 300_000 });
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('ds'), 'emoji');
  assert.equal(q.get('dk'), '30');
  assert.equal(q.get('dseed'), '3');
  assert.equal(q.get('k'), '6');
  assert.ok(Math.abs(Number(q.get('beta')) - 8) < 0.1, page.url());
  // Back (the browser's button) returns to the datasets view, its set still shown.
  await page.goBack();
  await page.waitForFunction(() => document.querySelector('[data-testid="views"]')?.dataset.view === 'data', null, { timeout: 300_000 });
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), 'emoji');
  assert.equal(new URL(page.url()).searchParams.get('k'), '6', `the link keeps what the views show: ${page.url()}`);
  await page.goForward();
  await page.waitForFunction(() => document.querySelector('[data-testid="views"]')?.dataset.view === 'memory', null, { timeout: 300_000 });
  await openView(page, 'data');
  await page.locator('[data-testid="dataset-seed"]').fill('4');
  await page.locator('[data-testid="dataset-seed"]').dispatchEvent('change');
  await page.waitForFunction(() => /[?&]dseed=4(&|$)/.test(location.search), null, { timeout: 300_000 });
  assert.equal(new URL(page.url()).searchParams.get('k'), '6');
  await waitPreview(page, 30);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('datasets: PNG files and a zip upload; class-balanced S_K equals memgen export --balanced', { timeout: TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: null });
  const { page, log } = lab;
  await lab.goto('#/data');
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  // K above the uploads' sizes (the default, 2, would preview two of them).
  await page.locator('[data-testid="dataset-k"]').fill('100');
  await page.locator('[data-testid="dataset-k"]').dispatchEvent('change');

  // Three PNGs of different sizes at once, resized to 28x28 grey.
  const files = [0, 1, 2].map((i) => ({
    name: `shape${i}.png`,
    mimeType: 'image/png',
    buffer: png(20 + 10 * i, 30, (x, y) => [(x * 8 + i * 60) % 256, (y * 8) % 256, i * 100]),
  }));
  await page.locator('[data-testid="dataset-upload"]').setInputFiles(files);
  await waitPreview(page, 3);
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /3 files/);
  assert.equal(await page.locator('[data-testid="dataset-picker"]').inputValue(), 'upload');

  // A zip of 40 PNGs (plus macOS metadata that is skipped), decoded in steps with progress.
  const entries = Array.from({ length: 40 }, (_, i) => [`digits/img${String(i).padStart(2, '0')}.png`, png(16, 16, (x, y) => [(x * 16 + i) % 256, (y * 16) % 256, (i * 6) % 256])]);
  entries.push(['__MACOSX/._img00.png', Buffer.from('resource fork')]);
  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'digits.zip', mimeType: 'application/zip', buffer: zipStored(entries) });
  await waitPreview(page, 40);
  // Forty 16×16 PNGs decode within a frame or two: no frame need fall inside.
  await assertNoFreeze(t, page, 'decoding a zip of 40 PNGs', { minFrames: 0 });
  assert.match(await page.locator('[data-testid="dataset-info"]').textContent(), /digits\.zip/);

  // A corrupt zip: a notice naming it, the 40 images stay.
  const before = (await panelNotices(page)).length;
  const bad = zipStored(entries.slice(0, 3));
  bad.write('garbage!', 40, 'latin1');
  await page.locator('[data-testid="dataset-upload"]').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: bad });
  await page.waitForFunction(([sel, b]) => document.querySelectorAll(sel).length > b, [`${PANEL} [data-testid="notice"]`, before], { timeout: 300_000 });
  const notes = await panelNotices(page);
  assert.ok(notes.some((s) => /broken\.zip/.test(s)), notes.join(' | '));
  assert.equal((await readResult(page, 'dataset-preview')).attrs['data-count'], '40');

  // Class-balanced S_K of MNIST: the same pixels as `memgen export --balanced` (and not the plain subset's).
  const K = 20;
  await page.locator('[data-testid="dataset-k"]').fill(String(K));
  await page.locator('[data-testid="dataset-k"]').dispatchEvent('change');
  await page.locator('[data-testid="dataset-picker"]').selectOption('mnist');
  // The uploaded set (40 images) is previewed at K = 20 too: wait for MNIST's own info first.
  await page.waitForFunction(() => /60000 images/.test(document.querySelector('[data-testid="dataset-info"]')?.textContent || ''), null, { timeout: TIMEOUT });
  const plain = await waitPreview(page, K);
  await page.locator('[data-testid="dataset-balanced"]').check();
  await page.waitForFunction(() => /[?&]dbal=1(&|$)/.test(location.search), null, { timeout: 300_000 });
  await page.waitForFunction(
    ([sel, sha]) => {
      const el = document.querySelector(sel);
      return el && el.dataset.state === 'done' && el.dataset.sha && el.dataset.sha !== sha;
    },
    ['[data-testid="dataset-preview"]', plain.attrs['data-sha']],
    { timeout: TIMEOUT, polling: 100 },
  );
  const balanced = await readResult(page, 'dataset-preview');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-e2e-'));
  const bin = memgenBin();
  execFileSync(bin, ['export', '--data-dir', path.join(DIST, 'www', 'data'), '--dataset', 'mnist', '--k', String(K), '--seed', '0', '--balanced', '--out', path.join(dir, 'bal.npy')]);
  execFileSync(bin, ['export', '--data-dir', path.join(DIST, 'www', 'data'), '--dataset', 'mnist', '--k', String(K), '--seed', '0', '--out', path.join(dir, 'plain.npy')]);
  assert.equal(plain.attrs['data-sha'], npyPayloadSha(path.join(dir, 'plain.npy')), 'plain S_K: app vs memgen export');
  assert.equal(balanced.attrs['data-sha'], npyPayloadSha(path.join(dir, 'bal.npy')), 'balanced S_K: app vs memgen export --balanced');
  assert.match(await page.locator('.dataset-figure figcaption').textContent(), /class-balanced/);
  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'datasets-balanced.png') });
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
