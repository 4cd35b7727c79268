//! Basins and curvature of the 2-D toy (docs/SCIENCE.md §5–6; the authors' `toy_example.py`).
//!
//! **Basin.** For a point `x₀` and each `t` of `linspace(t_min, t_max, levels)` (the authors':
//! 0.01 to 1, 500 levels): `trials` noised copies `x_t = x₀ + σ√t z_k` (VE SDE), each taken
//! back by Euler–Maruyama from `t` to `t_end` with `max(2, ⌊1000·t⌋)` steps; a trial recovers
//! when `‖x̂₀ − x₀‖ ≤ δ` (the authors' δ = 0.01). The `z_k` are drawn once and shared by every
//! level, and so are the sampler's: every level restarts one stream of the probe's seed (common
//! random numbers), so `P(t)` is one deterministic function of `t` that the linear scan and
//! the bisection ([`memgen_core::basin::GridSearch`]) both read (with a stochastic sampler it
//! can still dip and recover; the bisection then may not find the scan's first failure). The
//! radius is `σ√t_c ‖z‖` for a fresh `z`, the log-volume that of a disc (`d = 2`).
//!
//! **Curvature.** The energy is `E = −2σ²t log p_t(x)`, so its Hessian is `−2σ²t ∇s(x, t)`:
//! the score's 2×2 Jacobian by central differences (one batch of four points), made symmetric
//! (a learned score need not be a gradient field exactly: its asymmetry is reported), and its
//! two eigenvalues. For the ideal score the closed form is `2(I − Cov_w(x)/(σ²t))`, with `Cov_w`
//! the covariance of the training points under the softmax weights `w` of §3
//! ([`ideal_energy_hessian`]).

use super::sampler::{points_tensor, read_points, EulerMaruyama, Sampling, ScoreModel};
use super::SIGMA;
use burn::tensor::{Device, Tensor};
use memgen_core::basin::{GridSearch, Search};
use memgen_core::spec::NoiseStream;
use serde::{Deserialize, Serialize};

/// Stream (of the probe's seed) of the trials' shared `z_k` and then the radius's fresh `z`.
pub const STREAM_TOY_PROBE: u64 = 40;
/// Stream of the sampler noise: every level starts it afresh, so trial k's Euler–Maruyama
/// steps draw the same numbers at every level (common random numbers).
pub const STREAM_TOY_PROBE_LEVEL: u64 = 41;

/// Settings of a toy basin probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ToyBasinSettings {
    /// Number of levels of `t` (the authors': 500).
    pub levels: usize,
    /// Smallest `t` (0.01).
    pub t_min: f64,
    /// Largest `t` (1).
    pub t_max: f64,
    /// Trials per level (10).
    pub trials: usize,
    /// Recovery radius (the authors' command line: 0.01).
    pub delta: f64,
    /// `P` that counts as inside the basin (0.9).
    pub threshold: f64,
    /// The sampler's last time (the toy sampler's 1e-3).
    pub t_end: f64,
    /// Search.
    pub search: Search,
}

impl ToyBasinSettings {
    /// The authors' procedure (`toy_example.py`), with their linear scan.
    pub fn paper() -> ToyBasinSettings {
        ToyBasinSettings {
            levels: 500,
            t_min: 0.01,
            t_max: 1.0,
            trials: memgen_core::basin::TRIALS,
            delta: 0.01,
            threshold: memgen_core::basin::RECOVERY_THRESHOLD,
            t_end: EulerMaruyama::default().t_end,
            search: Search::Linear,
        }
    }

    /// The levels of `t`, ascending.
    pub fn grid(&self) -> Vec<f64> {
        let n = self.levels.max(1);
        (0..n).map(|i| if n == 1 { self.t_min } else { self.t_min + (self.t_max - self.t_min) * i as f64 / (n - 1) as f64 }).collect()
    }

    /// Euler–Maruyama steps from level `t`: `max(2, ⌊1000·t⌋)`.
    pub fn steps_from(t: f64) -> usize {
        ((1000.0 * t).floor() as usize).max(2)
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=10_000).contains(&self.levels) || !(1..=1000).contains(&self.trials) {
            return Err("levels must lie in 1..=10000 and trials in 1..=1000".into());
        }
        if !(self.t_end > 0.0 && self.t_end < self.t_min && self.t_min <= self.t_max && self.t_max <= 1.0) {
            return Err("the times must satisfy 0 < t_end < t_min ≤ t_max ≤ 1".into());
        }
        if !(self.delta > 0.0 && self.delta.is_finite() && self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err("δ must be finite and > 0, the threshold in (0, 1]".into());
        }
        Ok(())
    }
}

