//! Points run in this tab: their settings, their typed phase, the handle through which the
//! library's point ([`memgen_models::sweep::run_point`], the code `memgen sweep` runs) reports
//! progress and hears pause and cancel, training on WebGPU in a worker, and the browser-storage
//! keys that let a reload go on where it stopped.

use leptos::prelude::*;
use memgen_core::spec::fnv1a64;
use memgen_models::bundle::{Bundle, Gallery, Timing};
use memgen_models::experiment::{ExperimentError, Progress};
use memgen_models::model::{Engine, ModelSpec, UNetSpec};
use memgen_models::point::PointConfig;
use memgen_models::presets::Preset;
use memgen_models::sweep::{run_point, PointData, PointModel, SweepConfig, SweepData};
use memgen_models::unet::fused::FusedUNetTraining;
use memgen_models::unet::{LrSchedule, SamplerConfig, UNetConfig};

use super::live_ctl::{LiveCtl, Phase, SNAPSHOT_EVERY_MS, TAKEN_OVER};
use super::live_worker::{train_in_worker, Lost};
use crate::browser::now_ms;
use crate::panels::datasets::SubsetK;
use crate::tabs::Claim;
use crate::widgets::time_left;

/// The browser-storage key of the sweep in progress.
pub const ACTIVE_SWEEP: &str = "memgen-sweep-active";
/// Browser-storage key prefix of a training run in progress (the rest is the point's key).
const TRAIN_SNAPSHOT_PREFIX: &str = "memgen-sweep-train:";
/// How long the tab computes before it hands the event loop back.
const SLICE_MS: f64 = 30.0;

/// The settings of a point run in this tab that the panel's inputs change (the rest of its
/// [`SweepConfig`] is the CLI's default or, for a re-run, the bundle's).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiveSettings {
    /// Training steps.
    pub steps: usize,
    /// Training batch.
    pub batch: usize,
    /// `|S_eval|`.
    pub eval: usize,
    /// `|S′| / K`.
    pub sprime_mult: usize,
    /// DDIM steps.
    pub sampler_steps: usize,
    /// Adam's learning rate.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// The UNet's base width.
    #[serde(default = "default_base")]
    pub base_channels: usize,
    /// GroupNorm groups.
    #[serde(default = "default_groups")]
    pub groups: usize,
    /// The UNet's channel multiples per level (`[1, 2, 0]`: two levels).
    #[serde(default = "default_mult")]
    pub mult: [usize; 3],
    /// The learning-rate schedule.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
}

const DEFAULT_LR: f64 = 1e-3;
const DEFAULT_BASE: usize = 16;
const DEFAULT_GROUPS: usize = 8;
fn default_lr() -> f64 {
    DEFAULT_LR
}
fn default_base() -> usize {
    DEFAULT_BASE
}
fn default_groups() -> usize {
    DEFAULT_GROUPS
}
fn default_mult() -> [usize; 3] {
    memgen_models::unet::TWO_LEVELS
}

impl Default for LiveSettings {
    /// The tab's preset ([`Preset::Tab`]): a point that takes a few minutes in a tab and, at a
    /// small K, begins to memorize, on the shipped bundle's network.
    fn default() -> Self {
        let d = Preset::Tab.defaults();
        LiveSettings {
            steps: d.steps,
            batch: d.batch,
            eval: d.n_eval,
            sprime_mult: d.sprime_mult_grey,
            sampler_steps: d.sampler.steps,
            lr: d.lr,
            base_channels: d.base_channels,
            groups: d.groups,
            mult: d.mult,
            lr_schedule: d.lr_schedule,
        }
    }
}

impl LiveSettings {
    /// The UNet these settings build for images of shape `hwc`.
    pub fn net(&self, [height, width, channels]: [usize; 3]) -> UNetConfig {
        UNetConfig { channels, height, width, base_channels: self.base_channels, groups: self.groups, mult: self.mult }
    }

