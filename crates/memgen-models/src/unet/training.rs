//! The UNet's training loop: DDPM ε-prediction loss, Adam, global gradient clipping, an EMA of
//! the weights, stepped in chunks.
//!
//! Every random choice comes from stream [`STREAM_UNET_TRAIN`](super::STREAM_UNET_TRAIN) of the
//! seed, in this order: the initial weights, then per step the batch's image indices (reshuffled
//! epochs over the `K` images), then per example `t` (uniform in `0 … T−1`) and its `ε`.

use super::{clip_grad_global_norm, ema_update, ParamAdam, UNet, UNetConfig, STREAM_UNET_TRAIN};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::schedules::DdpmSchedule;
use memgen_core::spec::NoiseStream;

use crate::epoch::EpochOrder;

/// Hyper-parameters of a UNet training run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UNetTrainConfig {
    /// The network.
    pub net: UNetConfig,
    /// Adam learning rate (β = (0.9, 0.999), ε = 1e-8 as in PyTorch). Paper: 2e-4.
    pub lr: f64,
    /// Examples per step. Paper: 128.
    pub batch: usize,
    /// Total steps of the run. Paper: 400,000.
    pub steps: usize,
    /// EMA decay of the weights. Paper: 0.9999.
    pub ema_decay: f64,
    /// Warm the EMA up: decay at step `n` is `min(ema_decay, (1 + n)/(10 + n))`.
    pub ema_warmup: bool,
    /// Global gradient-norm clipping threshold (paper's code: 1.0); `None` = no clipping.
    pub grad_clip: Option<f64>,
    /// How the learning rate moves over the run (default constant, as in the paper; left out
    /// of the JSON then, so older configs read and write the same).
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub lr_schedule: LrSchedule,
    /// Steps that depend on `K` in a sweep (`None`: `steps` at every `K`, as the paper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps_by_k: Option<StepsByK>,
}

/// A sweep's steps per `K`: `clamp(⌈epochs · K / batch⌉, min_steps, max_steps)`. Memorizing
/// takes a number of steps that grows about linearly with `K`, while the steps a model needs
/// for good samples do not (docs/SCIENCE.md §8), so small `K` can stop early.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepsByK {
    /// Passes over the `K` training images.
    pub epochs: f64,
    /// Fewest steps of any `K`.
    pub min_steps: usize,
    /// Most steps of any `K`.
    pub max_steps: usize,
}

impl StepsByK {
    /// The steps of point `k` at batch `batch`.
    pub fn steps(&self, k: usize, batch: usize) -> usize {
        let want = (self.epochs * k as f64 / batch.max(1) as f64).ceil();
        (want.min(self.max_steps as f64) as usize).clamp(self.min_steps.min(self.max_steps), self.max_steps)
    }
}

/// The learning rate over a run of `steps` steps, as a multiple of `lr`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum LrSchedule {
    /// `lr` throughout (the paper).
    #[default]
    Constant,
    /// A linear warm-up over `warmup` steps, then a half cosine from `lr` down to
    /// `floor · lr` at the last step.
    Cosine { warmup: usize, floor: f64 },
}

impl LrSchedule {
    fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }
    /// The multiple of `lr` at step `step` (0-based) of `steps`.
    pub fn factor(&self, step: usize, steps: usize) -> f64 {
        match *self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine { warmup, floor } => {
                if step < warmup {
                    return (step + 1) as f64 / warmup as f64;
                }
                let span = steps.saturating_sub(warmup).max(1) as f64;
                let u = ((step - warmup) as f64 / span).min(1.0);
                floor + (1.0 - floor) * 0.5 * (1.0 + (std::f64::consts::PI * u).cos())
            }
        }
    }
}

impl UNetTrainConfig {
    /// This run at training-set size `k`: `steps` set by [`steps_by_k`](Self::steps_by_k)
    /// when there is a rule (the same for a config already resolved).
    pub fn for_k(self, k: usize) -> UNetTrainConfig {
        match self.steps_by_k {
            Some(rule) => UNetTrainConfig { steps: rule.steps(k, self.batch), ..self },
            None => self,
        }
    }

