// The training worker (the 2-D toy and the UNet on WebGPU): loads the lab's wasm module (the same file the page runs) and
// hands control to its worker entry point (src/worker.rs). The page talks to it by messages.
import init, { train_worker_start } from '../memgen-lab.js';

await init({ module_or_path: new URL('../memgen-lab_bg.wasm', import.meta.url) });
train_worker_start();
