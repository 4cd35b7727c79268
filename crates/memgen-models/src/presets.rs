//! Named sets of defaults for an image sweep, in one place: `memgen sweep --preset`, the page's
//! in-tab runs and `scripts/make-bundle.sh` read them instead of repeating numbers.
//!
//! | preset | for | network | training | sampler | `|S_eval|` |
//! |---|---|---|---|---|---|
//! | [`Preset::Quick`] | `memgen sweep` with no `--preset`: a first look in minutes | base 16, 2 levels | 2,000 × 64, Adam 1e-3 | DDIM 100 | 1,000 |
//! | [`Preset::Bundle`] | the shipped MNIST bundle (`scripts/make-bundle.sh`) | base 16, 3 levels | ⌈1000·K/64⌉ in 2,000–32,000 steps × 64, 2e-3 cosine | DDIM 20 | 1,000 |
//! | [`Preset::Tab`] | a point run in a browser tab, on one core | base 16, 3 levels | 800 × 8, 2e-3 cosine | DDIM 20 | 32 |
//! | [`Preset::Paper`] | the paper's protocol (B.3), on the lab's network | base 16, 3 levels | 400,000 × 128, 2e-4 | DDPM 1000 | 10,000 |
//!
//! The paper's own UNet (24.5M parameters) is far beyond a CPU: [`Preset::Paper`] keeps its
//! optimisation and sampling protocol on the lab's network, so its results are not the paper's
//! numbers, only its procedure.

use memgen_core::metrics::BOOTSTRAP_RESAMPLES;
use serde::{Deserialize, Serialize};

use crate::model::{Engine, ModelSpec, UNetSpec};
use crate::sweep::{SweepConfig, SweepData};
use crate::unet::snapshot::WeightsDtype;
use crate::unet::{LrSchedule, SamplerConfig, SamplerKind, StepsByK, UNetConfig, UNetTrainConfig};

/// A named set of defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// `memgen sweep`'s defaults: a quick look.
    Quick,
    /// The shipped bundle's settings.
    Bundle,
    /// A point in a browser tab.
    Tab,
    /// The paper's optimisation and sampling protocol.
    Paper,
}

/// Everything a preset sets, beside the dataset, the K values and the seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Defaults {
    /// UNet base width.
    pub base_channels: usize,
    /// GroupNorm groups.
    pub groups: usize,
    /// Channel multiples per level (a trailing 0 ends the list).
    pub mult: [usize; 3],
    /// Adam learning rate.
    pub lr: f64,
    /// Examples per step.
    pub batch: usize,
    /// Steps (the most, with `steps_by_k`).
    pub steps: usize,
    /// EMA decay.
    pub ema_decay: f64,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Warm-up of a cosine schedule, when one is asked for on a preset without it.
    pub cosine_warmup: usize,
    /// Last learning rate of a cosine schedule, as a multiple of `lr`.
    pub cosine_floor: f64,
    /// Steps that depend on K (`None`: `steps` at every K).
    pub steps_by_k: Option<StepsByK>,
    /// Fewest steps when steps depend on K.
    pub min_steps: usize,
    /// The UNet's engine.
    pub engine: Engine,
    /// The sampler.
    pub sampler: SamplerConfig,
    /// Images per sampling batch.
    pub sample_batch: usize,
    /// `|S_eval|`.
    pub n_eval: usize,
    /// `|S′| / K` for grey sets.
    pub sprime_mult_grey: usize,
    /// `|S′| / K` for colour sets.
    pub sprime_mult_colour: usize,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Samples per gallery file (0: all of `S_eval`).
    pub gallery_samples: usize,
    /// How the EMA weights are kept.
    pub weights: WeightsDtype,
    /// Times along training each point is measured at (0: none).
    pub timeline: usize,
    /// `|S_eval|` at each of those times.
    pub timeline_eval: usize,
    /// `|S′|` at each of those times (capped at the point's).
    pub timeline_synthetic: usize,
    /// A kept training run every this many steps (0: never).
    pub checkpoint_every: usize,
}

impl Preset {
    /// Every preset, in the order `--help` lists them.
    pub const ALL: [Preset; 4] = [Preset::Quick, Preset::Bundle, Preset::Tab, Preset::Paper];