/// One toy point's basin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyBasinProbe {
    /// The point probed.
    pub x0: [f32; 2],
    /// `(t, P(t))` of every level evaluated, ascending `t`.
    pub levels: Vec<(f64, f64)>,
    /// Critical time (`None`: the first level already fails).
    pub t_c: Option<f64>,
    /// `σ√t_c ‖z‖` for a fresh `z` (0 without `t_c`).
    pub radius: f64,
    /// Log-area of the disc of that radius (`−∞` without `t_c`; `null` in JSON).
    #[serde(with = "crate::probe::neg_inf_as_null")]
    pub log_volume: f64,
}

/// The trials' noised copies of `x0` at `t`: `x0 + σ√t z_k`.
pub fn noised(x0: [f32; 2], z: &[[f32; 2]], t: f64) -> Vec<[f32; 2]> {
    let s = (SIGMA * t.sqrt()) as f32;
    z.iter().map(|z| [x0[0] + s * z[0], x0[1] + s * z[1]]).collect()
}

/// Where each trial of the level at time `t` ends: Euler–Maruyama from the noised copies
/// back to `t_end`.
pub async fn toy_trials_at<M: ScoreModel>(
    model: &M,
    x0: [f32; 2],
    z: &[[f32; 2]],
    t: f64,
    settings: &ToyBasinSettings,
    seed: u64,
    device: &Device,
) -> Result<Vec<[f32; 2]>, String> {
    let start = noised(x0, z, t);
    let config = EulerMaruyama { steps: ToyBasinSettings::steps_from(t), t_end: settings.t_end, count: start.len() };
    let noise = NoiseStream::new(seed, STREAM_TOY_PROBE_LEVEL);
    let mut run = Sampling::from_points(model, &start, t, config, device, noise);
    run.run_steps(config.steps);
    run.samples().await
}

/// The share of trials that end within `δ` of `x0`.
pub fn recovered_share(x0: [f32; 2], ends: &[[f32; 2]], delta: f64) -> f64 {
    let hit = ends.iter().filter(|p| (((p[0] - x0[0]) as f64).powi(2) + ((p[1] - x0[1]) as f64).powi(2)).sqrt() <= delta).count();
    hit as f64 / ends.len().max(1) as f64
}

/// The trials' shared `z_k` of a probe with `seed`, and the stream that then gives the radius.
pub fn trial_noise(trials: usize, seed: u64) -> (Vec<[f32; 2]>, NoiseStream) {
    let mut noise = NoiseStream::new(seed, STREAM_TOY_PROBE);
    let z = (0..trials).map(|_| [noise.normal() as f32, noise.normal() as f32]).collect();
    (z, noise)
}

/// The radius and log-area of a basin with critical time `t_c` (a fresh `z` from `noise`).
pub fn toy_radius(t_c: Option<f64>, noise: &mut NoiseStream) -> Result<(f64, f64), String> {
    match t_c {
        Some(t) => {
            let z = [noise.normal(), noise.normal()];
            let r = SIGMA * t.sqrt() * (z[0] * z[0] + z[1] * z[1]).sqrt();
            Ok((r, memgen_core::basin::log_ball_volume(2, r).map_err(|e| e.to_string())?))
        }
        None => Ok((0.0, f64::NEG_INFINITY)),
    }
}

/// Probes the basin of `x0`; `progress(levels_done, levels_at_most)` after every level.
pub async fn probe_toy_basin<M: ScoreModel>(
    model: &M,
    x0: [f32; 2],
    settings: &ToyBasinSettings,
    seed: u64,
    device: &Device,
    mut progress: impl FnMut(usize, usize),
) -> Result<ToyBasinProbe, String> {
    settings.validate()?;
    if !(x0[0].is_finite() && x0[1].is_finite()) {
        return Err("the point to probe must be finite".into());
    }
    let grid = settings.grid();
    let (z, mut noise) = trial_noise(settings.trials, seed);
    let mut search = GridSearch::new(settings.search, grid.len(), settings.threshold);
    while let Some(i) = search.next() {
        let ends = toy_trials_at(model, x0, &z, grid[i], settings, seed, device).await?;
        search.record(i, recovered_share(x0, &ends, settings.delta));
        progress(search.levels().len(), search.most());
    }
    let t_c = search.t_c().map(|i| grid[i]);
    let (radius, log_volume) = toy_radius(t_c, &mut noise)?;
    Ok(ToyBasinProbe { x0, levels: search.levels().into_iter().map(|(i, p)| (grid[i], p)).collect(), t_c, radius, log_volume })
}

