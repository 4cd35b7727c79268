//! Image diffusion (docs/SCIENCE.md §2, paper B.3): a small UNet DDPM with ε-prediction, its
//! training loop, DDPM ancestral and DDIM samplers, and the ideal empirical denoiser as a
//! training-free model the same samplers drive.
//!
//! * Schedule: linear β from 1e-4 to 2e-2, T = 1000 ([`memgen_core::schedules::DdpmSchedule::paper`]);
//!   `x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε`, loss `E ‖ε̂(x_t, t) − ε‖²` (mean over pixels), `t` uniform
//!   in `0 … T−1`.
//! * Images live in `[−1, 1]` (`p/127.5 − 1` of the u8 pixels), `[B, C, H, W]`; any even `H`, `W`
//!   (28×28 grey, 32×32 colour).
//! * Training: Adam (PyTorch's β, ε), global gradient-norm clipping at 1.0 (as
//!   `torch.nn.utils.clip_grad_norm_`), EMA of the weights (sample with the EMA), stepped in chunks
//!   ([`UNetTraining::run_steps`]) so a tab can pause, resume and cancel between them.
//! * Every random choice follows the seed through [`memgen_core::spec::NoiseStream`]:
//!   initial weights, batch order, `t` and `ε` from stream [`STREAM_UNET_TRAIN`]; the samplers take
//!   the stream they are given (the sweep uses [`STREAM_UNET_EVAL`] and [`STREAM_UNET_SYNTHETIC`]).
//!
//! Nothing here blocks or spawns threads: reads go through `into_data_async`, so the same code
//! runs in a browser tab (WebGPU, or ndarray in wasm) and natively (ndarray, flex or wgpu).

use memgen_core::error::CoreError;

pub mod fused;
pub mod ideal;
pub mod model;
pub mod params;
pub mod sampler;
pub mod snapshot;
pub mod training;

pub use crate::toy::NoiseSource;
pub use ideal::IdealDenoiser;
pub use model::{timestep_embedding, ResBlock, UNet};
pub use params::{clip_grad_global_norm, ema_update, ParamAdam};
pub use sampler::{quantize_u8, sample_images, to_model, to_packed, EpsilonModel, ImageSampling, SamplerConfig, SamplerKind};
pub use training::{LrSchedule, StepsByK, UNetBatch, UNetTrainConfig, UNetTraining};

/// Stream of the seed for the initial weights and every training batch (index, `t`, `ε`).
pub const STREAM_UNET_TRAIN: u64 = memgen_core::spec::STREAM_NOISE;
/// Stream of the seed for the sampler noise of `S_eval`.
pub const STREAM_UNET_EVAL: u64 = 4;
/// Stream of the seed for the sampler noise of the synthetic set `S'`.
pub const STREAM_UNET_SYNTHETIC: u64 = 5;

/// Shape and width of the UNet (see [`model`] for the layout).
///
/// Parameter counts (checked by `tests::parameter_counts`; the PyTorch copy in
/// `tests/reference/unet_torch.py` has the same):
///
/// | config | parameters |
/// |---|---|
/// | 28×28 grey, base 16 ([`UNetConfig::grey`]) | 94,225 |
/// | 32×32 RGB, base 16 ([`UNetConfig::colour`]) | 94,803 |
/// | 28×28 grey, base 32 | 373,793 |
/// | 28×28 grey, base 16, three levels `[1, 2, 2]` | 156,241 |
///
/// The paper's MNIST UNet has 24.5M; this one is ~260× smaller, so its memorization capacity,
/// and with it the memorized → generalized transition, sits at much smaller `K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UNetConfig {
    /// Image channels `C` (1 grey, 3 colour).
    pub channels: usize,
    /// Image height (even).
    pub height: usize,
    /// Image width (even).
    pub width: usize,
    /// Base width `b`: `b·mult[l]` channels at resolution level `l`; time MLP `4b`.
    pub base_channels: usize,
    /// GroupNorm groups; must divide `b` (then it divides every `b·m`).
    pub groups: usize,
    /// Channel multiples per resolution level (full, half, quarter size); a trailing 0 ends
    /// the list. Default `[1, 2, 0]`: the two-level network of the first bundles (left out of
    /// the JSON when it is the default, so older configs read the same).
    #[serde(default = "two_levels", skip_serializing_if = "is_two_levels")]
    pub mult: [usize; 3],
}

/// The two-level channel multiples `[1, 2, 0]`.
pub const TWO_LEVELS: [usize; 3] = [1, 2, 0];

fn two_levels() -> [usize; 3] {
    TWO_LEVELS
}

fn is_two_levels(m: &[usize; 3]) -> bool {
    *m == TWO_LEVELS
}

