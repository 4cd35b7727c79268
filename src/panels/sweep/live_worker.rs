//! A point's UNet trained on WebGPU in the training worker (src/worker.rs), for the in-tab
//! point (`live.rs`): progress and pause relayed, the EMA weights back, and on a lost device
//! the worker's last snapshot to go on from on the CPU.

use leptos::prelude::*;
use memgen_models::experiment::ExperimentError;
use memgen_models::sweep::Resume;
use memgen_models::unet::{UNet, UNetTrainConfig};

use super::live_ctl::{LiveCtl, Phase, SNAPSHOT_EVERY_MS, TAKEN_OVER};
use crate::browser::sleep_ms;
use crate::panels::datasets::SubsetK;
use crate::tabs::Claim;
use crate::widgets::time_left;

/// A worker whose GPU device was lost: what was said, and its last snapshot with the losses
/// up to it (the fused trainer goes on from it), if it sent one.
pub(super) struct Lost {
    pub why: String,
    pub resume: Option<Resume>,
}

/// Trains the point's UNet on WebGPU in a Web Worker (src/worker.rs); returns its EMA weights
/// on `plain` (the page's CPU device), where the page samples, and its losses, or (inner `Err`)
/// what was said when the worker's GPU device was lost, with its last snapshot.
pub(super) async fn train_in_worker(
    sub: &SubsetK,
    tc: UNetTrainConfig,
    seed: u64,
    ctl: LiveCtl,
    gen: crate::job::Ticket,
    plain: &burn::tensor::Device,
    claim: &mut Claim,
) -> Result<Result<(UNet, Vec<f32>), Lost>, ExperimentError> {
    use crate::worker::{lost_device, FromWorker, ToWorker, UNetJob, WorkerHandle, TRAIN_WORKER_URL};
    let (handle, mut rx) = WorkerHandle::spawn_queued(TRAIN_WORKER_URL)?;
    handle.send_with(ToWorker::UnetTrain(UNetJob { config: tc, seed, chunk: 1, snapshot_every_ms: SNAPSHOT_EVERY_MS }), Some(sub.pixels.to_vec()));
    ctl.resumed_at.set(0);
    ctl.worker_snapshot.set(0);
    ctl.phase.set(Phase::Training);
    ctl.status.set(format!("{}starting the training worker (WebGPU)…", ctl.sweep_label.get_untracked()));
    let (mut paused_sent, mut device, mut weights, mut losses) = (false, String::new(), None, Vec::new());
    let mut snapshot: Option<(usize, Vec<u8>)> = None;
    loop {
        if ctl.gen.is_stale(gen) {
            return Err(ExperimentError::Cancelled);
        }
        if !claim.still_mine() {
            return Err(ExperimentError::Failed(TAKEN_OVER.into()));
        }
        let paused = ctl.paused.get_untracked();
        if paused != paused_sent {
            handle.send(if paused { ToWorker::Pause } else { ToWorker::Resume });
            paused_sent = paused;
        }
        while let Ok((msg, bytes)) = rx.try_recv() {
            match msg {
                FromWorker::Snapshot { done } => {
                    if let Some(b) = bytes {
                        snapshot = Some((done, b));
                        ctl.worker_snapshot.set(done);
                    }
                }
                FromWorker::Ready
                | FromWorker::Paused { .. }
                | FromWorker::Resumed { .. }
                | FromWorker::ProbeLevel { .. }
                | FromWorker::ProbeBasin { .. }
                | FromWorker::ProbeTrials { .. }
                | FromWorker::ProbeColumns { .. }
                | FromWorker::ProbeSpectrum { .. } => {}
                // The caller goes on on the CPU; the handle's drop ends the worker.
                FromWorker::DeviceLost { reason, message } => {
                    let resume = snapshot
                        .take()
                        .filter(|(done, _)| *done <= losses.len())
                        .map(|(done, bytes)| Resume { snapshot: bytes, losses: losses[..done].to_vec() });
                    return Ok(Err(Lost { why: lost_device(&reason, &message), resume }));
                }
                FromWorker::Device { label } => device = label,
                FromWorker::Progress { done, total, losses: chunk, secs } => {
                    ctl.losses.update(|v| v.extend_from_slice(&chunk));
                    losses.extend(chunk);
                    let rate = done as f64 / secs.max(1e-3);
                    ctl.progress.set(done as f64 / total.max(1) as f64);
                    ctl.status.set(format!(
                        "{}training on {device} in a worker: step {done} / {total} · {rate:.2} steps/s · {}",
                        ctl.sweep_label.get_untracked(),
                        time_left(total.saturating_sub(done) as f64, rate)
                    ));
                }
                FromWorker::Weights { .. } => {
                    let b = bytes.ok_or("the worker sent no weights".to_string())?;
                    weights = Some(memgen_models::unet::snapshot::decode_weights(&b, plain)?.0);
                }
                FromWorker::Finished { .. } => {
                    return weights.map(|w| Ok((w, losses))).ok_or_else(|| ExperimentError::Failed("the worker finished without weights".into()))
                }
                FromWorker::Failed { message } => return Err(ExperimentError::Failed(format!("training worker: {message}"))),
            }
        }
        sleep_ms(100).await;
    }
}
