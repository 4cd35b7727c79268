//! Score models of the toy and the Euler–Maruyama sampler (docs/SCIENCE.md §4).
//!
//! Reverse VE SDE with σ = 1, as in the authors' `Euler_Maruyama_sampler`: `x_1 ~ N(0, σ²I)`,
//! times `linspace(1, t_end, steps)`, fixed `Δt = t_0 − t_1`, and at each time
//! `m = x + σ² s(x, t) Δt`, `x ← m + σ √Δt z`; the result is the last `m` (no noise on the
//! last step). Everything runs batched on the device; nothing is read back until
//! [`Sampling::samples`].

use super::{NoiseSource, ToyScoreNet, SIGMA};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

/// Anything that gives a score `s(x, t)` for the toy: the trained network or the ideal score.
pub trait ScoreModel {
    /// `s(x, t)` for `x: [B, 2]`, `t: [B, 1]` on the same device as the model (or an autodiff
    /// version of it: model tensors then act as constants, as the energy's divergence needs).
    fn score(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2>;
}

impl<M: ScoreModel> ScoreModel for &M {
    fn score(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        (*self).score(x, t)
    }
}

impl ScoreModel for ToyScoreNet {
    fn score(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        self.forward(x, t)
    }
}

/// The exact score of the `K` training points noised to std `σ√t` — the ideal (memorizing)
/// denoiser of docs/SCIENCE.md §3, as tensors so it runs on the same device as the network:
/// `w = softmax_j(−‖x − y_j‖²/(2σ²t))`, `s = (Σ_j w_j y_j − x)/(σ²t)`.
/// Agrees with `memgen_core::ideal_score::ideal_score` (tested).
#[derive(Debug, Clone)]
pub struct IdealScore {
    points: Tensor<2>,
    sq_norms: Tensor<2>,
    k: usize,
}

impl IdealScore {
    /// The ideal score of `points` on `device` (use a plain, non-autodiff device).
    pub fn new(points: &[[f32; 2]], device: &Device) -> IdealScore {
        assert!(!points.is_empty(), "the ideal score needs at least one training point");
        let k = points.len();
        let flat: Vec<f32> = points.iter().flatten().copied().collect();
        let sq: Vec<f32> = points.iter().map(|p| p[0] * p[0] + p[1] * p[1]).collect();
        IdealScore { points: Tensor::from_data(TensorData::new(flat, [k, 2]), device), sq_norms: Tensor::from_data(TensorData::new(sq, [1, k]), device), k }
    }

    /// Number of training points.
    pub fn len(&self) -> usize {
        self.k
    }

    /// Always false (an ideal score has at least one point).
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }
}

impl ScoreModel for IdealScore {
    fn score(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        let var = t * (SIGMA * SIGMA); // [B, 1]
        let x_sq = (x.clone() * x.clone()).sum_dim(1); // [B, 1]
        let cross = x.clone().matmul(self.points.clone().transpose()); // [B, K]
        let d2 = (x_sq + self.sq_norms.clone() - cross * 2.0).clamp_min(0.0);
        let w = softmax(-(d2 / (var.clone() * 2.0)), 1);
        let mean = w.matmul(self.points.clone()); // [B, 2]
        (mean - x) / var
    }
}

/// Euler–Maruyama settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EulerMaruyama {
    /// Number of steps (paper 1000). Keep `Δt = (1 − t_end)/(steps − 1)` at most about
    /// `t_end`: the last Euler steps move `x` by `σ² s Δt ≈ (Δt/t)(D(x) − x)`, which overshoots
    /// the denoised point when `Δt > t` (with 500 steps and t_end = 1e-3 the ideal score's
    /// samples end ~0.05 off their training point; with 1000 they land on it).
    pub steps: usize,
    /// Last time (paper 1e-3).
    pub t_end: f64,
    /// Number of samples (paper 10,000).
    pub count: usize,
}

