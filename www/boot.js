// The page's entry point: loads the lab's wasm module (a file, not an inline script, so the
// Content-Security-Policy can forbid inline scripts).
import init from '../memgen-lab.js';

init();
