//! Training in a dedicated Web Worker, on burn's WebGPU device.
//!
//! burn (through cubecl) builds the WGSL of every kernel the first time a training step uses
//! it, and waits on the GPU queue between steps. On the page's main thread that blocked the
//! tab for seconds at a time on software adapters. The worker runs the same wasm module
//! (`www/train-worker.js` loads it and calls [`train_worker_start`]); the page only receives
//! progress messages and, every so often, the EMA weights, which it loads on its own CPU
//! device to draw arrows, sample and integrate the energy. Pause and resume are messages;
//! cancel terminates the worker.
//!
//! Messages are plain objects converted with serde-wasm-bindgen; the weights travel as a
//! `Uint8Array` (an f32 safetensors checkpoint, [`memgen_models::toy::checkpoint`]) beside the
//! message under the key `bytes`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use memgen_models::device::LabDevice;
use memgen_models::toy::checkpoint;
use memgen_models::toy::training::ToyTraining;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Where the page loads the worker script from (relative to the page).
pub const TRAIN_WORKER_URL: &str = "www/train-worker.js";

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum ToWorker {
    /// Train the toy score network (browser preset with these steps and learning rate).
    ToyTrain(ToyJob),
    /// Train the small UNet on the images that ride beside the message under `bytes` (u8
    /// pixels, `[K, H, W, C]`); at the end the EMA
    /// weights come back ([`memgen_models::unet::snapshot::encode_weights_async`]).
    UnetTrain(UNetJob),
    /// Probe a gallery sample with a bundle point's UNet on WebGPU: its safetensors weights
    /// ride beside the message under `bytes` ([`memgen_models::unet::snapshot::decode_weights`]).
    UnetProbe(ProbeJob),
    /// Stop after the current chunk until [`ToWorker::Resume`].
    Pause,
    /// Go on after a pause.
    Resume,
}

/// A toy training job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyJob {
    /// Training points.
    pub points: Vec<[f32; 2]>,
    /// The experiment's seed.
    pub seed: u64,
    /// The whole training configuration (network, Adam, EMA, steps): the page's, carried as is.
    pub config: memgen_models::toy::ToyTrainConfig,
    /// Steps per chunk (one loss read-back and one progress message per chunk).
    pub chunk: usize,
    /// Send the EMA weights every this many steps (and at the end).
    pub weights_every: usize,
    /// Send the run's snapshot ([`FromWorker::Snapshot`]) after the first chunk that ends
    /// this many milliseconds after the last one (0: never).
    #[serde(default)]
    pub snapshot_every_ms: f64,
}

/// A UNet training job (its images ride beside the message, `[K, H, W, C]` u8 pixels of the
/// config's network shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UNetJob {
    /// The run's configuration (network, steps, batch, optimisation).
    pub config: memgen_models::unet::UNetTrainConfig,
    /// The point's seed.
    pub seed: u64,
    /// Steps per chunk.
    pub chunk: usize,
    /// Send the run's snapshot ([`FromWorker::Snapshot`]: weights, EMA and step, in the fused
    /// trainer's format) after the first chunk that ends this many milliseconds after the last
    /// one (0: never), to go on from on the CPU if the device is lost.
    #[serde(default)]
    pub snapshot_every_ms: f64,
}

/// A probe of one gallery sample by a bundle point's UNet ([`memgen_models::probe`]), the same
/// procedure and noise as `memgen probe` and the page's CPU path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeJob {
    /// What to compute.
    pub task: ProbeTask,
    /// The point's probe settings.
    pub settings: memgen_models::probe::ProbeSettings,
    /// The sample's gallery index (its noise stream, [`memgen_models::probe::sample_noise`]).
    pub index: usize,
    /// `[H, W, C]` of the image.
    pub shape: [usize; 3],
    /// The sample's u8 pixels, packed `[H, W, C]`.
    #[serde(with = "serde_bytes")]
    pub image: Vec<u8>,
}