    /// The preset's name (`--preset NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Quick => "quick",
            Preset::Bundle => "bundle",
            Preset::Tab => "tab",
            Preset::Paper => "paper",
        }
    }

    /// The preset named `name`.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The preset's settings.
    pub fn defaults(self) -> Defaults {
        let quick = Defaults {
            base_channels: 16,
            groups: 8,
            mult: [1, 2, 0],
            lr: 1e-3,
            batch: 64,
            steps: 2_000,
            ema_decay: 0.999,
            lr_schedule: LrSchedule::Constant,
            cosine_warmup: 500,
            cosine_floor: 0.05,
            steps_by_k: None,
            min_steps: 1_000,
            engine: Engine::Burn,
            sampler: SamplerConfig { kind: SamplerKind::Ddim, steps: 100, clip: true },
            sample_batch: 256,
            n_eval: 1_000,
            sprime_mult_grey: 4,
            sprime_mult_colour: 16,
            bootstrap: BOOTSTRAP_RESAMPLES,
            gallery_samples: 0,
            weights: WeightsDtype::F32,
            timeline: 0,
            timeline_eval: 64,
            timeline_synthetic: 256,
            checkpoint_every: 0,
        };
        match self {
            Preset::Quick => quick,
            Preset::Bundle => Defaults {
                mult: [1, 2, 4],
                lr: 2e-3,
                steps: 32_000,
                lr_schedule: LrSchedule::Cosine { warmup: 200, floor: 0.05 },
                cosine_warmup: 200,
                steps_by_k: Some(StepsByK { epochs: 1000.0, min_steps: 2_000, max_steps: 32_000 }),
                min_steps: 2_000,
                engine: Engine::FUSED,
                sampler: SamplerConfig::ddim(20),
                gallery_samples: 64,
                weights: WeightsDtype::F16,
                timeline: 4,
                checkpoint_every: 1_000,
                ..quick
            },
            Preset::Tab => Defaults {
                mult: [1, 2, 4],
                lr: 2e-3,
                batch: 8,
                steps: 800,
                lr_schedule: LrSchedule::Cosine { warmup: 50, floor: 0.05 },
                cosine_warmup: 50,
                engine: Engine::FUSED,
                sampler: SamplerConfig::ddim(20),
                sample_batch: 32,
                n_eval: 32,
                ..quick
            },
            Preset::Paper => Defaults {
                mult: [1, 2, 4],
                lr: 2e-4,
                batch: 128,
                steps: 400_000,
                ema_decay: 0.9999,
                engine: Engine::FUSED,
                sampler: SamplerConfig { kind: SamplerKind::Ddpm, steps: 1000, clip: true },
                n_eval: 10_000,
                ..quick
            },
        }
    }
}

impl Defaults {
    /// The UNet for images of shape `[h, w, c]`.
    pub fn net(&self, [height, width, channels]: [usize; 3]) -> UNetConfig {
        UNetConfig { channels, height, width, base_channels: self.base_channels, groups: self.groups, mult: self.mult }
    }

    /// The training run of `net`.
    pub fn training(&self, net: UNetConfig) -> UNetTrainConfig {
        UNetTrainConfig {
            net,
            lr: self.lr,
            batch: self.batch,
            steps: self.steps,
            ema_decay: self.ema_decay,
            ema_warmup: true,
            grad_clip: Some(1.0),
            lr_schedule: self.lr_schedule,
            steps_by_k: self.steps_by_k,
        }
    }

    /// `|S′| / K` for a set of `channels` channels.
    pub fn sprime_mult(&self, channels: usize) -> usize {
        if channels == 1 {
            self.sprime_mult_grey
        } else {
            self.sprime_mult_colour
        }
    }

    /// The whole sweep of a UNet on `data` at `ks` from `seed`, with the paper's labelling rule
    /// for the data's `δ_s`.
    pub fn sweep(&self, data: SweepData, ks: Vec<usize>, seed: u64) -> SweepConfig {
        let training = self.training(self.net(data.hwc));
        SweepConfig {
            sprime_mult: self.sprime_mult(data.hwc[2]),
            rule: memgen_core::metrics::Rule::paper(data.paper),
            data,
            ks,
            seed,
            model: ModelSpec::Unet(UNetSpec { training, engine: self.engine }),
            sampler: self.sampler,
            sample_batch: self.sample_batch,
            n_eval: self.n_eval,
            bootstrap: self.bootstrap,
            gallery_samples: self.gallery_samples,
            save_samples: false,
            weights: self.weights,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memgen_core::metrics::Dataset;

    fn mnist() -> SweepData {
        SweepData { name: "mnist".into(), paper: Dataset::Mnist, file: "mnist-train.mgds".into(), sha256: String::new(), hwc: [28, 28, 1] }
    }

    #[test]
    fn every_preset_makes_a_valid_sweep_and_names_round_trip() {
        for p in Preset::ALL {
            assert_eq!(Preset::from_name(p.name()), Some(p));
            let s = p.defaults().sweep(mnist(), vec![2, 4], 0);
            assert_eq!(s.validate(), Ok(()), "{p:?}");
        }
        assert_eq!(Preset::from_name("nope"), None);
    }

    #[test]
    fn the_bundle_preset_is_the_shipped_bundles_sweep() {
        // The shipped manifest records the sweep that made it; the preset must make the same one.
        let m = crate::bundle::Manifest::parse(include_bytes!("../../../www/bundles/mnist/manifest.json")).unwrap();
        let shipped = SweepConfig::from_identity(&m.identity);
        let preset = Preset::Bundle.defaults().sweep(shipped.data.clone(), shipped.ks.clone(), shipped.seed);
        assert_eq!(preset, shipped);
    }

    #[test]
    fn the_tab_preset_trains_small_and_fast() {
        let d = Preset::Tab.defaults();
        assert_eq!((d.steps, d.batch, d.n_eval, d.sampler.steps), (800, 8, 32, 20));
        let net = d.net([28, 28, 1]);
        assert_eq!(net.parameter_count(), Preset::Bundle.defaults().net([28, 28, 1]).parameter_count(), "the tab trains the shipped network");
    }
}
