//! Seeded training subsets, by memgen-core's one RNG scheme (feature `core`).

use crate::packed::{PackedDataset, Subsample};
use crate::DataError;

/// The training subset S_K of a set of `n` images: the first `k` entries of
/// memgen-core's seeded permutation of `0..n` (`memgen_core::spec::subset_indices`),
/// so subsets of one seed are nested. The same `(n, k, seed)` gives the same
/// indices in the app (wasm) and the CLI.
pub fn subset(n: usize, k: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    memgen_core::spec::subset_indices(n, k, seed).map_err(|e| DataError::Invalid(format!("training subset: {e}")))
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
                method: format!("memgen-core subset_indices(n={}, k={k}, seed={seed})", self.len()),
            }),
        )
    }
}

/// Class-balanced training subset S_K: the first `k` entries of a fixed
/// sequence built from the same seeded permutation as [`subset`].
///
/// The permutation `p = memgen_core::spec::subset_indices(n, n, seed)` is
/// split by class, each class keeping its items **in the order of `p`**. The
/// sequence then goes **round-robin over the classes in class order** (label
/// 0, 1, 2, …; labels absent from `labels` are skipped): round `r` takes the
/// `r`-th item of every class that still has one. A class that runs out is
/// left out of later rounds, so every image appears exactly once.
///
/// Hence, for one seed, subsets are **nested in `k`** (S_K is a prefix of
/// S_K+1), and while no class has run out the class counts differ by at most
/// one (the lower labels get the extra item). `labels[i]` is the class of
/// image `i`; `n = labels.len()`. Errors when `k > n`.
pub fn balanced_subset(labels: &[u8], k: usize, seed: u64) -> Result<Vec<usize>, DataError> {
    let n = labels.len();
    if k > n {
        return Err(DataError::Invalid(format!("balanced training subset: k = {k} is larger than the dataset size {n}")));
    }
    let perm = subset(n, n, seed)?;
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); 256];
    for &i in &perm {
        by_class[labels[i] as usize].push(i);
    }
    let classes: Vec<&Vec<usize>> = by_class.iter().filter(|c| !c.is_empty()).collect();
    let mut out = Vec::with_capacity(k);
    let mut round = 0;
    while out.len() < k {
        for c in &classes {
            if out.len() == k {
                break;
            }
            if let Some(&i) = c.get(round) {
                out.push(i);
            }
        }
        round += 1;
    }
    Ok(out)
}

impl PackedDataset {
    /// The class-balanced S_K ([`balanced_subset`] of this set's labels) as a
    /// new dataset, its header recording how it was drawn. Errors when the set
    /// has no labels or `k > len()`.
    pub fn balanced_training_subset(&self, k: usize, seed: u64) -> Result<PackedDataset, DataError> {
        let labels = self.labels().ok_or_else(|| DataError::Invalid(format!("{} has no labels: a class-balanced subset needs them", self.name())))?;
        let idx = balanced_subset(labels, k, seed)?;
        self.select(
            &idx,
            &format!("{}-k{k}-seed{seed}-balanced", self.name()),
            Some(Subsample {
                of: self.name().to_string(),
                of_n: self.len(),
                method: format!(
                    "memgen-data balanced_subset(n={}, k={k}, seed={seed}): round-robin over classes \
                     of memgen-core subset_indices(n, n, seed)",
                    self.len()
                ),
            }),
        )
    }
}