/// What a [`ProbeJob`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeTask {
    /// The basin search: a [`FromWorker::ProbeLevel`] per level, then [`FromWorker::ProbeBasin`].
    Basin,
    /// The trials at step `t`: [`FromWorker::ProbeTrials`].
    Trials {
        /// The step.
        t: usize,
    },
    /// The score Jacobian `columns` columns a batch, then its singular values:
    /// [`FromWorker::ProbeColumns`] per batch, then [`FromWorker::ProbeSpectrum`].
    Spectrum {
        /// Columns per batch (two network inputs each).
        columns: usize,
    },
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    /// The worker's wasm is up and listening.
    Ready,
    /// The device the worker trains on.
    Device {
        /// e.g. "WebGPU · swiftshader".
        label: String,
    },
    /// A chunk finished.
    Progress {
        /// Steps done.
        done: usize,
        /// Steps in all.
        total: usize,
        /// The chunk's losses.
        losses: Vec<f32>,
        /// Seconds since the worker started training (device set-up excluded).
        secs: f64,
    },
    /// Training stopped for a pause after `done` steps (sent once the worker is idle).
    Paused {
        /// Steps done.
        done: usize,
    },
    /// Training goes on after a pause, from `done` steps.
    Resumed {
        /// Steps done.
        done: usize,
    },
    /// The EMA weights after `done` steps (the checkpoint bytes ride under `bytes`).
    Weights {
        /// Steps done.
        done: usize,
    },
    /// The run's state after `done` steps (the snapshot bytes ride under `bytes`:
    /// [`ToyTraining::snapshot_async`], [`memgen_models::unet::UNetTraining::snapshot_async`]),
    /// to go on from if the worker's device is lost.
    Snapshot {
        /// Steps done.
        done: usize,
    },
    /// The worker's GPU device was lost (posted by `www/train-worker.js` from the device's
    /// `lost` promise); the worker is of no more use.
    DeviceLost {
        /// WebGPU's `GPUDeviceLostInfo.reason` (`destroyed` or `unknown`).
        reason: String,
        /// Its message.
        message: String,
    },
    /// A level of a basin search read ([`ProbeTask::Basin`]).
    ProbeLevel {
        /// The level.
        level: memgen_models::probe::LevelRead,
    },
    /// The basin found ([`ProbeTask::Basin`]).
    ProbeBasin {
        /// Its levels, `t_c`, radius and log-volume.
        basin: memgen_models::probe::BasinProbe,
    },
    /// The trials at a step ([`ProbeTask::Trials`]): each one's distance back from the sample;
    /// their noised then their denoised images ride under `bytes`, u8 `[2·trials, C, H, W]`.
    ProbeTrials {
        /// `d(x̂₀, x₀)` of each trial, on the `[0, 1]` pixel scale.
        distances: Vec<f64>,
    },
    /// Columns of the score Jacobian done ([`ProbeTask::Spectrum`]).
    ProbeColumns {
        /// Done.
        done: usize,
        /// In all.
        total: usize,
    },
    /// The spectrum: the score Jacobian's singular values, descending ([`ProbeTask::Spectrum`]).
    ProbeSpectrum {
        /// The values.
        values: Vec<f64>,
    },
    /// All steps done.
    Finished {
        /// Steps done.
        done: usize,
    },
    /// Something failed; the worker stops.
    Failed {
        /// What.
        message: String,
    },
}

/// What the page says of a lost GPU device ([`FromWorker::DeviceLost`]), control characters
/// and bidirectional overrides of the browser's message dropped.
pub fn lost_device(reason: &str, message: &str) -> String {
    let message = memgen_core::text::neutralise(message.trim());
    if message.is_empty() {
        format!("The GPU device was lost ({})", memgen_core::text::neutralise(reason))
    } else {
        format!("The GPU device was lost ({}: {message})", memgen_core::text::neutralise(reason))
    }
}

/// `msg` as a plain object. 64-bit integers travel as `BigInt`: a point's seed is a full `u64`
/// (`memgen_models::sweep::sweep_point_seed`), past the 2^53 that a JS number holds exactly.
fn to_js<T: Serialize>(msg: &T) -> Result<JsValue, String> {
    msg.serialize(&serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true)).map_err(|e| format!("message not sent: {e}"))
}

/// Posts `msg` (as a plain object) to a worker or from one, with `bytes` beside it; says why
/// when it cannot.
fn post<T: Serialize>(target: &JsValue, msg: &T, bytes: Option<&[u8]>) -> Result<(), String> {
    let obj = to_js(msg)?;
    if let Some(b) = bytes {
        let _ = Reflect::set(&obj, &"bytes".into(), &Uint8Array::from(b));
    }
    call_method(target, "postMessage", &[obj]);
    Ok(())
}

