// Same spec, same bytes: the seeded random scheme of memgen-core built for wasm32 gives the
// FNV-1a hash that the native unit test `spec::tests::pinned_values` pins.
// scripts/test.sh builds the probe first:
//   cargo build --profile native-test --target wasm32-unknown-unknown -p memgen-core --example wasm_bench

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './lab.mjs';

test('seeded normals hash identically in wasm32 and natively', async () => {
  const spec = fs.readFileSync(path.join(ROOT, 'crates/memgen-core/src/spec.rs'), 'utf8');
  const m = spec.match(/PINNED_HASH: u64 = (0x[0-9a-f_]+);/);
  assert.ok(m, 'the native pin PINNED_HASH was not found in spec.rs');
  const pinned = BigInt(m[1].replaceAll('_', ''));
  const target = process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target');
  const wasm = path.join(target, 'wasm32-unknown-unknown/native-test/examples/wasm_bench.wasm');
  assert.ok(fs.existsSync(wasm), `${wasm} is missing: build it as the header says`);
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasm), {});
  const got = BigInt.asUintN(64, instance.exports.pinned_normal_hash());
  assert.equal(got.toString(16), pinned.toString(16));
});
