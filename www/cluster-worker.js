// The clustering worker (src/cluster_worker.rs): Ward clustering of the toy's samples off the
// tab. It loads the lite module, a small fraction of the full one, so that starting it costs
// less than the clustering it takes off the tab.
import init, { cluster_worker_start } from '../lite/memgen-lab.js';

await init({ module_or_path: new URL('../lite/memgen-lab_bg.wasm', import.meta.url) });
cluster_worker_start();
