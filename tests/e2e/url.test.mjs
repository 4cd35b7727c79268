// The DenseAM panel's state lives in the URL: opening a URL reproduces the view, a change is
// written back, and malformed, out-of-range or huge parameters give safe defaults and a visible
// notice, never a panic or a hang.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  openLab,
  waitForFirstFrame,
  waitForResult,
  readResult,
  firstNumber,
  describeLog,
  FIRST_FRAME_TIMEOUT,
  WEBGPU_TEST_TIMEOUT,
} from './lab.mjs';

const PRESETS = ['circle-even', 'circle-random', 'square-random'];

async function betaShown(page) {
  return firstNumber(await page.locator('[data-testid="beta-value"]').textContent());
}

function counts(r) {
  return {
    stored: Number(r.attrs['data-stored']),
    spurious: Number(r.attrs['data-spurious']),
    retrieval: Number(r.attrs['data-retrieval-fraction']),
  };
}

test('URL state round-trip: open, change β, reload reproduces β and attractor counts', { timeout: 3 * WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: '?beta=8&k=5&preset=circle-even' });
  const { page, log } = lab;
  await waitForFirstFrame(page);

  const beta0 = await betaShown(page);
  assert.ok(Math.abs(beta0 - 8) / 8 < 0.01, `beta-value shows ${beta0}, want ≈ 8`);
  assert.equal(await page.locator('[data-testid="k-input"]').inputValue(), '5');
  assert.equal(await page.locator('[data-testid="preset"]').inputValue(), 'circle-even');
  const before = await waitForResult(page, 'attractor-summary');
  assert.equal(before.state, 'done', before.text);

  // Watch the summary so we know when the map for the *new* β is finished: any attribute write
  // on it after the slider moves (data-state leaving "done", or new counts) arms the wait.
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="attractor-summary"]');
    window.__memgenSummaryTouched = false;
    new MutationObserver(() => (window.__memgenSummaryTouched = true)).observe(el, { attributes: true });
  });

  // Move the slider to 70% of its range (a different β from 8), as a user would: input + change.
  const slider = page.locator('[data-testid="beta-slider"]');
  assert.equal(await slider.getAttribute('type'), 'range');
  await slider.evaluate((el) => {
    const min = Number(el.min || 0), max = Number(el.max || 100);
    let v = min + 0.7 * (max - min);
    if (Math.abs(Number(el.value) - v) < 1e-9) v = min + 0.3 * (max - min);
    el.value = String(v);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  });

  await page.waitForFunction(
    () => {
      const b = Number(new URLSearchParams(location.search).get('beta'));
      return Number.isFinite(b) && Math.abs(b - 8) > 1e-6;
    },
    null,
    { timeout: 300_000 },
  );
  await page.waitForFunction(
    () => window.__memgenSummaryTouched && document.querySelector('[data-testid="attractor-summary"]').dataset.state === 'done',
    null,
    { timeout: WEBGPU_TEST_TIMEOUT, polling: 200 },
  );
  const search = await page.evaluate(() => location.search);
  const newBeta = Number(new URLSearchParams(search).get('beta'));
  const beta1 = await betaShown(page);
  const after = counts(await readResult(page, 'attractor-summary'));
  t.diagnostic(`after slider: ${search} shows β=${beta1}, counts ${JSON.stringify(after)}`);
  assert.ok(Math.abs(beta1 - newBeta) / newBeta < 0.01, `beta-value ${beta1} vs URL beta ${newBeta}`);

  // Reload that exact URL in the same tab: same β, same K, same attractor counts.
  await page.goto(lab.url(search), { waitUntil: 'load' });
  await waitForFirstFrame(page);
  const reloaded = await waitForResult(page, 'attractor-summary');
  assert.equal(reloaded.state, 'done', reloaded.text);
  const beta2 = await betaShown(page);
  assert.ok(Math.abs(beta2 - beta1) / beta1 < 1e-3, `after reload β=${beta2}, before ${beta1}`);
  assert.equal(await page.locator('[data-testid="k-input"]').inputValue(), '5');
  assert.deepEqual(counts(reloaded), after, 'attractor counts differ after reload');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
});

