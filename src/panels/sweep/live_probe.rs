//! A gallery sample probed live in the tab from the bundle's weights (docs/SCIENCE.md §5–6):
//! its basin search (the library's search and noise, one trial and one DDIM step between
//! frames), its trials at a chosen t, and its curvature spectrum on demand; cancellable.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::basin::GridSearch;
use memgen_core::schedules::DdpmSchedule;
use memgen_models::probe::{basin_radius, decode_f16, pixel_distance, sample_noise, trial_noise, BasinSettings, KProbe, ProbeSettings, ScoreJacobian, Search};
use memgen_models::unet::fused::FusedUNet;
use memgen_models::unet::{quantize_u8, to_model, to_packed, ImageSampling, SamplerConfig};
use plotters::style::RGBColor;

use super::Panel;
use crate::browser::{b64, now_ms, sleep_ms, unbase64, yield_now};
use crate::plot::curves_plot;
use crate::widgets::gallery::Thumb;
use crate::widgets::{time_left, GpuToggle};
use crate::worker::{ProbeJob, ProbeTask};

/// Where a live probe stands.
#[derive(Clone, PartialEq)]
enum Live {
    Idle,
    Running(String),
    Done(String),
    Cancelled,
    Failed(String),
}

/// One DDIM run of one trial from `x_t`, a step at a time with the event loop handed back
/// between steps (each is one network evaluation); `None` when cancelled.
async fn denoise_one(model: &FusedUNet, xt: Vec<f32>, t: usize, chw: [usize; 3], steps: usize, run: Sinks) -> Result<Option<Vec<f32>>, String> {
    let device = memgen_models::device::LabDevice::cpu().device.inner();
    let [c, h, w] = chw;
    let x = burn::tensor::Tensor::<4>::from_data(burn::tensor::TensorData::new(xt, [1, c, h, w]), &device);
    let mut unused = memgen_core::spec::NoiseStream::new(0, 0);
    let mut s = ImageSampling::from_noised(model, SamplerConfig::ddim(steps), x, t, &device, &mut unused);
    while !s.finished() {
        if run.stopped() {
            return Ok(None);
        }
        s.run_steps_synced(1).await?;
        yield_now().await;
    }
    Ok(Some(s.samples().await?))
}

/// What a live probe computes.
#[derive(Clone, Copy, PartialEq)]
enum Action {
    /// The basin search.
    Basin,
    /// The trials at step `t`, noised and denoised.
    Trials(usize),
    /// The curvature spectrum.
    Spectrum,
}

impl Action {
    fn task(self) -> ProbeTask {
        match self {
            Action::Basin => ProbeTask::Basin,
            Action::Trials(t) => ProbeTask::Trials { t },
            Action::Spectrum => ProbeTask::Spectrum { columns: GPU_COLUMNS },
        }
    }
}

/// Columns of the score Jacobian a batch on WebGPU (two network inputs each): one network
/// evaluation of 64 images a message.
const GPU_COLUMNS: usize = 32;

/// Where a live probe's results go: the panel's signals.
#[derive(Clone, Copy)]
struct Sinks {
    state: RwSignal<Live>,
    /// The run under way: bumped by every start, cancel and change of sample, so a run whose
    /// number it no longer holds stops and writes nothing more.
    gen: crate::job::Generation,
    /// This run's ticket.
    run: crate::job::Ticket,
    levels: RwSignal<Vec<(usize, f64)>>,
    result: RwSignal<Option<(Option<usize>, f64)>>,
    trials: RwSignal<Vec<(String, String, f64)>>,
    spectrum: RwSignal<Vec<f64>>,
    took_ms: RwSignal<(f64, f64)>,
    /// "cpu" or "webgpu": where the last result was computed.
    ran_on: RwSignal<&'static str>,
}

impl Sinks {
    /// These sinks for a new run, which supersedes any under way.
    fn start_run(self) -> Sinks {
        Sinks { run: self.gen.begin(), ..self }
    }

    /// Whether this run was cancelled or superseded.
    fn stopped(self) -> bool {
        self.gen.is_stale(self.run)
    }

    /// Empties what `action` fills.
    fn clear(self, action: Action) {
        match action {
            Action::Basin => {
                self.levels.set(Vec::new());
                self.result.set(None);
            }
            Action::Trials(_) => self.trials.set(Vec::new()),
            Action::Spectrum => self.spectrum.set(Vec::new()),
        }
        self.ran_on.set("");
    }

