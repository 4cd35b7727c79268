//! Training, pause, resume and cancel. A run trains either in this tab on the CPU inside wasm
//! (the fused trainer, memgen_models::toy::fused: burn's network, batches, Adam and EMA without
//! burn's graph, ~2× burn's CPU backend here; in chunks that keep the tab responsive), or on
//! WebGPU in a dedicated worker (src/worker.rs): burn builds its kernels and waits on the GPU
//! queue there, never on the page's thread. Sampling, arrows and the ODE energy run here on the
//! CPU backend with the weights the worker sends.

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_models::toy::energy::grid_points;
use memgen_models::toy::training::{circle_points, ToyTrainConfig, ToyTraining};

use super::figures::arrows_from;
use super::state::ToySettings;
use super::{current_model, toy_device, Panel, Phase, Speed, TrainDevice, WorkerPause, CANVAS, HI, LO, RUN, WORKER, WORKER_MODEL, WORKER_SNAPSHOT};
use crate::state::Notice;
use crate::worker::{lost_device, FromWorker, ToWorker, ToyJob, WorkerHandle, TRAIN_WORKER_URL};

/// Browser-storage key of the toy's in-tab run (one: a new run replaces it), and how often the
/// running state is kept there.
const STORE_KEY: &str = "memgen-toy-run";
const SAVE_EVERY_MS: f64 = 3000.0;

/// The training settings of the panel's settings.
fn train_config(s: &ToySettings) -> ToyTrainConfig {
    let mut config = ToyTrainConfig::browser();
    config.steps = s.steps;
    config.lr = s.lr;
    config
}

/// Steps per chunk in the worker and how often it sends its EMA weights.
const WORKER_CHUNK: usize = 10;
const WORKER_WEIGHTS_EVERY: usize = 250;

/// Sends `m` to the training worker; false when training runs in this tab.
fn to_worker(m: ToWorker) -> bool {
    WORKER.with(|w| w.borrow().as_ref().map(|h| h.send(m)).is_some())
}

impl Panel {
    /// Score arrows of the current (EMA) model at t.
    fn refresh_arrows(self) {
        let t = self.settings.get_untracked().t;
        let Some(model) = current_model() else { return };
        let device = toy_device().inner();
        spawn_local(async move {
            let grid = grid_points(15, LO + 0.1, HI - 0.1);
            let flat: Vec<f32> = grid.iter().flatten().copied().collect();
            let x = burn::tensor::Tensor::<2>::from_data(burn::tensor::TensorData::new(flat, [grid.len(), 2]), &device);
            let tt = burn::tensor::Tensor::<2>::full([grid.len(), 1], t as f32, &device);
            let s = model.forward(x, tt);
            if let Ok(data) = s.into_data_async().await {
                if let Ok(v) = data.try_to_vec::<f32>() {
                    self.learned_arrows.set(arrows_from(&grid, &v, t, CANVAS as f64));
                }
            }
        });
    }

