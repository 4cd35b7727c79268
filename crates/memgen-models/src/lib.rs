//! burn models of the lab: the 2-D toy score network, its training loop, sampler and energies;
//! the image UNet DDPM, its samplers and the ideal empirical denoiser ([`unet`]); the models an
//! image experiment can use, as one type ([`model::ModelSpec`]) and the named defaults of its
//! settings ([`presets`]); the image sweep's experiment point ([`sweep`]), its result bundle
//! format ([`bundle`]) and the basin and curvature probes of a point ([`probe`]).
//!
//! One `Device` type serves every backend (burn 0.22): WebGPU in the browser, wgpu
//! or ndarray natively, ndarray inside wasm as the CPU fallback. Every function that
//! reads a tensor back is `async`, so the same code runs in a browser tab; natively, drive
//! the futures with `pollster::block_on` (as [`toy::toy_run`] does).

pub mod bundle;
pub mod device;
mod epoch;
pub mod experiment;
pub mod model;
pub mod optim;
pub mod point;
pub mod presets;
pub mod probe;
pub mod refnet;
mod run_state;
pub mod sweep;
pub mod toy;
pub mod unet;
