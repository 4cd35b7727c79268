//! DDPM ancestral and DDIM (η = 0) samplers for any ε-model (the UNet or the ideal denoiser),
//! batched on the device and stepped in chunks.
//!
//! Both walk a descending sequence of steps `τ_1 = T−1 > … > τ_n = 0`
//! ([`DdpmSchedule::ddim_timesteps`]), with `ᾱ` of the step after `τ_n` equal to 1:
//! * DDIM: `x̂_0 = (x − √(1 − ᾱ_τ) ε̂)/√ᾱ_τ`, `x ← √ᾱ_τ' x̂_0 + √(1 − ᾱ_τ') ε̂`.
//! * DDPM ancestral on the (re)spaced schedule `α'_τ = ᾱ_τ/ᾱ_τ'`, `β'_τ = 1 − α'_τ`:
//!   `x ← (x − β'_τ/√(1 − ᾱ_τ) ε̂)/√α'_τ + √β'_τ z`, no noise on the last step. With all
//!   1000 steps this is Ho et al.'s sampler (`σ_t² = β_t`), the same formula as
//!   [`DdpmSchedule::ancestral_step`]; with fewer it is the respaced sampler of Nichol & Dhariwal.
//!
//! With [`SamplerConfig::clip`] (the default, as in Ho et al.'s code and the improved- /
//! guided-diffusion samplers the paper's models use) `x̂_0` is clamped to `[−1, 1]` at every
//! step: DDPM then takes the posterior mean `μ = √ᾱ_τ' β'_τ/(1 − ᾱ_τ) x̂_0 + √α'_τ (1 − ᾱ_τ')/(1 − ᾱ_τ) x`
//! (equal to the ε form above when nothing is clamped), and DDIM re-derives
//! `ε̂ = (x − √ᾱ_τ x̂_0)/√(1 − ᾱ_τ)` from the clamped `x̂_0`. Near `T`, `x̂_0` divides by
//! `√ᾱ_T ≈ 0.006`: an imperfect network's small ε errors become huge pixel values there, and
//! without the clamp a few-step DDIM keeps them to the end (speckled samples). The ideal
//! denoiser's `x̂_0` is a convex mix of training images, so the clamp never changes it.

use super::{IdealDenoiser, NoiseSource, UNet};
use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::schedules::DdpmSchedule;

/// Anything that predicts the noise `ε̂(x_t, t)` of a batch at one step `t`.
pub trait EpsilonModel {
    /// `ε̂` for `x: [B, C, H, W]` (on the model's device) at step `t ∈ 0 … T−1`.
    fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4>;
}

impl EpsilonModel for UNet {
    fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4> {
        let b = x.dims()[0];
        self.forward(x, &vec![t; b])
    }
}

impl EpsilonModel for IdealDenoiser {
    fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4> {
        IdealDenoiser::epsilon(self, x, t)
    }
}

impl<M: EpsilonModel> EpsilonModel for &M {
    fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4> {
        (**self).epsilon(x, t)
    }
}

/// Which reverse process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerKind {
    /// Ancestral sampling (stochastic).
    Ddpm,
    /// DDIM with η = 0 (deterministic given `x_T`).
    Ddim,
}

/// Sampler settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SamplerConfig {
    /// Reverse process.
    pub kind: SamplerKind,
    /// Number of network evaluations (1 … 1000; DDPM's own sampler uses 1000).
    pub steps: usize,
    /// Clamp `x̂_0` to `[−1, 1]` at every step (default; see the module's docs).
    #[serde(default = "clip_default")]
    pub clip: bool,
}

fn clip_default() -> bool {
    true
}

impl SamplerConfig {
    /// DDPM ancestral with all 1000 steps (paper).
    pub fn ddpm() -> SamplerConfig {
        SamplerConfig { kind: SamplerKind::Ddpm, steps: 1000, clip: true }
    }
    /// DDIM (η = 0) with `steps` steps.
    pub fn ddim(steps: usize) -> SamplerConfig {
        SamplerConfig { kind: SamplerKind::Ddim, steps, clip: true }
    }
}

/// One batch of images being sampled, stepped in chunks like training.
pub struct ImageSampling<'a, M: EpsilonModel, N: NoiseSource> {
    model: &'a M,
    noise: &'a mut N,
    kind: SamplerKind,
    clip: bool,
    schedule: DdpmSchedule,
    timesteps: Vec<usize>,
    device: Device,
    x: Tensor<4>,
    step: usize,
}

