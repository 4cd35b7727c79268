//! Basin probes and curvature of an image diffusion model (docs/SCIENCE.md §5–6; paper
//! Figs. 4B and 5A), for any [`EpsilonModel`]: a bundle's UNet, the fused network, the ideal
//! denoiser.
//!
//! **Basin.** For a sample `x₀` (model scale, `[−1, 1]`) and each `t` of the grid
//! `1, 1 + stride, …` on the 1000-step schedule: `trials` noised copies
//! `x_t = √ᾱ_t x₀ + √(1 − ᾱ_t) ε_k`, each taken back to 0 by DDIM (η = 0, `sampler_steps`
//! steps, `x̂₀` clamped); a trial recovers when `d(x̂₀, x₀) ≤ δ`, `d` the L2 distance on the
//! `[0, 1]` pixel scale (`p/255`, the labels' scale). `P(t)` is the share recovered. The
//! trials' `ε_k` are drawn once and shared by every `t` (common random numbers), so `P(t)` is
//! one deterministic function of `t` that the linear scan and the bisection both read. `t_c` is
//! the largest grid `t` with `P ≥ 0.9` before the first failure (the authors' scan); the
//! radius is `r = ‖x_{t_c} − x₀‖` for a fresh draw of `ε`, the log-volume
//! `(d/2) log(π r²) − lgamma(d/2 + 1)` with `d` the data dimension.
//!
//! **Curvature.** The Jacobian of the score `s(x, t) = −ε̂(x, t)/√(1 − ᾱ_t)` at `x` by
//! central differences (`2d` network evaluations, batched), and its singular values.

use crate::unet::{EpsilonModel, ImageSampling, NoiseSource, SamplerConfig};
use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::schedules::DdpmSchedule;
use memgen_core::Matrix;
use serde::{Deserialize, Serialize};

pub use memgen_core::basin::Search;

/// The lab's recovery radius `δ` for a dataset (L2 on the `[0, 1]` pixel scale), measured by
/// `memgen probe --calibrate` (docs/SCIENCE.md §5); `None` where it has not been measured.
pub fn default_delta(dataset: &str) -> Option<f64> {
    // A third of the median distance from a training image to its nearest other one (first
    // 2,000 of the training split): MNIST 5.09, Fashion-MNIST 4.28. The MNIST model's floor
    // (K = 4096, 357k network: trials from t = 1 land 0.09 away, from t = 26 0.49) lies well
    // below it.
    match dataset {
        "mnist" => Some(1.70),
        "fashion-mnist" => Some(1.43),
        _ => None,
    }
}

/// Settings of a basin probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BasinSettings {
    /// Grid stride on the 1000-step schedule (paper's code: 25, grid 1, 26, 51, …).
    pub stride: usize,
    /// Trials per level (paper: 10).
    pub trials: usize,
    /// DDIM steps from `t` back to 0 (paper: 20).
    pub sampler_steps: usize,
    /// Recovery radius `δ` on the `[0, 1]` pixel scale (L2).
    pub delta: f64,
    /// `P` that counts as inside the basin (paper: 0.9).
    pub threshold: f64,
    /// Search.
    pub search: Search,
}

impl BasinSettings {
    /// The paper's procedure with the lab's `δ` for MNIST-like 28×28 data (docs/SCIENCE.md §5).
    pub fn paper(delta: f64) -> BasinSettings {
        BasinSettings {
            stride: 25,
            trials: memgen_core::basin::TRIALS,
            sampler_steps: 20,
            delta,
            threshold: memgen_core::basin::RECOVERY_THRESHOLD,
            search: Search::Linear,
        }
    }
    /// The grid of `t`, ascending.
    pub fn grid(&self) -> Vec<usize> {
        (1..1000).step_by(self.stride.max(1)).collect()
    }
    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=999).contains(&self.stride) || !(1..=1000).contains(&self.trials) || !(1..=1000).contains(&self.sampler_steps) {
            return Err("stride must lie in 1..=999, trials and sampler steps in 1..=1000".into());
        }
        if !(self.delta > 0.0 && self.delta.is_finite() && self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err("δ must be finite and > 0, the threshold in (0, 1]".into());
        }
        Ok(())
    }
}

