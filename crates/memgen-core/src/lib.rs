//! Numeric core of the Memorization → Generalization Lab.
//!
//! Pure Rust (no burn, no web-sys); builds natively and for `wasm32-unknown-unknown`.
//! Natively, the heavy loops (kNN, ideal score) use rayon threads; on wasm32 they run on
//! one thread with identical results.
//!
//! Data layout: every set of points is a [`Matrix`], row-major `f32`, one sample per row
//! (`rows = n`, `cols = d`). Equations refer to `shared/docs/SCIENCE.md` and the paper.
pub mod basin;
pub mod circle;
pub mod cluster;
pub mod dense_am;
pub mod error;
pub mod ideal_score;
pub mod knn;
pub mod matrix;
pub mod metrics;
pub mod schedules;
pub mod spec;

pub use error::CoreError;
pub use matrix::Matrix;
