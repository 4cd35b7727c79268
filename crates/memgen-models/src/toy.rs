//! The 2-D toy's score network and its VE-SDE training step (SCIENCE.md §4, paper Fig. 2).
//!
//! SDE: `dx = σ dW` with σ = 1, so `x_t = x_0 + √t z`. Network: Gaussian Fourier time
//! features (frozen) → Linear → SiLU → Linear → SiLU, concatenated with `x` → Linear to
//! the hidden width → 3 × (Linear + SiLU) → Linear to 2, divided by `√t`.
//! Loss (denoising score matching): `E ‖ s_θ(x_0 + √t z, t) √t + z ‖²`, `t ~ U(t_min, 1)`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

/// Smallest diffusion time used in training and sampling.
pub const T_MIN: f64 = 1e-5;

/// Hyper-parameters of the toy score network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToyNetConfig {
    /// Number of Fourier features (sin + cos), paper 128.
    pub fourier_features: usize,
    /// Standard deviation of the frozen Fourier frequencies, paper 16.
    pub fourier_scale: f64,
    /// Hidden width, paper 128.
    pub hidden: usize,
}

impl Default for ToyNetConfig {
    fn default() -> Self {
        ToyNetConfig { fourier_features: 128, fourier_scale: 16.0, hidden: 128 }
    }
}

/// Source of the random numbers the toy needs (uniform in [0,1), standard normal).
/// The lab's seeded scheme implements it, so training is reproducible from a seed.
pub trait NoiseSource {
    /// Uniform in `[0, 1)`.
    fn uniform(&mut self) -> f64;
    /// Standard normal.
    fn normal(&mut self) -> f64;
}

impl NoiseSource for memgen_core::spec::NoiseStream {
    fn uniform(&mut self) -> f64 {
        memgen_core::spec::NoiseStream::uniform(self)
    }
    fn normal(&mut self) -> f64 {
        memgen_core::spec::NoiseStream::normal(self)
    }
}

/// Score network `s_θ(x, t)` of the toy.
#[derive(Module, Debug)]
pub struct ToyScoreNet {
    /// Frozen Fourier frequencies `W`, shape `[1, F/2]` (a constant, not a parameter).
    fourier_w: Tensor<2>,
    time1: Linear,
    time2: Linear,
    input: Linear,
    hidden: Vec<Linear>,
    output: Linear,
}

impl ToyNetConfig {
    /// Builds the network; the frozen frequencies come from `noise`.
    pub fn init(&self, device: &Device, noise: &mut impl NoiseSource) -> ToyScoreNet {
        let half = self.fourier_features / 2;
        let w: Vec<f32> = (0..half).map(|_| (noise.normal() * self.fourier_scale) as f32).collect();
        let h = self.hidden;
        ToyScoreNet {
            fourier_w: Tensor::from_data(TensorData::new(w, [1, half]), device),
            time1: LinearConfig::new(self.fourier_features, h).init(device),
            time2: LinearConfig::new(h, h).init(device),
            input: LinearConfig::new(h + 2, h).init(device),
            hidden: (0..3).map(|_| LinearConfig::new(h, h).init(device)).collect(),
            output: LinearConfig::new(h, 2).init(device),
        }
    }
}

impl ToyScoreNet {
    /// `s_θ(x, t)` for `x: [B, 2]`, `t: [B, 1]`.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        let proj = t.clone().matmul(self.fourier_w.clone()) * (2.0 * std::f64::consts::PI);
        let emb = Tensor::cat(vec![proj.clone().sin(), proj.cos()], 1);
        let e = silu(self.time1.forward(emb));
        let e = silu(self.time2.forward(e));
        let mut h = silu(self.input.forward(Tensor::cat(vec![e, x], 1)));
        for layer in &self.hidden {
            h = silu(layer.forward(h));
        }
        self.output.forward(h) / t.sqrt()
    }

    /// Denoising score-matching loss `mean_b ‖ s_θ(x_t, t) √t + z ‖²` for a batch.
    pub fn loss(&self, batch: &ToyBatch, device: &Device) -> Tensor<1> {
        let b = batch.t.len();
        let x0 = Tensor::<2>::from_data(TensorData::new(batch.x0.clone(), [b, 2]), device);
        let z = Tensor::<2>::from_data(TensorData::new(batch.z.clone(), [b, 2]), device);
        let t = Tensor::<2>::from_data(TensorData::new(batch.t.clone(), [b, 1]), device);
        let std = t.clone().sqrt();
        let xt = x0 + z.clone() * std.clone();
        let s = self.forward(xt, t);
        let r = s * std + z;
        (r.clone() * r).sum_dim(1).mean()
    }
}