/// One sample's basin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasinProbe {
    /// `(t, P(t))` of every level evaluated, ascending `t`.
    pub levels: Vec<(usize, f64)>,
    /// Critical time (`None`: the first level already fails).
    pub t_c: Option<usize>,
    /// `‖x_{t_c} − x₀‖` in model units (0 when there is no `t_c`).
    pub radius: f64,
    /// Log-volume of the `d`-ball of that radius (`−∞` when there is no `t_c`; `null` in JSON).
    #[serde(with = "neg_inf_as_null")]
    pub log_volume: f64,
}

/// JSON has no −∞: a log-volume without a basin is written as `null` and read back as −∞.
pub mod neg_inf_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// −∞ (or any non-finite value) as `null`, else the number.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else {
            s.serialize_none()
        }
    }

    /// `null` as −∞.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NEG_INFINITY))
    }
}

/// The recovered share at step `t` for shared trial noises `eps` (`[trials, d]`).
pub async fn recovery_at<M: EpsilonModel>(
    model: &M,
    x0: &[f32],
    eps: &[f32],
    t: usize,
    chw: [usize; 3],
    settings: &BasinSettings,
    device: &Device,
) -> Result<f64, String> {
    let dist = recovery_distances(model, x0, eps, t, chw, settings.sampler_steps, device).await?;
    Ok(dist.iter().filter(|d| **d <= settings.delta).count() as f64 / dist.len().max(1) as f64)
}

/// Each trial's `d(x̂₀, x₀)` (L2 on the `[0, 1]` pixel scale) at step `t` for shared trial
/// noises `eps` (`[trials, d]`): what `δ` is compared with.
pub async fn recovery_distances<M: EpsilonModel>(
    model: &M,
    x0: &[f32],
    eps: &[f32],
    t: usize,
    chw: [usize; 3],
    sampler_steps: usize,
    device: &Device,
) -> Result<Vec<f64>, String> {
    let (_, out) = recovery_trials(model, x0, eps, t, chw, sampler_steps, device).await?;
    Ok(out.chunks_exact(x0.len().max(1)).map(|y| pixel_distance(y, x0)).collect())
}

/// The trials at step `t`, all in one batch: their noised `x_t` and the DDIM (η = 0,
/// `sampler_steps`) `x̂₀` each goes back to, both `[trials, d]` on the model scale, for shared
/// trial noises `eps` (`[trials, d]`).
pub async fn recovery_trials<M: EpsilonModel>(
    model: &M,
    x0: &[f32],
    eps: &[f32],
    t: usize,
    chw: [usize; 3],
    sampler_steps: usize,
    device: &Device,
) -> Result<(Vec<f32>, Vec<f32>), String> {
    let d = x0.len();
    if d == 0 || d != chw.iter().product::<usize>() || !eps.len().is_multiple_of(d) || eps.is_empty() || !(1..1000).contains(&t) {
        return Err(format!("recovery_trials: an image of {chw:?} ({d} values), whole trials of noise ({}) and 1 ≤ t < 1000 (t = {t})", eps.len()));
    }
    let trials = eps.len() / d;
    let schedule = DdpmSchedule::paper();
    let mut xt = Vec::with_capacity(trials * d);
    for k in 0..trials {
        let mut x = x0.to_vec();
        schedule.forward(&mut x, t, &eps[k * d..(k + 1) * d]);
        xt.extend(x);
    }
    let [c, h, w] = chw;
    let x = Tensor::<4>::from_data(TensorData::new(xt.clone(), [trials, c, h, w]), device);
    // DDIM draws no noise: the stream is never read.
    let mut unused = memgen_core::spec::NoiseStream::new(0, 0);
    let mut s = ImageSampling::from_noised(model, SamplerConfig::ddim(sampler_steps), x, t, device, &mut unused);
    let n = s.total_steps();
    s.run_steps_synced(n).await?;
    Ok((xt, s.samples().await?))
}

