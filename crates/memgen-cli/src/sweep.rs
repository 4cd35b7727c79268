//! `memgen sweep`: the paper's main measurement (Fig. 2 fractions, Figs. 1, 3–5 galleries) over a
//! list of training-set sizes `K`, natively, written as a result bundle; `memgen merge` (see
//! [`crate::bundle`]) joins the bundles of shards.
//!
//! This file only turns the flags into a typed [`SweepConfig`], loads the dataset and draws each
//! `S_K` (the first `K` of the seeded permutation of the full training split, nested in `K`; =
//! `memgen export`), and writes the bundle: the point itself (train → sample `S_eval` and `S′`
//! → label → gallery) is `memgen_models::sweep::run_point`, the code the page runs too. Every
//! random choice of point `K` comes from its seed `sweep_point_seed(seed, K)`, so merged shards
//! equal one run.

use crate::bundle;
use crate::data::{self, ExportDataset};
use crate::CliError;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use memgen_core::metrics::{self, Dataset, Rule};
use memgen_data::DatasetId;
use memgen_models::bundle::{Bundle, Shard};
use memgen_models::experiment::{ExperimentError, Progress};
use memgen_models::model::{Engine, ModelSpec, UNetSpec};
use memgen_models::presets::Preset;
use memgen_models::sweep::{run_point, PointData, PointModel, SweepConfig, SweepData};
use memgen_models::unet::snapshot::WeightsDtype;
use memgen_models::unet::{LrSchedule, SamplerConfig, SamplerKind, StepsByK, UNetConfig};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

/// Which model generates the samples.
/// `--lr-schedule`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LrScheduleArg {
    Constant,
    Cosine,
}

/// `--mult 1,2,2`: one to three channel multiples of 1 to 16.
fn parse_mult(v: &str) -> Result<[usize; 3], String> {
    let parts: Vec<usize> = v.split(',').map(|p| p.trim().parse::<usize>().map_err(|_| format!("{p:?} is not a whole number"))).collect::<Result<_, _>>()?;
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|&m| m == 0 || m > 16) {
        return Err("one to three multiples of 1 to 16, e.g. 1,2,2".into());
    }
    let mut m = [0; 3];
    m[..parts.len()].copy_from_slice(&parts);
    Ok(m)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelArg {
    /// The small UNet DDPM, trained on S_K
    Unet,
    /// The ideal empirical denoiser of S_K (training-free; memorizes by construction)
    Ideal,
}

/// `--preset`: one of [`Preset`]'s named sets of defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PresetArg {
    /// memgen sweep's defaults: a first look in minutes
    Quick,
    /// the shipped bundle's settings (scripts/make-bundle.sh)
    Bundle,
    /// a point run in a browser tab
    Tab,
    /// the paper's training and sampling protocol, on the lab's network
    Paper,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::Quick => Preset::Quick,
            PresetArg::Bundle => Preset::Bundle,
            PresetArg::Tab => Preset::Tab,
            PresetArg::Paper => Preset::Paper,
        }
    }
}

/// Sampler choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SamplerArg {
    /// DDPM ancestral (respaced when --sampler-steps < 1000)
    Ddpm,
    /// DDIM, η = 0
    Ddim,
}

/// Native backend for the sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceArg {
    /// burn's flex CPU backend (multi-threaded, pure Rust)
    Cpu,
    /// burn's wgpu backend (a GPU; lavapipe where there is none); needs a build with `--features gpu`
    Wgpu,
}

/// How the UNet is trained and sampled on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineArg {
    /// burn's autodiff and modules on --device
    Burn,
    /// the fused CPU trainer and forward pass (memgen-models unet::fused): the same network,
    /// batches, clipping, Adam and EMA, about 5× faster than burn on a CPU; --device cpu only
    Fused,
}

/// How a sweep keeps each K's EMA weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsArg {
    /// 4 bytes a value
    F32,
    /// 2 bytes a value (rounded before sampling)
    F16,
}

