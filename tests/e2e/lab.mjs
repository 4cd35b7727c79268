// Shared helpers for the browser end-to-end tests (node:test + playwright-core).
//
// Every test gets: a static server (scripts/serve.mjs) on a free port on 127.0.0.1, a fresh
// headless Chromium (/usr/bin/chromium) with its own --user-data-dir, and collectors for console
// errors, page errors and dialogs. Screenshots go to test-artifacts/ (gitignored).
//
// WebGPU in headless Chromium without a GPU comes from SwiftShader (see shared docs/PLATFORM.md):
// slow but correct, so timeouts here are generous and waits are on explicit conditions only.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// MEMGEN_E2E_DIST points the tests at another build (e.g. tests/e2e/mock-app to test the tests).
export const DIST = path.resolve(ROOT, process.env.MEMGEN_E2E_DIST || 'dist');
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export const CHROMIUM = process.env.MEMGEN_CHROMIUM || '/usr/bin/chromium';

/** Timeout for one test doing WebGPU work on SwiftShader. */
export const WEBGPU_TEST_TIMEOUT = 600_000;
/** How long to wait for the first energy heatmap frame. */
export const FIRST_FRAME_TIMEOUT = Number(process.env.MEMGEN_FIRST_FRAME_TIMEOUT_MS || 300_000);

const COMMON_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // Software GL for canvas/compositing (kept with and without WebGPU).
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--disable-vulkan-surface',
];

/** Chromium command-line flags for a run with or without WebGPU. */
export function chromiumFlags({ webgpu = true } = {}) {
  return webgpu ? [...COMMON_FLAGS, ...WEBGPU_FLAGS] : [...COMMON_FLAGS, '--disable-webgpu'];
}

/** Serve `dir` (default dist/) on a free port. Resolves to { url, port, close }. */
export async function serve(dir = DIST) {
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    throw new Error(`${dir}/index.html not found: build the app first (bash scripts/build-web.sh)`);
  }
  return startServer({ dir, host: '127.0.0.1', port: 0, quiet: true });
}

/**
 * Launch a fresh headless Chromium with its own profile directory (mkdtemp; Playwright wants
 * it as launchPersistentContext's argument rather than as --user-data-dir). Resolves to
 * { context, page, userDataDir, close }.
 */