impl Default for EulerMaruyama {
    fn default() -> Self {
        EulerMaruyama { steps: 1000, t_end: 1e-3, count: 10_000 }
    }
}

/// A sampling run in progress, stepped in chunks like training.
pub struct Sampling<M: ScoreModel, N: NoiseSource> {
    model: M,
    noise: N,
    config: EulerMaruyama,
    device: Device,
    x: Tensor<2>,
    mean: Tensor<2>,
    step: usize,
    /// Within a step run in parts ([`run_rows`](Self::run_rows)): the next row, and the new
    /// means of the rows before it.
    row: usize,
    parts: Vec<Tensor<2>>,
    /// The first time (1 from noise; a basin probe's `t` from a noised point).
    t_start: f64,
}

impl<M: ScoreModel, N: NoiseSource> Sampling<M, N> {
    /// Starts from `x_1 ~ N(0, σ²I)` drawn from `noise`, on `device` (a plain device; the
    /// model's tensors must live there).
    pub fn new(model: M, config: EulerMaruyama, device: &Device, mut noise: N) -> Self {
        assert!(config.steps >= 2, "Euler–Maruyama needs at least 2 steps");
        let x = normal_tensor(config.count, SIGMA, device, &mut noise);
        Sampling { model, noise, config, device: device.clone(), mean: x.clone(), x, step: 0, row: 0, parts: Vec::new(), t_start: 1.0 }
    }

    /// Starts from the given points at time `t_start` (> `config.t_end`) instead of from noise
    /// at 1: times `linspace(t_start, t_end, steps)` (a basin probe's way back from `x_t`);
    /// `config.count` is taken from `start`.
    pub fn from_points(model: M, start: &[[f32; 2]], t_start: f64, config: EulerMaruyama, device: &Device, noise: N) -> Self {
        assert!(config.steps >= 2, "Euler–Maruyama needs at least 2 steps");
        assert!(t_start > config.t_end, "the start time must come after t_end");
        let x = points_tensor(start, device);
        let config = EulerMaruyama { count: start.len(), ..config };
        Sampling { model, noise, config, device: device.clone(), mean: x.clone(), x, step: 0, row: 0, parts: Vec::new(), t_start }
    }

    fn time(&self, i: usize) -> f64 {
        let n = self.config.steps;
        self.t_start + (self.config.t_end - self.t_start) * i as f64 / (n - 1) as f64
    }

    /// Runs up to `n` more steps without reading anything back; returns the steps done so far.
    /// A step begun by [`run_rows`](Self::run_rows) is finished first.
    pub fn run_steps(&mut self, n: usize) -> usize {
        let dt = self.time(0) - self.time(1);
        let b = self.config.count;
        let g2 = SIGMA * SIGMA;
        let mut n = n;
        if self.row > 0 && n > 0 {
            self.run_rows(b);
            n -= 1;
        }
        for _ in 0..n {
            if self.step >= self.config.steps {
                break;
            }
            let t = Tensor::<2>::full([b, 1], self.time(self.step) as f32, &self.device);
            let s = self.model.score(self.x.clone(), t);
            self.mean = self.x.clone() + s * (g2 * dt);
            self.step += 1;
            if self.step < self.config.steps {
                let z = normal_tensor(b, SIGMA * dt.sqrt(), &self.device, &mut self.noise);
                self.x = self.mean.clone() + z;
            }
        }
        self.step
    }