/// Everything `memgen sweep` was asked to do (its flags).
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Dataset
    #[arg(long, value_enum)]
    pub dataset: ExportDataset,
    /// Training-set sizes K, comma separated (each ≥ 2, no repeats)
    #[arg(long, value_delimiter = ',', num_args = 1.., required = true)]
    pub ks: Vec<usize>,
    /// Run only shard i of n (0-based): every n-th K of the sorted list, from the i-th
    #[arg(long)]
    pub shard: Option<String>,
    /// Named defaults of every setting below (memgen_models::presets): quick (a first look),
    /// bundle (the shipped bundle's settings), tab (a point in a browser tab), paper (the
    /// paper's training and sampling protocol on the lab's network); a flag overrides its
    /// preset's value
    #[arg(long, value_enum, default_value = "quick")]
    pub preset: PresetArg,
    /// Model
    #[arg(long, value_enum, default_value = "unet")]
    pub model: ModelArg,
    /// UNet training steps per K (the most, with --epochs-per-k) [default: the preset's; quick 2000]
    #[arg(long)]
    pub steps: Option<usize>,
    /// UNet training batch [default: the preset's; quick 64]
    #[arg(long)]
    pub batch: Option<usize>,
    /// UNet Adam learning rate [default: the preset's; quick 1e-3]
    #[arg(long)]
    pub lr: Option<f64>,
    /// UNet base width (16: 94k parameters at 28×28 grey with two levels; 32: 374k) [default: 16]
    #[arg(long)]
    pub base_channels: Option<usize>,
    /// UNet channel multiples per resolution level, comma-separated: 1,2 (two levels) or three
    /// for a 7×7 level at 28×28, e.g. 1,2,4 (357k parameters at base 16) [default: the
    /// preset's; quick 1,2]
    #[arg(long, value_parser = parse_mult)]
    pub mult: Option<[usize; 3]>,
    /// UNet learning-rate schedule: constant (the paper), or cosine (linear warm-up over
    /// --warmup steps, then a half cosine down to --lr-floor × lr) [default: the preset's;
    /// quick constant]
    #[arg(long, value_enum)]
    pub lr_schedule: Option<LrScheduleArg>,
    /// Warm-up steps of --lr-schedule cosine [default: the preset's; quick 500]
    #[arg(long)]
    pub warmup: Option<usize>,
    /// Last learning rate of --lr-schedule cosine, as a multiple of --lr [default: 0.05]
    #[arg(long)]
    pub lr_floor: Option<f64>,
    /// Steps that depend on K: ⌈E·K/batch⌉ steps (E passes over S_K), at least --min-steps and
    /// at most --steps; every point records its steps; 0 = --steps at every K [default: the
    /// preset's; quick 0]
    #[arg(long)]
    pub epochs_per_k: Option<f64>,
    /// Fewest steps of a K with --epochs-per-k [default: the preset's; quick 1000]
    #[arg(long)]
    pub min_steps: Option<usize>,
    /// |S_eval| (paper: 10,000) [default: the preset's; quick 1000]
    #[arg(long)]
    pub eval: Option<usize>,
    /// |S'| / K [default: 4 grey, 16 colour (paper)]
    #[arg(long)]
    pub sprime_mult: Option<usize>,
    /// Sampler [default: the preset's; quick ddim]
    #[arg(long, value_enum)]
    pub sampler: Option<SamplerArg>,
    /// Sampler steps, 1..=1000 [default: the preset's for its sampler (quick: ddim 100), 1000 for ddpm]
    #[arg(long)]
    pub sampler_steps: Option<usize>,
    /// Do not clamp the predicted clean image x̂_0 to [−1, 1] at each sampler step (the
    /// default clamps, as Ho et al.'s and the guided-diffusion samplers do)
    #[arg(long)]
    pub no_clip: bool,
    /// Images per sampling batch (results depend on it: keep it fixed within a sweep) [default: 256]
    #[arg(long)]
    pub sample_batch: Option<usize>,
    /// Bootstrap resamples (paper: 10,000) [default: 10,000]
    #[arg(long)]
    pub bootstrap: Option<usize>,
    /// δ_m [default: 1/3]
    #[arg(long)]
    pub delta_m: Option<f64>,
    /// δ_s [default: mnist 0.28, fashion-mnist 0.30, emoji 0.175 (CIFAR-10's)]
    #[arg(long)]
    pub delta_s: Option<f64>,
    /// Samples per gallery file (0 = all of S_eval) [default: the preset's; quick 0]
    #[arg(long)]
    pub gallery: Option<usize>,
    /// Also write S_eval and S' of each K as uint8 .npy (samples-k<K>-eval.npy, -synthetic.npy)
    #[arg(long)]
    pub save_samples: bool,
    /// How each K's EMA weights are kept: f32, or f16 (half the file; S_eval and S' are then
    /// sampled from the f16 weights, so a page that reads the file makes the same images)
    /// [default: the preset's; quick f32]
    #[arg(long, value_enum)]
    pub weights_dtype: Option<WeightsArg>,
    /// Seed of S_K and of every random choice
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder of the bundle
    #[arg(long)]
    pub out: PathBuf,
    /// Backend
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// How the UNet trains and samples on the CPU (fused: about 5× faster than burn) [default:
    /// the preset's; quick burn]
    #[arg(long, value_enum)]
    pub engine: Option<EngineArg>,
    /// Folder holding datasets.json and the packed .mgds files
    #[arg(long, default_value = "www/data")]
    pub data_dir: PathBuf,
    /// Reference classifier of sample quality (MNIST, Fashion-MNIST) [default:
    /// DATA_DIR/<dataset>-refnet.safetensors when it exists]: each point's S_eval is measured
    /// (`memgen quality`) and the figures go into the manifest
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Do not measure sample quality
    #[arg(long, conflicts_with = "classifier")]
    pub no_quality: bool,
    /// Training time as a second axis: measure each point at N times of its training, at
    /// steps/2^(N−1), …, steps/4, steps/2 and all its steps (fused engine; 0 = not) [default:
    /// the preset's; quick 0]
    #[arg(long)]
    pub timeline: Option<usize>,
    /// Keep the fused run of the K in training every N steps in OUT/checkpoint-k<K>/ (its
    /// weights, EMA, Adam moments, losses and --timeline points so far); a sweep started again
    /// with the same flags goes on from there, with the same result as one uninterrupted run
    /// (0 = never) [default: the preset's; quick 0]
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Stop the sweep once the checkpoint at this step is kept (tests of resuming)
    #[arg(long, hide = true, requires = "checkpoint_every")]
    pub stop_after: Option<usize>,
    /// |S_eval| at each time of --timeline (the first samples of the point's S_eval noise) [default: 64]
    #[arg(long)]
    pub timeline_eval: Option<usize>,
    /// |S′| at each time of --timeline (capped at the point's |S′|; fewer make the spurious
    /// fraction a lower estimate) [default: 256]
    #[arg(long)]
    pub timeline_synthetic: Option<usize>,
}

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

