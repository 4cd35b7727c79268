// Accessibility and small screens (issue 17, item 6): axe-core (npm) on every view reports no
// serious or critical violation; the views are reached and opened from the keyboard with a
// visible focus ring; at 390 × 844 no view is wider than the screen (one page, resized).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { openLab, openView, describeLog, screenshot, ROOT } from './lab.mjs';

const VIEWS = ['memory', 'data', 'toy', 'images', 'system'];
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
  for (const slug of VIEWS) {
    await openView(page, slug);
    await settle(page, slug);
    const bad = await axeViolations(page);
    report[slug] = bad;
    t.diagnostic(`${slug}: ${bad.length} serious/critical: ${JSON.stringify(bad)}`);
  }
  for (const slug of VIEWS) assert.deepEqual(report[slug], [], `${slug}: ${JSON.stringify(report[slug], null, 1)}`);

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
  for (const slug of VIEWS) {
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
