//! The 2-D diffusion toy (paper Fig. 2, docs/SCIENCE.md §4): train a score network on K points
//! of the unit circle on this page's device, sample it, cluster the samples, and compare
//! the learned energy with the ideal (memorizing) model and the exact K → ∞ energy.
//!
//! The panel is a few components over one [`Panel`] of signals: the settings
//! ([`controls::SettingsControls`]), the run buttons and their progress line
//! ([`controls::RunControls`]), the view time and status ([`controls::ViewControls`]), the four
//! figures ([`figures::Figures`]) and the pretrained regimes ([`regimes::ThreeRegimes`]).
//! Training (in this tab or in a worker) is in [`training`], sampling, clustering and the learned
//! energy in [`sampling`], the URL's settings in [`state`].

use std::cell::RefCell;

use leptos::prelude::*;
use memgen_models::toy::centroids::CentroidKind;
use memgen_models::toy::training::{circle_points, ToyTraining};
use memgen_models::toy::ToyScoreNet;

use crate::compute;
use crate::state::Notice;
use crate::widgets::{Notices, PanelFrame};
use crate::worker::WorkerHandle;

mod basins;
mod controls;
mod figures;
mod regimes;
mod sampling;
mod state;
mod training;

use controls::{RunControls, SettingsControls, ViewControls};
use figures::Figures;
use regimes::ThreeRegimes;
use state::{ToySettings, OWN_KEYS};

/// The notices this view gives for decoded query pairs (bad values keep their defaults).
pub fn url_notices(pairs: &[(&str, &str)]) -> Vec<String> {
    ToySettings::from_pairs(pairs.iter().copied()).1
}

/// Plotted square `[−1.5, 1.5]²`.
const LO: f32 = -1.5;
const HI: f32 = 1.5;
/// Side of the square canvases, in pixels.
const CANVAS: u32 = 340;

thread_local! {
    /// The run in progress (burn tensors are not `Send`, so it lives outside the signals).
    static RUN: RefCell<Option<ToyTraining>> = const { RefCell::new(None) };
    /// The training worker (WebGPU runs), and the last EMA weights it sent, on the CPU.
    static WORKER: RefCell<Option<WorkerHandle>> = const { RefCell::new(None) };
    static WORKER_MODEL: RefCell<Option<ToyScoreNet>> = const { RefCell::new(None) };
    /// The worker run's last snapshot and its step: where training goes on, on the CPU, if the
    /// worker's GPU device is lost.
    static WORKER_SNAPSHOT: RefCell<Option<(Vec<u8>, usize)>> = const { RefCell::new(None) };
}

/// The model to draw and sample with: the worker's latest EMA weights, or the in-tab run's EMA.
fn current_model() -> Option<ToyScoreNet> {
    WORKER_MODEL.with(|m| m.borrow().clone()).or_else(|| RUN.with(|r| r.borrow().as_ref().map(|run| run.ema_model())))
}

/// The CPU device of this tab: the in-tab trainer, sampling, arrows and the ODE energy run on it
/// (with the weights the worker sends, when it trains).
fn toy_device() -> burn::tensor::Device {
    memgen_models::device::LabDevice::cpu().device
}

/// Where the panel's run stands.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Training,
    Paused,
    Trained,
    Sampling,
    Failed(String),
}

impl Phase {
    /// The test hook `data-state` of `toy-progress`.
    fn attr(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Training => "training",
            Phase::Paused => "paused",
            Phase::Trained => "trained",
            Phase::Sampling => "sampling",
            Phase::Failed(_) => "error",
        }
    }

    /// Whether a model can be sampled or its energy computed (trained, or paused part way).
    fn has_model(&self) -> bool {
        matches!(self, Phase::Trained | Phase::Paused)
    }
}

/// Where the last run trains (the test hook `data-device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrainDevice {
    /// No run started yet.
    NotYet,
    /// The fused trainer on the CPU in this tab.
    Cpu,
    /// burn on WebGPU in the training worker.
    WebGpuWorker,
}

