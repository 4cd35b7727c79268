// The phase-transition panel (issue 6) in a real browser: a bundle made here by `memgen sweep`
// (the real CLI on the real MNIST file) is loaded through the file input; the fractions plot
// lists its K values, the gallery shows each sample with the neighbours the bundle recorded
// (which tests/sweep.rs checks against brute-force kNN), δ sliders relabel without
// regenerating, a point re-run in the tab with the bundle's settings repeats the CLI's run, and
// a corrupt bundle gives a notice while the loaded one stays.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openLab, describeLog, memgenBin, download, parseCsv, startFrameGaps, takeFrameGap, assertNoFreeze, f16s, spectrumExcess, DIST, ARTIFACTS } from './lab.mjs';

const PANEL = '[data-testid="panel-sweep"]';

test('sweep panel: a memgen sweep bundle loads; plot, gallery neighbours, δ relabelling, a point re-run in the tab', { timeout: 600_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-sweep-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'bundle');
  // A tiny, briefly trained UNet: its samples are not copies, so the labels depend on δ.
  execFileSync(memgenBin(), ['sweep', '--data-dir', path.join(DIST, 'www', 'data'), '--dataset', 'mnist', '--ks', '2,4,8',
    '--model', 'unet', '--steps', '10', '--batch', '8', '--eval', '12', '--sampler', 'ddim', '--sampler-steps', '5',
    '--sample-batch', '32', '--bootstrap', '50', '--seed', '1', '--engine', 'fused', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  const files = fs.readdirSync(out).map((f) => path.join(out, f));
  const gallery = JSON.parse(fs.readFileSync(path.join(out, 'gallery-k4.json'), 'utf8'));

  // The Datasets panel opens MNIST (its S_K is not the bundle's: the re-run below draws its own).
  const lab = await openLab(t, { webgpu: false, query: '?ds=mnist&dk=4&dseed=0#/images' });
  const { page, log } = lab;
  const panel = page.locator(PANEL);
  await panel.waitFor({ timeout: 300_000 });
  // The shipped bundle when www/bundles/index.json lists one; otherwise the panel says how to make one.
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state !== 'loading', null, { timeout: 300_000 });
  const index = JSON.parse(fs.readFileSync(path.join(DIST, 'www', 'bundles', 'index.json'), 'utf8'));
  const initial = await page.locator('[data-testid="sweep-state"]').getAttribute('data-state');
  if (index.bundles.includes('mnist')) {
    assert.equal(initial, 'shipped');
    // The quality row under the fractions (issue 15): each K's precision as the manifest records
    // it, real test images' beside; the first K's figures in words.
    const shipped = JSON.parse(fs.readFileSync(path.join(DIST, 'www', 'bundles', 'mnist', 'manifest.json'), 'utf8'));
    const q = page.locator('[data-testid="sweep-quality"]');
    assert.equal(await q.getAttribute('data-ks'), shipped.results.map((r) => r.k).join(','));
    const near = (attr, want) => attr.split(',').map(Number).every((v, i) => Math.abs(v - want[i]) < 1e-3) && attr.split(',').length === want.length;
    assert.ok(near(await q.getAttribute('data-precision'), shipped.results.map((r) => r.quality.samples.precision)));
    assert.ok(near(await q.getAttribute('data-real'), shipped.results.map((r) => r.quality.real.precision)));
    assert.ok(await page.locator('[data-testid="sweep-quality-canvas"]').isVisible());
    const summary = page.locator('[data-testid="sweep-quality-summary"]');
    assert.equal(await summary.getAttribute('data-k'), String(shipped.results[0].k));
    assert.match(await summary.textContent(), /Precision \d\.\d\d .*real digits/);
    const last = shipped.results[shipped.results.length - 1];
    await page.locator(`[data-testid="sweep-k${last.k}"]`).click();
    await page.waitForFunction((k) => document.querySelector('[data-testid="sweep-quality-summary"]')?.dataset.k === String(k), last.k, { timeout: 300_000 });
    assert.ok(Math.abs(Number(await summary.getAttribute('data-precision')) - last.quality.samples.precision) < 1e-4);
    const p = last.quality.samples.precision, real = last.quality.real.precision;
    assert.equal(await summary.getAttribute('data-level'), p < 0.3 ? 'not_yet' : p < 0.8 * real ? 'mixed' : 'good');
    await panel.screenshot({ path: path.join(ARTIFACTS, 'sweep-shipped-quality.png') });
    // Its gallery: the first 40 rows, and a button for the rest (issue 17 item 8).
    const shippedRows = page.locator('[data-testid="sweep-sample"]');
    const g = JSON.parse(fs.readFileSync(path.join(DIST, 'www', 'bundles', 'mnist', `gallery-k${last.k}.json`), 'utf8'));
    assert.ok(g.samples.length > 40, `the shipped gallery has ${g.samples.length} samples`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="sweep-sample"]').length === 40, null, { timeout: 300_000 });
    await page.locator('[data-testid="sweep-gallery-all"]').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="sweep-sample"]').length === n, g.samples.length, { timeout: 300_000 });
    assert.match(await page.locator('[data-testid="sweep-gallery-all"]').textContent(), /first 40/);
    // A sample opened from the keyboard: its row is marked, and its detail is right under it.
    const row = shippedRows.nth(45);
    await row.focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="sweep-detail"]').waitFor({ timeout: 300_000 });
    assert.match(await row.getAttribute('class'), /\bpicked\b/);
    assert.equal(await row.getAttribute('aria-pressed'), 'true');
    const rowBox = await row.boundingBox();
    const detailBox = await page.locator('[data-testid="sweep-detail"]').boundingBox();
    assert.ok(detailBox.y >= rowBox.y + rowBox.height - 1 && detailBox.y - (rowBox.y + rowBox.height) < 40, `the detail is ${detailBox.y - rowBox.y - rowBox.height} px from its row`);
  } else assert.match(initial, /^none/);

  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(files);
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state === 'loaded', null, { timeout: 300_000 });
  assert.equal(await page.locator('[data-testid="sweep-plot"]').getAttribute('data-ks'), '2,4,8');
  assert.match(await page.locator('[data-testid="sweep-provenance"]').textContent(), /Loaded from your files.*memgen sweep/s);
  // Ten training steps make noise, and the quality row says so (the CLI measured S_eval with the
  // classifier in the data folder).
  const made = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(await page.locator('[data-testid="sweep-quality"]').getAttribute('data-ks'), '2,4,8');
  assert.ok(made.results.every((r) => r.quality.of === 'S_eval' && r.quality.samples.samples === 12));

  await page.locator('[data-testid="sweep-k4"]').click();
  const rel = page.locator('[data-testid="sweep-relabelled"]');
  await page.waitForFunction(() => {
    const r = document.querySelector('[data-testid="sweep-relabelled"]');
    return r?.dataset.state === 'done' && r.dataset.k === '4';
  }, null, { timeout: 300_000 });
  await assertNoFreeze(t, page, 'reading a bundle, checking it whole and labelling a gallery');
  assert.equal(await rel.getAttribute('data-n'), String(gallery.samples.length));
  const q4 = made.results.find((r) => r.k === 4).quality.samples;
  const summary4 = page.locator('[data-testid="sweep-quality-summary"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-quality-summary"]')?.dataset.k === '4', null, { timeout: 300_000 });
  t.diagnostic(`K = 4 after 10 steps: precision ${q4.precision}, labels ${JSON.stringify(made.results.find((r) => r.k === 4).fractions)}`);
  assert.ok(q4.precision < 0.3, `10 training steps gave precision ${q4.precision}`);
  assert.equal(await summary4.getAttribute('data-level'), 'not_yet');
  assert.match(await summary4.textContent(), /not digits yet/);
  // Each shown sample's training neighbours are the bundle's, in order.
  const rows = page.locator('[data-testid="sweep-sample"]');
  assert.equal(await rows.count(), Math.min(40, gallery.samples.length));
  for (let i = 0; i < 3; i++) {
    const idx = Number(await rows.nth(i).getAttribute('data-index'));
    const s = gallery.samples.find((x) => x.index === idx);
    assert.equal(await rows.nth(i).getAttribute('data-train'), s.train_neighbours.join(','));
    // The label shown is the bundle's label under the bundle's rule.
    assert.equal(await rows.nth(i).getAttribute('data-label'), s.label);
  }
  // Fractions under the bundle's δ equal the CLI's for K = 4 (the gallery holds every sample).
  const csv = fs.readFileSync(path.join(out, 'fractions.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  const row4 = csv.find((r) => r[0] === '4');
  const got = ['memorized', 'spurious', 'generalized'];
  for (const [j, name] of got.entries()) {
    assert.ok(Math.abs(Number(await rel.getAttribute(`data-${name}`)) - Number(row4[1 + 2 * j])) < 1e-4, `${name}: page ${await rel.getAttribute(`data-${name}`)} vs csv ${row4[1 + 2 * j]}`);
  }
  const before = Number(await rel.getAttribute('data-memorized'));
  // δ_m = 1: every d1/d2 ≤ 1, so every sample is memorized, without regenerating.
  await page.locator('[data-testid="sweep-delta-m"]').fill('1');
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.memorized === '1.0000', null, { timeout: 300_000 });
  t.diagnostic(`K = 4 memorized fraction: ${before} at the bundle's δ_m, 1 at δ_m = 1`);
  // The plot marks the relabelled K too (issue 17 item 8): K = 4's gallery under δ_m = 1.
  await page.waitForFunction(() => (document.querySelector('[data-testid="sweep-plot-canvas"]')?.dataset.relabelled || '').startsWith('4:'), null, { timeout: 300_000 });
  const [rk, rf, rn] = (await page.locator('[data-testid="sweep-plot-canvas"]').getAttribute('data-relabelled')).split(':');
  assert.equal(rk, '4');
  assert.deepEqual(rf.split(',').map(Number), [1, 0, 0]);
  assert.equal(Number(rn), gallery.samples.length);
  assert.ok(before < 1, `the briefly trained UNet already copies every image (${before}); the relabel check needs a sample that is not a copy`);
  // Filter and detail.
  await page.locator('[data-testid="sweep-filter"]').selectOption('spurious');
  assert.equal(await rows.count(), 0);
  await page.locator('[data-testid="sweep-filter"]').selectOption('memorized');
  assert.equal(await rows.count(), Math.min(40, gallery.samples.length));
  await rows.first().click();
  assert.match(await page.locator('[data-testid="sweep-detail"]').textContent(), /≤ δ_m = 1\.00/);
  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'sweep-gallery.png') });

  // Re-run K = 4 in this tab with the bundle's settings: its S_K (seed 1 of the Datasets panel's
  // MNIST), steps, batch, lr, width, sampler, rule and per-point seed: the library's point, the
  // code `memgen sweep --engine fused` ran, so the tab repeats the CLI's run.
  await page.locator('[data-testid="sweep-filter"]').selectOption('all');
  await page.waitForFunction(() => /mnist/.test(document.querySelector('[data-testid="sweep-live-subset"]')?.textContent || ''), null, { timeout: 300_000 });
  assert.match(await page.locator('[data-testid="sweep-rerun-what"]').textContent(), /10 steps at batch 8 .*seed 1\b.*\|S_eval\| = 12 .*DDIM \(5 steps\)/s);
  await page.locator('[data-testid="sweep-rerun"]').click();
  for (const [id, v] of [['live-steps', '10'], ['live-batch', '8'], ['live-eval', '12'], ['live-sampler-steps', '5']]) {
    assert.equal(await page.locator(`[data-testid="${id}"]`).inputValue(), v, id);
  }
  assert.match(await page.locator('[data-testid="sweep-live-subset"]').textContent(), /94225 parameters: base width 16/);
  await page.waitForFunction(() => ['done'].includes(document.querySelector('[data-testid="live-progress"]')?.dataset.state) || /^error/.test(document.querySelector('[data-testid="live-progress"]')?.dataset.state || ''), null, { timeout: 300_000 });
  const prog = page.locator('[data-testid="live-progress"]');
  assert.equal(await prog.getAttribute('data-state'), 'done', await prog.textContent());
  assert.equal(await prog.getAttribute('data-losses'), '10');
  assert.equal(await rel.getAttribute('data-n'), String(gallery.samples.length));
  // Every re-run sample is the CLI's sample (wasm against native floats: a few u8 steps at most),
  // with the same training neighbours.
  let same = 0, total = 0, maxDiff = 0, sameNeighbours = 0;
  for (let i = 0; i < await rows.count(); i++) {
    const idx = Number(await rows.nth(i).getAttribute('data-index'));
    const cli = gallery.samples.find((x) => x.index === idx);
    const a = Buffer.from(await rows.nth(i).getAttribute('data-image'), 'base64');
    const b = Buffer.from(cli.image, 'base64');
    assert.equal(a.length, b.length);
    for (let j = 0; j < a.length; j++) {
      const d = Math.abs(a[j] - b[j]);
      same += d === 0; total++; maxDiff = Math.max(maxDiff, d);
    }
    sameNeighbours += (await rows.nth(i).getAttribute('data-train')) === cli.train_neighbours.join(',');
  }
  t.diagnostic(`re-run of K = 4 against the CLI's: ${(same / total).toFixed(4)} of pixels equal, largest difference ${maxDiff}/255, ${sameNeighbours}/${await rows.count()} samples with the same neighbour order`);
  assert.equal(await rows.count(), gallery.samples.length);
  assert.equal(same, total, `only ${same}/${total} pixels equal (largest difference ${maxDiff})`);
  assert.equal(sameNeighbours, gallery.samples.length);
  // The tab's point as a bundle: the same files as the CLI's point. Its row of fractions.csv is
  // the CLI's byte for byte, its manifest has the CLI's identity and record, and its gallery is
  // the CLI's but for the synthetic set S′: native gemm and wasm's matrixmultiply round
  // differently, and a pixel of S′ that lands on a rounding boundary of the u8 quantization
  // comes out one level apart (measured here: sample images, labels, ratios and training
  // neighbours identical; a few S′ pixels and the distances to them differ).
  await page.locator('[data-testid="live-bundle"]').waitFor({ timeout: 300_000 });
  const exported = await page.evaluate(async () => {
    const out = {};
    for (const a of document.querySelectorAll('[data-testid="live-bundle-file"]')) {
      const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
      // Text files as text, the weights as base64 (the page hands both over as bytes).
      let bin = '';
      for (let i = 0; i < bytes.length; i += 32768) bin += String.fromCharCode(...bytes.subarray(i, i + 32768));
      out[a.dataset.name] = a.dataset.name.endsWith('.safetensors') ? btoa(bin) : new TextDecoder().decode(bytes);
    }
    return out;
  });
  // The tab's bundle carries the CLI's files, its point's weights included (regenerated and
  // probed from them like a CLI bundle's).
  assert.deepEqual(Object.keys(exported).sort(), ['fractions.csv', 'gallery-k4.json', 'manifest.json', 'weights-k4.safetensors']);
  const tabWeights = Buffer.from(exported['weights-k4.safetensors'], 'base64');
  delete exported['weights-k4.safetensors'];
  const cliRows = fs.readFileSync(path.join(out, 'fractions.csv'), 'utf8').trim().split('\n');
  assert.deepEqual(exported['fractions.csv'].trim().split('\n'), [cliRows[0], cliRows.find((r) => r.startsWith('4,'))]);
  const cliGallery = fs.readFileSync(path.join(out, 'gallery-k4.json'), 'utf8');
  const tabG = JSON.parse(exported['gallery-k4.json']);
  const cliG = JSON.parse(cliGallery);
  const withoutSynthetic = (g) => ({ ...g, synthetic_images: null, samples: g.samples.map((x) => ({ ...x, synthetic_distances: null })) });
  assert.deepEqual(withoutSynthetic(tabG), withoutSynthetic(cliG));
  let synthDiff = 0, synthTotal = 0, synthMax = 0, distGap = 0;
  assert.deepEqual(tabG.synthetic_images.map((x) => x.index), cliG.synthetic_images.map((x) => x.index));
  for (const [i, img] of tabG.synthetic_images.entries()) {
    const a = Buffer.from(img.image, 'base64'), b = Buffer.from(cliG.synthetic_images[i].image, 'base64');
    for (let j = 0; j < a.length; j++) { const d = Math.abs(a[j] - b[j]); synthDiff += d > 0; synthTotal++; synthMax = Math.max(synthMax, d); }
  }
  for (const [i, x] of tabG.samples.entries()) {
    for (const [j, d] of x.synthetic_distances.entries()) distGap = Math.max(distGap, Math.abs(d - cliG.samples[i].synthetic_distances[j]) / d);
  }
  t.diagnostic(`tab vs CLI gallery-k4.json: ${exported['gallery-k4.json'] === cliGallery ? 'byte for byte equal' : 'differs'}; S′ pixels differing ${synthDiff}/${synthTotal} (largest ${synthMax}/255), largest relative gap of a distance to S′ ${distGap.toExponential(2)}`);
  assert.ok(synthDiff <= 0.002 * synthTotal && synthMax <= 2, `S′ differs: ${synthDiff}/${synthTotal} pixels, largest ${synthMax}`);
  assert.ok(distGap < 1e-3, `distances to S′ differ by ${distGap}`);
  const tabManifest = JSON.parse(exported['manifest.json']);
  const cliManifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  for (const key of ['format', 'format_version', 'spec', 'sweep', 'model_parameters', 'versions']) assert.deepEqual(tabManifest[key], cliManifest[key], key);
  const { loss: tabLoss, ...tabRest } = tabManifest.results[0];
  // Both measured S_eval's quality, the CLI against 5,000 test images, the tab against 2,000
  // (checked below against the CLI with the same reference).
  // Both name the point's weights with a checksum of the bytes (the tab's: of the file it
  // hands over; the two weights differ by float rounding, as the losses do).
  const { loss: cliLoss, quality: cliQuality, files: cliFiles, checksums: cliSums, ...cliRest } = cliManifest.results.find((r) => r.k === 4);
  assert.ok(cliFiles.weights === 'weights-k4.safetensors' && cliSums[cliFiles.weights].length === 64);
  const { quality: tabQuality, files: tabFiles, checksums: tabSums, ...tabRest2 } = tabRest;
  assert.equal(tabFiles.weights, 'weights-k4.safetensors');
  assert.equal(tabSums[tabFiles.weights], createHash('sha256').update(tabWeights).digest('hex'), "the tab's weights checksum is its file's");
  assert.equal(tabWeights.length, fs.statSync(path.join(out, 'weights-k4.safetensors')).size, "the tab's weights file is the CLI's size (the same network and dtype)");
  assert.ok(cliQuality.of === 'S_eval' && tabQuality.of === 'S_eval' && tabQuality.samples.reference === 2000, JSON.stringify(tabQuality));
  assert.equal(tabQuality.classifier_sha256, cliQuality.classifier_sha256);
  assert.deepEqual(tabRest2, cliRest);
  const lossGap = Math.abs(tabLoss.last_100 - cliLoss.last_100) / cliLoss.last_100;
  t.diagnostic(`the tab's loss summary against the CLI's: last_100 relative gap ${lossGap.toExponential(2)}`);
  assert.ok(lossGap < 1e-4, `loss summaries differ: ${tabLoss.last_100} vs ${cliLoss.last_100}`);
  // The saved files are a bundle: memgen merge reads them, and so does this panel.
  const tabDir = path.join(dir, 'tab');
  fs.mkdirSync(tabDir);
  for (const [name, text] of Object.entries(exported)) fs.writeFileSync(path.join(tabDir, name), text);
  fs.writeFileSync(path.join(tabDir, 'weights-k4.safetensors'), tabWeights);
  // The tab's quality (wasm, the classifier's features a slice at a time) equals `memgen quality`
  // on the same samples (the gallery holds all 12) with the same 2,000-image reference.
  const native = JSON.parse(execFileSync(memgenBin(), ['quality', '--data-dir', path.join(DIST, 'www', 'data'), '--bundle', tabDir, '--reference', '2000'], { encoding: 'utf8' }));
  const nq = native.points[0];
  t.diagnostic(`quality of the tab's K = 4: precision ${tabQuality.samples.precision} (native ${nq.quality.precision}), recall ${tabQuality.samples.recall} (${nq.quality.recall}), Fréchet ${tabQuality.samples.frechet} (${nq.quality.frechet}); real ${tabQuality.real.precision} (${nq.real.precision})`);
  assert.ok(Math.abs(tabQuality.samples.precision - nq.quality.precision) <= 1 / 12 + 1e-9);
  assert.ok(Math.abs(tabQuality.real.precision - nq.real.precision) <= 1 / 12 + 1e-9);
  assert.ok(Math.abs(tabQuality.samples.frechet - nq.quality.frechet) <= 1e-3 * nq.quality.frechet);
  assert.deepEqual(tabQuality.samples.classes, nq.quality.classes);
  const merged = JSON.parse(execFileSync(memgenBin(), ['merge', tabDir, '--out', path.join(dir, 'merged')], { encoding: 'utf8' }));
  assert.deepEqual(merged.k_done, [4]);
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(fs.readdirSync(tabDir).map((f) => path.join(tabDir, f)));
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-plot"]')?.dataset.ks === '4', null, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(files);
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-plot"]')?.dataset.ks === '2,4,8', null, { timeout: 300_000 });

  // A bundle whose gallery holds another training image than the panel's S_K: the re-run is
  // refused with a notice, and nothing starts.
  const tampered = path.join(dir, 'tampered');
  fs.cpSync(out, tampered, { recursive: true });
  const tg = JSON.parse(fs.readFileSync(path.join(tampered, 'gallery-k4.json'), 'utf8'));
  const px = Buffer.from(tg.train_images[0].image, 'base64');
  px[400] = 255 - px[400];
  tg.train_images[0].image = px.toString('base64');
  fs.writeFileSync(path.join(tampered, 'gallery-k4.json'), JSON.stringify(tg));
  // Its K are the loaded bundle's, so wait until the panel shows it (one more bundle adopted)
  // before choosing K = 4: a click before then picks the previous bundle's gallery.
  const adopted = Number(await page.locator('[data-testid="sweep-state"]').getAttribute('data-adopted'));
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(fs.readdirSync(tampered).map((f) => path.join(tampered, f)));
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="sweep-state"]')?.dataset.adopted) === n + 1, adopted, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-k4"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done'
    && document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.k === '4', null, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-rerun"]').click();
  await page.locator(`${PANEL} [data-testid="notice"]`).waitFor({ timeout: 300_000 });
  assert.match(await page.locator(`${PANEL} [data-testid="notice"]`).textContent(), new RegExp(`not the set this bundle was trained on \\(training image ${tg.train_images[0].index} of S_K differs\\); nothing was started`));
  assert.equal(await prog.getAttribute('data-state'), 'done');

  // A corrupt bundle: a notice, and the loaded one stays.
  const bad = path.join(dir, 'bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'manifest.json'), '{"format": "memgen-sweep-bundle"}');
  fs.writeFileSync(path.join(bad, 'fractions.csv'), 'k,nonsense\n2,3\n');
  await page.locator('[data-testid="sweep-upload"]').setInputFiles([path.join(bad, 'manifest.json'), path.join(bad, 'fractions.csv')]);
  await page.waitForFunction(() => /fractions\.csv/.test(document.querySelector('[data-testid="panel-sweep"] [data-testid="notice"]')?.textContent || ''), null, { timeout: 300_000 });
  assert.match(await page.locator(`${PANEL} [data-testid="notice"]`).textContent(), /fractions\.csv.*header.*current one stays/s);
  assert.equal(await page.locator('[data-testid="sweep-plot"]').getAttribute('data-ks'), '2,4,8');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('sweep panel: a bundle made with --timeline shows the K × training-steps phase diagram, figures on hover; a sample made again from its weights', { timeout: 600_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-timeline-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'bundle');
  execFileSync(memgenBin(), ['sweep', '--data-dir', path.join(DIST, 'www', 'data'), '--dataset', 'mnist', '--ks', '2,4,8',
    '--model', 'unet', '--steps', '40', '--batch', '8', '--eval', '8', '--sampler', 'ddim', '--sampler-steps', '4',
    '--bootstrap', '20', '--seed', '2', '--engine', 'fused', '--timeline', '3', '--timeline-eval', '8', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  const lab = await openLab(t, { webgpu: false, query: '#/images' });
  const { page, log } = lab;
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state !== 'loading', null, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(fs.readdirSync(out).map((f) => path.join(out, f)));
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state === 'loaded', null, { timeout: 300_000 });
  // One cell per K and time, with the manifest's dominant label and precision.
  const dominant = (f) => (f.memorized >= f.spurious && f.memorized >= f.generalized ? 'memorized' : f.spurious >= f.generalized ? 'spurious' : 'generalized');
  const want = m.results.flatMap((r) => r.timeline.map((tp) => `${r.k}:${tp.steps}:${dominant(tp.fractions)}:${tp.quality.precision.toFixed(3)}`));
  assert.equal(want.length, 9);
  assert.deepEqual((await page.locator('[data-testid="sweep-phase-cells"]').getAttribute('data-cells')).split(';'), want);
  // Hover the middle K's first time (bottom row): its figures in words.
  const canvas = page.locator('[data-testid="sweep-phase-diagram"]');
  const box = await canvas.boundingBox();
  const scale = box.width / 640;
  const cw = (640 - 96 - 10) / 3, ch = (300 - 28 - 40) / 3;
  await canvas.hover({ position: { x: (96 + cw * 1.5) * scale, y: (28 + ch * 2.5) * scale } });
  const tp = m.results[1].timeline[0];
  await page.waitForFunction(() => /^K = 4 after/.test(document.querySelector('[data-testid="sweep-phase-detail"]')?.textContent || ''), null, { timeout: 300_000 });
  const text = await page.locator('[data-testid="sweep-phase-detail"]').textContent();
  assert.match(text, new RegExp(`K = 4 after ${tp.steps} steps \\(${tp.images_seen} training images\\)`));
  assert.match(text, new RegExp(`${Math.round(100 * tp.fractions.generalized)}% generalized of 8 samples`));
  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'sweep-phase-diagram.png') });
  // From the keyboard: focused, the diagram shows its first cell; the arrows move between cells.
  await page.mouse.move(0, 0);
  await canvas.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowUp');
  const tk = m.results[1].timeline[1];
  await page.waitForFunction((s) => document.querySelector('[data-testid="sweep-phase-detail"]')?.textContent.startsWith(`K = 4 after ${s} steps`), tk.steps, { timeout: 300_000 });
  assert.match(await canvas.getAttribute('aria-label'), /K = 2: \w+ → \w+ → \w+; K = 4: /);
  // Its table: one row per cell, the manifest's figures.
  const cellsCsv = parseCsv((await download(page, 'export-phase-diagram-csv')).bytes.toString('utf8'));
  assert.equal(cellsCsv.rows.length, want.length);
  assert.deepEqual(cellsCsv.rows.map((r) => `${r.k}:${r.steps}:${r.dominant}:${Number(r.precision).toFixed(3)}`), want);

  // A gallery sample made again here from the bundle's weights of its K (issue 15, item 3):
  // the stored pixels, to at most one grey level.
  await page.locator('[data-testid="sweep-k4"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  const row = page.locator('[data-testid="sweep-sample"]').nth(3);
  const index = await row.getAttribute('data-index');
  await row.click();
  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="sweep-regen-run"]').click();
  await page.waitForFunction(() => /^(done|error)/.test(document.querySelector('[data-testid="sweep-regen"]')?.dataset.state || ''), null, { timeout: 300_000 });
  await assertNoFreeze(t, page, 'making a sample again from its weights');
  const regen = page.locator('[data-testid="sweep-regen"]');
  assert.equal(await regen.getAttribute('data-state'), 'done', await regen.textContent());
  const maxDiff = Number(await regen.getAttribute('data-max-diff'));
  t.diagnostic(`sample #${index} of K = 4 made again from weights-k4.safetensors: largest pixel difference ${maxDiff}/255`);
  assert.ok(maxDiff <= 1, `largest pixel difference ${maxDiff}`);
  assert.match(await regen.textContent(), new RegExp(`#${index} made again here`));
  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'sweep-regenerated.png') });
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('basins: a bundle probed by memgen probe shows its boxes, spectra and table; a sample probed here gives the CLI its t_c; f16 weights make the sample again', { timeout: 600_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-basins-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'bundle');
  const data = path.join(DIST, 'www', 'data');
  execFileSync(memgenBin(), ['sweep', '--data-dir', data, '--dataset', 'mnist', '--ks', '2,8', '--model', 'unet', '--steps', '40', '--batch', '8',
    '--eval', '8', '--sampler', 'ddim', '--sampler-steps', '4', '--bootstrap', '20', '--seed', '2', '--engine', 'fused', '--weights-dtype', 'f16',
    '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync(memgenBin(), ['probe', '--bundle', out, '--stride', '200', '--trials', '3', '--sampler-steps', '4', '--train-points', '2',
    '--data-dir', data, '--write'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const probe = JSON.parse(fs.readFileSync(path.join(out, 'probe-k8.json'), 'utf8'));
  assert.equal(probe.samples.length, 8);
  // What the table must say: per label, samples, with a basin, the mean finite log-volume.
  const summaryOf = (kp) => ['memorized', 'spurious', 'generalized'].flatMap((label) => {
    const of = kp.samples.filter((s) => s.label === label);
    if (of.length === 0) return [];
    const lv = of.filter((s) => s.basin.log_volume !== null).map((s) => s.basin.log_volume);
    const mean = lv.length ? (lv.reduce((a, b) => a + b, 0) / lv.length).toFixed(3) : '';
    return [`${label}:${of.length}:${lv.length}:${mean}`];
  });
  const want = summaryOf(probe);
  const inkedOf = (page, id) => page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) n++;
    return n;
  }, id);
  const lab = await openLab(t, { webgpu: false, query: '#/images' });
  const { page, log } = lab;
  await page.locator(PANEL).waitFor({ timeout: 300_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-state"]')?.dataset.state !== 'loading', null, { timeout: 300_000 });
  // The shipped bundle's probe files first: every K, its table at K = 64 (where memorized and
  // generalized samples meet) from the shipped file, and its four plots drawn.
  const shipped = path.join(DIST, 'www', 'bundles', 'mnist');
  const shippedKs = JSON.parse(fs.readFileSync(path.join(shipped, 'manifest.json'), 'utf8')).k_done.join(',');
  await page.waitForFunction((ks) => document.querySelector('[data-testid="basins"]')?.dataset.ks === ks, shippedKs, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-k64"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="basins-table"]')?.dataset.k === '64', null, { timeout: 300_000 });
  const shipped64 = JSON.parse(fs.readFileSync(path.join(shipped, 'probe-k64.json'), 'utf8'));
  assert.deepEqual((await page.locator('[data-testid="basins-table"]').getAttribute('data-summary')).split(';'), summaryOf(shipped64));
  t.diagnostic(`shipped K = 64: log-volume ${await page.locator('[data-testid="basins-table"]').getAttribute('data-log-volume-order')}, spectrum ${await page.locator('[data-testid="basins-table"]').getAttribute('data-spectrum-order')} with the paper`);
  for (const id of ['basins-log-volume', 'basins-p-t', 'basins-spectra', 'basins-train-spectra']) {
    const inked = await inkedOf(page, id);
    assert.ok(inked > 500, `shipped bundle, ${id}: ${inked} inked pixels`);
  }
  await page.locator('[data-testid="sweep-upload"]').setInputFiles(fs.readdirSync(out).map((f) => path.join(out, f)));
  // The shipped bundle's probes were loaded before: wait for the new bundle's.
  await page.waitForFunction(() => {
    const b = document.querySelector('[data-testid="basins"]');
    return b?.dataset.state === 'loaded' && b.dataset.ks === '2,8';
  }, null, { timeout: 300_000 });
  await page.locator('[data-testid="sweep-k8"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="basins-table"]')?.dataset.k === '8', null, { timeout: 300_000 });
  const table = page.locator('[data-testid="basins-table"]');
  assert.deepEqual((await table.getAttribute('data-summary')).split(';'), want);
  assert.match(await table.getAttribute('data-log-volume-order'), /^(agrees|disagrees|overlapping|)$/);
  assert.match(await page.locator('[data-testid="basins-verdict"]').textContent(), /Log-volume: .*Singular values: /);
  // The plots are drawn (not blank canvases).
  for (const id of ['basins-log-volume', 'basins-p-t', 'basins-spectra', 'basins-train-spectra']) {
    const inked = await inkedOf(page, id);
    assert.ok(inked > 500, `${id}: ${inked} inked pixels`);
  }
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  const row = page.locator('[data-testid="sweep-sample"]').nth(2);
  const index = Number(await row.getAttribute('data-index'));
  await row.click();
  // f16 weights: the page makes the stored sample again.
  await startFrameGaps(page);
  await takeFrameGap(page);
  await page.locator('[data-testid="sweep-regen-run"]').click();
  await page.waitForFunction(() => /^(done|error)/.test(document.querySelector('[data-testid="sweep-regen"]')?.dataset.state || ''), null, { timeout: 300_000 });
  await assertNoFreeze(t, page, 'making a sample again from f16 weights');
  assert.equal(await page.locator('[data-testid="sweep-regen"]').getAttribute('data-state'), 'done');
  const maxDiff = Number(await page.locator('[data-testid="sweep-regen"]').getAttribute('data-max-diff'));
  t.diagnostic(`f16 weights: sample #${index} of K = 8 made again, largest pixel difference ${maxDiff}/255`);
  assert.ok(maxDiff <= 1, `largest pixel difference ${maxDiff}`);
  // The live probe: the CLI's levels, t_c and log-volume for this sample.
  const cli = probe.samples.find((s) => s.index === index);
  await takeFrameGap(page);
  await page.locator('[data-testid="basins-live-run"]').click();
  await page.waitForFunction(() => /^(done|error|cancelled)/.test(document.querySelector('[data-testid="basins-live"]')?.dataset.state || ''), null, { timeout: 300_000 });
  await assertNoFreeze(t, page, 'probing a sample\'s basin');
  const live = page.locator('[data-testid="basins-live"]');
  assert.equal(await live.getAttribute('data-state'), 'done', await live.textContent());
  assert.equal(await live.getAttribute('data-levels'), cli.basin.levels.map(([lt, lp]) => `${lt}:${lp}`).join(','));
  assert.equal(await live.getAttribute('data-t-c'), cli.basin.t_c === null ? 'none' : String(cli.basin.t_c));
  if (cli.basin.log_volume !== null) assert.ok(Math.abs(Number(await live.getAttribute('data-log-volume')) - cli.basin.log_volume) < 1e-3);
  t.diagnostic(`sample #${index}: t_c ${cli.basin.t_c} in the tab and by memgen probe; levels ${await live.getAttribute('data-levels')}`);
  // Its trials at a chosen t, noised and denoised, and a cancel that stops a run.
  await page.locator('[data-testid="basins-live-t"]').fill('201');
  await page.locator('[data-testid="basins-live-t"]').dispatchEvent('change');
  await page.locator('[data-testid="basins-live-show"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="basins-live"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  assert.equal(await page.locator('[data-testid="basins-live-trials"]').getAttribute('data-count'), '3');
  // Its spectrum on demand: the tab's 784 singular values are memgen probe's at the ranks its
  // file keeps (256 of them, log-spaced, as f16).
  await takeFrameGap(page);
  await page.locator('[data-testid="basins-live-spectrum"]').click();
  await page.waitForFunction(() => /^(done|error|cancelled)/.test(document.querySelector('[data-testid="basins-live"]')?.dataset.state || ''), null, { timeout: 300_000 });
  await assertNoFreeze(t, page, 'filling the score Jacobian for its spectrum');
  assert.equal(await live.getAttribute('data-state'), 'done', await live.textContent());
  const mine = (await live.getAttribute('data-spectrum')).split(',').map(Number);
  const theirs = f16s(cli.spectrum_f16);
  const ranks = (await live.getAttribute('data-stored-ranks')).split(',').map(Number);
  assert.equal(mine.length, 784);
  assert.equal(theirs.length, 256);
  assert.equal(ranks.length, 256);
  assert.deepEqual([ranks[0], ranks[255]], [1, 784]);
  assert.deepEqual(probe.settings.spectrum_ranks, ranks);
  assert.ok(mine[0] > 0 && mine.every((v, i) => i === 0 || v <= mine[i - 1]), 'descending, positive');
  // Within f16's rounding and 0.1% of the largest value (spectrumExcess). Measured here: the
  // largest difference was 0.2% of its value.
  const { worst, rank: worstRank } = spectrumExcess(mine, theirs, ranks);
  assert.ok(worst <= 1, `tab against memgen probe at rank ${worstRank}: ${mine[worstRank - 1]} against ${theirs[ranks.indexOf(worstRank)]}`);
  const inkedSpectrum = await page.evaluate(() => {
    const c = document.querySelector('[data-testid="basins-live-spectrum-plot"]');
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] < 200 || px[i + 1] < 200 || px[i + 2] < 200) n++;
    return n;
  });
  assert.ok(inkedSpectrum > 500, `spectrum plot: ${inkedSpectrum} inked pixels`);
  // Benchmark figures (not asserted): the tab's probe and spectrum of this sample against
  // memgen probe's of one sample of the same bundle, natively, in this run.
  const copy = path.join(dir, 'copy');
  fs.cpSync(out, copy, { recursive: true });
  for (const f of fs.readdirSync(copy)) if (f.startsWith('probe-')) fs.rmSync(path.join(copy, f));
  const native = JSON.parse(execFileSync(memgenBin(), ['probe', '--bundle', copy, '--ks', '8', '--samples', '1', '--train-points', '0', '--stride', '200',
    '--trials', '3', '--sampler-steps', '4', '--data-dir', data], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
  const [probeMs, spectrumMs] = [Number(await live.getAttribute('data-probe-ms')), Number(await live.getAttribute('data-spectrum-ms'))];
  t.diagnostic(`spectrum: tab against memgen probe, largest difference ${(worst * 100).toFixed(0)}% of the allowance (rank ${worstRank}); the tab took ${probeMs} ms to probe and ${spectrumMs} ms for the spectrum, memgen probe ${(native.seconds * 1000).toFixed(0)} ms for one sample's both natively (${((probeMs + spectrumMs) / (native.seconds * 1000)).toFixed(1)}×)`);
  await page.locator(PANEL).screenshot({ path: path.join(ARTIFACTS, 'sweep-basins.png') });
  // Cancel, clicked the moment the probe runs (it takes well under a second here, so a click
  // from the test's side can come after its end): it stops there.
  await page.evaluate(() => new Promise((resolve) => {
    const cancel = () => document.querySelector('[data-testid="basins-live-cancel"]');
    const seen = new MutationObserver(() => {
      const c = cancel();
      if (!c || c.disabled) return;
      seen.disconnect();
      c.click();
      resolve();
    });
    seen.observe(document.body, { attributes: true, subtree: true, childList: true });
    document.querySelector('[data-testid="basins-live-run"]').click();
  }));
  await page.waitForFunction(() => /^(cancelled|done|error)/.test(document.querySelector('[data-testid="basins-live"]')?.dataset.state || ''), null, { timeout: 300_000 });
  assert.equal(await live.getAttribute('data-state'), 'cancelled', await live.textContent());
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