/// L2 distance of two model-scale images on the `[0, 1]` pixel scale (half the model-scale
/// distance).
pub fn pixel_distance(a: &[f32], b: &[f32]) -> f64 {
    0.5 * a.iter().zip(b).map(|(x, y)| ((*x - *y) as f64).powi(2)).sum::<f64>().sqrt()
}

/// A level of a basin search, just read: what [`probe_basin`] reports after each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LevelRead {
    /// The level's step `t`.
    pub t: usize,
    /// Its `P(t)`.
    pub share: f64,
    /// Levels read so far, this one included.
    pub read: usize,
    /// Levels the search reads at most.
    pub most: usize,
}

/// Probes the basin of `x0` (`[C·H·W]`, model scale), each level's trials in one batch.
/// `noise` gives the trials' shared `ε` then the radius's fresh one; `progress` after every
/// level.
pub async fn probe_basin<M: EpsilonModel>(
    model: &M,
    x0: &[f32],
    chw: [usize; 3],
    settings: &BasinSettings,
    device: &Device,
    noise: &mut impl NoiseSource,
    mut progress: impl FnMut(LevelRead),
) -> Result<BasinProbe, String> {
    settings.validate()?;
    let d = x0.len();
    if d != chw.iter().product::<usize>() || d == 0 {
        return Err(format!("an image of {d} values is not {chw:?}"));
    }
    let grid = settings.grid();
    let eps = trial_noise(settings.trials, d, noise);
    let mut search = memgen_core::basin::GridSearch::new(settings.search, grid.len(), settings.threshold);
    while let Some(i) = search.next() {
        let p = recovery_at(model, x0, &eps, grid[i], chw, settings, device).await?;
        search.record(i, p);
        progress(LevelRead { t: grid[i], share: p, read: search.levels().len(), most: search.most() });
    }
    let levels: Vec<(usize, f64)> = search.levels().into_iter().map(|(i, p)| (grid[i], p)).collect();
    let t_c = search.t_c().map(|i| grid[i]);
    let (radius, log_volume) = basin_radius(x0, t_c, noise)?;
    Ok(BasinProbe { levels, t_c, radius, log_volume })
}

/// The radius `‖x_{t_c} − x₀‖` (a fresh `ε` from `noise`) and log-volume of a basin with
/// critical step `t_c`; `(0, −∞)` without one.
pub fn basin_radius(x0: &[f32], t_c: Option<usize>, noise: &mut impl NoiseSource) -> Result<(f64, f64), String> {
    let d = x0.len();
    match t_c {
        Some(t) => {
            let fresh: Vec<f32> = (0..d).map(|_| noise.normal() as f32).collect();
            let mut x = x0.to_vec();
            DdpmSchedule::paper().forward(&mut x, t, &fresh);
            let r = x.iter().zip(x0).map(|(a, b)| ((*a - *b) as f64).powi(2)).sum::<f64>().sqrt();
            Ok((r, memgen_core::basin::log_ball_volume(d, r).map_err(|e| e.to_string())?))
        }
        None => Ok((0.0, f64::NEG_INFINITY)),
    }
}

/// The noise stream of gallery sample `index`'s probe: its trials' shared `ε` first, then the
/// radius's fresh one (what [`probe_sample`] and a probe in the tab both read).
pub fn sample_noise(settings: &ProbeSettings, index: usize) -> memgen_core::spec::NoiseStream {
    memgen_core::spec::NoiseStream::new(settings.seed, 1 << 20 | index as u64)
}

/// The trials' shared `ε` (`[trials, d]`) drawn from `noise`.
pub fn trial_noise(trials: usize, d: usize, noise: &mut impl NoiseSource) -> Vec<f32> {
    (0..trials * d).map(|_| noise.normal() as f32).collect()
}

