//! Numeric core of the Memorization → Generalization Lab.
//!
//! Pure Rust (no burn, no web-sys); builds natively and for `wasm32-unknown-unknown`.
//! Natively, the heavy loops (kNN, ideal score) use rayon threads; on wasm32 they run on
//! one thread with identical results.
//!
//! Data layout: every set of points is a [`Matrix`], row-major `f32`, one sample per row
//! (`rows = n`, `cols = d`). Equations refer to `docs/SCIENCE.md` and the paper.
//! Errors are one [`CoreError`] enum whose messages are single lines naming the problem.
//!
//! | module | what | entry points |
//! |---|---|---|
//! | [`schedules`] | VE SDE of the toy; DDPM linear β, ᾱ, ancestral and DDIM (η = 0) steps | `VeSde`, `DdpmSchedule::paper()` |
//! | [`dense_am`] | DenseAM energies, retrieval, basin maps | `DenseAm` |
//! | [`ideal_score`] | exact score / ideal denoiser of a finite set at std σ | `ideal_score`, `ideal_denoiser`, `ideal_epsilon` |
//! | [`circle`] | exact K→∞ circle energy `E(R; β)` and `dE/dR` | `circle_energy`, `circle_energy_derivative`, `i0e` |
//! | [`knn`] | exact Euclidean kNN (blocked GEMM, threads natively) | `knn`, `knn_naive` |
//! | [`metrics`] | Eqs. 4–6 labels, fractions, bootstrap, capacities | `classify`, `fractions`, `bootstrap`, `capacities` |
//! | [`cluster`] | Ward clustering at a distance threshold (scipy semantics) | `ward_clusters` |
//! | [`basin`] | recovery probability, critical time, d-ball log-volume, SVD | `critical_time`, `log_ball_volume`, `singular_values` |
//! | [`quality`] | improved precision / recall and the Fréchet distance of feature sets | `precision_recall`, `frechet_distance`, `Manifold` |
//! | [`text`] | outside text made safe to show: control and bidirectional-override characters dropped | `neutralise` |
//! | [`experiment`] | the versioned experiment spec saved with every sweep | `ExperimentSpec` |
//! | [`spec`] | the one seeded RNG (ChaCha8) and its streams | `NoiseStream`, `subset_indices` |
pub mod basin;
pub mod circle;
pub mod cluster;
pub mod dense_am;
pub mod error;
pub mod experiment;
pub mod gallery;
pub mod ideal_score;
pub mod knn;
pub mod matrix;
pub mod metrics;
pub mod par;
pub mod quality;
pub mod schedules;
pub mod spec;
pub mod text;

pub use error::CoreError;
pub use matrix::Matrix;
