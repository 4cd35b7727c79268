//! Energies of the toy (docs/SCIENCE.md §4): the trained model's by the probability-flow ODE, the
//! ideal score's in closed form, and the exact `K → ∞` circle energy.
//!
//! All are `E = −2σ²t log p_t(x)` (σ = 1), shifted so their minimum over the evaluated points
//! (the plotted grid) is 0 ([`shift_min_to_zero`]).
//!
//! **Probability-flow ODE.** `dx/ds = −½σ² s(x, s)`; along it
//! `d log p_s(x_s)/ds = ½σ² ∇·s(x_s, s)`, so
//! `log p_t(x) = log p_T(x_T) − ½σ² ∫_t^T ∇·s(x_s, s) ds` with `T = 1`.
//! The ODE is integrated with classical RK4 on a grid uniform in `log s` (fine steps at small
//! `t`, where the score changes fastest). The divergence is the trace of the exact 2×2
//! Jacobian, computed by **reverse-mode autodiff** (burn's autodiff device): the batch is
//! duplicated, `Σ_i s₀(x_i)` over the first copy plus `Σ_i s₁(x_i)` over the second is
//! back-propagated once, and `∂s₀/∂x₀ + ∂s₁/∂x₁` is read off the input gradient — exact up
//! to f32 rounding, one forward and one backward pass of 2B rows per evaluation.
//!
//! **Terminal density** `log p_T` ([`OdePrior`]): the authors' code uses `N(0, σ²T I)`; the
//! true `p_T` of `K` training points is their Gaussian mixture with variance `σ²T`, which
//! the lab uses by default (the Gaussian's error varies with `x_T` and so does not cancel
//! in the shifted energy).

use super::sampler::{points_tensor, ScoreModel};
use super::SIGMA;
use burn::tensor::{Device, Tensor};

/// Terminal density `p_T` of the probability-flow ODE.
#[derive(Debug, Clone, PartialEq)]
pub enum OdePrior {
    /// `N(0, σ²T I)`: the authors' `prior_likelihood` (an approximation of `p_T`).
    Gaussian,
    /// The exact `p_T` of these training points: `(1/K) Σ_j N(x; y_j, σ²T I)`.
    Mixture(Vec<[f32; 2]>),
}

/// Settings of the probability-flow ODE.
#[derive(Debug, Clone, PartialEq)]
pub struct OdeConfig {
    /// End time `T` (1).
    pub t_end: f64,
    /// RK4 steps, uniform in `log s` from `t` to `T` (default 100; the closed-form check
    /// agrees to ~1e-3 in energy units at 100 steps for the ideal score of K = 2 at t = 0.25).
    pub steps: usize,
    /// Terminal density.
    pub prior: OdePrior,
    /// Points per batch (bounds memory; default 4096).
    pub chunk: usize,
}

impl OdeConfig {
    /// Defaults with the exact terminal mixture of `train`.
    pub fn with_train(train: &[[f32; 2]]) -> OdeConfig {
        OdeConfig { t_end: 1.0, steps: 100, prior: OdePrior::Mixture(train.to_vec()), chunk: 4096 }
    }

    /// Defaults with the authors' Gaussian terminal density.
    pub fn gaussian_prior() -> OdeConfig {
        OdeConfig { t_end: 1.0, steps: 100, prior: OdePrior::Gaussian, chunk: 4096 }
    }
}

/// `n × n` grid over `[lo, hi]²`, row-major: point `j·n + i` is `(x_i, y_j)`.
pub fn grid_points(n: usize, lo: f32, hi: f32) -> Vec<[f32; 2]> {
    let at = |i: usize| if n == 1 { 0.5 * (lo + hi) } else { lo + (hi - lo) * i as f32 / (n - 1) as f32 };
    (0..n).flat_map(|j| (0..n).map(move |i| [at(i), at(j)])).collect()
}

/// Subtracts the minimum (ignoring non-finite values) so the smallest energy is 0.
pub fn shift_min_to_zero(e: &mut [f32]) {
    let m = e.iter().copied().filter(|v| v.is_finite()).fold(f32::INFINITY, f32::min);
    if m.is_finite() {
        for v in e.iter_mut() {
            *v -= m;
        }
    }
}

/// `log (1/K) Σ_j N(x; y_j, var·I)` in 2-D, in f64 with the log-sum-exp shift.
pub fn mixture_log_density(x: [f64; 2], train: &[[f32; 2]], var: f64) -> f64 {
    let logits: Vec<f64> = train
        .iter()
        .map(|y| {
            let dx = x[0] - y[0] as f64;
            let dy = x[1] - y[1] as f64;
            -(dx * dx + dy * dy) / (2.0 * var)
        })
        .collect();
    let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = logits.iter().map(|l| (l - m).exp()).sum();
    m + s.ln() - (train.len() as f64).ln() - (2.0 * std::f64::consts::PI * var).ln()
}

/// Closed-form energy of the ideal score of `train` at time `t`:
/// `E = −2σ²t log p_t(x)`, `p_t = (1/K) Σ_j N(y_j, σ²t I)`, shifted to minimum 0 over `grid`.
pub fn ideal_energy(train: &[[f32; 2]], grid: &[[f32; 2]], t: f64) -> Vec<f32> {
    let var = SIGMA * SIGMA * t;
    let mut e: Vec<f32> = grid.iter().map(|p| (-2.0 * var * mixture_log_density([p[0] as f64, p[1] as f64], train, var)) as f32).collect();
    shift_min_to_zero(&mut e);
    e
}

