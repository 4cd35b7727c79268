//! Noise schedules and update formulas (docs/SCIENCE.md §2, §4).
//!
//! * VE SDE of the 2D toy: `dx = σ dW`, σ = 1, marginal `x_t = x_0 + σ√t z`, `t ∈ [1e-5, 1]`;
//!   reverse-time SDE `dx = −σ² ∇log p_t(x) dt + σ dW̄`, Euler–Maruyama step [`VeSde::reverse_step`].
//! * DDPM: linear `β_t` from 1e-4 to 2e-2 over `T = 1000` steps (index `t = 0 … T−1`),
//!   `α_t = 1 − β_t`, `ᾱ_t = Π_{s≤t} α_s`; forward `x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε`;
//!   ancestral step `x_{t−1} = (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t + σ_t z` with `σ_t² = β_t`
//!   (Ho et al.'s choice; no noise at `t = 0`); DDIM (η = 0)
//!   `x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s) ε̂`, `x̂_0 = (x_t − √(1 − ᾱ_t) ε̂)/√ᾱ_t`, `ᾱ_{−1} = 1`.
use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// σ of the toy's VE SDE `dx = σ dW` (paper: 1): the marginal std at time `t` is `σ√t`.
pub const VE_SIGMA: f64 = 1.0;
/// Smallest diffusion time of the toy, in training and sampling (paper: 1e-5).
pub const VE_T_MIN: f64 = 1e-5;

/// The toy's variance-exploding SDE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VeSde {
    /// Diffusion coefficient σ (paper: 1).
    pub sigma: f64,
    /// Smallest time (paper: 1e-5).
    pub t_min: f64,
    /// Largest time (paper: 1).
    pub t_max: f64,
}

impl Default for VeSde {
    fn default() -> Self {
        VeSde { sigma: VE_SIGMA, t_min: VE_T_MIN, t_max: 1.0 }
    }
}

impl VeSde {
    /// Marginal std `σ√t`.
    pub fn std(&self, t: f64) -> f64 {
        self.sigma * t.sqrt()
    }
    /// Forward noising `x_t = x_0 + σ√t z` (in place on `x`).
    pub fn forward(&self, x: &mut [f32], t: f64, z: &[f32]) {
        let s = self.std(t) as f32;
        for (xi, zi) in x.iter_mut().zip(z) {
            *xi += s * zi;
        }
    }
    /// One Euler–Maruyama step of the reverse SDE from `t` to `t − dt`:
    /// `x ← x + σ² s(x, t) dt + σ √dt z` (pass `z = None` for the noise-free last step).
    pub fn reverse_step(&self, x: &mut [f32], score: &[f32], dt: f64, z: Option<&[f32]>) {
        let a = (self.sigma * self.sigma * dt) as f32;
        let b = (self.sigma * dt.sqrt()) as f32;
        for (i, xi) in x.iter_mut().enumerate() {
            *xi += a * score[i] + z.map_or(0.0, |z| b * z[i]);
        }
    }
}

/// DDPM's discrete schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DdpmSchedule {
    /// `β_t`, `t = 0 … T−1`.
    pub betas: Vec<f64>,
    /// `ᾱ_t = Π_{s≤t} (1 − β_s)`.
    pub alpha_bars: Vec<f64>,
}

