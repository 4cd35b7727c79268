// The toy's training worker: loads the lab's wasm module (the same file the page runs) and
// hands control to its worker entry point (src/worker.rs). The page talks to it by messages.
import init, { toy_worker_start } from '../memgen-lab.js';

await init({ module_or_path: new URL('../memgen-lab_bg.wasm', import.meta.url) });
toy_worker_start();