    /// Trains the run in `RUN` in chunks of about 25 ms between yields (the tab stays
    /// responsive), until it is finished, paused, cancelled or replaced (`gen` is no longer the
    /// panel's run).
    fn train_loop(self, gen: crate::job::Ticket) {
        spawn_local(async move {
            let t0 = crate::browser::now_ms();
            let start_step = RUN.with(|r| r.borrow().as_ref().map(|x| x.steps_done()).unwrap_or(0));
            // The progress is updated every 200 ms and the losses (the loss curve, whose redraw
            // costs ~0.2 s in a software-rendered tab) every second, so drawing costs far less
            // than the training.
            let mut pending: Vec<f32> = Vec::new();
            let (mut last_progress, mut last_curve) = (t0, t0);
            let mut shown_step = start_step;
            let mut saved_at = t0;
            loop {
                let stopped = self.run_gen.is_stale(gen) || self.phase.get_untracked() != Phase::Training;
                let Some(mut run) = (!stopped).then(|| RUN.with(|r| r.borrow_mut().take())).flatten() else {
                    // Paused, cancelled or restarted: show what was trained so far (not after a
                    // cancel or a restart, which cleared the curve).
                    if self.run_gen.is_current(gen) {
                        if !pending.is_empty() {
                            self.losses.update(|v| v.append(&mut pending));
                        }
                        if let Some(done) = RUN.with(|r| r.borrow().as_ref().map(|x| x.steps_done())) {
                            self.speed.update(|s| s.done = done);
                        }
                        // What a pause holds is kept, so a reload goes on from it.
                        if self.phase.get_untracked() == Phase::Paused {
                            let losses = self.losses.get_untracked();
                            RUN.with(|r| r.borrow().as_ref().map(|run| self.save_run(run, &losses)));
                        }
                    }
                    return;
                };
                let chunk_start = crate::browser::now_ms();
                let mut failed = None;
                while !run.finished() && crate::browser::now_ms() - chunk_start < 25.0 {
                    match run.run_steps(1).await {
                        Ok(l) => pending.extend(l),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let (done, total, finished) = (run.steps_done(), run.config.steps, run.finished());
                // Kept in browser storage every few seconds and at the end (a reload then goes
                // on from here); a pause keeps its state above.
                if failed.is_none() && (finished || crate::browser::now_ms() - saved_at >= SAVE_EVERY_MS) {
                    let mut all = self.losses.get_untracked();
                    all.extend_from_slice(&pending);
                    self.save_run(&run, &all);
                    saved_at = crate::browser::now_ms();
                }
                RUN.with(|r| *r.borrow_mut() = Some(run));
                if let Some(e) = failed {
                    self.phase.set(Phase::Failed(format!("training failed: {e}")));
                    return;
                }
                let now = crate::browser::now_ms();
                if finished || now - last_progress >= 200.0 {
                    let rate = (done - start_step) as f64 / ((now - t0) / 1000.0).max(1e-6);
                    self.speed.set(Speed { done, rate, left: total.saturating_sub(done) });
                    last_progress = now;
                }
                if finished || now - last_curve >= 1000.0 {
                    self.losses.update(|v| v.append(&mut pending));
                    last_curve = now;
                    if done / 250 != shown_step / 250 {
                        self.refresh_arrows();
                    }
                    shown_step = done;
                }
                if finished {
                    self.phase.set(Phase::Trained);
                    self.refresh_arrows();
                    return;
                }
                crate::browser::yield_now().await;
            }
        });
    }

    /// Drops the last run (its worker, weights, losses, samples, centroids, energy and arrows)
    /// and begins a new one in the training phase; its generation.
    fn begin_run(self) -> crate::job::Ticket {
        WORKER.with(|w| *w.borrow_mut() = None);
        WORKER_MODEL.with(|m| *m.borrow_mut() = None);
        WORKER_SNAPSHOT.with(|m| *m.borrow_mut() = None);
        RUN.with(|r| *r.borrow_mut() = None);
        self.recovered_from.set(None);
        self.losses.set(Vec::new());
        self.near_fraction.set(None);
        self.samples.set(Vec::new());
        self.centroids.set(Vec::new());
        self.learned_energy.set(None);
        self.learned_arrows.set(Vec::new());
        self.saved_step.set(None);
        let gen = self.run_gen.begin();
        self.phase.set(Phase::Training);
        self.speed.set(Speed::default());
        gen
    }

    /// Trains a new model with the current settings: in the worker on WebGPU when that is
    /// chosen and available, else in this tab.
    pub(super) fn start(self) {
        let s = self.settings.get_untracked();
        let config = train_config(&s);
        let gen = self.begin_run();
        if self.use_gpu.get_untracked() && self.gpu_available {
            self.start_worker(gen, &s, config);
            return;
        }
        self.train_device.set(TrainDevice::Cpu);
        // The tab's CPU path: the fused trainer (same network, batches, Adam and EMA as burn's
        // autodiff, checked against it natively and, in the browser test, against the WebGPU
        // worker's burn run), about twice as fast as burn's graph on one wasm thread.
        let run = ToyTraining::new_fused(config, &self.train.get_untracked(), s.seed, 0, &toy_device());
        RUN.with(|r| *r.borrow_mut() = Some(run));
        self.train_loop(gen);
    }

    /// Starts the training worker (WebGPU) for run `gen`.
    fn start_worker(self, gen: crate::job::Ticket, s: &ToySettings, config: ToyTrainConfig) {
        self.train_device.set(TrainDevice::WebGpuWorker);
        self.status.set("Starting the training worker (WebGPU)…".into());
        let total = s.steps;
        let on_message = move |msg: FromWorker, bytes: Option<Vec<u8>>| self.on_worker_message(gen, total, msg, bytes);
        match WorkerHandle::spawn(TRAIN_WORKER_URL, on_message) {
            Ok(h) => {
                h.send(ToWorker::ToyTrain(ToyJob {
                    points: self.train.get_untracked(),
                    seed: s.seed,
                    config,
                    chunk: WORKER_CHUNK,
                    weights_every: WORKER_WEIGHTS_EVERY,
                    snapshot_every_ms: SAVE_EVERY_MS,
                }));
                WORKER.with(|w| *w.borrow_mut() = Some(h));
            }
            Err(e) => self.phase.set(Phase::Failed(e)),
        }
    }

    /// A message from the worker of run `gen` (`total` steps); another run's are dropped.
    fn on_worker_message(self, gen: crate::job::Ticket, total: usize, msg: FromWorker, bytes: Option<Vec<u8>>) {
        if self.run_gen.is_stale(gen) {
            return;
        }
        match msg {
            // A training worker sends no probe's replies.
            FromWorker::Ready
            | FromWorker::ProbeLevel { .. }
            | FromWorker::ProbeBasin { .. }
            | FromWorker::ProbeTrials { .. }
            | FromWorker::ProbeColumns { .. }
            | FromWorker::ProbeSpectrum { .. } => {}
            FromWorker::Device { label } => self.status.set(format!("Training on {label} in a worker; the page stays free.")),
            FromWorker::Progress { done, losses: l, secs, .. } => {
                self.losses.update(|v| v.extend(l));
                let rate = done as f64 / secs.max(1e-6);
                self.speed.set(Speed { done, rate, left: total.saturating_sub(done) });
            }
            FromWorker::Paused { done } => self.worker_pause.set(WorkerPause { paused_at: Some(done), resumed_from: None }),
            FromWorker::Resumed { done } => self.worker_pause.update(|p| p.resumed_from = Some(done)),
            FromWorker::Weights { done } => {
                let device = toy_device().inner();
                match bytes.as_deref().map(|b| memgen_models::toy::checkpoint::decode(b, &device)) {
                    Some(Ok(ck)) => {
                        WORKER_MODEL.with(|m| *m.borrow_mut() = Some(ck.model));
                        self.refresh_arrows();
                    }
                    Some(Err(e)) => self.status.set(format!("weights after step {done} unreadable: {e}")),
                    None => self.status.set(format!("the worker sent no weights after step {done}")),
                }
            }
            FromWorker::Snapshot { done } => {
                let Some(bytes) = bytes else { return };
                // Kept in browser storage too (a reload goes on from it, on the CPU).
                let losses: Vec<f32> = self.losses.with_untracked(|l| l[..done.min(l.len())].to_vec());
                let rec = crate::store::run_bytes(&bytes, &losses);
                WORKER_SNAPSHOT.with(|s| *s.borrow_mut() = Some((bytes, done)));
                spawn_local(async move {
                    match crate::store::put(STORE_KEY, &rec).await {
                        Ok(()) if self.run_gen.is_current(gen) => self.saved_step.set(Some(done)),
                        Ok(()) => {}
                        Err(e) => {
                            self.status.set(format!("This browser's storage did not keep the run ({e}); it goes on in memory, but a reload would lose it."))
                        }
                    }
                });
            }
            FromWorker::DeviceLost { reason, message } => self.device_lost(gen, &lost_device(&reason, &message)),
            FromWorker::Finished { .. } => {
                self.phase.set(Phase::Trained);
                WORKER.with(|w| *w.borrow_mut() = None);
            }
            FromWorker::Failed { message } => {
                self.phase.set(Phase::Failed(format!("training failed in the worker: {message}")));
                WORKER.with(|w| *w.borrow_mut() = None);
            }
        }
    }

    /// The worker's GPU device was lost during run `gen`: the worker goes, and the run goes on
    /// in this tab on the CPU from the worker's last snapshot (its weights, EMA, step and
    /// batches; Adam's moments start again, see `ToyTraining::snapshot_async`), or from the
    /// start when none came yet. The steps after the snapshot are trained again.
    fn device_lost(self, gen: crate::job::Ticket, why: &str) {
        WORKER.with(|w| *w.borrow_mut() = None);
        WORKER_MODEL.with(|m| *m.borrow_mut() = None);
        let s = self.settings.get_untracked();
        let (config, points) = (train_config(&s), self.train.get_untracked());
        let at = self.speed.get_untracked().done;
        let snapshot = WORKER_SNAPSHOT.with(|x| x.borrow_mut().take());
        let resumed = snapshot.map(|(bytes, done)| ToyTraining::resume_fused(config, &points, s.seed, 0, &toy_device(), &bytes).map(|r| (r, done)));
        let (run, from, note) = match resumed {
            Some(Ok((run, done))) => {
                (run, done, format!("it goes on in this tab on the CPU from step {done}, the worker's last snapshot (Adam's moments start again there)"))
            }
            Some(Err(e)) => (
                ToyTraining::new_fused(config, &points, s.seed, 0, &toy_device()),
                0,
                format!("its last snapshot could not be used ({e}), so it starts again in this tab on the CPU"),
            ),
            None => (
                ToyTraining::new_fused(config, &points, s.seed, 0, &toy_device()),
                0,
                "no snapshot had come yet, so it starts again in this tab on the CPU".into(),
            ),
        };
        self.notices
            .update(|n| n.push(Notice(format!("{why} at step {at} of the WebGPU run; {note}. Train again with WebGPU ticked to try the GPU once more."))));
        self.losses.update(|l| l.truncate(from));
        self.speed.set(Speed { done: from, rate: 0.0, left: config.steps.saturating_sub(from) });
        self.train_device.set(TrainDevice::Cpu);
        self.status.set(format!("Training in this tab on the CPU from step {from} (the GPU device was lost)."));
        self.recovered_from.set(Some(from));
        RUN.with(|r| *r.borrow_mut() = Some(run));
        // Paused: Resume trains in this tab (no worker is left to message).
        if self.phase.get_untracked() == Phase::Training {
            self.train_loop(gen);
        }
        self.refresh_arrows();
    }

    /// Pauses the worker or the loop in this tab (it stops after its chunk).
    pub(super) fn pause(self) {
        to_worker(ToWorker::Pause);
        self.phase.set(Phase::Paused);
    }

    /// Goes on from where the run paused.
    pub(super) fn resume(self) {
        self.phase.set(Phase::Training);
        if !to_worker(ToWorker::Resume) {
            self.train_loop(self.run_gen.current());
        }
    }

    /// Drops the run and its worker; while sampling, stops the sampling only (the trained model
    /// stays, in the phase it had).
    pub(super) fn cancel(self) {
        if self.phase.get_untracked() == Phase::Sampling {
            self.sample_gen.cancel();
            self.phase.set(self.sample_before.get_value());
            self.status.set("Sampling cancelled; the trained model is kept.".into());
            return;
        }
        self.run_gen.cancel();
        RUN.with(|r| *r.borrow_mut() = None);
        // A cancelled run is the user's choice to drop it: not restored after a reload.
        crate::store::delete(STORE_KEY);
        WORKER.with(|w| *w.borrow_mut() = None);
        WORKER_MODEL.with(|m| *m.borrow_mut() = None);
        self.phase.set(Phase::Idle);
        self.speed.set(Speed::default());
    }

    /// Keeps the in-tab run and its losses in browser storage (the page's one format for stored
    /// runs); when storage is full or unavailable the panel says so and the run goes on in memory.
    fn save_run(self, run: &ToyTraining, losses: &[f32]) {
        let seed = self.settings.get_untracked().seed;
        let step = run.steps_done();
        let refused = move |e: String| {
            if self.saved_step.get_untracked() != Some(usize::MAX) {
                self.status.set(format!("This browser's storage did not keep the run ({e}); it goes on in memory, but a reload would lose it."));
            }
            self.saved_step.set(Some(usize::MAX));
        };
        match run.snapshot(seed) {
            // Kept as bytes (crate::store); the write finishes while training goes on.
            Ok(bytes) => {
                let rec = crate::store::run_bytes(&bytes, losses);
                wasm_bindgen_futures::spawn_local(async move {
                    match crate::store::put(STORE_KEY, &rec).await {
                        Ok(()) => self.saved_step.set(Some(step)),
                        Err(e) => refused(e),
                    }
                });
            }
            Err(e) => refused(e),
        }
    }

    /// Goes on from the run kept in browser storage, when it was trained with the page's
    /// settings (K, seed, steps, learning rate): paused at its step, or trained. A stored run of
    /// other settings is left alone (the next run replaces it); an unreadable one is removed,
    /// with a notice.
    pub(super) fn restore_run(self) {
        // A run kept as text by an earlier version of the page: of no use now, and it fills
        // localStorage.
        let _ = crate::browser::storage_remove(STORE_KEY);
        wasm_bindgen_futures::spawn_local(async move {
            match crate::store::read_run(STORE_KEY, "toy run").await {
                Ok(Some(r)) => self.resume_from(r),
                Ok(None) => {}
                Err(e) => self.status.set(e),
            }
        });
    }

    /// Goes on from `resume` (see [`Self::restore_run`]).
    fn resume_from(self, resume: memgen_models::sweep::Resume) {
        let s = self.settings.get_untracked();
        let points = circle_points(s.k, s.seed);
        match ToyTraining::resume_fused(train_config(&s), &points, s.seed, 0, &toy_device(), &resume.snapshot) {
            Ok(run) => {
                let (done, total, finished) = (run.steps_done(), run.config.steps, run.finished());
                RUN.with(|r| *r.borrow_mut() = Some(run));
                self.losses.set(resume.losses);
                self.speed.set(Speed { done, rate: 0.0, left: total - done });
                self.train_device.set(TrainDevice::Cpu);
                self.saved_step.set(Some(done));
                self.phase.set(if finished { Phase::Trained } else { Phase::Paused });
                self.status.set(format!(
                    "Restored from this browser's storage at step {done} of {total}{}.",
                    if finished { " (trained)" } else { "; Resume goes on from there" }
                ));
                self.refresh_arrows();
            }
            Err(why) if why.starts_with("it was trained") => {}
            Err(why) => {
                crate::store::delete(STORE_KEY);
                self.status.set(format!("The toy run kept in this browser's storage could not be used ({why}) and has been removed."));
            }
        }
    }
}
