// Checks the test platform itself, independent of the app: headless Chromium launched the way
// the lab's tests launch it really has WebGPU (SwiftShader), runs a compute shader correctly,
// and has no adapter when WebGPU is turned off (the case the lab's CPU fallback handles).
// Also checks that scripts/serve.mjs serves the MIME types the browser needs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, serve, watchPage, describeLog, WEBGPU_TEST_TIMEOUT } from './lab.mjs';

function makeSite() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgen-platform-'));
  fs.writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>platform</title></head>' +
      '<body><p id="out">waiting</p><script type="module" src="./probe.js"></script></body></html>',
  );
  fs.writeFileSync(
    path.join(dir, 'probe.js'),
    `
const out = { hasGpu: !!navigator.gpu, adapter: null, compute: null, wasm: null, secure: isSecureContext };
try {
  // A minimal wasm module (empty), served as application/wasm, must compile via streaming.
  const m = await WebAssembly.compileStreaming(fetch('./empty.wasm'));
  out.wasm = m instanceof WebAssembly.Module;
} catch (e) { out.wasm = String(e); }
if (navigator.gpu) {
  const adapter = await navigator.gpu.requestAdapter();
  if (adapter) {
    const info = adapter.info || {};
    out.adapter = { vendor: info.vendor, architecture: info.architecture, description: info.description,
                    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize };
    const device = await adapter.requestDevice();
    const module = device.createShaderModule({ code: \`
      @group(0) @binding(0) var<storage, read_write> data: array<f32>;
      @compute @workgroup_size(64)
      fn main(@builtin(global_invocation_id) id: vec3<u32>) {
        if (id.x < arrayLength(&data)) { data[id.x] = exp(data[id.x]) * 2.0 + 1.0; }
      }\` });
    const n = 1000;
    const input = new Float32Array(n).map((_, i) => (i - 500) / 100);
    const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, input);
    const read = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(Math.ceil(n / 64)); pass.end();
    enc.copyBufferToBuffer(buf, 0, read, 0, n * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const got = new Float32Array(read.getMappedRange().slice(0));
    let maxRel = 0;
    for (let i = 0; i < n; i++) {
      const want = Math.exp(input[i]) * 2 + 1;
      maxRel = Math.max(maxRel, Math.abs(got[i] - want) / Math.abs(want));
    }
    out.compute = { n, maxRel };
  }
}
document.body.dataset.result = JSON.stringify(out);
document.getElementById('out').textContent = 'done';
`,
  );
  // The smallest valid wasm module: magic + version.
  fs.writeFileSync(path.join(dir, 'empty.wasm'), Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  return dir;
}

async function probe(t, webgpu) {
  const dir = makeSite();
  let server, launched;
  t.after(async () => {
    await launched?.close();
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  server = await serve(dir);
  launched = await launchBrowser({ webgpu });
  const page = launched.page;
  const log = watchPage(page);
  await page.goto(server.url, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.result !== undefined, null, { timeout: 300_000 });
  const result = JSON.parse(await page.evaluate(() => document.body.dataset.result));
  return { result, log };
}

test('headless Chromium with the lab flags has a WebGPU adapter and runs a compute shader', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const { result, log } = await probe(t, true);
  t.diagnostic(`adapter: ${JSON.stringify(result.adapter)}; compute: ${JSON.stringify(result.compute)}`);
  assert.equal(result.secure, true, 'http://127.0.0.1 must be a secure context');
  assert.equal(result.wasm, true, `WebAssembly.compileStreaming failed (MIME type?): ${result.wasm}`);
  assert.equal(result.hasGpu, true, 'navigator.gpu is missing');
  assert.ok(result.adapter, 'navigator.gpu.requestAdapter() returned null with the WebGPU flags');
  assert.ok(result.compute, 'compute shader did not run');
  assert.ok(result.compute.maxRel < 1e-5, `compute shader result off: max rel err ${result.compute.maxRel}`);
  assert.deepEqual(log.pageErrors, [], describeLog(log));
  assert.deepEqual(log.consoleErrors, [], describeLog(log));
});

test('with --disable-webgpu there is no adapter (the CPU-fallback case)', { timeout: WEBGPU_TEST_TIMEOUT }, async (t) => {
  const { result, log } = await probe(t, false);
  t.diagnostic(`navigator.gpu present: ${result.hasGpu}; adapter: ${JSON.stringify(result.adapter)}`);
  assert.equal(result.wasm, true, `WebAssembly.compileStreaming failed: ${result.wasm}`);
  assert.equal(result.adapter, null, 'expected no WebGPU adapter with --disable-webgpu');
  assert.deepEqual(log.pageErrors, [], describeLog(log));
});

test('serve.mjs: MIME types, gzip, no path traversal', { timeout: 600_000 }, async (t) => {
  const dir = makeSite();
  fs.writeFileSync(path.join(dir, 'big.js'), 'console.log("x");\n'.repeat(1000));
  let server;
  t.after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  server = await serve(dir);
  const get = (p, headers = {}) => fetch(new URL(p, server.url), { headers });
  let r = await get('/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  r = await get('/empty.wasm');
  assert.equal(r.headers.get('content-type'), 'application/wasm');
  r = await get('/probe.js');
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
  // Node's fetch sends Accept-Encoding: gzip and decodes transparently.
  r = await get('/big.js');
  assert.equal(r.headers.get('content-encoding'), 'gzip');
  assert.equal((await r.text()).length, 'console.log("x");\n'.length * 1000);
  r = await get('/missing.js');
  assert.equal(r.status, 404);
  r = await get('/%2e%2e/%2e%2e/etc/passwd');
  assert.notEqual(r.status, 200);
  // Every answer carries the Content-Security-Policy: own origin only, wasm allowed.
  r = await get('/');
  const csp = r.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /\*|https?:/, 'the policy names no other origin');
  // Encoded and doubly encoded climbs, a backslash climb, a NUL: never 200.
  for (const p of ['/..%2f..%2fetc%2fpasswd', '/%252e%252e/%252e%252e/etc/passwd', '/..\\..\\etc\\passwd', '/a%00.js']) {
    r = await get(p);
    assert.notEqual(r.status, 200, p);
  }
  // A symbolic link to a file outside the folder is refused; a folder without index.html is
  // not listed.
  const outside = path.join(os.tmpdir(), `memgen-serve-secret-${process.pid}.txt`);
  fs.writeFileSync(outside, 'secret');
  t.after(() => fs.rmSync(outside, { force: true }));
  fs.symlinkSync(outside, path.join(dir, 'link.txt'));
  r = await get('/link.txt');
  assert.equal(r.status, 403);
  assert.doesNotMatch(await r.text(), /secret/);
  fs.mkdirSync(path.join(dir, 'folder'));
  fs.writeFileSync(path.join(dir, 'folder', 'a.txt'), 'a');
  r = await get('/folder/');
  assert.equal(r.status, 404);
  assert.doesNotMatch(await r.text(), /a\.txt/);
});