    /// Runs the current step for at most `max_rows` more samples (rows `[r, r + max_rows)`),
    /// so that a page can keep each slice of work short however many samples it draws. When a
    /// step's last row is done its noise is drawn for the whole batch, in the order
    /// [`run_steps`](Self::run_steps) draws it, so a run in parts gives the same samples (each
    /// row's score does not depend on the others: `tests/toy_phenomena.rs` checks the bits).
    /// Returns the rows done in the current step (0 once a step has just finished).
    pub fn run_rows(&mut self, max_rows: usize) -> usize {
        if self.step >= self.config.steps {
            return 0;
        }
        let dt = self.time(0) - self.time(1);
        let b = self.config.count;
        let (lo, hi) = (self.row, (self.row + max_rows.max(1)).min(b));
        let x = self.x.clone().slice([lo..hi, 0..2]);
        let t = Tensor::<2>::full([hi - lo, 1], self.time(self.step) as f32, &self.device);
        let s = self.model.score(x.clone(), t);
        self.parts.push(x + s * (SIGMA * SIGMA * dt));
        self.row = hi;
        if hi < b {
            return hi;
        }
        self.mean = Tensor::cat(std::mem::take(&mut self.parts), 0);
        self.row = 0;
        self.step += 1;
        if self.step < self.config.steps {
            let z = normal_tensor(b, SIGMA * dt.sqrt(), &self.device, &mut self.noise);
            self.x = self.mean.clone() + z;
        }
        0
    }

    /// Samples in the whole run (steps × samples) done so far, for progress.
    pub fn rows_done(&self) -> usize {
        self.step * self.config.count + self.row
    }

    /// Samples in the whole run (steps × samples).
    pub fn rows_total(&self) -> usize {
        self.config.steps * self.config.count
    }

    /// [`run_steps`](Self::run_steps), then waits for the device to finish them (one tiny
    /// asynchronous read): use it in a browser to pace chunks and report progress.
    pub async fn run_steps_synced(&mut self, n: usize) -> Result<usize, String> {
        let done = self.run_steps(n);
        self.mean.clone().slice([0..1, 0..1]).into_data_async().await.map_err(|e| format!("{e:?}"))?;
        Ok(done)
    }

    /// Whether all steps are done.
    pub fn finished(&self) -> bool {
        self.step >= self.config.steps
    }

    /// Steps done so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// The current samples (the noise-free `m` of the last step), read back.
    pub async fn samples(&self) -> Result<Vec<[f32; 2]>, String> {
        read_points(self.mean.clone()).await
    }
}

/// The toy's sampler of `count` samples for `seed`: Euler–Maruyama with the default steps
/// (1000, t = 1 → 1e-3) on stream [`STREAM_TOY_SAMPLE`](super::STREAM_TOY_SAMPLE). `memgen toy`
/// and the page both sample through it, so one seed gives one set of samples.
pub fn toy_sampling<M: ScoreModel>(model: M, count: usize, seed: u64, device: &Device) -> Sampling<M, memgen_core::spec::NoiseStream> {
    let config = EulerMaruyama { count, ..EulerMaruyama::default() };
    Sampling::new(model, config, device, memgen_core::spec::NoiseStream::new(seed, super::STREAM_TOY_SAMPLE))
}

/// Samples `config.count` points from `model` with all `config.steps` steps.
pub async fn sample<M: ScoreModel, N: NoiseSource>(model: M, config: EulerMaruyama, device: &Device, noise: N) -> Result<Vec<[f32; 2]>, String> {
    let mut run = Sampling::new(model, config, device, noise);
    run.run_steps(config.steps);
    run.samples().await
}

/// `[n, 2]` tensor of `std · N(0, 1)` values from `noise`.
pub(crate) fn normal_tensor(n: usize, std: f64, device: &Device, noise: &mut impl NoiseSource) -> Tensor<2> {
    let v: Vec<f32> = (0..2 * n).map(|_| (noise.normal() * std) as f32).collect();
    Tensor::from_data(TensorData::new(v, [n, 2]), device)
}

/// Reads an `[n, 2]` tensor back as points.
pub(crate) async fn read_points(x: Tensor<2>) -> Result<Vec<[f32; 2]>, String> {
    let v = x.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    Ok(v.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
}

/// `[n, 2]` tensor of points.
pub(crate) fn points_tensor(points: &[[f32; 2]], device: &Device) -> Tensor<2> {
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [points.len(), 2]), device)
}