/// Posts from the worker; a message that cannot be converted goes back as [`FromWorker::Failed`].
fn reply(target: &JsValue, msg: &FromWorker, bytes: Option<&[u8]>) {
    if let Some(failed) = failure_of(post(target, msg, bytes)) {
        let _ = post(target, &failed, None);
    }
}

/// A message that could not be posted, as the [`FromWorker::Failed`] that reports it.
fn failure_of(posted: Result<(), String>) -> Option<FromWorker> {
    posted.err().map(|message| FromWorker::Failed { message })
}

fn call_method(target: &JsValue, name: &str, args: &[JsValue]) {
    if let Some(f) = Reflect::get(target, &name.into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
        let _ = f.apply(target, &args.iter().collect::<Array>());
    }
}

/// The worker's entry point, called by `www/train-worker.js` after the wasm module is up.
#[wasm_bindgen]
pub fn train_worker_start() {
    console_error_panic_hook::set_once();
    let scope = js_sys::global();
    let paused = Rc::new(Cell::new(false));
    let busy = Rc::new(Cell::new(false));
    let target = scope.clone();
    let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| match serde_wasm_bindgen::from_value::<ToWorker>(data_of(&ev)) {
        Ok(ToWorker::Pause) => paused.set(true),
        Ok(ToWorker::Resume) => paused.set(false),
        Ok(job) => {
            if busy.replace(true) {
                reply(&target, &FromWorker::Failed { message: "this worker is already training".into() }, None);
                return;
            }
            let bytes = Reflect::get(&data_of(&ev), &"bytes".into()).ok().and_then(|b| b.dyn_into::<Uint8Array>().ok()).map(|a| a.to_vec());
            let (target, paused) = (target.clone(), paused.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r = match job {
                    ToWorker::ToyTrain(job) => toy_train(&target, &paused, job).await,
                    ToWorker::UnetTrain(job) => unet_train(&target, &paused, bytes.unwrap_or_default(), job).await,
                    ToWorker::UnetProbe(job) => unet_probe(&target, &bytes.unwrap_or_default(), job).await,
                    ToWorker::Pause | ToWorker::Resume => Ok(()),
                };
                if let Err(message) = r {
                    reply(&target, &FromWorker::Failed { message }, None);
                }
            });
        }
        Err(e) => reply(&target, &FromWorker::Failed { message: format!("unreadable message: {e}") }, None),
    });
    let _ = Reflect::set(&scope, &"onmessage".into(), onmessage.as_ref());
    onmessage.forget();
    reply(&scope, &FromWorker::Ready, None);
}

fn data_of(ev: &JsValue) -> JsValue {
    Reflect::get(ev, &"data".into()).unwrap_or(JsValue::UNDEFINED)
}

/// Waits while paused (saying so when it stops and when it goes on, with the step, so the page
/// can tell that no step ran in between), then lets the message handler run (pause, resume).
async fn between_chunks(target: &JsValue, paused: &Cell<bool>, done: usize) {
    if paused.get() {
        reply(target, &FromWorker::Paused { done }, None);
        while paused.get() {
            crate::browser::sleep_ms(100).await;
        }
        reply(target, &FromWorker::Resumed { done }, None);
    }
    crate::browser::yield_now().await;
}

async fn unet_train(target: &JsValue, paused: &Cell<bool>, pixels: Vec<u8>, job: UNetJob) -> Result<(), String> {
    use memgen_models::unet::{snapshot, to_model, UNetTraining};
    let UNetJob { config, seed, chunk, snapshot_every_ms } = job;
    let (net, steps) = (config.net, config.steps);
    let (h, w, c) = (net.height, net.width, net.channels);
    let lab = LabDevice::gpu().await.map_err(|e| format!("WebGPU is not available in the worker: {e}"))?;
    reply(target, &FromWorker::Device { label: format!("WebGPU · {}", lab.describe()) }, None);
    let mut run = UNetTraining::new(config, &to_model(&pixels, h, w, c), seed, &lab.device)?;
    let t0 = crate::browser::now_ms();
    let mut snapshot_at = t0;
    while !run.finished() {
        between_chunks(target, paused, run.steps_done()).await;
        let losses = run.run_steps(chunk.max(1)).await?;
        if losses.iter().any(|l| !l.is_finite()) {
            return Err("training diverged (non-finite loss)".into());
        }
        let secs = (crate::browser::now_ms() - t0) / 1000.0;
        reply(target, &FromWorker::Progress { done: run.steps_done(), total: steps, losses, secs }, None);
        if snapshot_every_ms > 0.0 && !run.finished() && crate::browser::now_ms() - snapshot_at >= snapshot_every_ms {
            let bytes = run.snapshot_async(seed).await?;
            reply(target, &FromWorker::Snapshot { done: run.steps_done() }, Some(&bytes));
            snapshot_at = crate::browser::now_ms();
        }
    }
    let bytes = snapshot::encode_weights_async(&run.ema_model(), &net).await?;
    reply(target, &FromWorker::Weights { done: run.steps_done() }, Some(&bytes));
    reply(target, &FromWorker::Finished { done: run.steps_done() }, None);
    Ok(())
}

