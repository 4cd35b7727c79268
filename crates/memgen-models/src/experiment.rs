//! What every experiment of the library shares with its front ends: the [`Progress`] handle
//! through which it reports, yields, pauses and is cancelled (progress bars in `memgen`,
//! signals and the event loop in a tab), and the [`ExperimentError`] it stops with.
//!
//! The experiments: a sweep point ([`crate::sweep::run_point`]: train → sample → label →
//! gallery), its probes ([`crate::probe::probe_point`]: basins and curvature of a point's
//! gallery), and labelling samples made elsewhere ([`crate::sweep::label_samples`], for an
//! audit of one's own model). Front ends collect settings, call them and show or write what
//! they return.

use crate::unet::fused::FusedUNetTraining;

/// Why an experiment stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum ExperimentError {
    /// Its handle cancelled it.
    Cancelled,
    /// It failed (bad input, a diverged run, a device error).
    Failed(String),
}

impl std::fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExperimentError::Cancelled => f.write_str("cancelled"),
            ExperimentError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<String> for ExperimentError {
    fn from(m: String) -> Self {
        ExperimentError::Failed(m)
    }
}

impl From<memgen_core::error::CoreError> for ExperimentError {
    fn from(e: memgen_core::error::CoreError) -> Self {
        ExperimentError::Failed(e.to_string())
    }
}

/// How a front end follows, pauses and cancels an experiment. Every method but [`now_s`](Self::now_s)
/// and [`checkpoint`](Self::checkpoint) has a default that does nothing.
// Not `Send`: the page's futures are not (WebGPU, the event loop), and nothing here needs it.
#[allow(async_fn_in_trait)]
pub trait Progress {
    /// Seconds on a monotonic clock (for the point's timings).
    fn now_s(&self) -> f64;
    /// Called between chunks of work: waits while paused, yields to the event loop in a tab,
    /// and returns [`ExperimentError::Cancelled`] to stop.
    async fn checkpoint(&mut self) -> Result<(), ExperimentError>;
    /// Whether a training chunk of `steps` steps is long enough to hand control back (the CLI:
    /// 25 steps; a tab: about 30 ms). Results do not depend on it.
    fn chunk_done(&mut self, steps: usize) -> bool {
        steps >= 25
    }
    /// Training reached step `done` of `total`; `losses` are the chunk's.
    fn training(&mut self, _done: usize, _total: usize, _losses: &[f32]) {}
    /// The fused run after a chunk, with every loss so far (the page keeps a snapshot of it in
    /// browser storage).
    fn fused_run(&mut self, _run: &FusedUNetTraining, _losses: &[f32]) {}
    /// The run given to resume could not be used (why); training starts from step 0.
    fn resume_refused(&mut self, _why: &str) {}
    /// Sampling reached `done` of `total` network evaluations (both sets).
    fn sampling(&mut self, _done: usize, _total: usize) {}
    /// Neighbours and labels are being computed.
    fn labelling(&mut self) {}
    /// A probe finished `done` of its `total` items (gallery samples, then training points).
    fn probing(&mut self, _done: usize, _total: usize) {}
}