export async function launchBrowser({ webgpu = true, viewport = { width: 1400, height: 1000 }, extraArgs = [] } = {}) {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run 'bash scripts/setup.sh --chromium' (apt-get install chromium)`);
  }
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...chromiumFlags({ webgpu }), ...extraArgs],
      viewport,
      deviceScaleFactor: 1,
      timeout: 300_000,
    });
  } catch (e) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, page, userDataDir, close };
}

/** Attach collectors for console errors, uncaught page errors, dialogs and failed requests. */
export function watchPage(page) {
  const log = { consoleErrors: [], pageErrors: [], dialogs: [], failedRequests: [], console: [] };
  page.on('console', (msg) => {
    const loc = msg.location();
    const where = loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : '';
    log.console.push(`[${msg.type()}] ${msg.text()}`);
    if (msg.type() === 'error') log.consoleErrors.push(`${msg.text()}${where}`);
  });
  page.on('pageerror', (err) => log.pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('dialog', (d) => {
    log.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('requestfailed', (req) => log.failedRequests.push(`${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('response', (res) => {
    if (res.status() >= 400) log.failedRequests.push(`${res.url()} HTTP ${res.status()}`);
  });
  return log;
}

/**
 * Open the lab in a fresh browser. Registers cleanup with `t.after` when `t` is given.
 * Returns { page, context, server, log, url(query), goto(query), screenshot(name), close() }.
 * Pass query: null to skip the first navigation.
 */
export async function openLab(t, { webgpu = true, query = '', dir = DIST, viewport = { width: 1400, height: 1000 } } = {}) {
  const cleanups = [];
  const closeAll = async () => {
    while (cleanups.length) await cleanups.pop()().catch(() => {});
  };
  // Register cleanup first, so a failure below never leaves a server or browser running
  // (an open server would keep the test process alive).
  if (t && typeof t.after === 'function') t.after(closeAll);
  const server = await serve(dir);
  cleanups.push(() => server.close());
  const launched = await launchBrowser({ webgpu, viewport });
  cleanups.push(() => launched.close());
  const page = launched.page;
  const log = watchPage(page);
  const lab = {
    page,
    context: launched.context,
    server,
    log,
    // q: a query, with the view's hash route after it where the test wants another view than
    // the first (`?tk=2#/toy`, or `#/toy` alone).
    url: (q = '') => server.url + (q ? (q.startsWith('?') || q.startsWith('#') ? q : `?${q}`) : ''),
    goto: async (q = '') => page.goto(lab.url(q), { waitUntil: 'load', timeout: 300_000 }),
    screenshot: (name, opts = {}) => screenshot(page, name, opts),
    close: closeAll,
  };
  if (query !== null) await lab.goto(query);
  return lab;
}

/** Open view `slug` from the top bar (a click on its link) and wait until it shows. */
/**
 * The lab's views, as the page's view registry lists them (src/route.rs `REGISTRY`, written
 * into the top bar's data-views): the tests' view list is the app's, never a copy of it.
 */
export async function viewSlugs(page) {
  const bar = page.locator('[data-testid="view-bar"]');
  await bar.waitFor({ timeout: 300_000 });
  const slugs = (await bar.getAttribute('data-views')).split(',').filter(Boolean);
  if (!slugs.includes('memory') || slugs.length < 2) throw new Error(`the view bar lists ${JSON.stringify(slugs)}`);
  return slugs;
}

export async function openView(page, slug) {
  await page.locator(`[data-testid="view-link-${slug}"]`).click();
  await page.waitForFunction((s) => document.querySelector('[data-testid="views"]')?.dataset.view === s, slug, { timeout: 300_000 });
}

/** Save a full-page screenshot to test-artifacts/<name>.png; returns the path. */
export async function screenshot(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** Screenshot every shown element whose data-testid starts with "panel-" (the open view's) into
 * test-artifacts/. */
export async function screenshotPanels(page, prefix) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const panels = page.locator('[data-testid^="panel-"]:visible');
  const n = await panels.count();
  const files = [];
  for (let i = 0; i < n; i++) {
    const p = panels.nth(i);
    const id = await p.getAttribute('data-testid');
    const file = path.join(ARTIFACTS, `${prefix}-${id}.png`);
    await p.screenshot({ path: file });
    files.push(file);
  }
  return files;
}

/** Wait until <body data-first-frame-ms> is set; returns its value in ms. */
export async function waitForFirstFrame(page, timeout = FIRST_FRAME_TIMEOUT) {
  try {
    await page.waitForFunction(() => document.body && document.body.dataset.firstFrameMs !== undefined, null, {
      timeout,
      polling: 100,
    });
  } catch (e) {
    const boot = await page.evaluate(() => document.body ? document.body.innerText.slice(0, 500) : '').catch(() => '');
    throw new Error(`no first frame (body[data-first-frame-ms]) within ${timeout} ms; page text: ${JSON.stringify(boot)}`, {
      cause: e,
    });
  }
  return Number(await page.evaluate(() => document.body.dataset.firstFrameMs));
}

/**
 * Wait until the element `[data-testid=<testid>]` has data-state "done" or "error".
 * Returns { state, attrs, text }.
 */
export async function waitForResult(page, testid, timeout = WEBGPU_TEST_TIMEOUT) {
  const sel = `[data-testid="${testid}"]`;
  await page.waitForFunction(
    (s) => {
      const el = document.querySelector(s);
      return !!el && (el.dataset.state === 'done' || el.dataset.state === 'error');
    },
    sel,
    { timeout, polling: 200 },
  );
  return readResult(page, testid);
}

/** All attributes and the text of `[data-testid=<testid>]`. */
export async function readResult(page, testid) {
  return page.evaluate((s) => {
    const el = document.querySelector(s);
    if (!el) return null;
    const attrs = {};
    for (const a of el.attributes) attrs[a.name] = a.value;
    return { state: el.dataset.state, attrs, text: el.textContent.trim() };
  }, `[data-testid="${testid}"]`);
}

/** The first number in a string ("β = 8.00" -> 8). NaN if none. */
export function firstNumber(s) {
  const m = String(s ?? '').match(/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/);
  return m ? Number(m[0]) : NaN;
}

/** A readable dump of what the page logged, for assertion messages. */
export function describeLog(log) {
  const parts = [];
  if (log.pageErrors.length) parts.push(`page errors:\n  ${log.pageErrors.join('\n  ')}`);
  if (log.consoleErrors.length) parts.push(`console errors:\n  ${log.consoleErrors.join('\n  ')}`);
  if (log.failedRequests.length) parts.push(`failed requests:\n  ${log.failedRequests.join('\n  ')}`);
  if (log.dialogs.length) parts.push(`dialogs:\n  ${log.dialogs.join('\n  ')}`);
  return parts.join('\n') || '(nothing logged)';
}

/** The memgen binary the native tests built (MEMGEN_BIN overrides). */
export function memgenBin() {
  const candidates = [
    process.env.MEMGEN_BIN,
    path.join(ROOT, 'target', 'native-test', 'memgen'),
    path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'native-test', 'memgen'),
    path.join(ROOT, 'target', 'release', 'memgen'),
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  assert.ok(found, `no memgen binary in ${candidates.join(', ')}: build it with cargo build -p memgen-cli --profile native-test`);
  return found;
}

/** Milliseconds the page takes to answer each of `n` animation frames, `gapMs` apart: a frozen
 * main thread shows as seconds. */
export async function frameLags(page, n = 5, gapMs = 200) {
  const lags = [];
  for (let i = 0; i < n; i++) {
    const a = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    lags.push(Date.now() - a);
    await page.waitForTimeout(gapMs);
  }
  return lags;
}

/**
 * Starts recording the page's longest gap between animation frames (a requestAnimationFrame
 * loop in the page) and its longest task on the main thread (the Long Tasks API: every task
 * over 50 ms); `takeFrameGap(page)` returns both and starts over. A long action that keeps the
 * tab responsive shows no gap much over its slices of work.
 */
export async function startFrameGaps(page) {
  await page.evaluate(() => {
    if (window.__frameGaps) return;
    const g = (window.__frameGaps = { last: performance.now(), max: 0, frames: 0, longestTask: 0, tasks: 0 });
    const tick = (now) => {
      g.max = Math.max(g.max, now - g.last);
      g.last = now;
      g.frames += 1;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          g.longestTask = Math.max(g.longestTask, e.duration);
          g.tasks += 1;
        }
      }).observe({ type: 'longtask' });
    } catch {
      g.longestTask = NaN;
    }
  });
}

