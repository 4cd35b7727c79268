//! The 2-D toy's score network and its VE-SDE training step (docs/SCIENCE.md §4, paper Fig. 2).
//!
//! SDE: `dx = σ dW` with σ = 1, so `x_t = x_0 + √t z`. Network: Gaussian Fourier time
//! features (frozen) → Linear → SiLU → Linear → SiLU, concatenated with `x` → Linear to
//! the hidden width → 3 × (Linear + SiLU) → Linear to 2, divided by `√t`.
//! Loss (denoising score matching): `E ‖ s_θ(x_0 + √t z, t) √t + z ‖²`, `t ~ U(t_min, 1)`.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

pub mod basin;
pub mod centroids;
pub mod checkpoint;
pub mod energy;
pub mod fused;
#[cfg(not(target_arch = "wasm32"))]
pub mod run;
pub mod sampler;
pub mod training;

pub use centroids::{centroids_from_matrix, classify_centroids, classify_centroids_detailed, CentroidKind, CentroidStats, CentroidThresholds};
pub use energy::{circle_energy_grid, grid_points, ideal_energy, ode_energy, ode_log_density, shift_min_to_zero, OdeConfig, OdePrior};
#[cfg(not(target_arch = "wasm32"))]
pub use run::{toy_run, toy_run_with, NativeBackend, ToyRunOutput};
pub use sampler::{sample, toy_sampling, EulerMaruyama, IdealScore, Sampling, ScoreModel};
pub use training::{circle_points, train, ToyPreset, ToyTrainConfig, ToyTraining};

/// Smallest diffusion time used in training and sampling (memgen-core's one copy).
pub const T_MIN: f64 = memgen_core::schedules::VE_T_MIN;

/// σ of the VE SDE `dx = σ dW` (memgen-core's one copy): the marginal std at time `t` is `σ√t`.
pub const SIGMA: f64 = memgen_core::schedules::VE_SIGMA;

/// Stream of the seed that draws the `K` training points ([`circle_points`]).
pub const STREAM_TOY_DATA: u64 = memgen_core::spec::STREAM_SUBSET;
/// Stream of the seed that draws the network's initial weights and every training batch.
pub const STREAM_TOY_TRAIN: u64 = memgen_core::spec::STREAM_NOISE;
/// Stream of the seed that draws the sampler's noise (`x_1` and every Euler–Maruyama step).
pub const STREAM_TOY_SAMPLE: u64 = 3;

/// Hyper-parameters of the toy score network.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
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
///
/// Layout as in docs/SCIENCE.md §4 and the authors' `ScoreNet`: the input projection (after the
/// concatenation of the time embedding and `x`) has no activation; each of the 3 hidden
/// layers is followed by SiLU. Parameter count with the default config: 99,586 trainable
/// (+ 64 frozen Fourier frequencies).
#[derive(Module, Debug)]
pub struct ToyScoreNet {
    /// Frozen Fourier frequencies `W`, shape `[1, F/2]` (saved with the weights, never trained).
    fourier_w: Param<Tensor<2>>,
    time1: Linear,
    time2: Linear,
    input: Linear,
    hidden: Vec<Linear>,
    output: Linear,
}

/// Weights and bias of a linear layer initialised like PyTorch's `nn.Linear` (`U(−k, k)`,
/// `k = 1/√d_in`), drawn from `noise` (weights `[d_in, d_out]` row-major first, then the bias),
/// so that every initial weight follows the seed.
pub(crate) fn draw_linear(d_in: usize, d_out: usize, noise: &mut impl NoiseSource) -> (Vec<f32>, Vec<f32>) {
    let k = 1.0 / (d_in as f64).sqrt();
    let mut draw = |n: usize| -> Vec<f32> { (0..n).map(|_| ((2.0 * noise.uniform() - 1.0) * k) as f32).collect() };
    let w = draw(d_in * d_out);
    let b = draw(d_out);
    (w, b)
}

/// The frozen Fourier frequencies: `half` normals times `scale`.
pub(crate) fn draw_fourier(half: usize, scale: f64, noise: &mut impl NoiseSource) -> Vec<f32> {
    (0..half).map(|_| (noise.normal() * scale) as f32).collect()
}

fn seeded_linear(d_in: usize, d_out: usize, device: &Device, noise: &mut impl NoiseSource) -> Linear {
    let (w, b) = draw_linear(d_in, d_out, noise);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(b, [d_out]), device))),
    }
}

impl ToyNetConfig {
    /// Builds the network; the frozen frequencies and all initial weights come from `noise`
    /// (frequencies first, then each layer's weights and bias in forward order).
    pub fn init(&self, device: &Device, noise: &mut impl NoiseSource) -> ToyScoreNet {
        let half = self.fourier_features / 2;
        let w = draw_fourier(half, self.fourier_scale, noise);
        let h = self.hidden;
        let fourier_w = Param::from_tensor(Tensor::from_data(TensorData::new(w, [1, half]), device)).set_require_grad(false);
        let time1 = seeded_linear(2 * half, h, device, noise);
        let time2 = seeded_linear(h, h, device, noise);
        let input = seeded_linear(h + 2, h, device, noise);
        let hidden = (0..3).map(|_| seeded_linear(h, h, device, noise)).collect();
        let output = seeded_linear(h, 2, device, noise);
        ToyScoreNet { fourier_w, time1, time2, input, hidden, output }
    }
}