async fn unet_probe(target: &JsValue, weights: &[u8], job: ProbeJob) -> Result<(), String> {
    use memgen_models::probe::{probe_basin, recovery_trials, sample_noise, trial_noise, ScoreJacobian};
    use memgen_models::unet::{quantize_u8, snapshot, to_model};
    let ProbeJob { task, settings, index, shape: [h, w, c], image } = job;
    if image.len() != h * w * c {
        return Err(format!("an image of {} values is not {h}×{w}×{c}", image.len()));
    }
    let lab = LabDevice::gpu().await.map_err(|e| format!("WebGPU is not available in the worker: {e}"))?;
    reply(target, &FromWorker::Device { label: format!("WebGPU · {}", lab.describe()) }, None);
    let (model, net) = snapshot::decode_weights(weights, &lab.device)?;
    if [net.height, net.width, net.channels] != [h, w, c] {
        return Err(format!("the weights are for {}×{}×{} images, the sample is {h}×{w}×{c}", net.height, net.width, net.channels));
    }
    let (x0, chw) = (to_model(&image, h, w, c), [c, h, w]);
    match task {
        ProbeTask::Basin => {
            let mut noise = sample_noise(&settings, index);
            let basin = probe_basin(&model, &x0, chw, &settings.basin, &lab.device, &mut noise, |level| {
                reply(target, &FromWorker::ProbeLevel { level }, None);
            })
            .await?;
            reply(target, &FromWorker::ProbeBasin { basin }, None);
        }
        ProbeTask::Trials { t } => {
            let b = settings.basin;
            let eps = trial_noise(b.trials, x0.len(), &mut sample_noise(&settings, index));
            let (xt, y) = recovery_trials(&model, &x0, &eps, t, chw, b.sampler_steps, &lab.device).await?;
            let distances = y.chunks_exact(x0.len()).map(|y| memgen_models::probe::pixel_distance(y, &x0)).collect();
            let mut bytes = quantize_u8(&xt);
            bytes.extend(quantize_u8(&y));
            reply(target, &FromWorker::ProbeTrials { distances }, Some(&bytes));
        }
        ProbeTask::Spectrum { columns } => {
            let mut jac = ScoreJacobian::new(&x0, settings.curvature_t, chw, settings.curvature_h)?;
            while !jac.finished() {
                jac.step_async(&model, columns.max(1), &lab.device).await?;
                reply(target, &FromWorker::ProbeColumns { done: jac.done(), total: jac.columns() }, None);
                crate::browser::yield_now().await;
            }
            let values = memgen_core::basin::singular_values(&jac.matrix()?).map_err(|e| e.to_string())?;
            reply(target, &FromWorker::ProbeSpectrum { values }, None);
        }
    }
    reply(target, &FromWorker::Finished { done: 1 }, None);
    Ok(())
}