/// The score Jacobian filled in a few columns at a time, so that a page can hand the event
/// loop back between network evaluations (and show progress, and stop) while the CLI runs it
/// in large batches: both compute the same columns from the same inputs.
pub struct ScoreJacobian {
    x: Vec<f32>,
    t: usize,
    chw: [usize; 3],
    h: f32,
    sigma: f64,
    jac: Vec<f32>,
    next: usize,
}

impl ScoreJacobian {
    /// The Jacobian at `x` (`[C·H·W]`, model scale), `t` and central-difference step `h`.
    pub fn new(x: &[f32], t: usize, chw: [usize; 3], h: f32) -> Result<ScoreJacobian, String> {
        let d = x.len();
        if d != chw.iter().product::<usize>() || d == 0 || !(h > 0.0 && h.is_finite()) || t >= 1000 {
            return Err(format!("score_jacobian: an image of {chw:?}, h > 0 and t < 1000 (got {d} values, h = {h}, t = {t})"));
        }
        let sigma = (1.0 - DdpmSchedule::paper().alpha_bars[t]).sqrt();
        Ok(ScoreJacobian { x: x.to_vec(), t, chw, h, sigma, jac: vec![0f32; d * d], next: 0 })
    }

    /// Columns done, of [`ScoreJacobian::columns`].
    pub fn done(&self) -> usize {
        self.next
    }

    /// The data dimension `d`: the columns in all.
    pub fn columns(&self) -> usize {
        self.x.len()
    }

    /// Whether every column is done.
    pub fn finished(&self) -> bool {
        self.next >= self.x.len()
    }

    /// The next `n` columns (at least one), `2n` network inputs in one batch.
    pub fn step<M: EpsilonModel>(&mut self, model: &M, n: usize, device: &Device) -> Result<(), String> {
        let Some((x, n)) = self.inputs(n, device) else { return Ok(()) };
        let e = model.epsilon(x, self.t).into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        self.absorb(&e, n)
    }

    /// [`step`](Self::step) with the network's output read back without blocking: what a
    /// browser needs on WebGPU, where a blocking read cannot happen (the same columns).
    pub async fn step_async<M: EpsilonModel>(&mut self, model: &M, n: usize, device: &Device) -> Result<(), String> {
        let Some((x, n)) = self.inputs(n, device) else { return Ok(()) };
        let e = model.epsilon(x, self.t).into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        self.absorb(&e, n)
    }

    /// The batch of the next `n` columns (inputs 2j: x + h e_j, 2j + 1: x − h e_j) and its
    /// column count; `None` when every column is done.
    fn inputs(&self, n: usize, device: &Device) -> Option<(Tensor<4>, usize)> {
        let d = self.x.len();
        let (j0, [c, hh, ww]) = (self.next, self.chw);
        let n = n.max(1).min(d - j0);
        if n == 0 {
            return None;
        }
        let mut xs = Vec::with_capacity(2 * n * d);
        for j in j0..j0 + n {
            for sign in [1.0f32, -1.0] {
                let mut v = self.x.clone();
                v[j] += sign * self.h;
                xs.extend(v);
            }
        }
        Some((Tensor::<4>::from_data(TensorData::new(xs, [2 * n, c, hh, ww]), device), n))
    }

    /// Writes columns `next … next + n` from the network's `ε̂` of [`inputs`](Self::inputs).
    fn absorb(&mut self, e: &[f32], n: usize) -> Result<(), String> {
        let (d, j0) = (self.x.len(), self.next);
        if e.len() != 2 * n * d {
            return Err(format!("score_jacobian: the network gave {} values for {} inputs of {d}", e.len(), 2 * n));
        }
        for (jj, j) in (j0..j0 + n).enumerate() {
            let (plus, minus) = (&e[2 * jj * d..(2 * jj + 1) * d], &e[(2 * jj + 1) * d..(2 * jj + 2) * d]);
            for i in 0..d {
                self.jac[i * d + j] = (-((plus[i] - minus[i]) as f64) / (2.0 * self.h as f64 * self.sigma)) as f32;
            }
        }
        self.next = j0 + n;
        Ok(())
    }