    fn running(self, m: String) {
        if !self.stopped() {
            self.state.set(Live::Running(m));
        }
    }

    /// The line that says what a finished `action` found.
    fn done_text(self, action: Action) -> String {
        match action {
            Action::Basin => match self.result.get_untracked() {
                Some((Some(t), lv)) => format!("t_c = {t}, log-volume {lv:.1}"),
                _ => "no basin: the first level already fails".into(),
            },
            Action::Trials(t) => format!("the {} trials at t = {t}", self.trials.with_untracked(Vec::len)),
            Action::Spectrum => {
                self.spectrum.with_untracked(|sv| format!("its {} singular values, the largest {:.2}", sv.len(), sv.first().copied().unwrap_or(f64::NAN)))
            }
        }
    }

    /// A trial's noised and denoised images (u8, `[C, H, W]`) as the gallery's thumbnails
    /// show them.
    fn push_trial(self, noised: &[u8], back: &[u8], dist: f64, [h, w, c]: [usize; 3]) {
        let q = |x: &[u8]| b64(&to_packed(x, h, w, c));
        self.trials.update(|v| v.push((q(noised), q(back), dist)));
    }
}

/// `job` run by the training worker on its WebGPU device (src/worker.rs), its replies shown
/// as they come: `Ok(Ok(finished))`, or `Ok(Err(what was said))` when the worker's device was
/// lost or the worker could not open one (the page then runs it on the CPU). Cancel ends the
/// worker.
async fn in_worker(s: Sinks, weights: Vec<u8>, job: ProbeJob) -> Result<Result<bool, String>, String> {
    use crate::worker::{lost_device, FromWorker, ToWorker, WorkerHandle, TRAIN_WORKER_URL};
    let (handle, mut rx) = WorkerHandle::spawn_queued(TRAIN_WORKER_URL)?;
    let (settings, [h, w, c]) = (job.settings.clone(), job.shape);
    let x0 = to_model(&job.image, h, w, c);
    handle.send_with(ToWorker::UnetProbe(job), Some(weights));
    s.running("starting the worker (WebGPU)…".into());
    let started = now_ms();
    let (mut device, mut on_device) = (String::from("WebGPU"), false);
    loop {
        while let Ok((msg, bytes)) = rx.try_recv() {
            if s.stopped() {
                return Ok(Ok(false));
            }
            let rate = |done: usize| done as f64 / ((now_ms() - started) / 1000.0);
            match msg {
                FromWorker::DeviceLost { reason, message } => return Ok(Err(lost_device(&reason, &message))),
                // Before it has a device (no WebGPU in the worker, or none of the weights'
                // kernels on it): the CPU does it instead.
                FromWorker::Failed { message } if !on_device => return Ok(Err(format!("The worker could not probe on WebGPU ({message})"))),
                FromWorker::Failed { message } => return Err(format!("the worker: {message}")),
                FromWorker::Device { label } => {
                    on_device = true;
                    device = label;
                    s.running(format!("on {device} in a worker: loading the weights and compiling its kernels…"));
                }
                FromWorker::ProbeLevel { level } => {
                    s.levels.update(|l| l.push((level.t, level.share)));
                    s.running(format!(
                        "on {device} in a worker: level t = {} read, {} of at most {} levels; {}",
                        level.t,
                        level.read,
                        level.most,
                        time_left(level.most.saturating_sub(level.read) as f64, rate(level.read))
                    ));
                }
                FromWorker::ProbeBasin { basin } => {
                    s.result.set(Some((basin.t_c, basin.log_volume)));
                    s.took_ms.update(|m| m.0 = now_ms() - started);
                }
                FromWorker::ProbeTrials { distances } => {
                    let b = bytes.ok_or("the worker sent no trial images")?;
                    let d = x0.len();
                    if b.len() != 2 * distances.len() * d {
                        return Err(format!("the worker sent {} bytes for {} trials", b.len(), distances.len()));
                    }
                    let (noised, back) = b.split_at(distances.len() * d);
                    for (i, dist) in distances.iter().enumerate() {
                        s.push_trial(&noised[i * d..(i + 1) * d], &back[i * d..(i + 1) * d], *dist, [h, w, c]);
                    }
                }
                FromWorker::ProbeColumns { done, total } => s.running(format!(
                    "on {device} in a worker: column {done} of {total} of the score's Jacobian at t = {}; {}",
                    settings.curvature_t,
                    time_left(total.saturating_sub(done) as f64, rate(done))
                )),
                FromWorker::ProbeSpectrum { values } => {
                    s.spectrum.set(values);
                    s.took_ms.update(|m| m.1 = now_ms() - started);
                }
                FromWorker::Finished { .. } => {
                    s.ran_on.set("webgpu");
                    return Ok(Ok(true));
                }
                FromWorker::Ready
                | FromWorker::Progress { .. }
                | FromWorker::Paused { .. }
                | FromWorker::Resumed { .. }
                | FromWorker::Weights { .. }
                | FromWorker::Snapshot { .. } => {}
            }
        }
        if s.stopped() {
            return Ok(Ok(false));
        }
        sleep_ms(50).await;
    }
}