export async function takeFrameGap(page) {
  return page.evaluate(() => {
    const g = window.__frameGaps;
    const out = { max: Math.max(g.max, performance.now() - g.last), frames: g.frames, longestTask: g.longestTask, tasks: g.tasks };
    g.max = 0;
    g.frames = 0;
    g.longestTask = Number.isNaN(g.longestTask) ? NaN : 0;
    g.tasks = 0;
    return out;
  });
}

/**
 * The longest gap between two frames, or task of the page's thread, that still counts as a
 * responsive tab (issue 18): well over a software-rendered frame and one slice of the page's
 * work on a loaded 2-core machine, well under the 1.6–2.5 s stalls the toy's sampler once made.
 */
export const FREEZE_MS = 2000;

/**
 * A frame gap this long is a hung tab whatever its cause. Under it, a gap over FREEZE_MS while
 * every task of the page's was short was made outside the page's thread: the compositor
 * waiting on SwiftShader's GPU process, which three browsers and the native tests share on
 * 2 cores (seen in CI: a 4,988 ms gap in a run whose gap alone was 200 ms). That is reported;
 * what is bounded by FREEZE_MS is then the page's own longest task.
 */
export const HANG_MS = 10_000;

/**
 * The longest frame gap and main-thread task since `startFrameGaps`/the last take, reported as
 * a diagnostic and bounded: the page's longest task under FREEZE_MS; the frame gap under
 * FREEZE_MS, or, when the page's longest task was under FREEZE_MS / 2, under HANG_MS (see
 * there); at least `minFrames` frames drawn meanwhile. `opts`: `{ minFrames, hangMs }` (or
 * the number of frames alone).
 */