    /// The learning rate of step `step` (0-based) under [`lr_schedule`](Self::lr_schedule).
    pub fn lr_at(&self, step: usize) -> f64 {
        self.lr * self.lr_schedule.factor(step, self.steps)
    }
}

/// One training batch: noised images, their noise and steps (flat, row-major `[B, C·H·W]`).
#[derive(Debug, Clone, PartialEq)]
pub struct UNetBatch {
    /// `x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε`.
    pub x_t: Vec<f32>,
    /// `ε ~ N(0, I)`.
    pub eps: Vec<f32>,
    /// `t ∈ 0 … T−1` per example.
    pub t: Vec<usize>,
}

impl UNetBatch {
    /// Builds a batch from chosen image indices of `images` (`[K, D]` flat, values in
    /// `[−1, 1]`), drawing `t` then `ε` for each example from `rng`.
    pub fn from_indices(images: &[f32], d: usize, idx: &[usize], schedule: &DdpmSchedule, rng: &mut NoiseStream) -> UNetBatch {
        let mut batch = UNetBatch { x_t: Vec::with_capacity(idx.len() * d), eps: vec![0.0; idx.len() * d], t: Vec::with_capacity(idx.len()) };
        for (i, &j) in idx.iter().enumerate() {
            let t = rng.below(schedule.steps() as u64) as usize;
            let eps = &mut batch.eps[i * d..(i + 1) * d];
            rng.fill_normal_f32(eps);
            let a = schedule.alpha_bars[t].sqrt();
            let b = (1.0 - schedule.alpha_bars[t]).sqrt();
            batch.x_t.extend(images[j * d..(j + 1) * d].iter().zip(eps.iter()).map(|(x, e)| (a * *x as f64 + b * *e as f64) as f32));
            batch.t.push(t);
        }
        batch
    }
}

/// Checks a run's network, images (`[K, C·H·W]` flat) and batch (burn's and the fused run's).
pub(crate) fn check_run(config: &UNetTrainConfig, images: &[f32]) -> Result<(), String> {
    config.net.validate().map_err(|e| e.to_string())?;
    let d = config.net.image_len();
    if images.is_empty() || !images.len().is_multiple_of(d) {
        return Err(format!("training images: {} values is not a positive multiple of {d} (C·H·W)", images.len()));
    }
    if config.batch == 0 {
        return Err("batch must be at least 1".into());
    }
    Ok(())
}

/// A UNet training run in progress: weights, Adam state, EMA, seeded stream, step counter.
pub struct UNetTraining {
    /// The run's configuration.
    pub config: UNetTrainConfig,
    model: UNet,
    optim: ParamAdam,
    ema: UNet,
    images: Vec<f32>,
    schedule: DdpmSchedule,
    rng: NoiseStream,
    order: EpochOrder,
    step: usize,
    device: Device,
}

impl UNetTraining {
    /// A fresh run on `device` (made an autodiff device if it is not one) for `images`
    /// (`[K, C·H·W]` flat, values in `[−1, 1]`), seeded by `seed`.
    pub fn new(config: UNetTrainConfig, images: &[f32], seed: u64, device: &Device) -> Result<UNetTraining, String> {
        check_run(&config, images)?;
        let d = config.net.image_len();
        let device = device.clone().autodiff();
        let mut rng = NoiseStream::new(seed, STREAM_UNET_TRAIN);
        let model = config.net.init(&device, &mut rng);
        let ema = model.valid();
        Ok(UNetTraining {
            config,
            model,
            optim: ParamAdam::torch(),
            ema,
            images: images.to_vec(),
            schedule: DdpmSchedule::paper(),
            rng,
            order: EpochOrder::new(images.len() / d),
            step: 0,
            device,
        })
    }

    /// Mean-squared ε error of `batch` under the current weights (autodiff graph kept).
    fn loss(&self, batch: &UNetBatch) -> Tensor<1> {
        let n = self.config.net;
        let b = batch.t.len();
        let shape = [b, n.channels, n.height, n.width];
        let x = Tensor::<4>::from_data(TensorData::new(batch.x_t.clone(), shape), &self.device);
        let eps = Tensor::<4>::from_data(TensorData::new(batch.eps.clone(), shape), &self.device);
        let r = self.model.forward(x, &batch.t) - eps;
        r.square().mean()
    }

