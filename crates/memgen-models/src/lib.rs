//! burn models of the lab: the 2-D toy score network and its training loop.
//!
//! One `Device` type serves every backend (burn 0.22): WebGPU in the browser, wgpu
//! or ndarray natively, ndarray inside wasm as the CPU fallback. Every function that
//! reads a tensor back is `async`, so the same code runs in a browser tab.

pub mod device;
pub mod toy;