impl ToyScoreNet {
    /// The dense layers in forward order (time1, time2, input, hidden…, output), the order of
    /// [`fused::FusedToyNet::layers`].
    pub(crate) fn linears(&self) -> impl Iterator<Item = &Linear> {
        [&self.time1, &self.time2, &self.input].into_iter().chain(self.hidden.iter()).chain(std::iter::once(&self.output))
    }

    /// `s_θ(x, t)` for `x: [B, 2]`, `t: [B, 1]`.
    pub fn forward(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        let proj = t.clone().matmul(self.fourier_w.val()) * (2.0 * std::f64::consts::PI);
        let emb = Tensor::cat(vec![proj.clone().sin(), proj.cos()], 1);
        let e = silu(self.time1.forward(emb));
        let e = silu(self.time2.forward(e));
        let mut h = self.input.forward(Tensor::cat(vec![e, x], 1));
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
        let std = t.clone().sqrt() * SIGMA;
        let xt = x0 + z.clone() * std.clone();
        let s = self.forward(xt, t);
        let r = s * std + z;
        (r.clone() * r).sum_dim(1).mean()
    }

    /// Exponential moving average in place: `self ← decay·self + (1 − decay)·model`, parameter
    /// by parameter. `self` lives on a plain (non-autodiff) device; `model`'s values are
    /// taken without their autodiff association.
    pub fn ema_update(self, model: &ToyScoreNet, decay: f64) -> ToyScoreNet {
        fn mix<const D: usize>(e: Param<Tensor<D>>, m: &Param<Tensor<D>>, decay: f64) -> Param<Tensor<D>> {
            let mv = m.val().inner();
            e.map(|ev| ev * decay + mv * (1.0 - decay))
        }
        fn lin(e: Linear, m: &Linear, decay: f64) -> Linear {
            Linear {
                weight: mix(e.weight, &m.weight, decay),
                bias: match (e.bias, &m.bias) {
                    (Some(eb), Some(mb)) => Some(mix(eb, mb, decay)),
                    (b, _) => b,
                },
            }
        }
        let ToyScoreNet { fourier_w, time1, time2, input, hidden, output } = self;
        ToyScoreNet {
            fourier_w,
            time1: lin(time1, &model.time1, decay),
            time2: lin(time2, &model.time2, decay),
            input: lin(input, &model.input, decay),
            hidden: hidden.into_iter().zip(&model.hidden).map(|(e, m)| lin(e, m, decay)).collect(),
            output: lin(output, &model.output, decay),
        }
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
    /// Builds a batch from chosen training-point indices (`points` is `[K, 2]` flat),
    /// drawing `z ~ N(0, I)` and `t ~ U(T_MIN, 1)` for each.
    pub fn from_indices(points: &[f32], idx: &[usize], noise: &mut impl NoiseSource) -> ToyBatch {
        let size = idx.len();
        let mut batch = ToyBatch { x0: Vec::with_capacity(2 * size), z: Vec::with_capacity(2 * size), t: Vec::with_capacity(size) };
        for &j in idx {
            batch.x0.extend_from_slice(&points[2 * j..2 * j + 2]);
            batch.z.push(noise.normal() as f32);
            batch.z.push(noise.normal() as f32);
            batch.t.push((T_MIN + (1.0 - T_MIN) * noise.uniform()) as f32);
        }
        batch
    }

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
        ToyTrainer::with_optimizer(config, lr, &adam_like_torch(), device, noise)
    }

    /// A fresh network with an explicit optimizer configuration (learning-rate-free part).
    pub fn with_optimizer(config: &ToyNetConfig, lr: f64, optim: &AdamConfig, device: &Device, noise: &mut impl NoiseSource) -> ToyTrainer {
        ToyTrainer { model: config.init(device, noise), optim: optim.init(), lr, device: device.clone() }
    }

    /// One Adam step on `batch`; returns the loss before the step, read back asynchronously.
    pub async fn step(&mut self, batch: &ToyBatch) -> Result<f32, String> {
        let loss = self.step_deferred(batch);
        let data = loss.into_data_async().await.map_err(|e| format!("{e:?}"))?;
        data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?.first().copied().ok_or_else(|| "empty loss".into())
    }

    /// One Adam step on `batch` without reading anything back: returns the loss before the
    /// step as a detached `[1]` tensor (read a chunk of them at once to keep a GPU busy).
    pub fn step_deferred(&mut self, batch: &ToyBatch) -> Tensor<1> {
        let loss = self.model.loss(batch, &self.device);
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let model = placeholder(&self.model);
        self.model = self.optim.step(self.lr, model, grads);
        loss.inner()
    }

    /// The device the trainer runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// Adam with PyTorch's defaults (β = (0.9, 0.999), ε = 1e-8; burn's default ε is 1e-5).
pub fn adam_like_torch() -> AdamConfig {
    AdamConfig::new().with_epsilon(1e-8)
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