/// Parses `i/n` (0-based shard `i` of `n`).
pub fn parse_shard(s: &str) -> Result<(usize, usize), CliError> {
    let bad = || input(format!("--shard {s:?}: expected i/n with 0 ≤ i < n (0-based shard index i of n shards)"));
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The K values shard `i` of `n` runs: every `n`-th of the sorted list starting at `i`
/// (round-robin, so each shard gets small and large K alike).
pub fn shard_ks(sorted: &[usize], shard: Option<(usize, usize)>) -> Vec<usize> {
    match shard {
        None => sorted.to_vec(),
        Some((i, n)) => sorted.iter().enumerate().filter(|(j, _)| j % n == i).map(|(_, k)| *k).collect(),
    }
}

/// The sampler of `--sampler`, `--sampler-steps` (default 1000 for DDPM, `ddim_steps` for
/// DDIM) and `--no-clip`; steps outside 1..=1000 are an error.
pub(crate) fn sampler_config(arg: SamplerArg, steps: Option<usize>, no_clip: bool, ddim_steps: usize) -> Result<SamplerConfig, CliError> {
    let (kind, default_steps) = match arg {
        SamplerArg::Ddpm => (SamplerKind::Ddpm, 1000),
        SamplerArg::Ddim => (SamplerKind::Ddim, ddim_steps),
    };
    let sampler = SamplerConfig { kind, steps: steps.unwrap_or(default_steps), clip: !no_clip };
    if !(1..=1000).contains(&sampler.steps) {
        return Err(input(format!("--sampler-steps {}: must lie in 1..=1000", sampler.steps)));
    }
    Ok(sampler)
}

/// The paper's dataset whose `δ_s` applies (emoji, a colour set, takes CIFAR-10's 0.175).
fn paper_dataset(d: ExportDataset) -> Dataset {
    let id = DatasetId::from(d);
    memgen_data::SetOrigin::BuiltIn(id).delta_s_dataset(if id == DatasetId::Emoji { 3 } else { 1 }).0
}

pub(crate) fn bar(len: u64, msg: String) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(ProgressStyle::with_template("{msg:>22} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}").expect("valid template").progress_chars("=> "));
    pb.set_message(msg);
    pb
}