/// `job` run in this tab on the CPU with the fused network, a network evaluation between
/// frames: `Ok(finished)`.
async fn on_cpu(s: Sinks, model: &FusedUNet, job: &ProbeJob) -> Result<bool, String> {
    let ProbeJob { task, settings, index, shape: [h, w, c], image } = job;
    let (x0, chw) = (to_model(image, *h, *w, *c), [*c, *h, *w]);
    let d = x0.len();
    let b = settings.basin;
    let mut noise = sample_noise(settings, *index);
    let started = now_ms();
    match *task {
        ProbeTask::Basin => {
            let eps = trial_noise(b.trials, d, &mut noise);
            let grid = b.grid();
            let mut search = GridSearch::new(b.search, grid.len(), b.threshold);
            let mut done_trials = 0usize;
            while let Some(i) = search.next() {
                let t = grid[i];
                let mut hit = 0;
                for trial in 0..b.trials {
                    let mut xt = x0.clone();
                    DdpmSchedule::paper().forward(&mut xt, t, &eps[trial * d..(trial + 1) * d]);
                    let Some(y) = denoise_one(model, xt, t, chw, b.sampler_steps, s).await? else { return Ok(false) };
                    hit += usize::from(pixel_distance(&y, &x0) <= b.delta);
                    done_trials += 1;
                    let most = search.most() * b.trials;
                    let rate = done_trials as f64 / ((now_ms() - started) / 1000.0);
                    s.running(format!(
                        "level t = {t}: trial {} of {}; {} of at most {} levels read; {}",
                        trial + 1,
                        b.trials,
                        search.levels().len(),
                        search.most(),
                        time_left(most.saturating_sub(done_trials) as f64, rate)
                    ));
                }
                let share = hit as f64 / b.trials as f64;
                search.record(i, share);
                s.levels.update(|l| l.push((t, share)));
            }
            let t_c = search.t_c().map(|i| grid[i]);
            let (_, log_volume) = basin_radius(&x0, t_c, &mut noise)?;
            s.result.set(Some((t_c, log_volume)));
            s.took_ms.update(|m| m.0 = now_ms() - started);
        }
        ProbeTask::Trials { t } => {
            let eps = trial_noise(b.trials, d, &mut noise);
            for trial in 0..b.trials {
                let mut xt = x0.clone();
                DdpmSchedule::paper().forward(&mut xt, t, &eps[trial * d..(trial + 1) * d]);
                let Some(y) = denoise_one(model, xt.clone(), t, chw, b.sampler_steps, s).await? else { return Ok(false) };
                s.push_trial(&quantize_u8(&xt), &quantize_u8(&y), pixel_distance(&y, &x0), [*h, *w, *c]);
                s.running(format!("the trials at t = {t}: {} of {}", trial + 1, b.trials));
            }
        }
        // A column (two network evaluations, about 60 ms) between frames, then the singular
        // values in a worker; the same columns memgen probe computes in larger batches.
        ProbeTask::Spectrum { .. } => {
            let device = memgen_models::device::LabDevice::cpu().device.inner();
            let mut jac = ScoreJacobian::new(&x0, settings.curvature_t, chw, settings.curvature_h)?;
            while !jac.finished() {
                if s.stopped() {
                    return Ok(false);
                }
                jac.step(model, 1, &device)?;
                let rate = jac.done() as f64 / ((now_ms() - started) / 1000.0);
                s.running(format!(
                    "the spectrum at t = {}: column {} of {} of the score's Jacobian; {}",
                    settings.curvature_t,
                    jac.done(),
                    jac.columns(),
                    time_left((jac.columns() - jac.done()) as f64, rate)
                ));
                yield_now().await;
            }
            s.running(format!("the spectrum: the singular values of the {d} × {d} Jacobian, in a worker (a few seconds)…"));
            yield_now().await;
            let sv = crate::cluster_worker::singular_values_off_the_tab(&jac.matrix()?).await?;
            if s.stopped() {
                return Ok(false);
            }
            s.spectrum.set(sv);
            s.took_ms.update(|m| m.1 = now_ms() - started);
        }
    }
    Ok(true)
}

