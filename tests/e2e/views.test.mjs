// Views, lessons and the Share button (issue 17, items 1–3): each view has its own route in the
// top bar and fetches its assets only when opened; every lesson step sets its state through
// the link and shows its text; next/previous and the arrow keys move between steps; presenter
// mode hides the controls; a shared link opened in two fresh browsers gives the same values.
// Screenshots of every view and every lesson step go to test-artifacts/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openLab, openView, viewSlugs, launchBrowser, watchPage, waitForResult, readResult, describeLog, screenshot, download, pngSize, parseCsv, DIST } from './lab.mjs';

const viewShown = (page, slug) =>
  page.waitForFunction((s) => document.querySelector('[data-testid="views"]')?.dataset.view === s, slug, { timeout: 300_000 });

test('views: a top bar of routes; a view mounts (and fetches) only when opened; back and forward move between views', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: null });
  const { page, log } = lab;
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await lab.goto('#/toy');
  await viewShown(page, 'toy');
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  // Only the open view is mounted: no DenseAM panel, no sweep bundle asked for.
  assert.equal(await page.locator('[data-testid="panel-dense-am"]').count(), 0);
  assert.equal(await page.locator('[data-testid="panel-sweep"]').count(), 0);
  await page.waitForFunction(() => document.querySelector('[data-testid="toy-regimes"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  assert.ok(requests.some((u) => u.includes('/www/pretrained/')), 'the toy view fetched its checkpoints');
  assert.ok(!requests.some((u) => u.includes('/www/bundles/')), `the images view's bundle was fetched before it was opened: ${requests.filter((u) => u.includes('/www/bundles/'))}`);
  assert.equal(await page.locator('[data-testid="view-link-toy"]').getAttribute('aria-current'), 'page');

  for (const slug of await viewSlugs(page)) {
    await openView(page, slug);
    assert.equal(new URL(page.url()).hash, `#/${slug}`);
    // The open view is the only one shown: the first view is usable without scrolling past others.
    const shown = await page.evaluate(() => [...document.querySelectorAll('[data-testid^="view-"]')].filter((e) => e.matches('.view') && !e.hidden).map((e) => e.dataset.testid));
    assert.deepEqual(shown, [`view-${slug}`]);
    const top = await page.locator(`[data-testid="view-${slug}"]`).boundingBox();
    assert.ok(top && top.y < 700, `the ${slug} view starts ${top?.y} px down`);
    if (slug === 'images') {
      await page.waitForFunction(() => (document.querySelector('[data-testid="sweep-state"]')?.dataset.state || 'loading') !== 'loading', null, { timeout: 300_000 });
    }
    await screenshot(page, `view-${slug}`, { fullPage: false });
  }
  assert.ok(requests.some((u) => u.includes('/www/bundles/')), 'the images view fetched its bundle once opened');
  // Back twice: images, then data; forward: images again. Each view kept its state (mounted once).
  const mountedToy = await page.locator('[data-testid="panel-toy"]').count();
  await page.goBack();
  await viewShown(page, 'images');
  await page.goBack();
  await viewShown(page, 'toy');
  await page.goForward();
  await viewShown(page, 'images');
  assert.equal(await page.locator('[data-testid="panel-toy"]').count(), mountedToy, 'a view is mounted once');
  // A hash that names no view: the first view and a notice.
  await lab.goto('#/nowhere');
  await viewShown(page, 'memory');
  assert.match(await page.locator('.app-notices [data-testid="notice"]').first().textContent(), /no view named “nowhere”/);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('first load: the first view runs on the lite module; a view that trains, opened from it, loads the full module with the link\'s state; other links start on the full module', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: null });
  const { page, log } = lab;
  const code = [];
  page.on('request', (r) => { const p = new URL(r.url()).pathname; if (/\.wasm$/.test(p)) code.push(p); });
  await lab.goto('?beta=3&k=5#/memory');
  const first = await waitForResult(page, 'attractor-summary', 300_000);
  assert.equal(first.state, 'done', first.text);
  assert.deepEqual(code, ['/lite/memgen-lab_bg.wasm']);
  const beta = (await page.locator('[data-testid="beta-value"]').textContent()).trim();
  // The top bar's link to a view that trains: the page loads again at that link, on the full module.
  await openView(page, 'toy');
  await page.locator('[data-testid="panel-toy"]').waitFor({ timeout: 300_000 });
  assert.deepEqual(code, ['/lite/memgen-lab_bg.wasm', '/memgen-lab_bg.wasm']);
  assert.equal(new URL(page.url()).hash, '#/toy');
  // Back on the first view, now in the full module: the same state from the link, the same figures.
  await openView(page, 'memory');
  const again = await waitForResult(page, 'attractor-summary', 300_000);
  for (const k of ['data-stored', 'data-spurious', 'data-retrieval-fraction']) assert.equal(again.attrs[k], first.attrs[k], k);
  assert.equal((await page.locator('[data-testid="beta-value"]').textContent()).trim(), beta);
  // A link to the first view that carries another view's keys (or a lesson) starts on the full
  // module, so that view's notices and state are read as always.
  code.length = 0;
  await lab.goto('?tk=abc#/memory');
  await waitForResult(page, 'attractor-summary', 300_000);
  assert.ok(code.includes('/memgen-lab_bg.wasm'), `a link with a toy key loaded ${code}`);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

/** What a step's view shows once its work is done, as numbers to compare. */
async function viewValues(page, slug) {
  if (slug === 'memory') {
    const r = await waitForResult(page, 'attractor-summary', 120_000);
    assert.equal(r.state, 'done', r.text);
    return { stored: Number(r.attrs['data-stored']), spurious: Number(r.attrs['data-spurious']), retrieval: r.attrs['data-retrieval-fraction'], beta: (await page.locator('[data-testid="beta-value"]').textContent()).trim(), k: await page.locator('[data-testid="k-input"]').inputValue() };
  }
  if (slug === 'toy') {
    await page.waitForFunction(() => document.querySelector('[data-testid="toy-regimes"]')?.dataset.state === 'done', null, { timeout: 300_000 });
    const regimes = {};
    for (const k of [2, 9, 1000]) {
      const r = await readResult(page, `toy-regime-k${k}`);
      regimes[k] = [r.attrs['data-memorized'], r.attrs['data-spurious'], r.attrs['data-generalized']].map(Number);
    }
    return { k: (await page.locator('[data-testid="toy-k"]').textContent()).trim(), regimes };
  }
  if (slug === 'images') {
    await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done', null, { timeout: 300_000 });
    const r = await readResult(page, 'sweep-relabelled');
    const k = await page.evaluate(() => document.querySelector('[data-testid^="sweep-k"].active')?.dataset.testid);
    return { k, memorized: r.attrs['data-memorized'], spurious: r.attrs['data-spurious'], generalized: r.attrs['data-generalized'], n: r.attrs['data-n'], dm: await page.locator('[data-testid="sweep-delta-m"]').inputValue() };
  }
  if (slug === 'data') {
    await page.waitForFunction(() => document.querySelector('[data-testid="dataset-preview"]')?.dataset.state === 'done', null, { timeout: 300_000 });
    const r = await readResult(page, 'dataset-preview');
    return { count: r.attrs['data-count'], sha: r.attrs['data-sha'] };
  }
  return {};
}

test('lessons: every step sets its view and state through its link and shows its text; next, previous, arrows, answers, presenter mode', { timeout: 900_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: null });
  const { page, log } = lab;
  // The lessons' index is in the top bar.
  await lab.goto('');
  await page.locator('[data-testid="lesson-menu"] summary').click();
  const names = await page.evaluate(() => [...document.querySelectorAll('[data-testid^="lesson-link-"]')].map((a) => a.dataset.testid.slice('lesson-link-'.length)));
  assert.ok(names.length >= 3, `lessons: ${names}`);
  const seen = {};
  for (const name of names) {
    // A bare link opens step 1 with its state filled in.
    await lab.goto(`?lesson=${name}`);
    await page.locator('[data-testid="lesson"]').waitFor({ timeout: 300_000 });
    let steps = Number(await page.locator('[data-testid="lesson"]').getAttribute('data-steps'));
    assert.ok(steps >= 3, `${name}: ${steps} steps`);
    for (let i = 1; i <= steps; i++) {
      const bar = page.locator('[data-testid="lesson"]');
      await page.waitForFunction(([n, s]) => { const b = document.querySelector('[data-testid="lesson"]'); return b && b.dataset.lesson === n && b.dataset.step === String(s); }, [name, i], { timeout: 300_000 });
      const url = new URL(page.url());
      const slug = url.hash.replace('#/', '');
      assert.ok((await viewSlugs(page)).includes(slug), `${name} ${i}: hash ${url.hash}`);
      await viewShown(page, slug);
      const title = (await page.locator('[data-testid="lesson-title"]').textContent()).trim();
      assert.ok(title.length > 5, `${name} ${i}: title “${title}”`);
      // The answer opens on click.
      assert.equal(await page.locator('[data-testid="lesson-answer"]').isVisible(), false);
      await page.locator('[data-testid="lesson-question"] summary').click();
      await page.locator('[data-testid="lesson-answer"]').waitFor({ state: 'visible' });
      const values = await viewValues(page, slug);
      seen[`${name}-${i}`] = { title, url: url.search, ...values };
      t.diagnostic(`${name} step ${i} (${slug}): ${title} · ${JSON.stringify(values)}`);
      await screenshot(page, `lesson-${name}-${i}`, { fullPage: false });
      // The state the step sets is in the link and in the view.
      const q = url.searchParams;
      if (slug === 'memory') assert.equal(values.k, q.get('k'), `${name} ${i}: K shown ${values.k}, link ${q.get('k')}`);
      if (slug === 'toy') assert.equal(values.k, q.get('tk'));
      if (slug === 'images' && q.get('ik')) assert.equal(values.k, `sweep-k${q.get('ik')}`);
      if (i < steps) {
        // Next by the arrow key on even steps, by the button on odd ones.
        if (i % 2 === 0) {
          await page.locator('body').click({ position: { x: 5, y: 5 } });
          await page.keyboard.press('ArrowRight');
        } else {
          await page.locator('[data-testid="lesson-next"]').click();
        }
      }
      steps = Number(await bar.getAttribute('data-steps').catch(() => steps)) || steps;
    }
    // Previous (the left arrow) from the last step goes back one.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((s) => document.querySelector('[data-testid="lesson"]')?.dataset.step === String(s), steps - 1, { timeout: 300_000 });
  }
  // What the memory lesson's answers say is what the page computes.
  assert.deepEqual([seen['memory-1'].stored, seen['memory-1'].spurious], [9, 0], JSON.stringify(seen['memory-1']));
  assert.deepEqual([seen['memory-2'].stored, seen['memory-2'].spurious], [0, 1], JSON.stringify(seen['memory-2']));
  assert.ok(seen['memory-3'].stored < 9 && seen['memory-3'].spurious >= 1, JSON.stringify(seen['memory-3']));
  assert.equal(seen['memory-4'].stored, 0, JSON.stringify(seen['memory-4']));
  assert.equal(seen['memory-5'].stored, 0, JSON.stringify(seen['memory-5']));
  // The images lesson: memorized at K = 2, far less at 1024; raising δ_m raises the memorized share at K = 64.
  assert.ok(Number(seen['images-1'].memorized) > 0.8, JSON.stringify(seen['images-1']));
  assert.ok(Number(seen['images-3'].memorized) < 0.2, JSON.stringify(seen['images-3']));
  assert.ok(Number(seen['images-4'].memorized) >= Number(seen['images-2'].memorized), `${JSON.stringify(seen['images-2'])} vs ${JSON.stringify(seen['images-4'])}`);
  // Presenter mode: the controls are hidden, the figures larger.
  await lab.goto('?lesson=memory&step=1');
  await waitForResult(page, 'attractor-summary', 120_000);
  const small = (await page.locator('[data-testid="energy-canvas"]').boundingBox()).width;
  await page.locator('[data-testid="lesson-present"]').click();
  await page.waitForFunction(() => document.body.classList.contains('present'), null, { timeout: 300_000 });
  assert.equal(await page.locator('[data-testid="beta-slider"]').isVisible(), false, 'the controls are hidden');
  await waitForResult(page, 'attractor-summary', 120_000);
  const big = (await page.locator('[data-testid="energy-canvas"]').boundingBox()).width;
  assert.ok(big > small, `the energy map is ${big} px wide in presenter mode, ${small} px without`);
  assert.match(page.url(), /present=1/);
  await screenshot(page, 'lesson-presenter', { fullPage: false });
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('share: the button copies the full-state link with the version; two fresh browsers opening it show the same values in every view', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?beta=4&k=12&preset=circle-random&seed=5&tk=9&tseed=2&ds=mnist&dk=16&dseed=1&ik=16&idm=0.4&ifilter=all#/memory' });
  const { page, log, context, server } = lab;
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(server.url).origin });
  const covered = ['memory', 'toy', 'data', 'images'];
  const mine = {};
  for (const slug of covered) {
    await openView(page, slug);
    mine[slug] = await viewValues(page, slug);
  }
  // Change one thing in a view, then share: the link says it.
  await openView(page, 'memory');
  await page.locator('[data-testid="k-input"]').fill('7');
  await page.locator('[data-testid="k-input"]').dispatchEvent('change');
  await page.waitForFunction(() => /[?&]k=7(&|$)/.test(location.search), null, { timeout: 300_000 });
  mine.memory = await viewValues(page, 'memory');
  await page.locator('[data-testid="share"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="share-status"]')?.dataset.state !== 'idle', null, { timeout: 300_000 });
  const status = await readResult(page, 'share-status');
  assert.equal(status.state, 'copied', status.text);
  assert.match(status.text, /copied/i);
  const link = status.attrs['data-url'];
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link, 'the clipboard holds the link');
  const u = new URL(link);
  assert.match(u.searchParams.get('v') || '', /^\d+\.\d+\.\d+/, `no version in ${link}`);
  assert.equal(u.searchParams.get('k'), '7');
  assert.equal(u.hash, '#/memory');
  t.diagnostic(`shared: ${u.search}${u.hash}`);

  const loads = [];
  for (let n = 0; n < 2; n++) {
    const b = await launchBrowser({ webgpu: false });
    t.after(() => b.close());
    const blog = watchPage(b.page);
    await b.page.goto(link, { waitUntil: 'load', timeout: 300_000 });
    const got = {};
    for (const slug of covered) {
      if (slug !== 'memory') await openView(b.page, slug);
      got[slug] = await viewValues(b.page, slug);
    }
    assert.equal(await b.page.locator('.app-notices [data-testid="notice"]').count(), 0, 'a link of this version gets no version notice');
    assert.deepEqual(blog.pageErrors, [], describeLog(blog));
    loads.push(got);
    await b.close();
  }
  t.diagnostic(`values: ${JSON.stringify(loads[0])}`);
  assert.deepEqual(loads[0], loads[1], 'two fresh loads of the link differ');
  assert.deepEqual(loads[0], mine, 'the link does not reproduce what its author saw');
  // A link of another version says so.
  await lab.goto(`${u.search.replace(/v=[^&]*/, 'v=0.0.1')}${u.hash}`);
  await page.locator('.app-notices [data-testid="notice"]', { hasText: 'version 0.0.1' }).waitFor({ timeout: 300_000 });
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('exports: figures as PNG, the fractions plot as SVG, tables as CSV; each file parsed and checked against what the page shows', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?ds=mnist&dk=16#/memory' });
  const { page, log } = lab;
  const summary = await waitForResult(page, 'attractor-summary', 120_000);
  const energy = await download(page, 'export-energy-png');
  assert.equal(energy.name, 'energy.png');
  assert.deepEqual(pngSize(energy.bytes), [512, 512]);
  assert.deepEqual(pngSize((await download(page, 'export-basins-png')).bytes), [512, 512]);
  const att = parseCsv((await download(page, 'export-attractors-csv')).bytes.toString('utf8'));
  assert.deepEqual(att.header, ['kind', 'memory', 'x', 'y', 'energy', 'basin_share', 'starts']);
  assert.equal(att.rows.filter((r) => r.kind === 'stored').length, Number(summary.attrs['data-stored']));
  assert.equal(att.rows.filter((r) => r.kind === 'spurious').length, Number(summary.attrs['data-spurious']));
  const share = att.rows.reduce((a, r) => a + Number(r.basin_share), 0);
  assert.ok(share > 0.5 && share <= 1 + 1e-9, `basin shares sum to ${share}`);

  await openView(page, 'images');
  await page.waitForFunction(() => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  assert.deepEqual(pngSize((await download(page, 'export-fractions-png')).bytes), [640, 360]);
  const svg = (await download(page, 'export-fractions-svg')).bytes.toString('utf8');
  assert.match(svg, /^<svg[^>]*width="640"[^>]*height="360"/);
  assert.ok(svg.includes('memorized') && svg.includes('generalized') && svg.trim().endsWith('</svg>'), svg.slice(0, 200));
  // The plot's table holds the shipped bundle's fractions, point for point.
  const fr = parseCsv((await download(page, 'export-fractions-csv')).bytes.toString('utf8'));
  const shipped = parseCsv(fs.readFileSync(path.join(DIST, 'www', 'bundles', 'mnist', 'fractions.csv'), 'utf8'));
  for (const row of shipped.rows) {
    for (const label of ['memorized', 'spurious', 'generalized']) {
      const mine = fr.rows.find((r) => r.series === label && Number(r.k) === Number(row.k));
      assert.ok(mine, `no ${label} at K = ${row.k}`);
      assert.ok(Math.abs(Number(mine.fraction) - Number(row[label])) < 1e-12, `${label} at K = ${row.k}: ${mine.fraction} vs ${row[label]}`);
      assert.ok(Math.abs(Number(mine.std) - Number(row[`${label}_std`])) < 1e-12);
    }
  }
  // The quality plot and its table: the shipped manifest's precision and recall, K for K.
  assert.deepEqual(pngSize((await download(page, 'export-quality-png')).bytes), [640, 220]);
  const q = parseCsv((await download(page, 'export-quality-csv')).bytes.toString('utf8'));
  const manifest = JSON.parse(fs.readFileSync(path.join(DIST, 'www', 'bundles', 'mnist', 'manifest.json'), 'utf8'));
  const withQ = manifest.results.filter((r) => r.quality);
  assert.equal(q.rows.length, withQ.length);
  for (const r of withQ) {
    const mine = q.rows.find((x) => Number(x.k) === r.k);
    assert.ok(mine && Math.abs(Number(mine.precision) - r.quality.samples.precision) < 1e-12, `precision at K = ${r.k}: ${mine?.precision} vs ${r.quality.samples.precision}`);
    assert.ok(Math.abs(Number(mine.real_precision) - r.quality.real.precision) < 1e-12);
  }
  // The gallery's table: one row per sample, labelled as the page's percentages say.
  const rel = await readResult(page, 'sweep-relabelled');
  const gal = parseCsv((await download(page, 'export-gallery-csv')).bytes.toString('utf8'));
  assert.equal(gal.rows.length, Number(rel.attrs['data-n']));
  for (const label of ['memorized', 'spurious', 'generalized']) {
    const f = gal.rows.filter((r) => r.label === label).length / gal.rows.length;
    assert.ok(Math.abs(f - Number(rel.attrs[`data-${label}`])) < 1e-4, `${label}: ${f} vs ${rel.attrs[`data-${label}`]}`);
  }
  assert.ok(gal.rows.every((r) => Number(r.d_train_1) <= Number(r.d_train_2) + 1e-12), 'nearest before second nearest');

  await openView(page, 'data');
  await page.waitForFunction(() => document.querySelector('[data-testid="dataset-preview"]')?.dataset.state === 'done', null, { timeout: 300_000 });
  const [w, h] = pngSize((await download(page, 'export-training-subset-png')).bytes);
  assert.ok(w > 0 && h > 0);
  await openView(page, 'toy');
  const [tw, th] = pngSize((await download(page, 'export-toy-exact-png')).bytes);
  assert.ok(tw === th && tw >= 340, `toy figure ${tw}×${th}`);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
