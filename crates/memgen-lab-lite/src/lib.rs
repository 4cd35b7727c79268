//! The page's first load: the lab's app built without its training engine (the root crate's
//! `engine` feature off), so that the first view loads a small module; see `memgen_lab::lite`.
//! A package of its own so that cargo keeps this build and the full one side by side (the
//! root crate's two feature sets get two cached libraries instead of one rebuilt in turn).
//! `scripts/build-web.sh` builds it as a cdylib; the page's entry point (`wasm_start`) comes
//! from the root crate.

pub use memgen_lab::*;