/// One training batch: clean points `x0`, noise `z` and times `t` (flat, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct ToyBatch {
    /// Clean training points, `[B, 2]`.
    pub x0: Vec<f32>,
    /// Standard normal noise, `[B, 2]`.
    pub z: Vec<f32>,
    /// Diffusion times in `[T_MIN, 1)`, `[B]`.
    pub t: Vec<f32>,
}

impl ToyBatch {
    /// Draws `size` examples: a training point chosen uniformly from `points`
    /// (`[K, 2]` flat), `t ~ U(T_MIN, 1)`, `z ~ N(0, I)`.
    pub fn sample(points: &[f32], size: usize, noise: &mut impl NoiseSource) -> ToyBatch {
        let k = points.len() / 2;
        assert!(k > 0, "the toy needs at least one training point");
        let mut batch = ToyBatch { x0: Vec::with_capacity(2 * size), z: Vec::with_capacity(2 * size), t: Vec::with_capacity(size) };
        for _ in 0..size {
            let j = ((noise.uniform() * k as f64) as usize).min(k - 1);
            batch.x0.extend_from_slice(&points[2 * j..2 * j + 2]);
            batch.z.push(noise.normal() as f32);
            batch.z.push(noise.normal() as f32);
            batch.t.push((T_MIN + (1.0 - T_MIN) * noise.uniform()) as f32);
        }
        batch
    }
}

/// The toy network, its optimizer and learning rate.
pub struct ToyTrainer {
    /// Current weights.
    pub model: ToyScoreNet,
    optim: burn::optim::ModuleOptimizer,
    /// Adam learning rate.
    pub lr: f64,
    device: Device,
}

impl ToyTrainer {
    /// A fresh network on `device` (an autodiff device).
    pub fn new(config: &ToyNetConfig, lr: f64, device: &Device, noise: &mut impl NoiseSource) -> ToyTrainer {
        ToyTrainer { model: config.init(device, noise), optim: AdamConfig::new().init(), lr, device: device.clone() }
    }

    /// One Adam step on `batch`; returns the loss before the step, read back asynchronously.
    pub async fn step(&mut self, batch: &ToyBatch) -> Result<f32, String> {
        let loss = self.model.loss(batch, &self.device);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let model = std::mem::replace(&mut self.model, placeholder(&self.model));
        self.model = self.optim.step(self.lr, model, grads);
        let data = loss.into_data_async().await.map_err(|e| format!("{e:?}"))?;
        data.to_vec::<f32>().map_err(|e| format!("{e:?}"))?.first().copied().ok_or_else(|| "empty loss".into())
    }
}

/// `optim.step` takes the module by value; a cheap clone (tensors are reference-counted)
/// stands in for the moment the real one is moved out.
fn placeholder(model: &ToyScoreNet) -> ToyScoreNet {
    model.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator for tests (xorshift + Box–Muller).
    struct TestNoise(u64);
    impl NoiseSource for TestNoise {
        fn uniform(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let u = self.uniform().max(1e-12);
            let v = self.uniform();
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    #[test]
    fn loss_goes_down_on_a_fixed_batch_on_cpu() {
        let device = crate::device::LabDevice::cpu().device;
        let mut noise = TestNoise(0x9E37_79B9_7F4A_7C15);
        let mut trainer = ToyTrainer::new(&ToyNetConfig::default(), 1e-3, &device, &mut noise);
        let batch = ToyBatch::sample(&[1.0, 0.0, -1.0, 0.0], 256, &mut noise);
        let losses: Vec<f32> = (0..20).map(|_| pollster::block_on(trainer.step(&batch)).unwrap()).collect();
        assert!(losses.iter().all(|l| l.is_finite()));
        assert!(losses[19] < 0.8 * losses[0], "{losses:?}");
    }
}