    /// The finished `d × d` matrix (row `i`: output, column `j`: input).
    pub fn matrix(self) -> Result<Matrix, String> {
        if !self.finished() {
            return Err(format!("score_jacobian: {} of {} columns done", self.next, self.x.len()));
        }
        let d = self.x.len();
        Matrix::new(self.jac, d, d).map_err(|e| e.to_string())
    }
}

/// The Jacobian `∂s_i/∂x_j` of the score `s(x, t) = −ε̂(x, t)/√(1 − ᾱ_t)` at `x` (`[C·H·W]`,
/// model scale), by central differences of step `h`, `batch` network inputs at a time: a
/// `d × d` matrix (row `i`: output, column `j`: input).
pub fn score_jacobian<M: EpsilonModel>(model: &M, x: &[f32], t: usize, chw: [usize; 3], h: f32, batch: usize, device: &Device) -> Result<Matrix, String> {
    let mut jac = ScoreJacobian::new(x, t, chw, h)?;
    let per = (batch.max(2) / 2).max(1);
    while !jac.finished() {
        jac.step(model, per, device)?;
    }
    jac.matrix()
}

/// Singular values of the score Jacobian at `x`, descending: the curvature spectrum.
pub fn curvature_spectrum<M: EpsilonModel>(model: &M, x: &[f32], t: usize, chw: [usize; 3], h: f32, device: &Device) -> Result<Vec<f64>, String> {
    let j = score_jacobian(model, x, t, chw, h, 256, device)?;
    memgen_core::basin::singular_values(&j).map_err(|e| e.to_string())
}

/// Format tag of a per-K probe file (`probe-k<K>.json` beside a bundle's gallery).
pub const PROBE_FORMAT: &str = "memgen-probe/1";

/// Settings of a bundle probe: the basin procedure and the curvature's `t` and step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeSettings {
    /// The basin probe.
    pub basin: BasinSettings,
    /// `t` of the score Jacobian (small: the energy's curvature near the data).
    pub curvature_t: usize,
    /// Central-difference step on the model scale.
    pub curvature_h: f32,
    /// Seed of the trials' noise (each sample draws from its own stream, its gallery index).
    pub seed: u64,
    /// The ranks (1-based, increasing) whose singular values each sample's file keeps: the
    /// spectrum's quantiles, to keep a bundle small ([`spectrum_ranks`]); absent: every rank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spectrum_ranks: Option<Vec<usize>>,
}

/// `n` ranks of a `d`-value spectrum, 1-based and increasing, from 1 to `d`: points spaced
/// evenly on a log axis, each at least one above the last, so every rank where that spacing
/// would be finer than one rank (1 to about 200 of 784 for `n` = 256) and a constant ratio
/// from there on (about 2.4% for 256 of 784). Every rank when `n ≥ d`.
pub fn spectrum_ranks(d: usize, n: usize) -> Vec<usize> {
    match n {
        _ if n >= d => return (1..=d).collect(),
        0 => return Vec::new(),
        1 => return vec![1],
        _ => {}
    }
    let mut r = Vec::with_capacity(n);
    for i in 0..n {
        let at = ((d as f64).ln() * i as f64 / (n - 1) as f64).exp().round() as usize;
        let prev = r.last().copied().unwrap_or(0);
        r.push(at.max(prev + 1));
    }
    // Pushed past d by the +1 steps: pull the tail back under d.
    for i in (0..n).rev() {
        r[i] = r[i].min(d - (n - 1 - i));
    }
    r
}

impl ProbeSettings {
    /// The values of a full spectrum these settings keep.
    pub fn keep(&self, spectrum: &[f64]) -> Vec<f64> {
        match &self.spectrum_ranks {
            Some(r) => r.iter().filter_map(|&i| spectrum.get(i.wrapping_sub(1)).copied()).collect(),
            None => spectrum.to_vec(),
        }
    }

