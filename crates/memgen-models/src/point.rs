//! The settings of one experiment point, recorded with its result in a bundle: everything
//! that decides it. Its own module (imported by the bundle format and the sweep alike), so
//! that the format does not depend on the code that runs a sweep.

use memgen_core::metrics::Rule;
use serde::{Deserialize, Serialize};

use crate::model::ModelSpec;
use crate::unet::snapshot::WeightsDtype;
use crate::unet::SamplerConfig;

/// Everything that decides the result of one sweep point; recorded with it in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointConfig {
    /// Training-set size.
    pub k: usize,
    /// The point's seed: weights, batches, `S_eval` and `S′` (not `S_K`).
    pub seed: u64,
    /// The model (a UNet's steps already resolved for this `k`).
    pub model: ModelSpec,
    /// The sampler.
    pub sampler: SamplerConfig,
    /// Images per sampling batch.
    pub sample_batch: usize,
    /// `|S_eval|`.
    pub n_eval: usize,
    /// `|S′|`.
    pub n_synthetic: usize,
    /// The labelling rule.
    pub rule: Rule,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Samples written into the gallery.
    pub gallery_samples: usize,
    /// How the EMA weights are kept and sampled from (f32 unless f16 is asked for).
    #[serde(default, skip_serializing_if = "WeightsDtype::is_f32")]
    pub weights: WeightsDtype,
}