    /// The sweep these settings run on `sub` (`S_K` and every seed from the Datasets panel's
    /// seed): the tab's preset with these settings, what `memgen sweep --preset tab` with the
    /// same flags runs.
    pub fn sweep(&self, sub: &SubsetK) -> SweepConfig {
        let (paper, _) = sub.origin.delta_s_dataset(sub.hwc[2]);
        let data = SweepData { name: sub.name().to_string(), paper, file: sub.file.clone(), sha256: sub.sha256.clone(), hwc: sub.hwc };
        let tab = Preset::Tab.defaults();
        let mut sweep = tab.sweep(data, vec![sub.k], sub.seed);
        let mut training = tab.training(self.net(sub.hwc));
        (training.steps, training.batch, training.lr) = (self.steps, self.batch, self.lr);
        // A warm-up longer than the run is the run (as `memgen sweep` clamps it).
        training.lr_schedule = match self.lr_schedule {
            LrSchedule::Cosine { warmup, floor } => LrSchedule::Cosine { warmup: warmup.min(self.steps), floor },
            LrSchedule::Constant => LrSchedule::Constant,
        };
        sweep.model = ModelSpec::Unet(UNetSpec { training, engine: Engine::FUSED });
        sweep.sampler = SamplerConfig::ddim(self.sampler_steps);
        (sweep.n_eval, sweep.sprime_mult) = (self.eval, self.sprime_mult);
        sweep
    }

    /// The panel's inputs for a bundle's sweep (for display; the run takes the whole config).
    pub fn of_sweep(c: &SweepConfig) -> Option<LiveSettings> {
        let t = c.model.training()?;
        Some(LiveSettings {
            steps: t.steps,
            batch: t.batch,
            eval: c.n_eval,
            sprime_mult: c.sprime_mult,
            sampler_steps: c.sampler.steps,
            lr: t.lr,
            base_channels: t.net.base_channels,
            groups: t.net.groups,
            mult: t.net.mult,
            lr_schedule: t.lr_schedule,
        })
    }
}

/// Storage key of one point: everything that decides its result.
pub fn point_key(sub: &SubsetK, point: &PointConfig) -> String {
    let settings = serde_json::to_vec(point).unwrap_or_default();
    format!("memgen-sweep-point:{}:{}:{}:{:016x}", sub.name(), sub.seed, sub.balanced, fnv1a64(&settings))
}

/// The page's handle on a running point: signals for progress, the generation for cancel,
/// browser storage for the fused run.
struct TabProgress {
    ctl: LiveCtl,
    gen: crate::job::Ticket,
    slice_t0: f64,
    /// Clock and step at the start of training (for steps/s).
    train_t0: Option<(f64, usize)>,
    sample_t0: Option<f64>,
    snap_key: String,
    saved_at: f64,
    seed: u64,
    /// This tab's claim on the run: renewed at every checkpoint, and the run stops when another
    /// tab has taken it over.
    claim: Claim,
    /// Where a resumed run's state came from, for the progress line.
    resumed_from: &'static str,
    /// Whether that state was refused (the run then trained from step 0).
    refused: bool,
}

/// Where a run resumed from the WebGPU worker's snapshot came from ([`TabProgress::resumed_from`]).
const FROM_WORKER: &str = "the worker's last snapshot";