    /// The ranks of a stored spectrum of `len` values.
    pub fn ranks(&self, len: usize) -> Vec<usize> {
        match &self.spectrum_ranks {
            Some(r) if r.len() == len => r.clone(),
            _ => (1..=len).collect(),
        }
    }
}

/// One gallery sample's basin and spectrum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleProbe {
    /// Its index in `S_eval`.
    pub index: usize,
    /// Its label in the gallery.
    pub label: memgen_core::metrics::Label,
    /// The basin probe.
    pub basin: BasinProbe,
    /// Singular values of the score Jacobian, descending, as little-endian f16, base64: every
    /// rank, or those of [`ProbeSettings::spectrum_ranks`].
    pub spectrum_f16: String,
    /// The mean of all its singular values (every rank, before any were dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_singular_value: Option<f64>,
}

impl SampleProbe {
    /// A probed sample's record: its spectrum cut to the settings' ranks, its mean kept.
    pub fn new(index: usize, label: memgen_core::metrics::Label, basin: BasinProbe, spectrum: &[f64], settings: &ProbeSettings) -> SampleProbe {
        let mean = (!spectrum.is_empty()).then(|| spectrum.iter().sum::<f64>() / spectrum.len() as f64);
        SampleProbe { index, label, basin, spectrum_f16: encode_f16(&settings.keep(spectrum)), mean_singular_value: mean }
    }
}

/// The training points' spectra at one `K`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSpectra {
    /// Training points measured (the first of `S_K`).
    pub count: usize,
    /// Mean singular value by rank.
    pub mean: Vec<f32>,
    /// Their standard deviation by rank.
    pub sd: Vec<f32>,
}

/// One K's probe file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KProbe {
    /// [`PROBE_FORMAT`].
    pub format: String,
    /// Training-set size.
    pub k: usize,
    /// The settings.
    pub settings: ProbeSettings,
    /// SHA-256 of the weights probed.
    pub weights_sha256: String,
    /// Probed gallery samples, in gallery order.
    pub samples: Vec<SampleProbe>,
    /// The training points' spectra.
    pub train: Option<TrainSpectra>,
}

/// f16 little-endian base64 of `v`.
pub fn encode_f16(v: &[f64]) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = v.iter().flat_map(|x| half::f16::from_f64(*x).to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The values [`encode_f16`] wrote.
pub fn decode_f16(s: &str) -> Result<Vec<f32>, String> {
    use base64::Engine as _;
    let b = base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| format!("not base64: {e}"))?;
    if b.len() % 2 != 0 {
        return Err("an odd number of bytes for f16 values".into());
    }
    Ok(b.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect())
}

/// Mean and standard deviation by rank of equal-length spectra.
pub fn mean_spectrum(spectra: &[Vec<f64>]) -> TrainSpectra {
    let n = spectra.len();
    let d = spectra.first().map_or(0, Vec::len);
    let mut mean = vec![0f64; d];
    for s in spectra {
        for (m, v) in mean.iter_mut().zip(s) {
            *m += v / n as f64;
        }
    }
    let mut var = vec![0f64; d];
    for s in spectra {
        for ((q, v), m) in var.iter_mut().zip(s).zip(&mean) {
            *q += (v - m).powi(2) / (n.max(2) - 1) as f64;
        }
    }
    TrainSpectra { count: n, mean: mean.iter().map(|v| *v as f32).collect(), sd: var.iter().map(|v| v.sqrt() as f32).collect() }
}