/// The gallery sample picked above, probed here: its basin search (the bundle's probe settings
/// for this K when it has them), `P(t)` filling in level by level, and its trials at a chosen t
/// shown noised and denoised.
#[component]
pub(super) fn LiveProbe(p: Panel, probes: RwSignal<Vec<Arc<KProbe>>>) -> impl IntoView {
    let state = RwSignal::new(Live::Idle);
    let gen = crate::job::Generation::new();
    let levels = RwSignal::new(Vec::<(usize, f64)>::new());
    let result = RwSignal::new(Option::<(Option<usize>, f64)>::None);
    let show_t = RwSignal::new(101usize);
    let trials = RwSignal::new(Vec::<(String, String, f64)>::new());
    // This sample's singular values computed here, and the milliseconds it took (probe, spectrum).
    let spectrum = RwSignal::new(Vec::<f64>::new());
    let took_ms = RwSignal::new((f64::NAN, f64::NAN));
    let ran_on = RwSignal::new("");
    let device_note = RwSignal::new(Option::<String>::None);
    let use_gpu = RwSignal::new(p.gpu_available && !p.software);
    let plot_ref = NodeRef::<Canvas>::new();
    let spectrum_ref = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let _ = (p.picked.get(), p.selected_k.get());
        gen.cancel();
        state.set(Live::Idle);
        levels.set(Vec::new());
        result.set(None);
        trials.set(Vec::new());
        spectrum.set(Vec::new());
        took_ms.set((f64::NAN, f64::NAN));
        ran_on.set("");
        device_note.set(None);
    });
    // The bundle's stored spectrum of this sample and its K's training points' mean, if probed.
    // (rank, value) pairs: a probe file may keep only some ranks of a sample's spectrum.
    let stored = move || -> (Option<Vec<(usize, f32)>>, Option<Vec<f32>>) {
        let (Some(k), Some(g), Some(i)) = (p.selected_k.get_untracked(), p.gallery.get_untracked(), p.picked.get_untracked()) else { return (None, None) };
        let Some(index) = g.samples.get(i).map(|s| s.index) else { return (None, None) };
        let all = probes.get_untracked();
        let Some(kp) = all.iter().find(|kp| kp.k == k) else { return (None, None) };
        let sample = kp
            .samples
            .iter()
            .find(|s| s.index == index)
            .and_then(|s| decode_f16(&s.spectrum_f16).ok())
            .map(|v| kp.settings.ranks(v.len()).into_iter().zip(v).collect());
        (sample, kp.train.as_ref().map(|t| t.mean.clone()))
    };
    Effect::new(move |_| {
        let sv = spectrum.get();
        let Some(c) = spectrum_ref.get() else { return };
        if sv.is_empty() {
            return;
        }
        let rank = |v: &mut dyn Iterator<Item = f64>| v.enumerate().map(|(i, s)| ((i + 1) as f64, s)).collect::<Vec<_>>();
        let (kept, train) = stored();
        let mut curves = vec![(RGBColor(20, 20, 20), 2, rank(&mut sv.iter().copied()))];
        let mut legend = vec![("computed here", RGBColor(20, 20, 20))];
        if let Some(k) = kept {
            curves.push((RGBColor(230, 120, 20), 1, k.iter().map(|&(r, v)| (r as f64, v as f64)).collect()));
            legend.push(("memgen probe (bundle)", RGBColor(230, 120, 20)));
        }
        if let Some(t) = train {
            curves.push((RGBColor(150, 150, 150), 1, rank(&mut t.iter().map(|v| *v as f64))));
            legend.push(("training points' mean", RGBColor(150, 150, 150)));
        }
        curves_plot(&c, "Singular values of this sample's score Jacobian", ("rank", "singular value"), true, &curves, &legend);
    });
    Effect::new(move |_| {
        let lv = levels.get();
        let Some(c) = plot_ref.get() else { return };
        let mut v = lv.clone();
        v.sort_by_key(|l| l.0);
        curves_plot(
            &c,
            "P(t) of this sample, probed here",
            ("DDPM step t", "P(t)"),
            false,
            &[(RGBColor(60, 60, 60), 2, v.iter().map(|&(t, p)| (t as f64, p)).collect())],
            &[],
        );
    });
    // The sample, its K's settings and shape.
    let target = move || -> Option<(usize, usize, String, ProbeSettings, [usize; 3])> {
        let k = p.selected_k.get_untracked()?;
        let g = p.gallery.get_untracked()?;
        let s = g.samples.get(p.picked.get_untracked()?)?.clone();
        let dataset = p.loaded.with_untracked(|l| l.as_ref().map(|l| l.manifest.identity.sweep.dataset.clone()))?;
        let settings = probes.get_untracked().iter().find(|kp| kp.k == k).map(|kp| kp.settings.clone()).unwrap_or(ProbeSettings {
            basin: BasinSettings { search: Search::Bisection, ..BasinSettings::paper(memgen_models::probe::default_delta(&dataset).unwrap_or(1.7)) },
            curvature_t: 10,
            curvature_h: 1e-2,
            seed: 0,
            spectrum_ranks: None,
        });
        Some((k, s.index, s.image, settings, g.shape))
    };
    let sinks = Sinks { state, gen, run: gen.current(), levels, result, trials, spectrum, took_ms, ran_on };
    let start = move |action: Action| {
        let Some((k, index, image, settings, shape)) = target() else { return };
        let Some(px) = unbase64(&image) else { return };
        let s = sinks.start_run();
        device_note.set(None);
        s.clear(action);
        s.running("starting…".into());
        let gpu = use_gpu.get_untracked() && p.gpu_available;
        spawn_local(async move {
            let go = async {
                let job = ProbeJob { task: action.task(), settings: settings.clone(), index, shape, image: px.clone() };
                let (bytes, _) = super::regen::point_weights(p, k, &|m| s.running(m)).await?;
                if s.stopped() {
                    return Ok(false);
                }
                if gpu {
                    match in_worker(s, bytes.clone(), job.clone()).await? {
                        Ok(finished) => return Ok(finished),
                        Err(lost) => {
                            device_note.set(Some(format!("{lost}; the probe runs again in this tab on the CPU.")));
                            s.clear(action);
                        }
                    }
                }
                let (model, _) = super::regen::fused_of(&bytes)?;
                ran_on.set("cpu");
                on_cpu(s, &model, &job).await
            };
            let out = go.await;
            // A run cancelled or superseded leaves the line to what stopped it.
            if s.stopped() {
                return;
            }
            match out {
                Ok(true) => state.set(Live::Done(s.done_text(action))),
                Ok(false) => state.set(Live::Cancelled),
                Err(e) => state.set(Live::Failed(e)),
            }
        });
    };
    move || {
        p.picked.get()?;
        let has_weights = p.loaded.with(|l| {
            l.as_ref().and_then(|l| l.manifest.results.iter().find(|r| Some(r.k) == p.selected_k.get())).is_some_and(|r| r.files.contains_key("weights"))
        });
        if !has_weights {
            return None;
        }
        // Every part below follows its own signals: a progress line or a level read redraws
        // only what shows it, not the block (its canvases and thumbnails would be drawn again).
        let running = move || state.with(|st| matches!(st, Live::Running(_)));
        let attr = move || {
            state.with(|st| match st {
                Live::Idle => "idle".to_string(),
                Live::Running(_) => "running".into(),
                Live::Done(_) => "done".into(),
                Live::Cancelled => "cancelled".into(),
                Live::Failed(e) => format!("error: {e}"),
            })
        };
        let line = move || {
            state.with(|st| match st {
                Live::Idle => "Runs the probe of memgen probe on this sample with this K's weights, or its curvature spectrum: nothing is trained.".to_string(),
                Live::Running(m) => m.clone(),
                Live::Done(m) => format!("Done: {m}."),
                Live::Cancelled => "Cancelled.".into(),
                Live::Failed(e) => format!("Could not probe it: {e}"),
            })
        };
        let tc_attr = move || result.get().map(|(t, _)| t.map(|t| t.to_string()).unwrap_or("none".into())).unwrap_or_default();
        let lv_attr = move || result.get().map(|(_, lv)| if lv.is_finite() { format!("{lv:.6}") } else { "none".into() }).unwrap_or_default();
        let levels_attr = move || {
            let mut v = levels.get();
            v.sort_by_key(|l| l.0);
            v.iter().map(|(t, p)| format!("{t}:{p}")).collect::<Vec<_>>().join(",")
        };
        let spectrum_attr = move || spectrum.with(|v| v.iter().map(|s| format!("{s:.6}")).collect::<Vec<_>>().join(","));
        let stored_ranks = move || {
            let _ = spectrum.with(Vec::len);
            stored().0.map(|v| v.iter().map(|(r, _)| r.to_string()).collect::<Vec<_>>().join(",")).unwrap_or_default()
        };
        let ms = |v: f64| if v.is_finite() { format!("{v:.0}") } else { String::new() };
        let probe_ms = move || ms(took_ms.get().0);
        let spectrum_ms = move || ms(took_ms.get().1);
        let trial_thumbs = move || {
            let delta = target().map(|t| t.3.basin.delta).unwrap_or(f64::NAN);
            let shape = p.gallery.with_untracked(|g| g.as_ref().map(|g| g.shape)).unwrap_or([28, 28, 1]);
            let thumb = |(i, (noised, back, dist)): (usize, (String, String, f64))| {
                view! {
                    <Thumb image=noised shape=shape caption=format!("trial {} noised", i + 1) alt=format!("trial {}: the sample noised to the chosen t", i + 1) />
                    <Thumb image=back shape=shape caption=format!("back: {dist:.2} {}", if dist <= delta { "✓" } else { "✗" })
                        alt=format!("trial {}: denoised back, distance {dist:.2} from the sample, {}", i + 1, if dist <= delta { "recovered" } else { "not recovered" }) />
                }
            };
            trials.get().into_iter().enumerate().map(thumb).collect::<Vec<_>>()
        };
        Some(view! {
            <div class="controls" data-testid="basins-live" data-state=attr data-t-c=tc_attr data-log-volume=lv_attr data-levels=levels_attr
                data-spectrum=spectrum_attr data-stored-ranks=stored_ranks data-probe-ms=probe_ms data-spectrum-ms=spectrum_ms data-ran-on=move || ran_on.get()>
                <GpuToggle testid="basins-live-gpu" checked=use_gpu available=p.gpu_available software=p.software verb="probe" />
                <button data-testid="basins-live-run" disabled=running on:click=move |_| start(Action::Basin)>"Probe this sample's basin here"</button>
                <label>" Show its trials at t = "
                    <input type="number" min="1" max="999" data-testid="basins-live-t" prop:value=move || show_t.get().to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<usize>() { show_t.set(v.clamp(1, 999)); } } />
                </label>
                <button data-testid="basins-live-show" disabled=running on:click=move |_| start(Action::Trials(show_t.get_untracked().clamp(1, 999)))>"Show"</button>
                <button data-testid="basins-live-spectrum" disabled=running on:click=move |_| start(Action::Spectrum)>"Its curvature spectrum"</button>
                <button data-testid="basins-live-cancel" disabled=move || !running() on:click=move |_| {
                    gen.cancel();
                    state.set(Live::Cancelled);
                }>"Cancel"</button>
                <span>{line}</span>
                {move || device_note.get().map(|n| view! { <p class="notice" data-testid="basins-live-device-note">{n}</p> })}
                <canvas node_ref=plot_ref width="480" height="180" data-testid="basins-live-plot" role="img"
                    aria-label="This sample's probability of recovery P(t) against the noise level t, filled in as the probe runs; the line above says its critical time."></canvas>
                <canvas node_ref=spectrum_ref width="480" height="180" data-testid="basins-live-spectrum-plot" role="img"
                    style=move || if spectrum.with(Vec::is_empty) { "display:none" } else { "" }
                    aria-label="This sample's singular values of the score Jacobian by rank on a log axis, computed here, beside the bundle's stored spectrum of it and its K's training points' mean."></canvas>
                <div class="thumbs" data-testid="basins-live-trials" data-count=move || trials.with(Vec::len).to_string()>
                    {trial_thumbs}
                </div>
            </div>
        })
    }
}