/// Progress bars on stderr for one point (hidden when stderr is not a terminal).
struct Bars<'a> {
    clock: Instant,
    k: usize,
    bar: Option<ProgressBar>,
    /// Steps done at the last `training` call.
    done: usize,
    timeline: Option<Timeline<'a>>,
    checkpoint: Option<Checkpoint>,
}

/// Where `--checkpoint-every` keeps a K's fused run, and how often.
struct Checkpoint {
    dir: PathBuf,
    every: usize,
    seed: u64,
    error: Option<String>,
    /// `--stop-after`: stop once the checkpoint at this step is kept.
    stop_after: Option<usize>,
    stopped: bool,
}

/// What a checkpoint folder holds besides the run's snapshot.
#[derive(Serialize, serde::Deserialize)]
struct CheckpointState {
    losses: Vec<f32>,
    timeline: Vec<memgen_models::bundle::TimePoint>,
}

impl Checkpoint {
    const SNAPSHOT: &'static str = "run.safetensors";
    const STATE: &'static str = "state.json";

    /// Writes the run and `state` (to temporary names first, so a kill leaves the last whole
    /// checkpoint).
    fn save(&mut self, run: &memgen_models::unet::fused::FusedUNetTraining, state: &CheckpointState) {
        let go = || -> Result<(), String> {
            std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
            let snap = run.snapshot(self.seed)?;
            let json = serde_json::to_vec(state).map_err(|e| e.to_string())?;
            for (name, bytes) in [(Self::SNAPSHOT, &snap), (Self::STATE, &json)] {
                let tmp = self.dir.join(format!("{name}.tmp"));
                std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
            }
            // The state first: a snapshot newer than its state would be refused on resume.
            for name in [Self::STATE, Self::SNAPSHOT] {
                std::fs::rename(self.dir.join(format!("{name}.tmp")), self.dir.join(name)).map_err(|e| e.to_string())?;
            }
            Ok(())
        };
        if let Err(e) = go() {
            self.error = Some(e);
        }
    }

    /// The kept run, if any: its snapshot and state.
    fn load(&self) -> Option<(Vec<u8>, CheckpointState)> {
        let snap = std::fs::read(self.dir.join(Self::SNAPSHOT)).ok()?;
        let state = serde_json::from_slice(&std::fs::read(self.dir.join(Self::STATE)).ok()?).ok()?;
        Some((snap, state))
    }
}

/// What `--timeline` measures along a fused run, and what it found.
struct Timeline<'a> {
    config: memgen_models::point::PointConfig,
    pixels: &'a [u8],
    indices: &'a [usize],
    hwc: [usize; 3],
    device: &'a Device,
    quality: Option<&'a (memgen_models::refnet::QualityReference, String)>,
    /// Steps to measure at, ascending (the last is the run's end).
    marks: Vec<usize>,
    n_eval: usize,
    n_synthetic: usize,
    points: Vec<memgen_models::bundle::TimePoint>,
    error: Option<String>,
}

/// The steps `--timeline n` measures at: `steps/2^(n−1)`, …, `steps/2`, `steps` (at least 1,
/// no repeats).
fn timeline_marks(steps: usize, n: usize) -> Vec<usize> {
    let mut m: Vec<usize> = (0..n).rev().map(|j| (steps >> j.min(63)).max(1)).collect();
    m.dedup();
    m
}

/// Progress of a measurement inside a point: silent.
struct Quiet;
impl Progress for Quiet {
    fn now_s(&self) -> f64 {
        0.0
    }
    async fn checkpoint(&mut self) -> Result<(), ExperimentError> {
        Ok(())
    }
}