impl Progress for TabProgress {
    fn now_s(&self) -> f64 {
        now_ms() / 1000.0
    }
    async fn checkpoint(&mut self) -> Result<(), ExperimentError> {
        self.ctl.checkpoint(self.gen).await?;
        if !self.claim.still_mine() {
            return Err(ExperimentError::Failed(TAKEN_OVER.into()));
        }
        self.slice_t0 = now_ms();
        Ok(())
    }
    fn chunk_done(&mut self, _steps: usize) -> bool {
        now_ms() - self.slice_t0 >= SLICE_MS
    }
    fn training(&mut self, done: usize, total: usize, losses: &[f32]) {
        let ctl = self.ctl;
        let (t0, start) = *self.train_t0.get_or_insert_with(|| {
            let start = done - losses.len();
            ctl.resumed_at.set(start);
            ctl.phase.set(Phase::Training);
            (now_ms(), start)
        });
        ctl.losses.update(|v| v.extend_from_slice(losses));
        let rate = (done - start) as f64 / ((now_ms() - t0) / 1000.0).max(1e-3);
        ctl.progress.set(done as f64 / total.max(1) as f64);
        let resumed = if start > 0 { format!(" (resumed at step {start} from {})", self.resumed_from) } else { String::new() };
        ctl.status.set(format!(
            "{}training step {done} / {total}{resumed} · {rate:.2} steps/s · {}",
            ctl.sweep_label.get_untracked(),
            time_left((total - done) as f64, rate)
        ));
    }
    fn fused_run(&mut self, run: &FusedUNetTraining, losses: &[f32]) {
        // Every few seconds, and at once when a pause is asked for (so what a pause holds is
        // kept too).
        let paused = self.ctl.paused.get_untracked() && self.ctl.saved_step.get_untracked() != run.steps_done();
        if run.finished() || (!paused && now_ms() - self.saved_at < SNAPSHOT_EVERY_MS) {
            return;
        }
        self.saved_at = now_ms();
        if let Ok(bytes) = run.snapshot(self.seed) {
            // Kept as bytes (crate::store); the write finishes while training goes on.
            let (ctl, key, step, rec) = (self.ctl, self.snap_key.clone(), run.steps_done(), crate::store::run_bytes(&bytes, losses));
            wasm_bindgen_futures::spawn_local(async move {
                match crate::store::put(&key, &rec).await {
                    Ok(()) => {
                        ctl.saved_step.set(step);
                        ctl.storage_note.set(None);
                    }
                    Err(e) => ctl.storage_note.set(Some(format!(
                        "This browser's storage did not keep the run at step {step} ({e}); it goes on in memory, but a reload would start it again (last kept: step {}).",
                        ctl.saved_step.get_untracked()
                    ))),
                }
            });
        }
    }
    fn resume_refused(&mut self, why: &str) {
        self.refused = true;
        crate::store::delete(&self.snap_key);
        self.ctl.losses.set(Vec::new());
        self.ctl.status.set(format!("The training state kept in {} could not be used ({why}); training from the start.", self.resumed_from));
        if self.resumed_from == FROM_WORKER {
            self.ctl.device_note.update(|n| {
                if let Some(n) = n {
                    *n = format!("{n} That snapshot could not be used ({why}): the point starts again from step 0.");
                }
            });
        }
    }
    fn sampling(&mut self, done: usize, total: usize) {
        let ctl = self.ctl;
        let t0 = *self.sample_t0.get_or_insert_with(|| {
            ctl.phase.set(Phase::Sampling);
            now_ms()
        });
        let rate = done as f64 / ((now_ms() - t0) / 1000.0).max(1e-3);
        ctl.progress.set(done as f64 / total.max(1) as f64);
        ctl.status.set(format!(
            "{}sampling: {done} / {total} network evaluations · {}",
            ctl.sweep_label.get_untracked(),
            time_left((total - done) as f64, rate)
        ));
    }
    fn labelling(&mut self) {
        self.ctl.phase.set(Phase::Labelling);
    }
}

/// What a point run in this tab leaves: its one-point bundle (the files `memgen sweep` writes
/// for it) and its gallery.
#[derive(Clone)]
pub struct LiveResult {
    pub bundle: Bundle,
    pub gallery: Gallery,
    /// Why sample quality was not measured (the labels stand without it).
    pub quality_error: Option<String>,
}