/// One label's probes at one K, summarized with bootstrap 95% intervals of the means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelSummary {
    /// The label.
    pub label: memgen_core::metrics::Label,
    /// Samples probed with this label.
    pub count: usize,
    /// Of them, those with a basin (`t_c` found): log-volume is averaged over these only (a
    /// sample without a basin has log-volume −∞).
    pub with_basin: usize,
    /// Log-volume over the samples with a basin.
    pub log_volume: Option<memgen_core::metrics::Summary>,
    /// Critical time over the samples with a basin.
    pub t_c: Option<memgen_core::metrics::Summary>,
    /// Each sample's mean singular value over every rank (its spectrum's average stiffness),
    /// over all samples.
    pub mean_singular_value: Option<memgen_core::metrics::Summary>,
    /// Mean spectrum by rank.
    pub spectrum_mean: Vec<f32>,
    /// Its standard deviation by rank.
    pub spectrum_sd: Vec<f32>,
}

/// Per-label summaries of a K's probed samples (labels with no sample left out); `resamples`
/// bootstrap draws from `seed`. Spectra that do not decode are an error.
pub fn label_summaries(samples: &[SampleProbe], resamples: usize, seed: u64) -> Result<Vec<LabelSummary>, String> {
    use memgen_core::metrics::{bootstrap_mean, Label};
    let mut out = Vec::new();
    for label in [Label::Memorized, Label::Spurious, Label::Generalized] {
        let of: Vec<&SampleProbe> = samples.iter().filter(|s| s.label == label).collect();
        if of.is_empty() {
            continue;
        }
        let basins: Vec<&BasinProbe> = of.iter().map(|s| &s.basin).filter(|b| b.t_c.is_some() && b.log_volume.is_finite()).collect();
        let summary = |v: Vec<f64>| if v.is_empty() { Ok(None) } else { bootstrap_mean(&v, resamples, seed).map(Some).map_err(|e| e.to_string()) };
        let spectra: Vec<Vec<f64>> =
            of.iter().map(|s| decode_f16(&s.spectrum_f16).map(|v| v.into_iter().map(f64::from).collect())).collect::<Result<_, _>>()?;
        let mean_sv: Vec<f64> = of
            .iter()
            .zip(&spectra)
            .filter(|(_, s)| !s.is_empty())
            .map(|(p, s)| p.mean_singular_value.unwrap_or_else(|| s.iter().sum::<f64>() / s.len() as f64))
            .collect();
        let ms = mean_spectrum(&spectra);
        out.push(LabelSummary {
            label,
            count: of.len(),
            with_basin: basins.len(),
            log_volume: summary(basins.iter().map(|b| b.log_volume).collect())?,
            t_c: summary(basins.iter().filter_map(|b| b.t_c).map(|t| t as f64).collect())?,
            mean_singular_value: summary(mean_sv)?,
            spectrum_mean: ms.mean,
            spectrum_sd: ms.sd,
        });
    }
    Ok(out)
}

/// Probes one image: its basin (noise from stream `index` of `settings.seed`) and spectrum.
pub async fn probe_sample<M: EpsilonModel>(
    model: &M,
    x0: &[f32],
    chw: [usize; 3],
    index: usize,
    settings: &ProbeSettings,
    device: &Device,
) -> Result<(BasinProbe, Vec<f64>), String> {
    let mut noise = sample_noise(settings, index);
    let basin = probe_basin(model, x0, chw, &settings.basin, device, &mut noise, |_| {}).await?;
    let spectrum = curvature_spectrum(model, x0, settings.curvature_t, chw, settings.curvature_h, device)?;
    Ok((basin, spectrum))
}

/// What a point's probe works on: its first `n` gallery samples and the first training images
/// of its `S_K` (packed u8 of `hwc`, possibly none).
pub struct PointProbeInput<'a> {
    /// The point's gallery.
    pub gallery: &'a crate::bundle::Gallery,
    /// Gallery samples probed, from the first.
    pub samples: usize,
    /// Training images whose spectra are averaged (packed u8).
    pub train: &'a [u8],
    /// `[h, w, c]` of the images.
    pub hwc: [usize; 3],
    /// SHA-256 of the weights probed (recorded, so a later run can tell the work is done).
    pub weights_sha256: String,
}

