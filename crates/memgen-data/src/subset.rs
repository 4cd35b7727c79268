//! Seeded training subsets, by memgen-core's one RNG scheme (feature `core`).

use crate::packed::{PackedDataset, Subsample};
use crate::DataError;

/// The training subset S_K of a set of `n` images: the first `k` entries of
/// memgen-core's seeded permutation of `0..n` (`memgen_core::spec::subset_indices`),
/// so subsets of one seed are nested. The same `(n, k, seed)` gives the same
/// indices in the app (wasm) and the CLI.
pub fn subset(n: usize, k: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    memgen_core::spec::subset_indices(n, k, seed)
        .map_err(|e| DataError::Invalid(format!("training subset: {e}")))
}

impl PackedDataset {
    /// S_K of this set as a new dataset (images in subset order), its header
    /// recording how it was drawn.
    pub fn training_subset(&self, k: usize, seed: u64) -> Result<PackedDataset, DataError> {
        let idx = subset(self.len(), k, seed)?;
        self.select(
            &idx,
            &format!("{}-k{k}-seed{seed}", self.name()),
            Some(Subsample {
                of: self.name().to_string(),
                of_n: self.len(),
                method: format!(
                    "memgen-core subset_indices(n={}, k={k}, seed={seed})",
                    self.len()
                ),
            }),
        )
    }
}