    /// Runs up to `n` more steps (never past `config.steps`) and returns their losses (each
    /// batch's loss before its update), read back once per call: choose chunks of a few to a few
    /// dozen steps in a browser for a responsive tab.
    pub async fn run_steps(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let n = n.min(self.config.steps.saturating_sub(self.step));
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut losses: Vec<Tensor<1>> = Vec::with_capacity(n);
        for _ in 0..n {
            let batch = self.next_batch();
            let loss = self.loss(&batch);
            let mut grads = GradientsParams::from_grads(loss.backward(), &self.model);
            if let Some(c) = self.config.grad_clip {
                clip_grad_global_norm(&self.model, &mut grads, c);
            }
            self.model = self.optim.step(self.config.lr_at(self.step), self.model.clone(), grads);
            let decay = crate::optim::ema_decay(self.config.ema_decay, self.config.ema_warmup, self.step);
            let ema = std::mem::replace(&mut self.ema, self.model.valid());
            self.ema = ema_update(ema, &self.model, decay);
            losses.push(loss.inner());
            self.step += 1;
        }
        let data = Tensor::cat(losses, 0).into_data_async().await.map_err(|e| format!("{e:?}"))?;
        data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
    }

    /// The next step's batch: draws its image indices, times and noise from the run's stream.
    fn next_batch(&mut self) -> UNetBatch {
        let d = self.config.net.image_len();
        let idx: Vec<usize> = (0..self.config.batch).map(|_| self.order.next(&mut self.rng)).collect();
        UNetBatch::from_indices(&self.images, d, &idx, &self.schedule, &mut self.rng)
    }

    /// The weights (on the autodiff device), the EMA weights, the optimizer and the step.
    pub(crate) fn parts(&self) -> (&UNet, &UNet, &ParamAdam, usize) {
        (&self.model, &self.ema, &self.optim, self.step)
    }

    /// Steps done so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Whether `config.steps` steps are done.
    pub fn finished(&self) -> bool {
        self.step >= self.config.steps
    }

    /// The EMA weights on the plain (non-autodiff) device: the model to sample with.
    pub fn ema_model(&self) -> UNet {
        self.ema.clone()
    }

    /// The current (raw) weights on the plain device.
    pub fn model(&self) -> UNet {
        self.model.valid()
    }

    /// Number of training images `K`.
    pub fn k(&self) -> usize {
        self.images.len() / self.config.net.image_len()
    }

    /// Number of trainable parameters.
    pub fn num_params(&self) -> usize {
        self.model.num_params()
    }

    /// The Adam learning rate; may be changed between chunks.
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::LrSchedule;

    #[test]
    fn cosine_schedule() {
        let s = LrSchedule::Cosine { warmup: 10, floor: 0.1 };
        assert_eq!(s.factor(0, 110), 0.1);
        assert_eq!(s.factor(9, 110), 1.0);
        assert_eq!(s.factor(10, 110), 1.0);
        assert!((s.factor(60, 110) - 0.55).abs() < 1e-12);
        assert!((s.factor(110, 110) - 0.1).abs() < 1e-12);
        assert!((s.factor(500, 110) - 0.1).abs() < 1e-12);
        assert_eq!(LrSchedule::Constant.factor(7, 10), 1.0);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"kind":"cosine","warmup":10,"floor":0.1}"#);
    }

    #[test]
    fn steps_by_k() {
        let r = super::StepsByK { epochs: 1000.0, min_steps: 2000, max_steps: 16_000 };
        assert_eq!(r.steps(2, 64), 2000);
        assert_eq!(r.steps(256, 64), 4000);
        assert_eq!(r.steps(257, 64), 4016);
        assert_eq!(r.steps(4096, 64), 16_000);
        let cfg = super::UNetTrainConfig { steps_by_k: Some(r), ..crate::presets::Preset::Quick.defaults().training(crate::unet::UNetConfig::grey()) };
        assert_eq!(cfg.for_k(512).steps, 8000);
        assert_eq!(cfg.for_k(512).for_k(512), cfg.for_k(512));
        assert_eq!(crate::presets::Preset::Quick.defaults().training(crate::unet::UNetConfig::grey()).for_k(512).steps, 2000);
    }
}