async fn toy_train(target: &JsValue, paused: &Cell<bool>, job: ToyJob) -> Result<(), String> {
    let ToyJob { points, seed, config, chunk, weights_every, snapshot_every_ms } = job;
    let steps = config.steps;
    if points.is_empty() || steps == 0 || !(config.lr > 0.0 && config.lr.is_finite()) {
        return Err("nothing to train: no points, no steps or a bad learning rate".into());
    }
    let lab = LabDevice::gpu().await.map_err(|e| format!("WebGPU is not available in the worker: {e}"))?;
    reply(target, &FromWorker::Device { label: format!("WebGPU · {}", lab.describe()) }, None);
    let net = config.net;
    let mut run = ToyTraining::new(config, &points, seed, &lab.device);
    let (chunk, weights_every) = (chunk.max(1), weights_every.max(1));
    let t0 = crate::browser::now_ms();
    let mut next_weights = weights_every;
    let mut snapshot_at = t0;
    loop {
        between_chunks(target, paused, run.steps_done()).await;
        let losses = run.run_steps(chunk).await?;
        let done = run.steps_done();
        let secs = (crate::browser::now_ms() - t0) / 1000.0;
        reply(target, &FromWorker::Progress { done, total: steps, losses, secs }, None);
        if snapshot_every_ms > 0.0 && !run.finished() && crate::browser::now_ms() - snapshot_at >= snapshot_every_ms {
            let bytes = run.snapshot_async(seed).await?;
            reply(target, &FromWorker::Snapshot { done }, Some(&bytes));
            snapshot_at = crate::browser::now_ms();
        }
        if done >= next_weights || run.finished() {
            next_weights = done + weights_every;
            let mut meta = BTreeMap::new();
            meta.insert("steps_done".to_string(), done.to_string());
            meta.insert("seed".to_string(), seed.to_string());
            let bytes = checkpoint::encode_f32_async(&run.ema_model(), &net, &meta).await?;
            reply(target, &FromWorker::Weights { done }, Some(&bytes));
        }
        if run.finished() {
            reply(target, &FromWorker::Finished { done }, None);
            return Ok(());
        }
    }
}

/// The page's handle on a worker: messages sent before the worker is ready are queued.
/// Dropping the handle terminates the worker.
pub struct WorkerHandle {
    worker: JsValue,
    ready: Rc<Cell<bool>>,
    queue: Rc<RefCell<Vec<(ToWorker, Option<Vec<u8>>)>>>,
    on_message: Rc<RefCell<dyn FnMut(FromWorker, Option<Vec<u8>>)>>,
    _onmessage: Closure<dyn FnMut(JsValue)>,
    _onerror: Closure<dyn FnMut(JsValue)>,
}

