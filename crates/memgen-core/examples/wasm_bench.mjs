// node crates/memgen-core/examples/wasm_bench.mjs path/to/wasm_bench.wasm
// Prints the pinned hashes (must equal the native ones) and classify timings in wasm (1 thread).
import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const x = instance.exports;
console.log("pinned_normal_hash 0x" + BigInt.asUintN(64, x.pinned_normal_hash()).toString(16));
console.log("pinned_subset_uniform_hash 0x" + BigInt.asUintN(64, x.pinned_subset_uniform_hash()).toString(16));
for (const [ne, nt, ns] of [[1000, 1000, 4000], [2000, 2000, 8000]]) {
  const t = performance.now();
  const g = x.classify_random(ne, nt, ns, 784);
  console.log(`classify wasm |S_eval|=${ne} |S|=${nt} |S'|=${ns} d=784: ${((performance.now() - t) / 1000).toFixed(3)} s (generalized ${g})`);
}