/** 200 KB of deterministic garbage for ?pts= (digits, separators, letters, symbols). */
function garbage(bytes) {
  const alphabet = '0123456789,;.-+eE nanNaNinfINF()[]{}<>"\'&=%#?/\\abcxyz\u00e9\u4e2d';
  let s = '';
  let x = 0x2545f491;
  while (s.length < bytes) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    s += alphabet[x % alphabet.length];
  }
  return s;
}

// Each case: the query string, and whether the app must show a notice. Every case here is
// invalid (malformed, out of range or too large), so every one expects a notice.
const BAD_INPUTS = [
  ['beta=abc', true],
  ['beta=1e308', true],
  ['beta=-5', true],
  ['k=99999999', true],
  ['k=-1', true],
  ['pts=1,2;nan,3;;;', true],
  ['pts=' + encodeURIComponent(garbage(200 * 1024)), true],
  ['preset=' + encodeURIComponent('<script>alert(1)</script>'), true],
  ['view=0,0,0', true],
  // A right-to-left override in a value must not reverse the notice that quotes it.
  ['beta=abc%E2%80%AEdef', true],
  // The page's own keys and routes (src/route.rs, src/lessons.rs).
  ['beta=3#/nope', true],
  ['lesson=nope', true],
  ['lesson=memory&step=99', true],
  ['present=maybe', true],
];

test('bad URL parameters: safe defaults, a visible notice, no panic, no hang', { timeout: BAD_INPUTS.length * WEBGPU_TEST_TIMEOUT }, async (t) => {
  const lab = await openLab(t, { webgpu: true, query: null });
  const { page, log } = lab;
  for (const [query, wantNotice] of BAD_INPUTS) {
    const label = query.length > 60 ? `${query.slice(0, 40)}… (${query.length} chars)` : query;
    await t.test(label, { timeout: WEBGPU_TEST_TIMEOUT }, async (st) => {
      const pageErrorsBefore = log.pageErrors.length;
      const dialogsBefore = log.dialogs.length;
      let ms;
      try {
        await page.goto(lab.url('?' + query), { waitUntil: 'load', timeout: 300_000 });
        ms = await waitForFirstFrame(page, FIRST_FRAME_TIMEOUT);
      } catch (e) {
        // Playwright's messages quote the whole URL: keep them readable for the 200 KB case.
        const msg = String(e.message).replace(/\?[^\s"]{200,}/g, (m) => `${m.slice(0, 80)}…(${m.length} chars)`);
        throw new Error(`${label}: ${msg.slice(0, 2000)}`);
      }
      st.diagnostic(`first frame at ${ms} ms`);
      if (wantNotice) {
        const notice = page.locator('[data-testid="notice"]').first();
        await notice.waitFor({ state: 'visible', timeout: 300_000 });
        const said = (await notice.textContent()).trim();
        st.diagnostic(`notice: ${said.slice(0, 200)}`);
        assert.doesNotMatch(said, /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/, 'the notice carries a bidirectional control');
      }
      // Safe state: finite β shown, K within its input's bounds, a known preset.
      const beta = await betaShown(page);
      assert.ok(Number.isFinite(beta) && beta > 0, `beta-value shows ${beta}`);
      const kInput = page.locator('[data-testid="k-input"]');
      const k = Number(await kInput.inputValue());
      const kMax = Number((await kInput.getAttribute('max')) ?? Infinity);
      assert.ok(Number.isInteger(k) && k >= 1 && k <= kMax, `K=${k} (max ${kMax})`);
      assert.ok(PRESETS.includes(await page.locator('[data-testid="preset"]').inputValue()), 'unknown preset selected');
      assert.equal(log.pageErrors.length, pageErrorsBefore, describeLog(log));
      assert.equal(log.dialogs.length, dialogsBefore, `a dialog opened (script injection?): ${log.dialogs.join('; ')}`);
    });
  }
  await lab.screenshot('bad-url-last');
  // A refused K typed into the box: a notice, and the box shows the K in force again.
  const kInput = page.locator('[data-testid="k-input"]');
  const before = await kInput.inputValue();
  await kInput.fill('99999');
  await kInput.dispatchEvent('change');
  await page.locator('[data-testid="notice"]', { hasText: 'K must be' }).first().waitFor({ timeout: 300_000 });
  assert.equal(await kInput.inputValue(), before, 'the refused value stays in the box');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});