impl WorkerHandle {
    /// Starts the module worker at `url`; `on_message` gets every message with its bytes.
    pub fn spawn(url: &str, mut on_message: impl FnMut(FromWorker, Option<Vec<u8>>) + 'static) -> Result<WorkerHandle, String> {
        let ctor = Reflect::get(&js_sys::global(), &"Worker".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            .ok_or("this browser has no Web Workers")?;
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"type".into(), &"module".into());
        let worker = Reflect::construct(&ctor, &Array::of2(&url.into(), &opts)).map_err(|e| format!("could not start the worker: {e:?}"))?;
        let ready = Rc::new(Cell::new(false));
        let queue = Rc::new(RefCell::new(Vec::<(ToWorker, Option<Vec<u8>>)>::new()));
        let (w2, r2, q2) = (worker.clone(), ready.clone(), queue.clone());
        let on_message_cb: Rc<RefCell<dyn FnMut(FromWorker, Option<Vec<u8>>)>> =
            Rc::new(RefCell::new(move |m: FromWorker, b: Option<Vec<u8>>| on_message(m, b)));
        let (cb2, cb3) = (on_message_cb.clone(), on_message_cb.clone());
        let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let data = Reflect::get(&ev, &"data".into()).unwrap_or(JsValue::UNDEFINED);
            let bytes = Reflect::get(&data, &"bytes".into()).ok().and_then(|b| b.dyn_into::<Uint8Array>().ok()).map(|a| a.to_vec());
            let msg = serde_wasm_bindgen::from_value::<FromWorker>(data)
                .unwrap_or_else(|e| FromWorker::Failed { message: format!("unreadable message from the worker: {e}") });
            let mut unsent = Vec::new();
            if msg == FromWorker::Ready {
                r2.set(true);
                unsent.extend(q2.borrow_mut().drain(..).filter_map(|(m, b)| failure_of(post(&w2, &m, b.as_deref()))));
            }
            (on_message_cb.borrow_mut())(msg, bytes);
            for m in unsent {
                (on_message_cb.borrow_mut())(m, None);
            }
        });
        let onerror = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            // Handled here, and said on the page: not also an uncaught error in the console.
            call_method(&ev, "preventDefault", &[]);
            let text = Reflect::get(&ev, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(|| "the worker script failed to load".into());
            (cb2.borrow_mut())(FromWorker::Failed { message: format!("worker error: {text}") }, None);
        });
        let _ = Reflect::set(&worker, &"onmessage".into(), onmessage.as_ref());
        let _ = Reflect::set(&worker, &"onerror".into(), onerror.as_ref());
        Ok(WorkerHandle { worker, ready, queue, on_message: cb3, _onmessage: onmessage, _onerror: onerror })
    }

    /// Starts the module worker at `url` with its messages queued on a channel, for a page
    /// loop that reads them between its own checks (cancel, pause) with `try_recv`.
    pub fn spawn_queued(url: &str) -> Result<(WorkerHandle, futures_channel::mpsc::UnboundedReceiver<(FromWorker, Option<Vec<u8>>)>), String> {
        let (tx, rx) = futures_channel::mpsc::unbounded::<(FromWorker, Option<Vec<u8>>)>();
        let handle = WorkerHandle::spawn(url, move |m, b| {
            let _ = tx.unbounded_send((m, b));
        })?;
        Ok((handle, rx))
    }

    /// Sends `msg` now, or once the worker is ready.
    pub fn send(&self, msg: ToWorker) {
        self.send_with(msg, None);
    }

    /// Sends `msg` with `bytes` beside it (under `bytes`), now or once the worker is ready.
    pub fn send_with(&self, msg: ToWorker, bytes: Option<Vec<u8>>) {
        if self.ready.get() {
            if let Some(failed) = failure_of(post(&self.worker, &msg, bytes.as_deref())) {
                (self.on_message.borrow_mut())(failed, None);
            }
        } else {
            self.queue.borrow_mut().push((msg, bytes));
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        call_method(&self.worker, "terminate", &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_documented_json_shape() {
        let config = memgen_models::toy::ToyTrainConfig { steps: 10, lr: 1e-3, ..memgen_models::toy::ToyTrainConfig::browser() };
        let m = ToWorker::ToyTrain(ToyJob { points: vec![[1.0, 0.0]], seed: 3, config, chunk: 5, weights_every: 5, snapshot_every_ms: 0.0 });
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["cmd"], "toy_train");
        assert_eq!(j["config"]["steps"], 10);
        assert_eq!(j["config"]["batch"], 512);
        assert_eq!(serde_json::from_value::<ToWorker>(j).unwrap(), m);
        assert_eq!(serde_json::to_value(ToWorker::Pause).unwrap()["cmd"], "pause");
        let p = FromWorker::Progress { done: 5, total: 10, losses: vec![0.5], secs: 1.5 };
        let j = serde_json::to_value(&p).unwrap();
        assert_eq!(j["type"], "progress");
        assert_eq!(serde_json::from_value::<FromWorker>(j).unwrap(), p);
        assert!(serde_json::from_value::<ToWorker>(serde_json::json!({"cmd": "fly"})).is_err());
        // A probe job: its task tagged by kind, the sample's pixels as bytes.
        let settings = memgen_models::probe::ProbeSettings {
            basin: memgen_models::probe::BasinSettings::paper(1.7),
            curvature_t: 10,
            curvature_h: 1e-2,
            seed: 4,
            spectrum_ranks: None,
        };
        let m = ToWorker::UnetProbe(ProbeJob { task: ProbeTask::Spectrum { columns: 32 }, settings, index: 3, shape: [28, 28, 1], image: vec![7; 784] });
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["cmd"], "unet_probe");
        assert_eq!(j["task"], serde_json::json!({"kind": "spectrum", "columns": 32}));
        assert_eq!(j["image"].as_array().map(Vec::len), Some(784));
        assert_eq!(serde_json::from_value::<ToWorker>(j).unwrap(), m);
        let basin = memgen_models::probe::BasinProbe { levels: vec![(1, 1.0), (26, 0.0)], t_c: None, radius: 0.0, log_volume: f64::NEG_INFINITY };
        let j = serde_json::to_value(FromWorker::ProbeBasin { basin: basin.clone() }).unwrap();
        assert_eq!((j["type"].as_str(), j["basin"]["log_volume"].is_null()), (Some("probe_basin"), true));
        assert_eq!(serde_json::from_value::<FromWorker>(j).unwrap(), FromWorker::ProbeBasin { basin });
        // What www/train-worker.js posts when the device is lost.
        let lost = serde_json::json!({"type": "device_lost", "reason": "destroyed", "message": "Device was destroyed."});
        assert_eq!(
            serde_json::from_value::<FromWorker>(lost).unwrap(),
            FromWorker::DeviceLost { reason: "destroyed".into(), message: "Device was destroyed.".into() }
        );
    }
}