impl TrainDevice {
    fn attr(self) -> &'static str {
        match self {
            TrainDevice::NotYet => "",
            TrainDevice::Cpu => "cpu",
            TrainDevice::WebGpuWorker => "webgpu-worker",
        }
    }
}

/// How far training is and how fast it goes.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Speed {
    /// Steps done.
    done: usize,
    /// Steps per second.
    rate: f64,
    /// Steps left.
    left: usize,
}

/// The steps at which the worker confirmed a pause and went on from it (test hooks).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct WorkerPause {
    paused_at: Option<usize>,
    resumed_from: Option<usize>,
}

/// A Ward centroid of the samples.
#[derive(Debug, Clone, PartialEq, Default)]
struct Centroid {
    at: [f32; 2],
    kind: Option<CentroidKind>,
    count: usize,
    energy: Option<f32>,
}

/// The panel's state: one set of signals its components share.
#[derive(Clone, Copy)]
pub(crate) struct Panel {
    /// The settings (mirrored into the URL).
    settings: RwSignal<ToySettings>,
    phase: RwSignal<Phase>,
    /// The loss of every step trained so far.
    losses: RwSignal<Vec<f32>>,
    speed: RwSignal<Speed>,
    /// The K training points (they follow K and the seed).
    train: RwSignal<Vec<[f32; 2]>>,
    /// Samples of the trained network, and of the ideal score with the same seed.
    samples: RwSignal<Vec<[f32; 2]>>,
    ideal_samples: RwSignal<Vec<[f32; 2]>>,
    /// Ward centroids of the samples.
    centroids: RwSignal<Vec<Centroid>>,
    /// The learned (PF-ODE) energy: values on an `n × n` grid, `n`, and its t.
    learned_energy: RwSignal<Option<(Vec<f32>, usize, f64)>>,
    /// Score arrows of the current model: grid point and offset in canvas pixels.
    learned_arrows: RwSignal<Vec<([f32; 2], [f32; 2])>>,
    /// Sampling done, in `[0, 1]`.
    /// Sampling's share done and its seconds left.
    sample_progress: RwSignal<(f64, f64)>,
    /// Bumped by every sampling start and cancel (a cancelled sampling keeps the model), and
    /// the phase sampling began from (trained, or paused part way), which it returns to.
    sample_gen: crate::job::Generation,
    sample_before: StoredValue<Phase>,
    /// The longest stretch of sampling work between two yields to the page, in ms.
    sample_longest_slice: RwSignal<f64>,
    /// The median of those stretches, in ms.
    sample_median_slice: RwSignal<f64>,
    /// Fractions of samples within 0.1 and within 0.25 of a training point.
    near_fraction: RwSignal<Option<(f64, f64)>>,
    /// The last message (`toy-status`).
    status: RwSignal<String>,
    /// Notices about the link's settings that were not used.
    notices: RwSignal<Vec<Notice>>,
    /// Bumped by every start and cancel: a loop or a worker message of another run stops.
    run_gen: crate::job::Generation,
    /// Train on WebGPU in a worker (else on the CPU in this tab).
    use_gpu: RwSignal<bool>,
    gpu_available: bool,
    /// Whether the WebGPU adapter is a software renderer.
    software: bool,
    train_device: RwSignal<TrainDevice>,
    worker_pause: RwSignal<WorkerPause>,
    /// The step of the in-tab run last kept in browser storage (`usize::MAX`: storage refused).
    saved_step: RwSignal<Option<usize>>,
    /// A centroid clicked on the trained network's view: its probe starts (`CentroidProbes`).
    probe_request: RwSignal<Option<usize>>,
    /// The worker's GPU device was lost and the run went on on the CPU from this step (a test
    /// hook).
    recovered_from: RwSignal<Option<usize>>,
}