fn normal_tensor(shape: [usize; 4], device: &Device, noise: &mut impl NoiseSource) -> Tensor<4> {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| noise.normal() as f32).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

impl<'a, M: EpsilonModel, N: NoiseSource> ImageSampling<'a, M, N> {
    /// Starts `shape = [B, C, H, W]` images from `x_T ~ N(0, I)` drawn from `noise`, on `device`
    /// (a plain device where the model's tensors live).
    pub fn new(model: &'a M, config: SamplerConfig, shape: [usize; 4], device: &Device, noise: &'a mut N) -> Self {
        let schedule = DdpmSchedule::paper();
        let timesteps = schedule.ddim_timesteps(config.steps.max(1));
        let x = normal_tensor(shape, device, noise);
        ImageSampling { model, noise, kind: config.kind, clip: config.clip, schedule, timesteps, device: device.clone(), x, step: 0 }
    }

    /// Starts from given images `x` (`[B, C, H, W]`, on `device`) taken to be at step `start`:
    /// the reverse run from `start` down to 0 in at most `config.steps` steps (DDIM: the
    /// deterministic map a basin probe needs).
    pub fn from_noised(model: &'a M, config: SamplerConfig, x: Tensor<4>, start: usize, device: &Device, noise: &'a mut N) -> Self {
        let schedule = DdpmSchedule::paper();
        let timesteps = schedule.ddim_timesteps_from(start, config.steps.max(1));
        ImageSampling { model, noise, kind: config.kind, clip: config.clip, schedule, timesteps, device: device.clone(), x, step: 0 }
    }

    /// Total number of steps.
    pub fn total_steps(&self) -> usize {
        self.timesteps.len()
    }

    /// Runs up to `n` more steps without reading anything back; returns the steps done so far.
    pub fn run_steps(&mut self, n: usize) -> usize {
        for _ in 0..n {
            if self.step >= self.timesteps.len() {
                break;
            }
            let t = self.timesteps[self.step];
            let next = self.timesteps.get(self.step + 1).copied();
            let at = self.schedule.alpha_bars[t];
            let an = self.schedule.alpha_bar(next);
            let eps = self.model.epsilon(self.x.clone(), t);
            let x = self.x.clone();
            self.x = if self.clip {
                let x0 = ((x.clone() - eps * (1.0 - at).sqrt()) / at.sqrt()).clamp(-1.0, 1.0);
                match self.kind {
                    SamplerKind::Ddim => {
                        let eps = (x - x0.clone() * at.sqrt()) / (1.0 - at).sqrt();
                        x0 * an.sqrt() + eps * (1.0 - an).sqrt()
                    }
                    SamplerKind::Ddpm => {
                        let alpha = at / an;
                        let beta = 1.0 - alpha;
                        let mean = x0 * (an.sqrt() * beta / (1.0 - at)) + x * (alpha.sqrt() * (1.0 - an) / (1.0 - at));
                        self.ddpm_noise(mean, beta, next.is_some())
                    }
                }
            } else {
                match self.kind {
                    SamplerKind::Ddim => {
                        let x0 = (x - eps.clone() * (1.0 - at).sqrt()) / at.sqrt();
                        x0 * an.sqrt() + eps * (1.0 - an).sqrt()
                    }
                    SamplerKind::Ddpm => {
                        let alpha = at / an;
                        let beta = 1.0 - alpha;
                        let mean = (x - eps * (beta / (1.0 - at).sqrt())) / alpha.sqrt();
                        self.ddpm_noise(mean, beta, next.is_some())
                    }
                }
            };
            self.step += 1;
        }
        self.step
    }

    /// DDPM's noise: `mean + √β' z`, none on the last step.
    fn ddpm_noise(&mut self, mean: Tensor<4>, beta: f64, more: bool) -> Tensor<4> {
        if more {
            let z = normal_tensor(mean.dims(), &self.device, self.noise);
            mean + z * beta.sqrt()
        } else {
            mean
        }
    }

    /// [`run_steps`](Self::run_steps), then waits for the device (one tiny asynchronous read):
    /// use it in a browser to pace chunks and report progress.
    pub async fn run_steps_synced(&mut self, n: usize) -> Result<usize, String> {
        let done = self.run_steps(n);
        self.x.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data_async().await.map_err(|e| format!("{e:?}"))?;
        Ok(done)
    }