/// Runs point `sub.k` of `sweep` in this tab: trains on WebGPU in a worker when `gpu`, else with
/// the fused CPU trainer here (kept in browser storage as it goes), then the library samples,
/// labels and builds the gallery exactly as `memgen sweep` does.
///
/// The run is owned by this tab (`crate::tabs`): when another tab of this browser runs the same
/// point, this one does not start (`ctl.elsewhere` is set) unless `ctl.take_over` was set.
pub async fn run_live(sub: SubsetK, sweep: SweepConfig, gpu: bool, ctl: LiveCtl, gen: crate::job::Ticket) -> Result<LiveResult, ExperimentError> {
    sweep.validate().map_err(ExperimentError::Failed)?;
    let point = sweep.point(sub.k);
    let tc = *point.model.training().ok_or(ExperimentError::Failed("the tab trains UNet points".into()))?;
    let snap_key = point_key(&sub, &point).replacen("memgen-sweep-point:", TRAIN_SNAPSHOT_PREFIX, 1);
    let take_over = ctl.take_over.get_value();
    ctl.take_over.set_value(false);
    let mut claim = match Claim::new(&snap_key, take_over) {
        Ok(c) => c,
        Err(age_ms) => {
            ctl.elsewhere.set(true);
            return Err(ExperimentError::Failed(format!(
                "another tab of this browser is running this point (it said so {:.1} s ago); it goes on there. Take over to run it here from its last kept step",
                age_ms / 1000.0
            )));
        }
    };
    ctl.elsewhere.set(false);
    ctl.losses.set(Vec::new());
    ctl.phase.set(Phase::Training);
    let plain = memgen_models::device::LabDevice::cpu().device.inner();
    ctl.device_note.set(None);
    let lost = if gpu { Some(train_in_worker(&sub, tc, point.seed, ctl, gen, &plain, &mut claim).await?) } else { None };
    let gpu = matches!(lost, Some(Ok(_)));
    let mut resumed_from = "this browser's storage";
    // The steps trained in the worker before its device was lost, when the point went on here from its snapshot.
    let mut worker_steps = None;
    let model = match lost {
        Some(Ok((ema, losses))) => PointModel::Trained { ema: Box::new(ema), losses },
        Some(Err(Lost { why, resume: Some(resume) })) => {
            // The worker's last snapshot: the fused trainer goes on from its step here.
            let step = resume.losses.len();
            ctl.device_note.set(Some(format!(
                "{why}; this point goes on in this tab on the CPU from the worker's last snapshot, at step {step} (its weights and EMA; Adam's moments start again)."
            )));
            ctl.losses.set(resume.losses.clone());
            resumed_from = FROM_WORKER;
            worker_steps = Some(step);
            PointModel::Train { resume: Some(resume) }
        }
        lost => {
            if let Some(Err(Lost { why, resume: None })) = lost {
                ctl.device_note.set(Some(format!("{why}; this point starts again in this tab on the CPU (the worker had sent no snapshot yet).")));
                ctl.losses.set(Vec::new());
            }
            // A kept state that is corrupt (removed) or storage that cannot be read: said, and
            // the point trains from the start in memory.
            let resume = crate::store::read_run(&snap_key, "training state of this point").await.unwrap_or_else(|e| {
                ctl.status.set(e);
                None
            });
            if let Some(r) = &resume {
                ctl.losses.set(r.losses.clone());
            }
            PointModel::Train { resume }
        }
    };
    let mut progress = TabProgress {
        ctl,
        gen,
        slice_t0: now_ms(),
        train_t0: None,
        sample_t0: None,
        snap_key: snap_key.clone(),
        saved_at: now_ms(),
        seed: point.seed,
        claim,
        resumed_from,
        refused: false,
    };
    let data = PointData { pixels: &sub.pixels, indices: &sub.indices, hwc: sub.hwc };
    let out = run_point(&point, data, model, &plain, &mut progress).await;
    // Finished, failed or cancelled: the kept run is of no more use (a reload keeps it), unless
    // another tab took it over and goes on from it.
    if !matches!(&out, Err(ExperimentError::Failed(m)) if m == TAKEN_OVER) {
        crate::store::delete(&snap_key);
    }
    let mut out = out?;
    // The EMA weights the samples came from, named in the point's record: the tab's bundle
    // carries them as `memgen sweep`'s does, so its point can be regenerated and probed.
    let weights = out.weights_file()?;
    // Quality beside the labels (the datasets with a reference classifier): a failure to load
    // the classifier is said, and the labels stand.
    let mut record = out.record;
    let mut quality_error = None;
    if let Some(id) = crate::quality::has_classifier(&sweep.data.name) {
        ctl.phase.set(Phase::Measuring);
        ctl.checkpoint(gen).await?;
        match crate::quality::measure(id, &out.eval, &|s| ctl.status.set(s)).await {
            Ok(q) => record.quality = Some(q),
            Err(e) => quality_error = Some(e),
        }
        ctl.checkpoint(gen).await?;
    }
    let backend = if gpu {
        "webgpu worker (burn), sampled here (fused forward pass)".to_string()
    } else if let (Some(step), false) = (worker_steps, progress.refused) {
        // Not what `memgen sweep --engine fused` would make: say how it was trained.
        format!("webgpu worker (burn) to step {step}, its device then lost; from there this tab's cpu (fused trainer, Adam's moments started again) and forward pass, wasm; train_s counts the cpu part")
    } else {
        "this tab's cpu (fused trainer and forward pass, wasm)".to_string()
    };
    let timing = Timing { backend, ..out.timing };
    let total = timing.train_s + timing.sample_s + timing.label_s;
    let mut bundle = Bundle::new(
        sweep.identity(),
        vec![(record, timing, out.gallery.to_bytes())],
        total,
        vec!["memgen-lab".into(), "(a point run in the browser tab)".into()],
    );
    if gpu {
        // Trained by burn on WebGPU, not by the fused engine: say so.
        let burn = |m: ModelSpec| match m {
            ModelSpec::Unet(u) => ModelSpec::Unet(UNetSpec { engine: Engine::Burn, ..u }),
            other => other,
        };
        bundle.manifest.identity.sweep.model = burn(bundle.manifest.identity.sweep.model);
        if let Some(r) = bundle.manifest.results.first_mut() {
            r.config = r.config.map(|c| PointConfig { model: burn(c.model), ..c });
        }
    }
    bundle.extra.extend(weights);
    Ok(LiveResult { bundle, gallery: out.gallery, quality_error })
}