/// The learned energy's curvature at a point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyHessian {
    /// The point.
    pub at: [f32; 2],
    /// The time of the energy.
    pub t: f64,
    /// The symmetric part of `−2σ²t ∇s`, row-major.
    pub hessian: [[f64; 2]; 2],
    /// Its eigenvalues, descending (both > 0: a well; mixed signs: a saddle).
    pub eigenvalues: [f64; 2],
    /// `|J₀₁ − J₁₀| / max |J|`: how far the score's Jacobian is from symmetric (0 for a gradient
    /// field).
    pub asymmetry: f64,
}

/// Eigenvalues of a symmetric 2×2 matrix, descending.
pub fn symmetric_eigenvalues(m: [[f64; 2]; 2]) -> [f64; 2] {
    let (a, b, d) = (m[0][0], 0.5 * (m[0][1] + m[1][0]), m[1][1]);
    let mean = 0.5 * (a + d);
    let r = (0.25 * (a - d).powi(2) + b * b).sqrt();
    [mean + r, mean - r]
}

/// The Hessian of the energy `E = −2σ²t log p_t` of `model` at `x` (central differences of
/// step `h` on the score, one batch of four points on `device`).
pub async fn toy_energy_hessian<M: ScoreModel>(model: &M, x: [f32; 2], t: f64, h: f32, device: &Device) -> Result<ToyHessian, String> {
    if !(t > 0.0 && t <= 1.0 && h > 0.0 && x[0].is_finite() && x[1].is_finite()) {
        return Err("the Hessian needs a finite point, t in (0, 1] and h > 0".into());
    }
    let pts = [[x[0] + h, x[1]], [x[0] - h, x[1]], [x[0], x[1] + h], [x[0], x[1] - h]];
    let s = read_points(model.score(points_tensor(&pts, device), Tensor::<2>::full([4, 1], t as f32, device))).await?;
    let dh = 2.0 * h as f64;
    // j[i][k] = ∂s_i/∂x_k
    let j = [[(s[0][0] - s[1][0]) as f64 / dh, (s[2][0] - s[3][0]) as f64 / dh], [(s[0][1] - s[1][1]) as f64 / dh, (s[2][1] - s[3][1]) as f64 / dh]];
    let c = -2.0 * SIGMA * SIGMA * t;
    let off = 0.5 * (j[0][1] + j[1][0]);
    let hessian = [[c * j[0][0], c * off], [c * off, c * j[1][1]]];
    let biggest = j.iter().flatten().fold(0f64, |m, v| m.max(v.abs()));
    let asymmetry = if biggest > 0.0 { (j[0][1] - j[1][0]).abs() / biggest } else { 0.0 };
    Ok(ToyHessian { at: x, t, hessian, eigenvalues: symmetric_eigenvalues(hessian), asymmetry })
}

/// The closed-form Hessian of the ideal energy of `train` at `x`, time `t`:
/// `2(I − Cov_w(x)/(σ²t))`, `w = softmax_j(−‖x − y_j‖²/(2σ²t))`.
pub fn ideal_energy_hessian(train: &[[f32; 2]], x: [f64; 2], t: f64) -> [[f64; 2]; 2] {
    let v = SIGMA * SIGMA * t;
    let logits: Vec<f64> = train.iter().map(|y| -((x[0] - y[0] as f64).powi(2) + (x[1] - y[1] as f64).powi(2)) / (2.0 * v)).collect();
    let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
    let total: f64 = w.iter().sum();
    let mean = train.iter().zip(&w).fold([0.0, 0.0], |a, (y, w)| [a[0] + w * y[0] as f64 / total, a[1] + w * y[1] as f64 / total]);
    let mut cov = [[0.0; 2]; 2];
    for (y, w) in train.iter().zip(&w) {
        let d = [y[0] as f64 - mean[0], y[1] as f64 - mean[1]];
        for (r, row) in cov.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v += w / total * d[r] * d[c];
            }
        }
    }
    [[2.0 * (1.0 - cov[0][0] / v), -2.0 * cov[0][1] / v], [-2.0 * cov[1][0] / v, 2.0 * (1.0 - cov[1][1] / v)]]
}