export async function assertNoFreeze(t, page, what, opts = {}) {
  const { minFrames = 2, hangMs = HANG_MS } = typeof opts === 'number' ? { minFrames: opts } : opts;
  const g = await takeFrameGap(page);
  const measured = !Number.isNaN(g.longestTask);
  const task = measured ? `${g.longestTask.toFixed(0)} ms (${g.tasks} over 50 ms)` : 'not measured (no Long Tasks API)';
  t.diagnostic(`${what}: longest frame gap ${g.max.toFixed(0)} ms over ${g.frames} frames; longest task ${task}`);
  if (measured) assert.ok(g.longestTask < FREEZE_MS, `the page's thread was busy ${g.longestTask.toFixed(0)} ms in one task while ${what}`);
  assert.ok(g.frames >= minFrames, `only ${g.frames} frames drawn while ${what}`);
  assert.ok(g.max < hangMs, `the tab hung ${g.max.toFixed(0)} ms while ${what} (longest task: ${task})`);
  const outside = measured && g.longestTask < FREEZE_MS / 2;
  assert.ok(g.max < FREEZE_MS || outside, `the tab froze ${g.max.toFixed(0)} ms while ${what} (longest task: ${task})`);
  if (g.max >= FREEZE_MS) t.diagnostic(`${what}: the ${g.max.toFixed(0)} ms gap came from outside the page's thread (its longest task was ${task})`);
  return g;
}

/** The page's workers as they start, and every console error any of them logs. */
export function watchWorkers(page) {
  const workers = [];
  const workerErrors = [];
  page.on('worker', (w) => {
    workers.push(w);
    w.on('console', (m) => { if (m.type() === 'error') workerErrors.push(`${w.url()}: ${m.text()}`); });
  });
  return { workers, workerErrors };
}

/** Clicks `[data-testid=<testid>]` and returns the download's name and bytes. */
export async function download(page, testid) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 300_000 }), page.locator(`[data-testid="${testid}"]`).click()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file) };
}

/** Width and height of a PNG (its IHDR), after checking its signature. */
export function pngSize(bytes) {
  assert.deepEqual([...bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'not a PNG');
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

/** A CSV without quoted commas: its header and its rows as objects. */
export function parseCsv(text) {
  const lines = text.trim().split('\n');
  const header = lines[0].split(',');
  return { header, rows: lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v]))) };
}

/** The keys of the lab's binary storage (IndexedDB `memgen-lab`, store `runs`: www/store.js)
 * that start with `prefix`. */
export async function keptRuns(page, prefix = '') {
  return page.evaluate((p) => new Promise((resolve, reject) => {
    const r = indexedDB.open('memgen-lab', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('runs');
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const db = r.result;
      const q = db.transaction('runs', 'readonly').objectStore('runs').getAllKeys();
      q.onsuccess = () => { db.close(); resolve(q.result.map(String).filter((k) => k.startsWith(p))); };
      q.onerror = () => reject(q.error);
    };
  }), prefix);
}

/** Puts `bytes` (an array of numbers) under `key` in the lab's binary storage. */
export async function keepRun(page, key, bytes) {
  return page.evaluate(([k, b]) => new Promise((resolve, reject) => {
    const r = indexedDB.open('memgen-lab', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('runs');
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const db = r.result;
      const tx = db.transaction('runs', 'readwrite');
      tx.objectStore('runs').put(new Uint8Array(b), k);
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), [key, bytes]);
}

/** Little-endian f16 values from base64 (a probe file's `spectrum_f16`). */
export function f16s(text) {
  const b = Buffer.from(text, 'base64');
  const out = [];
  for (let i = 0; i + 1 < b.length; i += 2) {
    const h = b.readUInt16LE(i);
    const sign = h >> 15 ? -1 : 1;
    const e = (h >> 10) & 31;
    const m = h & 1023;
    out.push(e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15));
  }
  return out;
}

/**
 * How far a spectrum computed in the tab (`mine`, every rank) lies from a probe file's
 * (`theirs`, f16 at 1-based `ranks`): the largest difference as a share of its allowance,
 * f16's rounding (2⁻¹¹ relative) and 0.1% of the largest value for the float ordering of wasm
 * (or a GPU) against native code, which the central differences carry into every entry
 * (another t or step h moves the spectrum by far more). `{ worst, rank }`: within when ≤ 1.
 */
export function spectrumExcess(mine, theirs, ranks) {
  let worst = 0;
  let rank = 0;
  ranks.forEach((r, i) => {
    const excess = Math.abs(mine[r - 1] - theirs[i]) / (2 ** -11 * Math.abs(theirs[i]) + 1e-3 * theirs[0]);
    if (excess > worst) [worst, rank] = [excess, r];
  });
  return { worst, rank };
}