impl DdpmSchedule {
    /// The paper's schedule: linear β from 1e-4 to 2e-2, T = 1000.
    pub fn paper() -> Self {
        Self::linear(1e-4, 2e-2, 1000).expect("valid constants")
    }
    /// `β_t = β_1 + (β_T − β_1) t/(T−1)` (numpy `linspace`). Errors: `T < 2`, β outside (0, 1).
    pub fn linear(beta_start: f64, beta_end: f64, steps: usize) -> Result<Self, CoreError> {
        if steps < 2 {
            return Err(CoreError::invalid("steps", steps, "must be at least 2"));
        }
        for (n, b) in [("beta_start", beta_start), ("beta_end", beta_end)] {
            if !(b > 0.0 && b < 1.0) {
                return Err(CoreError::invalid(n, b, "must lie in (0, 1)"));
            }
        }
        let betas: Vec<f64> = (0..steps).map(|t| beta_start + (beta_end - beta_start) * t as f64 / (steps - 1) as f64).collect();
        let mut acc = 1.0;
        let alpha_bars = betas
            .iter()
            .map(|b| {
                acc *= 1.0 - b;
                acc
            })
            .collect();
        Ok(DdpmSchedule { betas, alpha_bars })
    }
    /// Number of steps `T`.
    pub fn steps(&self) -> usize {
        self.betas.len()
    }
    /// `ᾱ_t`, with `ᾱ_{−1} = 1` for `t = None`.
    pub fn alpha_bar(&self, t: Option<usize>) -> f64 {
        t.map_or(1.0, |t| self.alpha_bars[t])
    }
    /// Forward noising `x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε` (in place on `x`).
    pub fn forward(&self, x: &mut [f32], t: usize, eps: &[f32]) {
        let a = self.alpha_bars[t].sqrt() as f32;
        let b = (1.0 - self.alpha_bars[t]).sqrt() as f32;
        for (xi, e) in x.iter_mut().zip(eps) {
            *xi = a * *xi + b * e;
        }
    }
    /// Ancestral step `x_{t−1} = (x_t − β_t/√(1 − ᾱ_t) ε̂)/√α_t + √β_t z` (`z` ignored at t = 0).
    pub fn ancestral_step(&self, x: &mut [f32], t: usize, eps_hat: &[f32], z: &[f32]) {
        let beta = self.betas[t];
        let c = (beta / (1.0 - self.alpha_bars[t]).sqrt()) as f32;
        let inv = (1.0 / (1.0 - beta).sqrt()) as f32;
        let s = if t > 0 { beta.sqrt() as f32 } else { 0.0 };
        for (i, xi) in x.iter_mut().enumerate() {
            *xi = (*xi - c * eps_hat[i]) * inv + s * z[i];
        }
    }
    /// DDIM (η = 0) step from `t` to `s < t` (`s = None` means the clean end, `ᾱ = 1`):
    /// `x_s = √ᾱ_s x̂_0 + √(1 − ᾱ_s) ε̂`, `x̂_0 = (x_t − √(1 − ᾱ_t) ε̂)/√ᾱ_t`.
    pub fn ddim_step(&self, x: &mut [f32], t: usize, s: Option<usize>, eps_hat: &[f32]) {
        let at = self.alpha_bars[t];
        let as_ = self.alpha_bar(s);
        for (i, xi) in x.iter_mut().enumerate() {
            let e = eps_hat[i] as f64;
            let x0 = (*xi as f64 - (1.0 - at).sqrt() * e) / at.sqrt();
            *xi = (as_.sqrt() * x0 + (1.0 - as_).sqrt() * e) as f32;
        }
    }
    /// `n` DDIM time indices from `T−1` down to 0, evenly spaced (rounded), descending.
    pub fn ddim_timesteps(&self, n: usize) -> Vec<usize> {
        self.ddim_timesteps_from(self.steps() - 1, n)
    }
    /// At most `n` DDIM time indices from `start` (clamped to `T−1`) down to 0, evenly spaced
    /// (rounded, repeats dropped), descending: the reverse run of a basin probe from `x_start`.
    pub fn ddim_timesteps_from(&self, start: usize, n: usize) -> Vec<usize> {
        let start = start.min(self.steps() - 1);
        let n = n.clamp(1, start + 1);
        if n == 1 {
            return vec![start];
        }
        let mut v: Vec<usize> = (0..n).map(|i| (start as f64 * i as f64 / (n - 1) as f64).round() as usize).collect();
        v.dedup();
        v.reverse();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_schedule_values() {
        let s = DdpmSchedule::paper();
        assert_eq!(s.steps(), 1000);
        assert!((s.betas[0] - 1e-4).abs() < 1e-15 && (s.betas[999] - 2e-2).abs() < 1e-15);
        // ᾱ_T ≈ 4.04e-5 for this schedule
        assert!((s.alpha_bars[999] - 4.035e-5).abs() < 1e-7, "{}", s.alpha_bars[999]);
        let ts = s.ddim_timesteps(20);
        assert_eq!(ts.len(), 20);
        assert_eq!((ts[0], ts[19]), (999, 0));
    }

    #[test]
    fn ddim_with_true_noise_recovers_x0() {
        let s = DdpmSchedule::paper();
        let x0 = [0.3f32, -0.7];
        let eps = [1.1f32, 0.4];
        let mut x = x0;
        s.forward(&mut x, 600, &eps);
        s.ddim_step(&mut x, 600, None, &eps);
        assert!((x[0] - x0[0]).abs() < 1e-5 && (x[1] - x0[1]).abs() < 1e-5);
    }

    #[test]
    fn ancestral_step_is_posterior_mean_plus_noise() {
        let s = DdpmSchedule::paper();
        let mut x = [1.0f32];
        s.ancestral_step(&mut x, 0, &[0.5], &[9.0]);
        let b = 1e-4f64;
        let want = (1.0 - b / b.sqrt() * 0.5) / (1.0 - b).sqrt();
        assert!((x[0] as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn ve_std() {
        let v = VeSde::default();
        assert!((v.std(0.25) - 0.5).abs() < 1e-15);
    }
}
