//! The experiment spec: a memorization sweep's dataset, K values, seed, set sizes, rule and
//! bootstrap, saved next to its results so every result says how it was made.

use crate::error::CoreError;
use crate::metrics::{Dataset, Rule};
use serde::{Deserialize, Serialize};

/// Current version of [`ExperimentSpec`]'s serialized form.
pub const SPEC_VERSION: u32 = 1;

/// A memorization sweep, as saved next to its results so every result says how it was made.
/// Defaults are the paper's (docs/SCIENCE.md §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExperimentSpec {
    /// Serialized-form version ([`SPEC_VERSION`]).
    pub version: u32,
    /// Dataset (sets the default `δ_s`).
    pub dataset: Dataset,
    /// Training-set sizes `K` of the sweep.
    pub k_values: Vec<usize>,
    /// Seed of every random choice ([`crate::spec::NoiseStream`]).
    pub seed: u64,
    /// `|S'| / K` (paper: 4 for MNIST / Fashion-MNIST, 16 for colour sets).
    pub synthetic_per_train: usize,
    /// `|S_eval|` (paper: 10,000).
    pub n_eval: usize,
    /// Labelling rule and thresholds (Eqs. 4–6).
    pub rule: Rule,
    /// Bootstrap resamples (paper: 10,000).
    pub bootstrap: usize,
}

impl Default for ExperimentSpec {
    fn default() -> Self {
        let dataset = Dataset::Mnist;
        ExperimentSpec {
            version: SPEC_VERSION,
            dataset,
            k_values: vec![2, 500, 1000, 2000, 4000, 8000, 16000, 32000],
            seed: 0,
            synthetic_per_train: 4,
            n_eval: 10_000,
            rule: Rule::paper(dataset),
            bootstrap: 10_000,
        }
    }
}

impl ExperimentSpec {
    /// Checks version and parameters.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.version != SPEC_VERSION {
            return Err(CoreError::invalid("version", self.version, "unsupported spec version"));
        }
        if self.k_values.is_empty() {
            return Err(CoreError::Empty { what: "k_values".into() });
        }
        self.rule.validate()
    }
    /// Parses and validates a JSON spec.
    pub fn from_json(s: &str) -> Result<Self, CoreError> {
        let spec: ExperimentSpec = serde_json::from_str(s).map_err(|e| CoreError::invalid("spec", "json", &e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_roundtrip() {
        let s = ExperimentSpec::default();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(ExperimentSpec::from_json(&j).unwrap(), s);
        assert!(ExperimentSpec::from_json(r#"{"version": 99}"#).is_err());
    }
}
