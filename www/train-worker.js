// The training worker (the 2-D toy and the UNet on WebGPU): loads the lab's wasm module (the same file the page runs) and
// hands control to its worker entry point (src/worker.rs). The page talks to it by messages.
import init, { train_worker_start } from '../memgen-lab.js';

// A lost GPU device (a driver reset, the GPU process gone, or the browser test's destroy()):
// the worker says so once ({type: 'device_lost'}, src/worker.rs FromWorker::DeviceLost), and
// the page goes on from the run's last snapshot without it. What the lost device then causes
// in the wasm (a failed read-back, a panic) is the loss's, not a new failure, so it is not
// reported again: a failure waits for the loss that may be behind it (WebGPU settles
// `device.lost` a little after the first operation fails), up to a second; after a loss the
// worker posts nothing more.
const post = self.postMessage.bind(self);
const devices = [];
let lost = null;
let onLost;
const lostSoon = new Promise((r) => (onLost = r));
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    device.lost.then((info) => {
      if (lost) return;
      lost = info;
      post({ type: 'device_lost', reason: String(info.reason ?? 'unknown'), message: String(info.message ?? '') });
      onLost();
    });
    return device;
  };
}
// Test hook: the devices this worker opened (the browser test destroys them).
self.__memgenGpuDevices = devices;
self.postMessage = (msg, ...rest) => {
  if (lost) return;
  if (msg && msg.type === 'failed') {
    Promise.race([lostSoon, new Promise((r) => setTimeout(r, 1000))]).then(() => { if (!lost) post(msg, ...rest); });
    return;
  }
  post(msg, ...rest);
};
self.addEventListener('error', (e) => {
  e.preventDefault();
  self.postMessage({ type: 'failed', message: String(e.message || e.error || 'the worker failed') });
});
self.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  self.postMessage({ type: 'failed', message: String((e.reason && e.reason.message) || e.reason || 'the worker failed') });
});
// A panic's own report (console_error_panic_hook) after a loss is the loss's too.
const consoleError = console.error.bind(console);
console.error = (...args) => { if (!lost) consoleError(...args); };

await init({ module_or_path: new URL('../memgen-lab_bg.wasm', import.meta.url) });
train_worker_start();