impl Timeline<'_> {
    fn measure(&mut self, run: &memgen_models::unet::fused::FusedUNetTraining) {
        let steps = run.steps_done();
        if self.error.is_some() || !self.marks.contains(&steps) {
            return;
        }
        let data = PointData { pixels: self.pixels, indices: self.indices, hwc: self.hwc };
        let model = run.ema_fused();
        let got =
            pollster::block_on(memgen_models::sweep::time_point(&self.config, &data, &model, steps, self.n_eval, self.n_synthetic, self.device, &mut Quiet));
        match got {
            Ok((mut tp, eval)) => {
                if let Some((r, _)) = self.quality {
                    match r.measure(&r.net().packed_input(&eval)) {
                        Ok(q) => tp.quality = Some(q),
                        Err(e) => self.error = Some(e),
                    }
                }
                self.points.push(tp);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }
}

impl Bars<'_> {
    fn show(&mut self, what: &str, len: usize, pos: usize) {
        let msg = format!("K={} {what}", self.k);
        if self.bar.as_ref().is_none_or(|b| b.message() != msg) {
            if let Some(b) = self.bar.take() {
                b.finish_and_clear();
            }
            self.bar = Some(bar(len as u64, msg));
        }
        if let Some(b) = &self.bar {
            b.set_position(pos as u64);
        }
    }
}

