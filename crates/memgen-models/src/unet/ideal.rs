//! The ideal empirical denoiser (docs/SCIENCE.md §3) for DDPM: the exact posterior mean of `x_0`
//! when the data distribution is the `K` training images, as a training-free ε-model.
//!
//! With `x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε` and `x_0` uniform over `{y_j}`:
//! `w_j = softmax_j(−‖x_t − √ᾱ_t y_j‖²/(2(1 − ᾱ_t)))`, `E[x_0 | x_t] = Σ_j w_j y_j`,
//! `ε̂ = (x_t − √ᾱ_t E[x_0 | x_t])/√(1 − ᾱ_t)`. The term `‖x_t‖²` is the same for every `j`
//! and is left out of the logits (`(2√ᾱ x·y_j − ᾱ‖y_j‖²)/(2(1 − ᾱ))`), which avoids the `f32`
//! cancellation of expanding the full distance. Agrees with
//! `memgen_core::ideal_score::ideal_epsilon` (tested). Sampled with any sampler it returns
//! training images: it memorizes by construction.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::schedules::DdpmSchedule;

/// The ideal denoiser of a set of training images, on a device.
#[derive(Debug, Clone)]
pub struct IdealDenoiser {
    images: Tensor<2>,
    sq_norms: Tensor<2>,
    k: usize,
    schedule: DdpmSchedule,
}

impl IdealDenoiser {
    /// `images`: `[K, D]` flat (`D = C·H·W`, values in `[−1, 1]`), on `device` (a plain device).
    pub fn new(images: &[f32], d: usize, device: &Device) -> Result<IdealDenoiser, String> {
        if d == 0 || images.is_empty() || !images.len().is_multiple_of(d) {
            return Err(format!("ideal denoiser: {} values is not a positive multiple of {d}", images.len()));
        }
        let k = images.len() / d;
        let sq: Vec<f32> = images.chunks_exact(d).map(|y| y.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() as f32).collect();
        Ok(IdealDenoiser {
            images: Tensor::from_data(TensorData::new(images.to_vec(), [k, d]), device),
            sq_norms: Tensor::from_data(TensorData::new(sq, [1, k]), device),
            k,
            schedule: DdpmSchedule::paper(),
        })
    }

    /// Number of training images `K`.
    pub fn len(&self) -> usize {
        self.k
    }

    /// Always false (the denoiser holds at least one image).
    pub fn is_empty(&self) -> bool {
        self.k == 0
    }

    /// `E[x_0 | x_t]` and `ε̂` for `x: [B, D]` at step `t`.
    fn posterior(&self, x: Tensor<2>, t: usize) -> (Tensor<2>, Tensor<2>) {
        let a = self.schedule.alpha_bars[t];
        let (sa, var) = (a.sqrt(), 1.0 - a);
        let cross = x.clone().matmul(self.images.clone().transpose()); // [B, K]
        let logits = (cross * (2.0 * sa) - self.sq_norms.clone() * a) / (2.0 * var);
        let w = softmax(logits, 1);
        let x0 = w.matmul(self.images.clone());
        let eps = (x - x0.clone() * sa) / var.sqrt();
        (x0, eps)
    }

    /// `ε̂(x_t, t)` for `x: [B, C, H, W]`.
    pub fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4> {
        let dims = x.dims();
        let flat = x.reshape([dims[0], dims[1] * dims[2] * dims[3]]);
        self.posterior(flat, t).1.reshape(dims)
    }
}
