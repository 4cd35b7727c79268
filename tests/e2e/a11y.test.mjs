// Accessibility and small screens (issue 17, item 6): axe-core (npm) on every view reports no
// serious or critical violation; the views are reached and opened from the keyboard with a
// visible focus ring; at 390 × 844 no view is wider than the screen (one page, resized).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openLab, openView, viewSlugs, describeLog, screenshot, waitForResult, ROOT } from './lab.mjs';

const AXE = fs.readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** Each view's "ready" condition: its main result shown, so axe sees the view as a user does. */
async function settle(page, slug) {
  const waits = {
    memory: () => document.querySelector('[data-testid="attractor-summary"]')?.dataset.state === 'done',
    data: () => document.querySelector('[data-testid="dataset-preview"]')?.dataset.state === 'done',
    toy: () => document.querySelector('[data-testid="toy-regimes"]')?.dataset.state === 'done',
    images: () => document.querySelector('[data-testid="sweep-relabelled"]')?.dataset.state === 'done',
    system: () => !!document.querySelector('[data-testid="panel-system"]'),
  };
  await page.waitForFunction(waits[slug], null, { timeout: 300_000 });
}

/** axe-core's serious and critical violations in the page (injected through the DevTools
 * protocol, which the page's Content-Security-Policy does not govern). */
async function axeViolations(page) {
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

test('accessibility: axe-core finds no serious or critical violation on any view; the top bar and the gallery work from the keyboard with a visible focus ring; at 390 × 844 every view fits the screen', { timeout: 600_000 }, async (t) => {
  const lab = await openLab(t, { webgpu: false, query: '?ds=mnist&dk=16' });
  const { page, log } = lab;
  const report = {};
  for (const slug of await viewSlugs(page)) {
    await openView(page, slug);
    await settle(page, slug);
    const bad = await axeViolations(page);
    // Every canvas in the view (figures, maps, plots, thumbnails) is an image with words: its
    // role and a text alternative that says what it shows (axe does not ask this of a canvas).
    const canvases = await page.evaluate((s) => {
      const all = [...document.querySelectorAll(`[data-testid="view-${s}"] canvas`)];
      const mute = all.filter((c) => c.getAttribute('role') !== 'img' || (c.getAttribute('aria-label') || '').trim().length < 12);
      return { n: all.length, mute: mute.slice(0, 5).map((c) => c.dataset.testid || c.className || c.outerHTML.slice(0, 60)), muteCount: mute.length };
    }, slug);
    report[slug] = bad;
    t.diagnostic(`${slug}: ${bad.length} serious/critical: ${JSON.stringify(bad)}; ${canvases.n} canvases, ${canvases.muteCount} without a text alternative ${JSON.stringify(canvases.mute)}`);
    assert.ok(canvases.n > 0 || slug === 'system' || slug === 'data', `${slug}: no canvas found in the view`);
    assert.equal(canvases.muteCount, 0, `${slug}: canvases without a text alternative: ${JSON.stringify(canvases.mute)}`);
  }
  for (const slug of await viewSlugs(page)) assert.deepEqual(report[slug], [], `${slug}: ${JSON.stringify(report[slug], null, 1)}`);

  // Keyboard: Tab reaches the view links, the focused one shows an outline, Enter opens it.
  await openView(page, 'memory');
  await page.locator('[data-testid="view-link-data"]').focus();
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => {
    const e = document.activeElement;
    const cs = getComputedStyle(e);
    return { id: e.dataset.testid, outline: cs.outlineStyle, width: parseFloat(cs.outlineWidth) };
  });
  assert.equal(focused.id, 'view-link-toy', JSON.stringify(focused));
  assert.ok(focused.outline !== 'none' && focused.width >= 2, `no visible focus ring: ${JSON.stringify(focused)}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid="views"]')?.dataset.view === 'toy', null, { timeout: 300_000 });
  // The maps from the keyboard: on the energy map N chooses a memory, the arrows move it, A adds
  // one, Delete removes it; on the basin map the arrows move a start point and Enter traces.
  await openView(page, 'memory');
  const keysLine = page.locator('[data-testid="energy-keys"]');
  const at = async () => {
    const m = /Memory (\d+) of (\d+) chosen, at \((-?[\d.]+), (-?[\d.]+)\)/.exec(await keysLine.textContent());
    assert.ok(m, `no chosen memory: ${await keysLine.textContent()}`);
    return { j: Number(m[1]), n: Number(m[2]), x: Number(m[3]), y: Number(m[4]) };
  };
  await page.locator('[data-testid="energy-canvas"]').focus();
  await page.keyboard.press('n');
  const before = await at();
  assert.equal(before.j, 1);
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Shift+ArrowUp');
  const moved = await at();
  // Steps of 2% of the view's half width (1.5), Shift 10%: +0.09 in x, +0.15 in y.
  assert.ok(Math.abs(moved.x - before.x - 0.09) < 2e-3 && Math.abs(moved.y - before.y - 0.15) < 2e-3, `moved ${JSON.stringify(before)} → ${JSON.stringify(moved)}`);
  assert.match(page.url(), /pts=/, 'the moved memory is in the link');
  await page.keyboard.press('a');
  const added = await at();
  assert.deepEqual([added.n, added.j, added.x, added.y], [before.n + 1, before.n + 1, 0, 0], `added ${JSON.stringify(added)}`);
  await page.keyboard.press('Delete');
  await page.waitForFunction((n) => new RegExp(`^${n} memories`).test(document.querySelector('[data-testid="energy-keys"]')?.textContent || ''), before.n, { timeout: 300_000 });
  await waitForResult(page, 'attractor-summary');
  await page.locator('[data-testid="basin-canvas"]').focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /^From \(0\.000, 0\.030\)/.test(document.querySelector('[data-testid="trajectory"]')?.textContent || ''), null, { timeout: 300_000 });
  t.diagnostic(`keyboard: memory ${before.j} moved (${before.x}, ${before.y}) → (${moved.x}, ${moved.y}); ${await page.locator('[data-testid="trajectory"]').textContent()}`);
  // A gallery sample opens from the keyboard (Enter on its card).
  await openView(page, 'images');
  await settle(page, 'images');
  const card = page.locator('[data-testid="sweep-sample"]').first();
  await card.focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="sweep-detail"]').waitFor({ timeout: 300_000 });
  assert.equal(await card.getAttribute('aria-pressed'), 'true');
  // Small screens: at 390 × 844 (the views already open, resized) no view is wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const slug of await viewSlugs(page)) {
    await openView(page, slug);
    // One frame after the resize, so the layout is the phone's.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 5)
        .map((e) => `${e.tagName.toLowerCase()}${e.dataset.testid ? `[${e.dataset.testid}]` : ''}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
    );
    t.diagnostic(`${slug}: page ${width} px wide; widest: ${wide.join(', ')}`);
    await screenshot(page, `phone-${slug}`, { fullPage: false });
    assert.ok(width <= 390, `${slug}: the page is ${width} px wide at 390 px (${wide.join(', ')})`);
  }
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
