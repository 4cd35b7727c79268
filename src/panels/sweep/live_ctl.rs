//! The handle of a run in this tab, shared by the tab's trainer ([`super::live`]) and the
//! WebGPU worker's ([`super::live_worker`]): where the run stands ([`Phase`]), its signals,
//! pause and cancel ([`LiveCtl`]), and the messages and timings both sides use.

use leptos::prelude::*;
use memgen_models::experiment::ExperimentError;

use crate::browser::{sleep_ms, yield_now};

/// How often a training run in this tab is kept in browser storage.
pub(super) const SNAPSHOT_EVERY_MS: f64 = 5_000.0;

/// The message of a run that another tab took over.
pub(super) const TAKEN_OVER: &str = "another tab of this browser took this run over; it goes on there";

/// Where a run in this tab stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Nothing started.
    Idle,
    /// Training the UNet.
    Training,
    /// Sampling `S_eval` and `S′`.
    Sampling,
    /// Neighbours and labels.
    Labelling,
    /// Sample quality in the reference classifier's features.
    Measuring,
    /// A point finished.
    Done,
    /// A K schedule finished.
    SweepDone,
    /// Cancelled by the user.
    Cancelled,
    /// Failed, with the reason.
    Failed(String),
}

impl Phase {
    /// The test hook's `data-state` (`error: …` for a failure).
    pub fn attr(&self) -> String {
        match self {
            Phase::Idle => "idle".into(),
            Phase::Training => "training".into(),
            Phase::Sampling => "sampling".into(),
            Phase::Labelling => "labelling".into(),
            Phase::Measuring => "measuring".into(),
            Phase::Done => "done".into(),
            Phase::SweepDone => "sweep-done".into(),
            Phase::Cancelled => "cancelled".into(),
            Phase::Failed(e) => format!("error: {e}"),
        }
    }
    /// Whether a run is under way.
    pub fn busy(&self) -> bool {
        matches!(self, Phase::Training | Phase::Sampling | Phase::Labelling | Phase::Measuring)
    }
}

/// Controls shared by the running point and its buttons.
#[derive(Clone, Copy)]
pub struct LiveCtl {
    pub phase: RwSignal<Phase>,
    pub status: RwSignal<String>,
    pub progress: RwSignal<f64>,
    pub losses: RwSignal<Vec<f32>>,
    pub paused: RwSignal<bool>,
    /// Bumped by cancel (and by every new run): a run whose generation is superseded stops.
    pub gen: crate::job::Generation,
    /// "K = 8 (3 of 5) · " while a sweep runs.
    pub sweep_label: RwSignal<String>,
    /// The step the current training run started from (non-zero after a resume).
    pub resumed_at: RwSignal<usize>,
    /// The step of the last training state kept in browser storage.
    pub saved_step: RwSignal<usize>,
    /// The step of the last snapshot the WebGPU worker sent (0: none yet).
    pub worker_snapshot: RwSignal<usize>,
    /// Why browser storage did not keep the run (full, or unavailable), while it goes on in
    /// memory.
    pub storage_note: RwSignal<Option<String>>,
    /// The worker's GPU device was lost and the point went on on the CPU (issue 18).
    pub device_note: RwSignal<Option<String>>,
    /// Another tab of this browser runs the point this tab was asked to run (issue 18): the
    /// view offers to take it over.
    pub elsewhere: RwSignal<bool>,
    /// The next run takes its point over from another tab (set by the view's Take over).
    pub take_over: StoredValue<bool>,
    /// Whether the last run asked for was a K schedule (else a point): what Take over repeats.
    pub last_was_schedule: StoredValue<bool>,
}

impl LiveCtl {
    /// Fresh controls, idle.
    pub fn new() -> LiveCtl {
        LiveCtl {
            phase: RwSignal::new(Phase::Idle),
            status: RwSignal::new(String::new()),
            progress: RwSignal::new(0.0),
            losses: RwSignal::new(Vec::new()),
            paused: RwSignal::new(false),
            gen: crate::job::Generation::new(),
            sweep_label: RwSignal::new(String::new()),
            resumed_at: RwSignal::new(0),
            saved_step: RwSignal::new(0),
            worker_snapshot: RwSignal::new(0),
            storage_note: RwSignal::new(None),
            device_note: RwSignal::new(None),
            elsewhere: RwSignal::new(false),
            take_over: StoredValue::new(false),
            last_was_schedule: StoredValue::new(false),
        }
    }

    /// Starts a new run: supersedes the one before; returns its generation.
    pub fn begin(&self) -> crate::job::Ticket {
        let gen = self.gen.begin();
        self.paused.set(false);
        self.progress.set(0.0);
        gen
    }

    /// Cancels the run under way.
    pub fn cancel(&self) {
        self.gen.cancel();
        self.sweep_label.set(String::new());
        self.phase.set(Phase::Cancelled);
        self.status.set("Cancelled.".into());
    }

    /// Waits while paused; `Err` once the run was cancelled (its generation superseded).
    pub(super) async fn checkpoint(&self, gen: crate::job::Ticket) -> Result<(), ExperimentError> {
        loop {
            if self.gen.is_stale(gen) {
                return Err(ExperimentError::Cancelled);
            }
            if !self.paused.get_untracked() {
                break;
            }
            sleep_ms(100).await;
        }
        yield_now().await;
        Ok(())
    }
}