/// Probes one point (docs/SCIENCE.md §5–6): the basin and spectrum of each of its first gallery
/// samples, and the mean spectrum of its first training points, with `model` (its EMA network).
/// Reports each item to `progress` and stops when it is cancelled. The one pipeline of
/// `memgen probe` (each K of a bundle); the page's live probe runs its steps one by one.
pub async fn probe_point<M: EpsilonModel, P: crate::experiment::Progress>(
    model: &M,
    k: usize,
    input: PointProbeInput<'_>,
    settings: &ProbeSettings,
    device: &Device,
    progress: &mut P,
) -> Result<KProbe, crate::experiment::ExperimentError> {
    let [h, w, c] = input.hwc;
    let (d, chw) = (h * w * c, [c, h, w]);
    let n = input.samples.min(input.gallery.samples.len());
    if d == 0 || !input.train.len().is_multiple_of(d) {
        return Err(format!("training images: {} bytes is not a whole number of {h}×{w}×{c} images", input.train.len()).into());
    }
    let total = n + input.train.len() / d;
    let mut samples = Vec::with_capacity(n);
    for (done, s) in input.gallery.samples.iter().take(n).enumerate() {
        progress.checkpoint().await?;
        let px = crate::bundle::decode_image(&s.image)?;
        if px.len() != d {
            return Err(format!("gallery K = {k}: a {}-pixel image, not {d}", px.len()).into());
        }
        let x0 = crate::unet::to_model(&px, h, w, c);
        let (basin, spectrum) = probe_sample(model, &x0, chw, s.index, settings, device).await.map_err(|e| format!("K = {k}, sample {}: {e}", s.index))?;
        samples.push(SampleProbe::new(s.index, s.label, basin, &spectrum, settings));
        progress.probing(done + 1, total);
    }
    let mut spectra = Vec::new();
    for img in input.train.chunks_exact(d) {
        progress.checkpoint().await?;
        let x0 = crate::unet::to_model(img, h, w, c);
        spectra.push(curvature_spectrum(model, &x0, settings.curvature_t, chw, settings.curvature_h, device).map_err(|e| format!("K = {k}: {e}"))?);
        progress.probing(n + spectra.len(), total);
    }
    let train = (!spectra.is_empty()).then(|| mean_spectrum(&spectra));
    Ok(KProbe { format: PROBE_FORMAT.into(), k, settings: settings.clone(), weights_sha256: input.weights_sha256, samples, train })
}

impl KProbe {
    /// This probe as `settings` would have made it, when it did the same work (the same weights,
    /// samples and training points) with the same settings, or with every rank of the spectra
    /// and otherwise the same (its spectra are then cut to the settings' ranks); `None` when
    /// the work must be done again; an error when its spectra are damaged.
    pub fn reused_for(
        mut self,
        weights_sha256: &str,
        samples: usize,
        train_points: usize,
        settings: &ProbeSettings,
        d: usize,
    ) -> Option<Result<KProbe, String>> {
        let same_work = self.weights_sha256 == weights_sha256 && self.samples.len() == samples && self.train.as_ref().map_or(0, |t| t.count) == train_points;
        let full = ProbeSettings { spectrum_ranks: None, ..settings.clone() };
        if !same_work || !(self.settings == *settings || (self.settings == full && settings.spectrum_ranks.is_some())) {
            return None;
        }
        if self.settings != *settings {
            for s in self.samples.iter_mut() {
                let spectrum: Vec<f64> = match decode_f16(&s.spectrum_f16) {
                    Ok(v) => v.into_iter().map(f64::from).collect(),
                    Err(e) => return Some(Err(e)),
                };
                if spectrum.len() != d {
                    return Some(Err(format!("sample {} has {} singular values, not {d}", s.index, spectrum.len())));
                }
                *s = SampleProbe::new(s.index, s.label, s.basin.clone(), &spectrum, settings);
            }
            self.settings = settings.clone();
        }
        Some(Ok(self))
    }
}