impl Panel {
    fn new(initial: ToySettings, url_notices: Vec<String>) -> Panel {
        // WebGPU by default on a hardware adapter; on a software one (SwiftShader) the worker runs
        // ~0.3 steps/s against tens of steps/s on the CPU in this tab, so there it is opt-in.
        let gpu_available = compute::backend().is_some_and(|b| b.kernels.is_some());
        let software = compute::software_adapter();
        Panel {
            settings: RwSignal::new(initial),
            phase: RwSignal::new(Phase::Idle),
            losses: RwSignal::new(Vec::new()),
            speed: RwSignal::new(Speed::default()),
            train: RwSignal::new(Vec::new()),
            samples: RwSignal::new(Vec::new()),
            ideal_samples: RwSignal::new(Vec::new()),
            centroids: RwSignal::new(Vec::new()),
            learned_energy: RwSignal::new(None),
            learned_arrows: RwSignal::new(Vec::new()),
            sample_progress: RwSignal::new((0.0, 0.0)),
            sample_gen: crate::job::Generation::new(),
            sample_before: StoredValue::new(Phase::Trained),
            sample_longest_slice: RwSignal::new(0.0),
            sample_median_slice: RwSignal::new(0.0),
            near_fraction: RwSignal::new(None),
            status: RwSignal::new(String::new()),
            notices: RwSignal::new(url_notices.into_iter().map(Notice).collect()),
            run_gen: crate::job::Generation::new(),
            use_gpu: RwSignal::new(gpu_available && !software),
            gpu_available,
            software,
            train_device: RwSignal::new(TrainDevice::NotYet),
            worker_pause: RwSignal::new(WorkerPause::default()),
            saved_step: RwSignal::new(None),
            probe_request: RwSignal::new(None),
            recovered_from: RwSignal::new(None),
        }
    }

    /// Memorized, spurious and generalized centroids.
    fn centroid_counts(self) -> (usize, usize, usize) {
        self.centroids.with(|c| {
            let n = |k: CentroidKind| c.iter().filter(|x| x.kind == Some(k)).count();
            (n(CentroidKind::Memorized), n(CentroidKind::Spurious), n(CentroidKind::Generalized))
        })
    }
}

/// The toy panel.
#[component]
pub fn ToyPanel() -> impl IntoView {
    let (url_pairs, _) = crate::url::read_pairs(OWN_KEYS);
    let (initial, url_notices) = ToySettings::from_pairs(url_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let p = Panel::new(initial, url_notices);
    state::mirror_into_url(p.settings, !url_pairs.is_empty());
    // A run of these settings kept in this browser goes on where it stopped.
    p.restore_run();
    // Training points follow K and the seed (nested prefixes of one seeded stream).
    Effect::new(move |_| {
        let s = p.settings.get();
        p.train.set(circle_points(s.k, s.seed));
    });

    view! {
        <PanelFrame testid="panel-toy" title="The 2-D diffusion toy: memorization, spurious wells, generalization (paper Fig. 2)">
            <p class="explain">
                "Data: K points on the unit circle. A score network s(x, t) is trained by denoising score matching, on WebGPU in a Web Worker (the page stays free) or on the CPU inside WebAssembly in this tab (a fused trainer that gives burn's losses for the same seed, about twice as fast: see Under the hood); sampling, arrows and energies use the trained weights here. With K = 2 it stores each point as its own well (memorization); around K = 9 wells appear between points that are not training points (spurious states); at K = 1000 the wells merge into a continuous ring (generalization). "
                "Browser preset: Adam lr 1e-3, batch 512, 4,000 steps, EMA 0.999 (the paper: lr 1e-4, 500k–800k steps)."
            </p>
            <Notices notices=p.notices />
            <SettingsControls p=p />
            <RunControls p=p />
            <ViewControls p=p />
            <Figures p=p />
            <basins::CentroidProbes p=p />
            <ThreeRegimes />
        </PanelFrame>
    }
}