/// Exact `K → ∞` energy `E(R; β) = R² + 1 − β⁻¹ log I₀(2βR)` over `grid`, shifted to minimum 0.
/// `β = 1/(2σ²t)` puts it on the same scale as the ODE energies at `t`; the paper plots β = 20.
pub fn circle_energy_grid(grid: &[[f32; 2]], beta: f64) -> Result<Vec<f32>, String> {
    let mut e = Vec::with_capacity(grid.len());
    for p in grid {
        let r = ((p[0] as f64).powi(2) + (p[1] as f64).powi(2)).sqrt();
        e.push(memgen_core::circle::circle_energy(r, beta).map_err(|err| err.to_string())? as f32);
    }
    shift_min_to_zero(&mut e);
    Ok(e)
}

/// Score and exact divergence at time `s` for `x: [B, 2]` on a plain device.
fn score_and_divergence<M: ScoreModel>(model: &M, x: &Tensor<2>, s: f64, ad: &Device) -> Result<(Tensor<2>, Tensor<2>), String> {
    let b = x.dims()[0];
    let xa = Tensor::cat(vec![x.clone(), x.clone()], 0).autodiff().require_grad();
    let t = Tensor::<2>::full([2 * b, 1], s as f32, ad);
    let out = model.score(xa.clone(), t);
    let score = out.clone().inner().slice([0..b, 0..2]);
    let picked = out.clone().slice([0..b, 0..1]).sum() + out.slice([b..2 * b, 1..2]).sum();
    let grads = picked.backward();
    let g = xa.grad(&grads).ok_or("no gradient for the ODE's input (is the device an autodiff device?)")?;
    let div = g.clone().slice([0..b, 0..1]) + g.slice([b..2 * b, 1..2]);
    Ok((score, div))
}

/// `log p_t(x)` of `model` for each of `points` by the probability-flow ODE (see the module
/// docs). `device` may be plain or autodiff; the model's tensors must live on its plain form.
pub async fn ode_log_density<M: ScoreModel>(model: &M, points: &[[f32; 2]], t: f64, config: &OdeConfig, device: &Device) -> Result<Vec<f64>, String> {
    if !(t > 0.0 && t < config.t_end) {
        return Err(format!("ODE start time t = {t} must lie in (0, {})", config.t_end));
    }
    let plain = device.clone().inner();
    let ad = device.clone().autodiff();
    let steps = config.steps.max(1);
    let (u0, u1) = (t.ln(), config.t_end.ln());
    let h = (u1 - u0) / steps as f64;
    let c = -0.5 * SIGMA * SIGMA;
    let mut out = Vec::with_capacity(points.len());
    for chunk in points.chunks(config.chunk.max(1)) {
        let b = chunk.len();
        let mut x = points_tensor(chunk, &plain);
        let mut acc = Tensor::<2>::zeros([b, 1], &plain);
        // d/du of (x, acc) with s = e^u: (c·s·score, c·s·div).
        let f = |x: &Tensor<2>, u: f64| -> Result<(Tensor<2>, Tensor<2>), String> {
            let s = u.exp();
            let (sc, dv) = score_and_divergence(model, x, s, &ad)?;
            Ok((sc * (c * s), dv * (c * s)))
        };
        for i in 0..steps {
            let u = u0 + h * i as f64;
            let (k1x, k1a) = f(&x, u)?;
            let (k2x, k2a) = f(&(x.clone() + k1x.clone() * (h / 2.0)), u + h / 2.0)?;
            let (k3x, k3a) = f(&(x.clone() + k2x.clone() * (h / 2.0)), u + h / 2.0)?;
            let (k4x, k4a) = f(&(x.clone() + k3x.clone() * h), u + h)?;
            x = x + (k1x + k2x * 2.0 + k3x * 2.0 + k4x) * (h / 6.0);
            acc = acc + (k1a + k2a * 2.0 + k3a * 2.0 + k4a) * (h / 6.0);
        }
        let xt = x.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        let delta = acc.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        let var_t = SIGMA * SIGMA * config.t_end;
        for (i, d) in delta.iter().enumerate() {
            let z = [xt[2 * i] as f64, xt[2 * i + 1] as f64];
            let prior = match &config.prior {
                OdePrior::Gaussian => -(z[0] * z[0] + z[1] * z[1]) / (2.0 * var_t) - (2.0 * std::f64::consts::PI * var_t).ln(),
                OdePrior::Mixture(train) => mixture_log_density(z, train, var_t),
            };
            out.push(prior + *d as f64);
        }
    }
    Ok(out)
}

/// Energy `E = −2σ²t log p_t(x)` of `model` over `grid` by the probability-flow ODE, shifted
/// so its minimum over `grid` is 0.
pub async fn ode_energy<M: ScoreModel>(model: &M, grid: &[[f32; 2]], t: f64, config: &OdeConfig, device: &Device) -> Result<Vec<f32>, String> {
    let logp = ode_log_density(model, grid, t, config, device).await?;
    let mut e: Vec<f32> = logp.iter().map(|l| (-2.0 * SIGMA * SIGMA * t * l) as f32).collect();
    shift_min_to_zero(&mut e);
    Ok(e)
}