impl Progress for Bars<'_> {
    fn now_s(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }
    async fn checkpoint(&mut self) -> Result<(), ExperimentError> {
        match &self.checkpoint {
            Some(c) if c.stopped => Err(ExperimentError::Failed(format!("stopped after keeping the checkpoint at step {} (--stop-after)", self.done))),
            _ => Ok(()),
        }
    }
    fn chunk_done(&mut self, steps: usize) -> bool {
        // A chunk ends at each --timeline mark and checkpoint, so they fall on exactly that step.
        let at = self.done + steps;
        steps >= 25
            || self.timeline.as_ref().is_some_and(|t| t.marks.contains(&at))
            || self.checkpoint.as_ref().is_some_and(|c| c.every > 0 && at.is_multiple_of(c.every))
    }
    fn training(&mut self, done: usize, total: usize, _losses: &[f32]) {
        self.done = done;
        self.show("train", total, done);
    }
    fn fused_run(&mut self, run: &memgen_models::unet::fused::FusedUNetTraining, losses: &[f32]) {
        if let Some((n, at)) = self.timeline.as_ref().filter(|t| t.marks.contains(&run.steps_done())).map(|t| (t.marks.len(), t.points.len())) {
            self.show("measure along training", n, at);
            if let Some(t) = &mut self.timeline {
                t.measure(run);
            }
        }
        let due = self.checkpoint.as_ref().is_some_and(|c| c.every > 0 && run.steps_done().is_multiple_of(c.every) && !run.finished());
        if due {
            let timeline = self.timeline.as_ref().map(|t| t.points.clone()).unwrap_or_default();
            if let Some(c) = &mut self.checkpoint {
                c.save(run, &CheckpointState { losses: losses.to_vec(), timeline });
                c.stopped = c.stop_after == Some(run.steps_done());
            }
        }
    }
    fn resume_refused(&mut self, why: &str) {
        eprintln!("K={}: the kept checkpoint was not used ({why}); training from step 0", self.k);
        if let Some(t) = &mut self.timeline {
            t.points.clear();
        }
    }
    fn sampling(&mut self, done: usize, total: usize) {
        self.show("sample", total, done);
    }
    fn labelling(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

/// The settings of a sweep that are not part of its result: how often it keeps its run and
/// measures along training (`--timeline`, `--checkpoint-every`), from the flags or the preset.
struct RunSettings {
    /// Whether the model is a UNet on the fused engine (the only run these apply to).
    fused: bool,
    timeline: usize,
    timeline_eval: usize,
    timeline_synthetic: usize,
    checkpoint_every: usize,
}

/// The typed sweep `memgen sweep`'s flags ask for (each flag given, else its preset's value),
/// and the dataset it reads.
fn config(a: &SweepArgs) -> Result<(SweepConfig, RunSettings, memgen_data::PackedDataset), CliError> {
    let d = Preset::from(a.preset).defaults();
    let mut ks = a.ks.clone();
    ks.sort_unstable();
    if let Some(w) = ks.windows(2).find(|w| w[0] == w[1]) {
        return Err(input(format!("--ks: K = {} appears twice", w[0])));
    }
    let engine = match a.engine {
        Some(EngineArg::Fused) => Engine::FUSED,
        Some(EngineArg::Burn) => Engine::Burn,
        None => d.engine,
    };
    if a.model == ModelArg::Unet && matches!(engine, Engine::Fused { .. }) && a.device != DeviceArg::Cpu {
        return Err(input("--engine fused runs on the CPU: use it with --device cpu (or --engine burn)"));
    }
    let n_eval = a.eval.unwrap_or(d.n_eval);
    if n_eval == 0 {
        return Err(input("--eval must be at least 1"));
    }
    let colour = matches!(a.dataset, ExportDataset::Emoji);
    let sprime_mult = a.sprime_mult.unwrap_or(d.sprime_mult(if colour { 3 } else { 1 }));
    if sprime_mult == 0 {
        return Err(input("--sprime-mult must be at least 1"));
    }
    // The preset's sampler unless one is named; a named DDIM without steps takes the preset's
    // DDIM steps (else 100), DDPM 1000.
    let preset_ddim = d.sampler.kind == SamplerKind::Ddim;
    let arg = a.sampler.unwrap_or(if preset_ddim { SamplerArg::Ddim } else { SamplerArg::Ddpm });
    let sampler = sampler_config(arg, a.sampler_steps, a.no_clip, if preset_ddim { d.sampler.steps } else { 100 })?;
    let paper = paper_dataset(a.dataset);
    let rule = Rule::Ratio { delta_m: a.delta_m.unwrap_or(metrics::DELTA_M), delta_s: a.delta_s.unwrap_or(paper.delta_s()) };
    rule.validate()?;
    let id = DatasetId::from(a.dataset);
    let m = data::manifest(&a.data_dir)?;
    let entry = m.full_train(id).ok_or_else(|| input(format!("dataset {id} has no training split in {}", a.data_dir.display())))?;
    let ds = data::load_entry(&a.data_dir, entry)?;
    if let Some(k) = ks.iter().find(|k| **k > ds.len()) {
        return Err(input(format!("--ks: K = {k} is larger than the {} images of {}", ds.len(), entry.file)));
    }
    let hwc = [ds.height(), ds.width(), ds.channels()];
    let model = match a.model {
        ModelArg::Unet => {
            let net =
                UNetConfig { base_channels: a.base_channels.unwrap_or(d.base_channels), mult: a.mult.unwrap_or(d.mult), ..d.net([hwc[0], hwc[1], hwc[2]]) };
            net.validate()?;
            let mut cfg = d.training(net);
            cfg.steps = a.steps.unwrap_or(cfg.steps);
            cfg.batch = a.batch.unwrap_or(cfg.batch);
            cfg.lr = a.lr.unwrap_or(cfg.lr);
            if cfg.steps == 0 || cfg.batch == 0 || !(cfg.lr > 0.0 && cfg.lr.is_finite()) {
                return Err(input("--steps and --batch must be at least 1 and --lr finite and > 0"));
            }
            let floor = a.lr_floor.unwrap_or(d.cosine_floor);
            let warmup = a.warmup.unwrap_or(d.cosine_warmup);
            cfg.lr_schedule = match (a.lr_schedule, d.lr_schedule) {
                (Some(LrScheduleArg::Constant), _) | (None, LrSchedule::Constant) => LrSchedule::Constant,
                (Some(LrScheduleArg::Cosine), _) | (None, LrSchedule::Cosine { .. }) => {
                    if !(0.0..=1.0).contains(&floor) {
                        return Err(input("--lr-floor must be between 0 and 1"));
                    }
                    LrSchedule::Cosine { warmup: warmup.min(cfg.steps), floor }
                }
            };
            let min_steps = a.min_steps.unwrap_or(d.min_steps);
            cfg.steps_by_k = match a.epochs_per_k.or(d.steps_by_k.map(|r| r.epochs)) {
                Some(0.0) => None,
                Some(epochs) => {
                    if !(epochs > 0.0 && epochs.is_finite()) || min_steps == 0 {
                        return Err(input("--epochs-per-k must be finite and ≥ 0 and --min-steps at least 1"));
                    }
                    Some(StepsByK { epochs, min_steps, max_steps: cfg.steps })
                }
                None => None,
            };
            ModelSpec::Unet(UNetSpec { training: cfg, engine })
        }
        ModelArg::Ideal => ModelSpec::Ideal,
    };
    let config = SweepConfig {
        data: SweepData { name: id.as_str().into(), paper, file: entry.file.clone(), sha256: entry.sha256.clone(), hwc },
        ks,
        seed: a.seed,
        model,
        sampler,
        sample_batch: a.sample_batch.unwrap_or(d.sample_batch).max(1),
        n_eval,
        sprime_mult,
        rule,
        bootstrap: a.bootstrap.unwrap_or(d.bootstrap).max(1),
        gallery_samples: a.gallery.unwrap_or(d.gallery_samples),
        save_samples: a.save_samples,
        weights: match a.weights_dtype {
            Some(WeightsArg::F32) => WeightsDtype::F32,
            Some(WeightsArg::F16) => WeightsDtype::F16,
            None => d.weights,
        },
    };
    config.validate().map_err(|e| input(format!("--ks/--eval/…: {e}")))?;
    // A preset's timeline and checkpoints apply where they can (a fused UNet); asked for by a
    // flag elsewhere, they are an error (below).
    let fused = matches!(model, ModelSpec::Unet(UNetSpec { engine: Engine::Fused { .. }, .. }));
    let run = RunSettings {
        fused,
        timeline: a.timeline.unwrap_or(if fused { d.timeline } else { 0 }),
        timeline_eval: a.timeline_eval.unwrap_or(d.timeline_eval),
        timeline_synthetic: a.timeline_synthetic.unwrap_or(d.timeline_synthetic),
        checkpoint_every: a.checkpoint_every.unwrap_or(if fused { d.checkpoint_every } else { 0 }),
    };
    Ok((config, run, ds))
}

/// The quality reference a sweep measures with: `--classifier`, else the dataset's classifier
/// in the data folder when there is one (none for emoji or with `--no-quality`).
fn quality_reference(a: &SweepArgs) -> Result<Option<(memgen_models::refnet::QualityReference, String)>, CliError> {
    let id = DatasetId::from(a.dataset);
    if a.no_quality || !matches!(id, DatasetId::Mnist | DatasetId::FashionMnist) {
        return Ok(None);
    }
    let default = a.data_dir.join(crate::quality::refnet_file(id));
    if a.classifier.is_none() && !default.is_file() {
        return Ok(None);
    }
    crate::quality::reference(&a.data_dir, id, a.classifier.as_deref(), crate::quality::DEFAULT_REFERENCE).map(Some)
}

/// `memgen sweep`.
pub fn sweep(a: SweepArgs, command_line: Vec<String>) -> Result<Value, CliError> {
    let started = Instant::now();
    if a.ks.is_empty() {
        return Err(input("--ks: give at least one K"));
    }
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    let (config, run, ds) = config(&a)?;
    let fused = run.fused;
    if run.checkpoint_every > 0 && !fused {
        return Err(input("--checkpoint-every keeps a fused training run: use it with --model unet --engine fused"));
    }
    if run.timeline > 0 && !fused {
        return Err(input("--timeline measures a fused training run: use it with --model unet --engine fused"));
    }
    if run.timeline > 16 || run.timeline_eval == 0 {
        return Err(input("--timeline takes 0 to 16 times, and --timeline-eval at least 1 sample"));
    }
    #[allow(deprecated)]
    let device = match a.device {
        DeviceArg::Cpu => Device::flex(),
        DeviceArg::Wgpu => memgen_models::device::wgpu_device().map_err(input)?,
    };
    let backend = match (a.device, fused) {
        (DeviceArg::Cpu, true) => "cpu (fused trainer and forward pass)",
        (DeviceArg::Cpu, false) => "cpu (burn flex)",
        (DeviceArg::Wgpu, _) => "wgpu",
    };
    let hwc = config.data.hwc;
    let d = hwc.iter().product::<usize>();
    let mine = shard_ks(&config.ks, shard);
    std::fs::create_dir_all(&a.out).map_err(|e| input(format!("cannot create {}: {e}", a.out.display())))?;
    let quality = quality_reference(&a)?;
    let overall = bar(mine.len() as u64, "K values".into());
    let mut points = Vec::new();
    for &k in &mine {
        overall.set_message(format!("K={k}"));
        let idx = memgen_data::subset(ds.len(), k, a.seed).map_err(|e| input(e.to_string()))?;
        let pixels = ds.images_u8(&idx).map_err(|e| input(e.to_string()))?;
        let point = config.point(k);
        let timeline = (run.timeline > 0).then(|| Timeline {
            config: point,
            pixels: &pixels,
            indices: &idx,
            hwc,
            device: &device,
            quality: quality.as_ref(),
            marks: timeline_marks(point.model.training().map(|t| t.steps).unwrap_or(0), run.timeline),
            n_eval: run.timeline_eval,
            n_synthetic: run.timeline_synthetic,
            points: Vec::new(),
            error: None,
        });
        let checkpoint = (run.checkpoint_every > 0).then(|| Checkpoint {
            dir: a.out.join(format!("checkpoint-k{k}")),
            every: run.checkpoint_every,
            seed: point.seed,
            error: None,
            stop_after: a.stop_after,
            stopped: false,
        });
        let mut bars = Bars { clock: Instant::now(), k, bar: None, done: 0, timeline, checkpoint };
        // A kept run of this K goes on from its step (run_point checks that it fits).
        let resume = bars.checkpoint.as_ref().and_then(Checkpoint::load).map(|(snapshot, state)| {
            if let Some(t) = &mut bars.timeline {
                t.points = state.timeline;
            }
            bars.done = state.losses.len();
            eprintln!("K={k}: going on from the checkpoint at step {}", state.losses.len());
            memgen_models::sweep::Resume { snapshot, losses: state.losses }
        });
        let data = PointData { pixels: &pixels, indices: &idx, hwc };
        let mut out =
            pollster::block_on(run_point(&point, data, PointModel::Train { resume }, &device, &mut bars)).map_err(|e| input(format!("K={k}: {e}")))?;
        if let Some(e) = bars.checkpoint.as_ref().and_then(|c| c.error.clone()) {
            return Err(input(format!("K={k}: --checkpoint-every: {e}")));
        }
        let timeline = match bars.timeline.take() {
            Some(t) if t.error.is_some() => return Err(input(format!("K={k}: --timeline: {}", t.error.unwrap_or_default()))),
            Some(t) => t.points,
            None => Vec::new(),
        };
        bars.labelling();
        if a.save_samples {
            let shape = |n: usize| if hwc[2] == 1 { vec![n, hwc[0], hwc[1]] } else { vec![n, hwc[0], hwc[1], hwc[2]] };
            for (set, px) in [("eval", &out.eval), ("synthetic", &out.synthetic)] {
                let npy = memgen_data::npy::encode_u8(&shape(px.len() / d), px).map_err(|e| input(e.to_string()))?;
                let p = a.out.join(memgen_models::bundle::samples_file(k, set));
                std::fs::write(&p, npy).map_err(|e| input(format!("cannot write {}: {e}", p.display())))?;
            }
        }
        // The EMA weights the samples came from: the page regenerates and probes a point
        // from them without training.
        if let Some((name, bytes)) = out.weights_file().map_err(|e| input(format!("K={k}: {e}")))? {
            let p = a.out.join(&name);
            std::fs::write(&p, &bytes).map_err(|e| input(format!("cannot write {}: {e}", p.display())))?;
        }
        let timing = memgen_models::bundle::Timing { backend: backend.into(), ..out.timing };
        let mut record = out.record;
        record.timeline = timeline;
        if let Some((r, sha)) = &quality {
            record.quality = Some(crate::quality::point_quality(r, sha, &r.net().packed_input(&out.eval), "S_eval")?);
        }
        points.push((record, timing, out.gallery.to_bytes()));
        if let Some(c) = &bars.checkpoint {
            // The point is done and its files are below: the kept run is of no more use.
            let _ = std::fs::remove_dir_all(&c.dir);
        }
        overall.inc(1);
    }
    overall.finish_and_clear();
    let params = config.model.parameters();
    let mut b = Bundle::new(config.identity(), points, started.elapsed().as_secs_f64(), command_line);
    b.manifest.shard = shard.map(|(index, count)| Shard { index, count });
    bundle::write(&b, &a.out)?;
    let m = &b.manifest;
    Ok(json!({
        "out": a.out.display().to_string(),
        "k": mine,
        "model_parameters": params,
        "fractions": m.results.iter().map(|r| json!({"k": r.k, "memorized": r.fractions.memorized, "spurious": r.fractions.spurious, "generalized": r.fractions.generalized})).collect::<Vec<_>>(),
        "seconds": m.total_s,
    }))
}