    /// Whether all steps are done.
    pub fn finished(&self) -> bool {
        self.step >= self.timesteps.len()
    }

    /// The current images, `[B, C, H, W]` flat (values near `[−1, 1]` when finished).
    pub async fn samples(&self) -> Result<Vec<f32>, String> {
        let data = self.x.clone().into_data_async().await.map_err(|e| format!("{e:?}"))?;
        data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
    }
}

/// Samples `count` images of shape `[C, H, W]` in batches of at most `batch`, all steps each;
/// calls `progress(images_done)` after every batch. Noise is drawn from `noise` batch after
/// batch, so the result depends on `batch` (keep it fixed for reproducible sets).
pub async fn sample_images<M: EpsilonModel, N: NoiseSource>(
    model: &M,
    config: SamplerConfig,
    count: usize,
    batch: usize,
    chw: [usize; 3],
    device: &Device,
    noise: &mut N,
    mut progress: impl FnMut(usize),
) -> Result<Vec<f32>, String> {
    let batch = batch.max(1);
    let mut out = Vec::with_capacity(count * chw.iter().product::<usize>());
    let mut done = 0;
    while done < count {
        let b = batch.min(count - done);
        let mut run = ImageSampling::new(model, config, [b, chw[0], chw[1], chw[2]], device, noise);
        let total = run.total_steps();
        run.run_steps_synced(total).await?;
        out.extend(run.samples().await?);
        done += b;
        progress(done);
    }
    Ok(out)
}

/// Images in `[−1, 1]` to u8 pixels: `round((x + 1)·127.5)` clamped to `0 … 255`.
pub fn quantize_u8(x: &[f32]) -> Vec<u8> {
    x.iter().map(|v| ((*v as f64 + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect()
}

/// `[n, h, w, c]` u8 (the packed layout) to `[n, c, h, w]` f32 in `[−1, 1]` (the UNet's).
pub fn to_model(pixels: &[u8], h: usize, w: usize, c: usize) -> Vec<f32> {
    let d = h * w * c;
    let mut out = vec![0f32; pixels.len()];
    for (img, o) in pixels.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    o[ch * h * w + y * w + x] = img[(y * w + x) * c + ch] as f32 / 127.5 - 1.0;
                }
            }
        }
    }
    out
}

/// `[n, c, h, w]` u8 back to `[n, h, w, c]`.
pub fn to_packed(pixels: &[u8], h: usize, w: usize, c: usize) -> Vec<u8> {
    let d = h * w * c;
    let mut out = vec![0u8; pixels.len()];
    for (img, o) in pixels.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    o[(y * w + x) * c + ch] = img[ch * h * w + y * w + x];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use memgen_core::spec::NoiseStream;

    /// A network that always predicts ε̂ = 0: its x̂_0 = x/√ᾱ is far outside [−1, 1] near T.
    struct ZeroEps;
    impl EpsilonModel for ZeroEps {
        fn epsilon(&self, x: Tensor<4>, _t: usize) -> Tensor<4> {
            x.zeros_like()
        }
    }

    fn run(kind: SamplerKind, clip: bool) -> Vec<f32> {
        let device = crate::device::LabDevice::cpu().device;
        let mut noise = NoiseStream::new(1, 9);
        let config = SamplerConfig { kind, steps: 10, clip };
        pollster::block_on(sample_images(&ZeroEps, config, 4, 4, [1, 4, 4], &device, &mut noise, |_| {})).unwrap()
    }

    /// With the clamp, every sampler ends inside [−1, 1]; without it the same bad network's
    /// DDIM samples are x_T/√ᾱ_T, about 150 times the noise.
    #[test]
    fn clip_bounds_the_prediction_of_a_bad_network() {
        for kind in [SamplerKind::Ddim, SamplerKind::Ddpm] {
            let clipped = run(kind, true);
            let worst = clipped.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(worst <= 1.0 + 1e-5, "{kind:?}: |x| up to {worst}");
            assert!(clipped.iter().any(|v| v.abs() > 0.5), "{kind:?}: samples collapsed to 0");
        }
        let raw = run(SamplerKind::Ddim, false);
        let worst = raw.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(worst > 50.0, "unclipped DDIM should blow up, got {worst}");
    }
}