impl UNetConfig {
    /// 28×28 grey (MNIST, Fashion-MNIST), base 16.
    pub fn grey() -> UNetConfig {
        UNetConfig { channels: 1, height: 28, width: 28, base_channels: 16, groups: 8, mult: TWO_LEVELS }
    }
    /// 32×32 RGB (emoji), base 16.
    pub fn colour() -> UNetConfig {
        UNetConfig { channels: 3, height: 32, width: 32, base_channels: 16, groups: 8, mult: TWO_LEVELS }
    }
    /// Values per image, `C·H·W`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }
    /// Trainable parameters of the network [`init`](Self::init) builds (closed form: the
    /// page shows it before any model exists).
    pub fn parameter_count(&self) -> usize {
        let (c, b) = (self.channels, self.base_channels);
        let t = 4 * b;
        let linear = |i: usize, o: usize| i * o + o;
        let conv = |i: usize, o: usize, k: usize| i * o * k * k + o;
        let res = |i: usize, o: usize| 2 * i + conv(i, o, 3) + linear(t, o) + 2 * o + conv(o, o, 3) + if i != o { conv(i, o, 1) } else { 0 };
        let ch = self.level_channels();
        let levels = ch.len();
        let mut n = linear(b, t) + linear(t, t) + conv(c, ch[0], 3);
        for l in 0..levels {
            let cin = if l == 0 {
                ch[0]
            } else {
                n += conv(ch[l - 1], ch[l - 1], 3);
                ch[l - 1]
            };
            n += res(cin, ch[l]);
        }
        n += res(ch[levels - 1], ch[levels - 1]);
        for l in (0..levels).rev() {
            n += res(self.up_input(l) + ch[l], ch[l]);
        }
        n + 2 * ch[0] + conv(ch[0], c, 3)
    }
    /// Channels per resolution level, `b·mult[l]` (full size first).
    pub fn level_channels(&self) -> Vec<usize> {
        self.mult.iter().take_while(|&&m| m > 0).map(|m| m * self.base_channels).collect()
    }
    /// Channels of the features entering level `l`'s up block besides its skip: the middle
    /// block's output at the deepest level, else the upsampled output of level `l + 1`.
    pub fn up_input(&self, l: usize) -> usize {
        let ch = self.level_channels();
        ch[(l + 1).min(ch.len() - 1)]
    }
    /// Checks the shape and widths.
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.channels == 0 {
            return Err(CoreError::invalid("channels", self.channels, "must be at least 1"));
        }
        if self.height < 2 || self.width < 2 || !self.height.is_multiple_of(2) || !self.width.is_multiple_of(2) {
            return Err(CoreError::invalid("image size", format!("{}x{}", self.height, self.width), "height and width must be even and at least 2"));
        }
        if self.base_channels < 2 || self.groups == 0 || !self.base_channels.is_multiple_of(self.groups) {
            return Err(CoreError::invalid("base_channels", self.base_channels, &format!("must be ≥ 2 and divisible by groups = {}", self.groups)));
        }
        let levels = self.level_channels().len();
        if levels == 0 || self.mult.iter().skip(levels).any(|&m| m > 0) || self.mult.iter().any(|&m| m > 16) {
            return Err(CoreError::invalid(
                "mult",
                format!("{:?}", self.mult),
                "channel multiples must be 1 to 16, at least one, with only zeros after the first zero",
            ));
        }
        // Every level but the deepest halves an even size.
        let (mut h, mut w) = (self.height, self.width);
        for _ in 1..levels {
            if !h.is_multiple_of(2) || !w.is_multiple_of(2) {
                return Err(CoreError::invalid(
                    "image size",
                    format!("{}x{}", self.height, self.width),
                    &format!("{levels} levels need sides divisible by {}", 1 << (levels - 1)),
                ));
            }
            (h, w) = (h / 2, w / 2);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use memgen_core::spec::NoiseStream;

    fn count(c: UNetConfig) -> usize {
        let device = crate::device::LabDevice::cpu().device.inner();
        c.init(&device, &mut NoiseStream::new(0, STREAM_UNET_TRAIN)).num_params()
    }

    #[test]
    fn parameter_counts() {
        assert_eq!(count(UNetConfig::grey()), 94_225);
        assert_eq!(count(UNetConfig::colour()), 94_803);
        assert_eq!(count(UNetConfig { base_channels: 32, ..UNetConfig::grey() }), 373_793);
        assert_eq!(count(UNetConfig { mult: [1, 2, 2], ..UNetConfig::grey() }), 156_241);
        for c in [
            UNetConfig::grey(),
            UNetConfig::colour(),
            UNetConfig { base_channels: 8, ..UNetConfig::grey() },
            UNetConfig { base_channels: 24, groups: 4, ..UNetConfig::colour() },
            UNetConfig { mult: [1, 2, 4], ..UNetConfig::colour() },
            UNetConfig { mult: [1, 0, 0], ..UNetConfig::grey() },
            UNetConfig { mult: [2, 1, 3], base_channels: 8, groups: 4, ..UNetConfig::grey() },
        ] {
            assert_eq!(c.parameter_count(), count(c), "{c:?}");
        }
    }

    #[test]
    fn config_validation() {
        assert!(UNetConfig::grey().validate().is_ok());
        assert!(UNetConfig { height: 27, ..UNetConfig::grey() }.validate().is_err());
        assert!(UNetConfig { base_channels: 12, ..UNetConfig::grey() }.validate().is_err());
        assert!(UNetConfig { channels: 0, ..UNetConfig::grey() }.validate().is_err());
        assert!(UNetConfig { mult: [1, 2, 2], ..UNetConfig::grey() }.validate().is_ok());
        assert!(UNetConfig { mult: [1, 0, 2], ..UNetConfig::grey() }.validate().is_err());
        assert!(UNetConfig { mult: [0, 0, 0], ..UNetConfig::grey() }.validate().is_err());
        assert!(UNetConfig { height: 12, width: 8, mult: [1, 2, 2], ..UNetConfig::grey() }.validate().is_ok());
        assert!(UNetConfig { height: 14, width: 14, mult: [1, 2, 2], ..UNetConfig::grey() }.validate().is_err());
        assert!(UNetConfig { height: 10, width: 14, mult: [1, 2, 2], ..UNetConfig::grey() }.validate().is_err());
        // The default multiples stay out of the JSON; three levels are written.
        let json = serde_json::to_string(&UNetConfig::grey()).unwrap();
        assert!(!json.contains("mult"), "{json}");
        assert_eq!(serde_json::from_str::<UNetConfig>(&json).unwrap(), UNetConfig::grey());
        let three = UNetConfig { mult: [1, 2, 2], ..UNetConfig::grey() };
        assert_eq!(serde_json::from_str::<UNetConfig>(&serde_json::to_string(&three).unwrap()).unwrap(), three);
    }
}
