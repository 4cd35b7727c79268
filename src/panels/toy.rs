//! The 2-D diffusion toy (paper Fig. 2, docs/SCIENCE.md §4): train a score network on K points
//! of the unit circle on this page's device, sample it, cluster the samples, and compare
//! the learned energy with the ideal (memorizing) model and the exact K → ∞ energy.

use std::cell::RefCell;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::matrix::Matrix;
use memgen_models::toy::centroids::{classify_centroids_detailed, CentroidKind, CentroidThresholds};
use memgen_models::toy::energy::{circle_energy_grid, grid_points, ideal_energy, ode_energy, OdeConfig};
use memgen_models::toy::sampler::{toy_sampling, EulerMaruyama, IdealScore};
use memgen_models::toy::training::{circle_points, ToyTrainConfig, ToyTraining};
use memgen_models::toy::ToyScoreNet;
use plotters::style::RGBColor;
use wasm_bindgen::JsCast;

use crate::compute;
use crate::plot::{line_plot, Series};
use crate::render;
use crate::worker::{FromWorker, ToWorker, ToyJob, WorkerHandle, TRAIN_WORKER_URL};

/// Plotted square `[−1.5, 1.5]²`.
const LO: f32 = -1.5;
const HI: f32 = 1.5;
const VIEW: [f64; 3] = [0.0, 0.0, 1.5];
const CANVAS: u32 = 340;
/// Samples the test hook `data-samples-head` lists (the browser test compares them with
/// `memgen toy`'s for the same seed).
const SAMPLES_HOOK: usize = 500;

thread_local! {
    /// The run in progress (burn tensors are not `Send`, so it lives outside the signals).
    static RUN: RefCell<Option<ToyTraining>> = const { RefCell::new(None) };
    /// The training worker (WebGPU runs), and the last EMA weights it sent, on the CPU.
    static WORKER: RefCell<Option<WorkerHandle>> = const { RefCell::new(None) };
    static WORKER_MODEL: RefCell<Option<ToyScoreNet>> = const { RefCell::new(None) };
}

/// The model to draw and sample with: the worker's latest EMA weights, or the in-tab run's EMA.
fn current_model() -> Option<ToyScoreNet> {
    WORKER_MODEL.with(|m| m.borrow().clone()).or_else(|| RUN.with(|r| r.borrow().as_ref().map(|run| run.ema_model())))
}

/// Steps per chunk in the worker and how often it sends its EMA weights.
const WORKER_CHUNK: usize = 10;
const WORKER_WEIGHTS_EVERY: usize = 250;

/// The toy panel's settings (mirrored into the URL as `tk`, `tseed`, `tsteps`, `tlr`, `tt`, `tn`).
#[derive(Debug, Clone, PartialEq)]
struct ToySettings {
    k: usize,
    seed: u64,
    steps: usize,
    lr: f64,
    t: f64,
    samples: usize,
    threshold: f64,
}

impl Default for ToySettings {
    fn default() -> Self {
        let b = ToyTrainConfig::browser();
        ToySettings { k: 2, seed: 0, steps: b.steps, lr: b.lr, t: 0.25, samples: 10_000, threshold: 3.0 }
    }
}

/// The URL keys of the toy panel.
const OWN_KEYS: [&str; 7] = ["tk", "tseed", "tsteps", "tlr", "tt", "tn", "tthr"];
/// Largest K of the slider and the URL.
const MAX_TOY_K: usize = 2000;

/// `v` parsed as a `T` inside `range` (NaN never is).
fn parse_in<T: std::str::FromStr + PartialOrd>(v: &str, range: std::ops::RangeInclusive<T>) -> Option<T> {
    v.trim().parse::<T>().ok().filter(|x| range.contains(x))
}
fn parse_steps(v: &str) -> Option<usize> {
    parse_in(v, 1..=1_000_000)
}
fn parse_lr(v: &str) -> Option<f64> {
    parse_in(v, f64::MIN_POSITIVE..=0.1)
}
fn parse_samples(v: &str) -> Option<usize> {
    parse_in(v, 10..=100_000)
}
fn parse_threshold(v: &str) -> Option<f64> {
    parse_in(v, f64::MIN_POSITIVE..=1e3)
}

impl ToySettings {
    /// Settings from decoded query pairs: a bad value keeps its default and gives a notice.
    /// K without `tthr`/`tt` takes the preset's Ward threshold and view time.
    fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (ToySettings, Vec<String>) {
        let mut s = ToySettings::default();
        let mut notices = Vec::new();
        let (mut thr, mut t) = (None, None);
        for (key, value) in pairs {
            let shown = crate::url::preview(value);
            let mut bad = |what: &str| notices.push(format!("Toy: {key} must be {what}, not “{shown}”; using the default."));
            match key {
                "tk" => match value.trim().parse::<usize>() {
                    Ok(k) if (1..=MAX_TOY_K).contains(&k) => s.k = k,
                    _ => bad(&format!("a whole number from 1 to {MAX_TOY_K}")),
                },
                "tseed" => match value.trim().parse::<u64>() {
                    Ok(v) => s.seed = v,
                    Err(_) => bad("a whole number ≥ 0"),
                },
                "tsteps" => match parse_steps(value) {
                    Some(v) => s.steps = v,
                    None => bad("a whole number from 1 to 1000000"),
                },
                "tlr" => match parse_lr(value) {
                    Some(v) => s.lr = v,
                    None => bad("a number in (0, 0.1]"),
                },
                "tt" => match value.trim().parse::<f64>() {
                    Ok(v) if (0.01..=0.6).contains(&v) => t = Some(v),
                    _ => bad("a time from 0.01 to 0.6"),
                },
                "tn" => match parse_samples(value) {
                    Some(v) => s.samples = v,
                    None => bad("a whole number from 10 to 100000"),
                },
                "tthr" => match parse_threshold(value) {
                    Some(v) => thr = Some(v),
                    None => bad("a number in (0, 1000]"),
                },
                _ => {}
            }
        }
        let (pthr, pt) = preset_for(s.k);
        s.threshold = thr.unwrap_or(pthr);
        s.t = t.unwrap_or(pt);
        (s, notices)
    }

    /// This panel's part of the query string.
    fn to_query(&self) -> String {
        format!("tk={}&tseed={}&tsteps={}&tlr={}&tt={}&tn={}&tthr={}", self.k, self.seed, self.steps, self.lr, self.t, self.samples, self.threshold)
    }
}

/// The paper's Ward threshold and view time for the preset closest to `k`.
fn preset_for(k: usize) -> (f64, f64) {
    match k {
        0..=4 => (3.0, 0.25),
        5..=100 => (2.0, 0.15),
        _ => (0.45, 0.15),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Training,
    Paused,
    Trained,
    Sampling,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Centroid {
    at: [f32; 2],
    kind: Option<CentroidKind>,
    count: usize,
    energy: Option<f32>,
}

/// Energies on an `n × n` grid (from [`grid_points`], y increasing with the row) → RGBA
/// with row 0 at the top.
fn energy_rgba(e: &[f32], n: usize) -> Vec<u8> {
    let mut flipped = Vec::with_capacity(e.len());
    for row in (0..n).rev() {
        flipped.extend_from_slice(&e[row * n..(row + 1) * n]);
    }
    render::colour_energies(&flipped, n, n, 14)
}

fn canvas_of(r: NodeRef<Canvas>) -> Option<web_sys::HtmlCanvasElement> {
    r.get_untracked().map(|c| c.unchecked_into())
}

/// Draws a heatmap (or a plain background), arrows, points, samples and centroids.
#[allow(clippy::too_many_arguments)]
fn draw_view(
    canvas: &web_sys::HtmlCanvasElement,
    heat: Option<(&[f32], usize)>,
    arrows: &[([f32; 2], [f32; 2])],
    train: &[[f32; 2]],
    samples: &[[f32; 2]],
    centroids: &[Centroid],
) {
    let Some(ctx) = render::context(canvas) else { return };
    let size = canvas.width() as f64;
    match heat {
        Some((e, n)) => render::put_pixels(canvas, &energy_rgba(e, n), n as u32, n as u32),
        None => {
            ctx.set_fill_style_str("#eef0f5");
            ctx.fill_rect(0.0, 0.0, size, size);
        }
    }
    let at = |p: [f32; 2]| render::to_canvas(VIEW, size, [p[0] as f64, p[1] as f64]);
    ctx.set_fill_style_str("rgba(255,140,0,0.35)");
    let step = (samples.len() / 3000).max(1);
    for p in samples.iter().step_by(step) {
        let (x, y) = at(*p);
        ctx.fill_rect(x - 1.0, y - 1.0, 2.0, 2.0);
    }
    ctx.set_stroke_style_str("rgba(255,255,255,0.85)");
    ctx.set_line_width(1.2);
    for (p, v) in arrows {
        let (x, y) = at(*p);
        let (dx, dy) = (v[0] as f64, -v[1] as f64);
        ctx.begin_path();
        ctx.move_to(x, y);
        ctx.line_to(x + dx, y + dy);
        let a = dy.atan2(dx);
        ctx.line_to(x + dx - 4.0 * (a - 0.5).cos(), y + dy - 4.0 * (a - 0.5).sin());
        ctx.move_to(x + dx, y + dy);
        ctx.line_to(x + dx - 4.0 * (a + 0.5).cos(), y + dy - 4.0 * (a + 0.5).sin());
        ctx.stroke();
    }
    let r = if train.len() > 100 { 1.2 } else { 4.5 };
    for p in train {
        let (x, y) = at(*p);
        ctx.begin_path();
        let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
        ctx.set_fill_style_str("#ffffff");
        ctx.fill();
        if r > 2.0 {
            ctx.set_stroke_style_str("#111");
            ctx.stroke();
        }
    }
    ctx.set_font("bold 11px sans-serif");
    for c in centroids {
        let (x, y) = at(c.at);
        let colour = match c.kind {
            Some(CentroidKind::Memorized) => "#1f77ff",
            Some(CentroidKind::Spurious) => "#ff2bd6",
            Some(CentroidKind::Generalized) => "#22aa44",
            None => "#888",
        };
        ctx.set_fill_style_str(colour);
        ctx.fill_rect(x - 4.0, y - 4.0, 8.0, 8.0);
        if let Some(e) = c.energy {
            ctx.set_fill_style_str("#000");
            let _ = ctx.fill_text(&format!("{e:.2}"), x + 6.0, y - 6.0);
        }
    }
}

/// Score arrows of the ideal (empirical) score on a 15×15 grid, scaled to canvas pixels.
fn ideal_arrows(train: &[[f32; 2]], t: f64, size: f64) -> Vec<([f32; 2], [f32; 2])> {
    let grid = grid_points(15, LO + 0.1, HI - 0.1);
    let flat: Vec<f32> = train.iter().flatten().copied().collect();
    let Ok(train_m) = Matrix::new(flat, train.len(), 2) else { return Vec::new() };
    let Ok(grid_m) = Matrix::new(grid.iter().flatten().copied().collect(), grid.len(), 2) else { return Vec::new() };
    let Ok(score) = memgen_core::ideal_score::ideal_score(&grid_m, &train_m, t.sqrt()) else { return Vec::new() };
    arrows_from(&grid, score.data(), t, size)
}

/// Arrows `t·s(x)` (the denoising step; its length does not blow up as t → 0) in pixels.
fn arrows_from(grid: &[[f32; 2]], score: &[f32], t: f64, size: f64) -> Vec<([f32; 2], [f32; 2])> {
    let px = size / 3.0;
    grid.iter()
        .zip(score.chunks(2))
        .map(|(p, s)| {
            let (mut dx, mut dy) = (s[0] as f64 * t * px, s[1] as f64 * t * px);
            let len = (dx * dx + dy * dy).sqrt();
            if len > 16.0 {
                dx *= 16.0 / len;
                dy *= 16.0 / len;
            }
            (*p, [dx as f32, dy as f32])
        })
        .collect()
}

/// The toy panel.
#[component]
pub fn ToyPanel() -> impl IntoView {
    let (url_pairs, _) = crate::url::read_pairs(&OWN_KEYS);
    let (initial, url_notices) = ToySettings::from_pairs(url_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let url_had_keys = !url_pairs.is_empty();
    let settings = RwSignal::new(initial);
    let phase = RwSignal::new(Phase::Idle);
    let losses = RwSignal::new(Vec::<f32>::new());
    let speed = RwSignal::new((0usize, 0.0f64, 0.0f64)); // steps done, steps/s, seconds left
    let train = RwSignal::new(Vec::<[f32; 2]>::new());
    let samples = RwSignal::new(Vec::<[f32; 2]>::new());
    let ideal_samples = RwSignal::new(Vec::<[f32; 2]>::new());
    let centroids = RwSignal::new(Vec::<Centroid>::new());
    let learned_energy = RwSignal::new(None::<(Vec<f32>, usize, f64)>);
    let learned_arrows = RwSignal::new(Vec::<([f32; 2], [f32; 2])>::new());
    let sample_progress = RwSignal::new(0.0f64);
    // Fractions of samples within 0.1 and within 0.25 of a training point.
    let near_fraction = RwSignal::new(None::<(f64, f64)>);
    let status = RwSignal::new(String::new());
    let run_gen = StoredValue::new(0u64);
    let learned_ref = NodeRef::<Canvas>::new();
    let ideal_ref = NodeRef::<Canvas>::new();
    let exact_ref = NodeRef::<Canvas>::new();
    let loss_ref = NodeRef::<Canvas>::new();
    // Training runs either in this tab on the CPU inside wasm (the fused trainer,
    // memgen_models::toy::fused: burn's network, batches, Adam and EMA without burn's graph, ~2×
    // burn's CPU backend here; in chunks that keep the tab responsive), or on WebGPU in a
    // dedicated worker (src/worker.rs): burn builds its kernels and waits on the GPU queue
    // there, never on the page's thread. Sampling, arrows
    // and the ODE energy run here on the CPU backend with the weights the worker sends.
    let toy_device = || memgen_models::device::LabDevice::cpu().device;
    // WebGPU by default on a hardware adapter; on a software one (SwiftShader) the worker runs
    // ~0.3 steps/s against tens of steps/s on the CPU in this tab, so there it is opt-in.
    let gpu_available = compute::backend().is_some_and(|b| b.kernels.is_some());
    let software = compute::software_adapter();
    let use_gpu = RwSignal::new(gpu_available && !software);
    let train_device = RwSignal::new(String::new());
    // The steps at which the worker confirmed a pause and went on from it (test hooks).
    let worker_pause = RwSignal::new((None::<usize>, None::<usize>));

    // Every setting is mirrored into the URL once it differs from the defaults (or the link
    // already carried the toy's keys), so a link replays the same training run.
    Effect::new(move |_| {
        let s = settings.get();
        if url_had_keys || s != ToySettings::default() {
            crate::url::replace_own(&OWN_KEYS, &s.to_query());
        }
    });

    // Training points follow K and the seed (nested prefixes of one seeded stream).
    Effect::new(move |_| {
        let s = settings.get();
        train.set(circle_points(s.k, s.seed));
    });

    // Ideal and exact views: instant, redrawn on every change of K, seed or t.
    Effect::new(move |_| {
        let s = settings.get();
        let pts = train.get();
        let ideal_s = ideal_samples.get();
        if pts.is_empty() {
            return;
        }
        let n = 96;
        let grid = grid_points(n, LO, HI);
        if let Some(c) = canvas_of(ideal_ref) {
            let e = ideal_energy(&pts, &grid, s.t);
            draw_view(&c, Some((&e, n)), &ideal_arrows(&pts, s.t, c.width() as f64), &pts, &ideal_s, &[]);
        }
        if let Some(c) = canvas_of(exact_ref) {
            let beta = 1.0 / (2.0 * s.t);
            if let Ok(e) = circle_energy_grid(&grid, beta) {
                draw_view(&c, Some((&e, n)), &[], &[], &[], &[]);
            }
        }
    });

    // Learned view.
    Effect::new(move |_| {
        let pts = train.get();
        let smp = samples.get();
        let cents = centroids.get();
        let le = learned_energy.get();
        let arrows = learned_arrows.get();
        if let Some(c) = canvas_of(learned_ref) {
            draw_view(&c, le.as_ref().map(|(e, n, _)| (e.as_slice(), *n)), &arrows, &pts, &smp, &cents);
        }
    });

    // Loss curve.
    Effect::new(move |_| {
        let l = losses.get();
        if let Some(c) = canvas_of(loss_ref) {
            // Moving average over 25 steps: the per-batch loss is noisy (random t).
            let pts: Vec<(f64, f64)> = l
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let lo = i.saturating_sub(24);
                    let w = &l[lo..=i];
                    ((i + 1) as f64, w.iter().map(|v| *v as f64).sum::<f64>() / w.len() as f64)
                })
                .collect();
            let top = pts.iter().map(|p| p.1).fold(0.1, f64::max) * 1.1;
            line_plot(&c, "training loss (25-step mean)", "step", false, (0.0, top), &[Series { label: "loss", points: &pts, colour: RGBColor(40, 90, 200) }]);
        }
    });

    // Score arrows of the current (EMA) model at t.
    let refresh_arrows = move || {
        let t = settings.get_untracked().t;
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
                    learned_arrows.set(arrows_from(&grid, &v, t, CANVAS as f64));
                }
            }
        });
    };

    let train_loop = move |gen: u64| {
        spawn_local(async move {
            let t0 = compute::now_ms();
            let start_step = RUN.with(|r| r.borrow().as_ref().map(|x| x.steps_done()).unwrap_or(0));
            // Steps run in chunks of about 25 ms between yields (the tab stays responsive); the
            // progress is updated every 200 ms and the losses (the loss curve, whose redraw costs
            // ~0.2 s in a software-rendered tab) every second, so drawing costs far less than
            // the training.
            let mut pending: Vec<f32> = Vec::new();
            let (mut last_progress, mut last_curve) = (t0, t0);
            let mut shown_step = start_step;
            loop {
                let stopped = run_gen.get_value() != gen || phase.get_untracked() != Phase::Training;
                let Some(mut run) = (!stopped).then(|| RUN.with(|r| r.borrow_mut().take())).flatten() else {
                    // Paused, cancelled or restarted: show what was trained so far (not after a
                    // cancel or a restart, which cleared the curve).
                    if run_gen.get_value() == gen {
                        if !pending.is_empty() {
                            losses.update(|v| v.append(&mut pending));
                        }
                        if let Some(done) = RUN.with(|r| r.borrow().as_ref().map(|x| x.steps_done())) {
                            speed.update(|s| s.0 = done);
                        }
                    }
                    return;
                };
                let chunk_start = compute::now_ms();
                let mut failed = None;
                while !run.finished() && compute::now_ms() - chunk_start < 25.0 {
                    match run.run_steps(1).await {
                        Ok(l) => pending.extend(l),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                let (done, total, finished) = (run.steps_done(), run.config.steps, run.finished());
                RUN.with(|r| *r.borrow_mut() = Some(run));
                if let Some(e) = failed {
                    phase.set(Phase::Failed(format!("training failed: {e}")));
                    return;
                }
                let now = compute::now_ms();
                if finished || now - last_progress >= 200.0 {
                    let rate = (done - start_step) as f64 / ((now - t0) / 1000.0).max(1e-6);
                    speed.set((done, rate, (total - done) as f64 / rate.max(1e-9)));
                    last_progress = now;
                }
                if finished || now - last_curve >= 1000.0 {
                    losses.update(|v| v.append(&mut pending));
                    last_curve = now;
                    if done / 250 != shown_step / 250 {
                        refresh_arrows();
                    }
                    shown_step = done;
                }
                if finished {
                    phase.set(Phase::Trained);
                    refresh_arrows();
                    return;
                }
                compute::yield_now().await;
            }
        });
    };

    let start = move |_| {
        let s = settings.get_untracked();
        let mut config = ToyTrainConfig::browser();
        config.steps = s.steps;
        config.lr = s.lr;
        WORKER.with(|w| *w.borrow_mut() = None);
        WORKER_MODEL.with(|m| *m.borrow_mut() = None);
        RUN.with(|r| *r.borrow_mut() = None);
        losses.set(Vec::new());
        near_fraction.set(None);
        samples.set(Vec::new());
        centroids.set(Vec::new());
        learned_energy.set(None);
        learned_arrows.set(Vec::new());
        let gen = run_gen.get_value() + 1;
        run_gen.set_value(gen);
        phase.set(Phase::Training);
        speed.set((0, 0.0, 0.0));
        if use_gpu.get_untracked() && gpu_available {
            train_device.set("webgpu-worker".into());
            status.set("Starting the training worker (WebGPU)…".into());
            let total = s.steps;
            let on_message = move |msg: FromWorker, bytes: Option<Vec<u8>>| {
                if run_gen.get_value() != gen {
                    return;
                }
                match msg {
                    FromWorker::Ready => {}
                    FromWorker::Device { label } => status.set(format!("Training on {label} in a worker; the page stays free.")),
                    FromWorker::Progress { done, losses: l, secs, .. } => {
                        losses.update(|v| v.extend(l));
                        let rate = done as f64 / secs.max(1e-6);
                        speed.set((done, rate, total.saturating_sub(done) as f64 / rate.max(1e-9)));
                    }
                    FromWorker::Paused { done } => worker_pause.set((Some(done), None)),
                    FromWorker::Resumed { done } => worker_pause.update(|p| p.1 = Some(done)),
                    FromWorker::Weights { done } => {
                        let device = toy_device().inner();
                        match bytes.as_deref().map(|b| memgen_models::toy::checkpoint::decode(b, &device)) {
                            Some(Ok(ck)) => {
                                WORKER_MODEL.with(|m| *m.borrow_mut() = Some(ck.model));
                                refresh_arrows();
                            }
                            Some(Err(e)) => status.set(format!("weights after step {done} unreadable: {e}")),
                            None => status.set(format!("the worker sent no weights after step {done}")),
                        }
                    }
                    FromWorker::Finished { .. } => {
                        phase.set(Phase::Trained);
                        WORKER.with(|w| *w.borrow_mut() = None);
                    }
                    FromWorker::Failed { message } => {
                        phase.set(Phase::Failed(format!("training failed in the worker: {message}")));
                        WORKER.with(|w| *w.borrow_mut() = None);
                    }
                }
            };
            match WorkerHandle::spawn(TRAIN_WORKER_URL, on_message) {
                Ok(h) => {
                    h.send(ToWorker::ToyTrain(ToyJob {
                        points: train.get_untracked(),
                        seed: s.seed,
                        config,
                        chunk: WORKER_CHUNK,
                        weights_every: WORKER_WEIGHTS_EVERY,
                    }));
                    WORKER.with(|w| *w.borrow_mut() = Some(h));
                }
                Err(e) => phase.set(Phase::Failed(e)),
            }
            return;
        }
        train_device.set("cpu".into());
        // The tab's CPU path: the fused trainer (same network, batches, Adam and EMA as burn's
        // autodiff, checked against it natively and, in the browser test, against the WebGPU
        // worker's burn run), about twice as fast as burn's graph on one wasm thread.
        let run = ToyTraining::new_fused(config, &train.get_untracked(), s.seed, 0, &toy_device());
        RUN.with(|r| *r.borrow_mut() = Some(run));
        train_loop(gen);
    };
    // Sends `m` to the training worker; false when training runs in this tab.
    let to_worker = |m: ToWorker| WORKER.with(|w| w.borrow().as_ref().map(|h| h.send(m)).is_some());
    let pause = move |_| {
        to_worker(ToWorker::Pause);
        phase.set(Phase::Paused);
    };
    let resume = move |_| {
        phase.set(Phase::Training);
        if !to_worker(ToWorker::Resume) {
            train_loop(run_gen.get_value());
        }
    };
    let cancel = move |_| {
        run_gen.update_value(|g| *g += 1);
        RUN.with(|r| *r.borrow_mut() = None);
        WORKER.with(|w| *w.borrow_mut() = None);
        WORKER_MODEL.with(|m| *m.borrow_mut() = None);
        phase.set(Phase::Idle);
        speed.set((0, 0.0, 0.0));
    };

    // Samples the trained model (and the ideal score, same seed), then clusters.
    let sample = move |_| {
        let Some(model) = current_model() else {
            status.set("Train a model first.".into());
            return;
        };
        let s = settings.get_untracked();
        let pts = train.get_untracked();
        let device = toy_device().inner();
        let gen = run_gen.get_value();
        phase.set(Phase::Sampling);
        spawn_local(async move {
            // The library's toy sampler: `memgen toy`'s stream, so one seed gives its samples.
            let mut run = toy_sampling(model, s.samples, s.seed, &device);
            let mut ideal = toy_sampling(IdealScore::new(&pts, &device), s.samples, s.seed, &device);
            let config = EulerMaruyama { count: s.samples, ..EulerMaruyama::default() };
            let chunk = 10;
            while !run.finished() {
                if run_gen.get_value() != gen {
                    return;
                }
                let r1 = run.run_steps_synced(chunk).await;
                let r2 = ideal.run_steps_synced(chunk).await;
                if let Err(e) = r1.and(r2) {
                    phase.set(Phase::Failed(format!("sampling failed: {e}")));
                    return;
                }
                sample_progress.set(run.steps_done() as f64 / config.steps as f64);
                compute::yield_now().await;
            }
            let (Ok(x), Ok(xi)) = (run.samples().await, ideal.samples().await) else {
                phase.set(Phase::Failed("could not read the samples back".into()));
                return;
            };
            // Each sample's distance to its nearest training point, once.
            let nearest: Vec<f32> = x.iter().map(|p| pts.iter().map(|y| (p[0] - y[0]).hypot(p[1] - y[1])).fold(f32::INFINITY, f32::min)).collect();
            let near = |r: f32| nearest.iter().filter(|d| **d <= r).count() as f64 / nearest.len().max(1) as f64;
            near_fraction.set(Some((near(0.1), near(0.25))));
            samples.set(x.clone());
            ideal_samples.set(xi);
            // Ward needs n²/2 distances: cluster a seeded subsample of at most 2,000.
            let sub: Vec<[f32; 2]> = x.iter().step_by((x.len() / 2000).max(1)).copied().collect();
            let m = Matrix::new(sub.iter().flatten().copied().collect(), sub.len(), 2);
            let clustered = m.and_then(|m| memgen_core::cluster::ward_clusters(&m, s.threshold));
            match clustered {
                Ok(c) => {
                    let cents: Vec<[f32; 2]> = c.centroids.data().chunks(2).map(|v| [v[0], v[1]]).collect();
                    let stats = classify_centroids_detailed(&cents, &pts, &sub, &c.labels, &CentroidThresholds::default());
                    centroids.set(cents.iter().zip(stats).map(|(at, st)| Centroid { at: *at, kind: Some(st.kind), count: st.count, energy: None }).collect());
                }
                Err(e) => status.set(format!("clustering failed: {e}")),
            }
            phase.set(Phase::Trained);
        });
    };

    // Learned energy by the probability-flow ODE on a coarse grid (slow: on request).
    let learned = move |_| {
        let Some(model) = current_model() else {
            status.set("Train a model first.".into());
            return;
        };
        let s = settings.get_untracked();
        let pts = train.get_untracked();
        let device = toy_device();
        status.set("Integrating the probability-flow ODE over the grid…".into());
        spawn_local(async move {
            let (n, steps) = (16, 20);
            let grid = grid_points(n, LO, HI);
            let mut cfg = OdeConfig::with_train(&pts);
            cfg.steps = steps;
            match ode_energy(&model, &grid, s.t, &cfg, &device).await {
                Ok(e) => {
                    // Label each centroid with the energy of its nearest grid cell.
                    centroids.update(|cs| {
                        for c in cs.iter_mut() {
                            let i = (((c.at[0] - LO) / (HI - LO) * (n - 1) as f32).round() as usize).min(n - 1);
                            let j = (((c.at[1] - LO) / (HI - LO) * (n - 1) as f32).round() as usize).min(n - 1);
                            c.energy = Some(e[j * n + i]);
                        }
                    });
                    learned_energy.set(Some((e, n, s.t)));
                    status.set(format!("Learned energy at t = {} on a {n}×{n} grid ({steps} RK4 steps per point).", s.t));
                }
                Err(e) => status.set(format!("ODE energy failed: {e}")),
            }
        });
    };

    let counts = move || {
        let c = centroids.get();
        let n = |k: CentroidKind| c.iter().filter(|x| x.kind == Some(k)).count();
        (n(CentroidKind::Memorized), n(CentroidKind::Spurious), n(CentroidKind::Generalized))
    };
    let set_k = move |k: usize| {
        let (thr, t) = preset_for(k);
        settings.update(|s| {
            s.k = k;
            s.threshold = thr;
            s.t = t;
        });
    };
    let num_input = move |label: &'static str, testid: &'static str, get: fn(&ToySettings) -> String, set: fn(&mut ToySettings, &str) -> bool| {
        view! {
            <label>
                {label}
                <input type="text" class="narrow" data-testid=testid prop:value=move || settings.with(get)
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        let mut ok = false;
                        settings.update(|s| ok = set(s, v.trim()));
                        if !ok {
                            status.set(format!("“{v}” is not a valid value for {label}; kept the previous one."));
                        }
                    } />
            </label>
        }
    };

    view! {
        <section class="panel" data-testid="panel-toy">
            <h2>"The 2-D diffusion toy: memorization, spurious wells, generalization (paper Fig. 2)"</h2>
            <p class="explain">
                "Data: K points on the unit circle. A score network s(x, t) is trained by denoising score matching, on WebGPU in a Web Worker (the page stays free) or on the CPU inside WebAssembly in this tab (a fused trainer that gives burn's losses for the same seed, about twice as fast: see Under the hood); sampling, arrows and energies use the trained weights here. With K = 2 it stores each point as its own well (memorization); around K = 9 wells appear between points that are not training points (spurious states); at K = 1000 the wells merge into a continuous ring (generalization). "
                "Browser preset: Adam lr 1e-3, batch 512, 4,000 steps, EMA 0.999 (the paper: lr 1e-4, 500k–800k steps)."
            </p>
            {url_notices.into_iter().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> }).collect_view()}
            <div class="controls">
                <span>"K: "</span>
                <button data-testid="toy-k2" on:click=move |_| set_k(2)>"2"</button>
                <button data-testid="toy-k9" on:click=move |_| set_k(9)>"9"</button>
                <button data-testid="toy-k1000" on:click=move |_| set_k(1000)>"1000"</button>
                <input type="range" min="1" max="2000" data-testid="toy-k-slider" prop:value=move || settings.with(|s| s.k.to_string())
                    on:change=move |ev| { if let Ok(k) = event_target_value(&ev).parse::<usize>() { set_k(k.clamp(1, MAX_TOY_K)) } } />
                <span class="value" data-testid="toy-k">{move || settings.with(|s| s.k)}</span>
                {num_input("seed ", "toy-seed", |s| s.seed.to_string(), |s, v| v.parse().map(|x| s.seed = x).is_ok())}
                {num_input("steps ", "toy-steps", |s| s.steps.to_string(), |s, v| parse_steps(v).map(|x| s.steps = x).is_some())}
                {num_input("lr ", "toy-lr", |s| s.lr.to_string(), |s, v| parse_lr(v).map(|x| s.lr = x).is_some())}
                {num_input("samples ", "toy-samples", |s| s.samples.to_string(), |s, v| parse_samples(v).map(|x| s.samples = x).is_some())}
                {num_input("Ward threshold ", "toy-threshold", |s| s.threshold.to_string(), |s, v| parse_threshold(v).map(|x| s.threshold = x).is_some())}
                <label title="Train in a Web Worker on the page's WebGPU device; off: on the CPU in this tab">
                    <input type="checkbox" data-testid="toy-gpu" prop:checked=move || use_gpu.get() disabled=!gpu_available
                        on:change=move |ev| use_gpu.set(event_target_checked(&ev)) />
                    {if !gpu_available {
                        " train on WebGPU (not available here: CPU in this tab)"
                    } else if software {
                        " train on WebGPU, in a worker (off by default: this adapter is a software renderer, far slower here than the CPU in this tab)"
                    } else {
                        " train on WebGPU, in a worker (the page stays free while it trains)"
                    }}
                </label>
            </div>
            <div class="controls">
                <button data-testid="toy-train" on:click=start disabled=move || matches!(phase.get(), Phase::Training | Phase::Sampling)>"Train"</button>
                <button data-testid="toy-pause" on:click=pause disabled=move || phase.get() != Phase::Training>"Pause"</button>
                <button data-testid="toy-resume" on:click=resume disabled=move || phase.get() != Phase::Paused>"Resume"</button>
                <button data-testid="toy-cancel" on:click=cancel disabled=move || matches!(phase.get(), Phase::Idle)>"Cancel"</button>
                <button data-testid="toy-sample" on:click=sample disabled=move || !matches!(phase.get(), Phase::Trained | Phase::Paused)>"Sample and cluster"</button>
                <button data-testid="toy-energy" on:click=learned disabled=move || !matches!(phase.get(), Phase::Trained | Phase::Paused)>"Learned energy (PF-ODE)"</button>
                <span data-testid="toy-progress" class="progress"
                    data-state=move || match phase.get() { Phase::Idle => "idle", Phase::Training => "training", Phase::Paused => "paused", Phase::Trained => "trained", Phase::Sampling => "sampling", Phase::Failed(_) => "error" }
                    data-step=move || speed.get().0.to_string()
                    data-rate=move || format!("{:.2}", speed.get().1)
                    data-device=move || train_device.get()
                    data-worker-paused-at=move || worker_pause.get().0.map(|d| d.to_string()).unwrap_or_default()
                    data-worker-resumed-from=move || worker_pause.get().1.map(|d| d.to_string()).unwrap_or_default()
                    data-first-losses=move || losses.with(|l| l.iter().take(50).map(|v| v.to_string()).collect::<Vec<_>>().join(","))
                    data-losses=move || { let l = losses.get(); let n = l.len(); let head: f32 = l.iter().take(50).sum::<f32>() / l.len().min(50).max(1) as f32; let tail: f32 = l.iter().skip(n.saturating_sub(50)).sum::<f32>() / n.min(50).max(1) as f32; format!("{head},{tail}") }>
                    {move || {
                        let (done, rate, left) = speed.get();
                        let total = settings.with(|s| s.steps);
                        match phase.get() {
                            Phase::Idle => "Not trained yet.".to_string(),
                            Phase::Failed(e) => e,
                            Phase::Sampling => format!("Sampling… {:.0}%", 100.0 * sample_progress.get()),
                            p => format!(
                                "{}step {done} / {total} · {rate:.1} steps/s · about {left:.0} s left",
                                if p == Phase::Paused { "paused at " } else { "" }
                            ),
                        }
                    }}
                    " "
                    <progress max="1" value=move || { let (d, _, _) = speed.get(); d as f64 / settings.with(|s| s.steps).max(1) as f64 }></progress>
                </span>
            </div>
            <div class="controls">
                <label>
                    "view time t "
                    <input type="range" min="0.01" max="0.6" step="0.01" data-testid="toy-t" prop:value=move || settings.with(|s| s.t.to_string())
                        on:input=move |ev| { if let Ok(t) = event_target_value(&ev).parse::<f64>() { settings.update(|s| s.t = t.clamp(0.01, 0.6)) } } />
                    <span class="value">{move || format!("{:.2}", settings.with(|s| s.t))}</span>
                </label>
                <span class="muted" data-testid="toy-status">{move || status.get()}</span>
            </div>
            <div class="canvases">
                <figure>
                    <canvas node_ref=learned_ref width=CANVAS height=CANVAS data-testid="toy-learned" class="toy"></canvas>
                    <figcaption>"(a) Trained network: score arrows t·s(x, t), samples (orange), training points (white), Ward centroids (blue memorized, magenta spurious, green generalized) with their energies once the learned energy is computed."</figcaption>
                </figure>
                <figure>
                    <canvas node_ref=ideal_ref width=CANVAS height=CANVAS data-testid="toy-ideal" class="toy"></canvas>
                    <figcaption>"(b) Ideal score of the same K points (a DenseAM with β = 1/t, no training): energy −2t log p_t(x), its score arrows and samples. It memorizes perfectly."</figcaption>
                </figure>
                <figure>
                    <canvas node_ref=exact_ref width=CANVAS height=CANVAS data-testid="toy-exact" class="toy"></canvas>
                    <figcaption>"(c) Exact K → ∞ energy E(R) = R² + 1 − β⁻¹ log I₀(2βR), β = 1/(2t): a continuous ring, the generalizing limit."</figcaption>
                </figure>
                <figure>
                    <canvas node_ref=loss_ref width="340" height="240" data-testid="toy-loss"></canvas>
                    <figcaption data-testid="toy-centroids"
                        data-memorized=move || counts().0.to_string() data-spurious=move || counts().1.to_string() data-generalized=move || counts().2.to_string()
                        data-near-fraction=move || near_fraction.get().map(|f| format!("{:.4}", f.0)).unwrap_or_default()
                        data-near-wide=move || near_fraction.get().map(|f| format!("{:.4}", f.1)).unwrap_or_default()
                        data-samples-head=move || samples.with(|x| x.iter().take(SAMPLES_HOOK).flatten().map(|v| v.to_string()).collect::<Vec<_>>().join(","))>
                        {move || {
                            let (m, s, g) = counts();
                            let near = near_fraction
                                .get()
                                .map(|f| format!(" {:.1}% of samples lie within 0.1 of a training point, {:.1}% within 0.25.", 100.0 * f.0, 100.0 * f.1))
                                .unwrap_or_default();
                            if m + s + g == 0 { "Sample to cluster.".to_string() } else { format!("Ward centroids: {m} memorized, {s} spurious, {g} generalized.{near}") }
                        }}
                    </figcaption>
                </figure>
            </div>
            <ThreeRegimes />
        </section>
    }
}

/// One pretrained regime, ready to draw.
#[derive(Debug, Clone, PartialEq)]
struct Regime {
    k: usize,
    train: Vec<[f32; 2]>,
    samples: Vec<[f32; 2]>,
    energy: Option<(Vec<f32>, usize)>,
    arrows: Vec<([f32; 2], [f32; 2])>,
    centroids: Vec<Centroid>,
    meta: std::collections::BTreeMap<String, String>,
}

/// The three regimes side by side, from the checkpoints in `www/pretrained/` (made by
/// `bash scripts/make-pretrained.sh`): arrows and Ward centroids are computed here from the
/// shipped weights and samples; the samples and the energy grid were computed by the CLI.
async fn load_regime(k: usize) -> Result<Regime, String> {
    let url = format!("www/pretrained/toy-k{k}.safetensors");
    let bytes = crate::browser::fetch_bytes(&url).await?;
    let device = memgen_models::device::LabDevice::cpu().device.inner();
    let ck = memgen_models::toy::checkpoint::decode(&bytes, &device).map_err(|e| format!("{url}: {e}"))?;
    let pts = |name: &str| -> Result<Vec<[f32; 2]>, String> {
        let (shape, v) = ck.extras.get(name).ok_or_else(|| format!("{url}: no {name}"))?;
        if shape.len() != 2 || shape[1] != 2 {
            return Err(format!("{url}: {name} has shape {shape:?}"));
        }
        Ok(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
    };
    let train = pts("train")?;
    let samples = pts("samples")?;
    let energy = ck.extras.get("energy").and_then(|(shape, v)| (shape.len() == 2 && shape[0] == shape[1]).then(|| (v.clone(), shape[0])));
    let t: f64 = ck.meta.get("energy_t").and_then(|v| v.parse().ok()).unwrap_or(0.15);
    compute::yield_now().await;
    // Score arrows of the shipped network at t.
    let grid = grid_points(15, LO + 0.1, HI - 0.1);
    let x = burn::tensor::Tensor::<2>::from_data(burn::tensor::TensorData::new(grid.iter().flatten().copied().collect::<Vec<f32>>(), [grid.len(), 2]), &device);
    let tt = burn::tensor::Tensor::<2>::full([grid.len(), 1], t as f32, &device);
    let score = ck.model.forward(x, tt).into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    let arrows = arrows_from(&grid, &score, t, CANVAS as f64);
    compute::yield_now().await;
    // Ward with the paper's threshold for this K, then memorized / spurious / generalized.
    let (threshold, _) = preset_for(k);
    let m = Matrix::new(samples.iter().flatten().copied().collect(), samples.len(), 2).map_err(|e| e.to_string())?;
    let c = memgen_core::cluster::ward_clusters(&m, threshold).map_err(|e| e.to_string())?;
    let cents: Vec<[f32; 2]> = c.centroids.data().chunks(2).map(|v| [v[0], v[1]]).collect();
    let stats = classify_centroids_detailed(&cents, &train, &samples, &c.labels, &CentroidThresholds::default());
    let centroids = cents
        .iter()
        .zip(stats)
        .map(|(at, st)| {
            let e = energy.as_ref().map(|(e, n)| {
                let idx = |v: f32| (((v - LO) / (HI - LO) * (*n - 1) as f32).round().max(0.0) as usize).min(n - 1);
                e[idx(at[1]) * n + idx(at[0])]
            });
            Centroid { at: *at, kind: Some(st.kind), count: st.count, energy: e }
        })
        .collect();
    Ok(Regime { k, train, samples, energy, arrows, centroids, meta: ck.meta })
}

/// K = 2, 9 and 1000 side by side from the shipped checkpoints.
#[component]
fn ThreeRegimes() -> impl IntoView {
    let regimes = RwSignal::new(Vec::<Regime>::new());
    let state = RwSignal::new("idle".to_string());
    let refs = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    const KS: [usize; 3] = [2, 9, 1000];
    let load = move || {
        if state.get_untracked() == "loading" {
            return;
        }
        state.set("loading".into());
        spawn_local(async move {
            let mut out = Vec::new();
            for k in KS {
                match load_regime(k).await {
                    Ok(r) => {
                        out.push(r);
                        regimes.set(out.clone());
                    }
                    Err(e) => {
                        state.set(format!("error: {e}"));
                        return;
                    }
                }
                compute::yield_now().await;
            }
            state.set("done".into());
        });
    };
    // Loaded after the first paint, without waiting for a click (about 0.6 MB in all).
    Effect::new(move |_| load());
    Effect::new(move |_| {
        let rs = regimes.get();
        for (r, node) in rs.iter().zip(refs) {
            if let Some(c) = canvas_of(node) {
                draw_view(&c, r.energy.as_ref().map(|(e, n)| (e.as_slice(), *n)), &r.arrows, &r.train, &r.samples, &r.centroids);
            }
        }
    });
    let caption = move |i: usize| {
        move || {
            let rs = regimes.get();
            let Some(r) = rs.get(i) else { return view! { <span>{format!("K = {}: loading…", KS[i])}</span> }.into_any() };
            let n = |k: CentroidKind| r.centroids.iter().filter(|c| c.kind == Some(k)).count();
            let get = |key: &str| r.meta.get(key).cloned().unwrap_or_default();
            view! {
                <span>
                    <b>{format!("K = {} · pretrained", r.k)}</b>
                    {format!(
                        " ({} steps, {} preset, final loss {}; {} samples; energy at t = {}). Ward centroids: {} memorized, {} spurious, {} generalized. Made by: ",
                        get("steps"), get("preset"), get("final_loss_mean_last_100"), r.samples.len(), get("energy_t"),
                        n(CentroidKind::Memorized), n(CentroidKind::Spurious), n(CentroidKind::Generalized)
                    )}
                    <code>{get("command")}</code>
                </span>
            }
            .into_any()
        }
    };
    let counts = move |i: usize, kind: CentroidKind| {
        move || regimes.with(|rs| rs.get(i).map(|r| r.centroids.iter().filter(|c| c.kind == Some(kind)).count().to_string()).unwrap_or_default())
    };
    view! {
        <div class="regimes" data-testid="toy-regimes" data-state=move || state.get()>
            <h3>"The three regimes together (pretrained here by the CLI, not trained in this tab)"</h3>
            <p class="explain">
                "The same network and browser preset, trained natively with " <code>"bash scripts/make-pretrained.sh"</code>
                " (memgen toy … --out-checkpoint, seed 0) and shipped with the lab. The samples and the learned energy (probability-flow ODE) were computed by the CLI; "
                "the score arrows and the Ward clustering are computed here from the shipped weights and samples. Train any K yourself above: view (a) is always trained in this tab."
            </p>
            {move || state.get().strip_prefix("error: ").map(|e| view! { <p class="notice" data-testid="notice">{format!("The pretrained checkpoints could not be loaded: {e}")}</p> })}
            <div class="canvases">
                {(0..3).map(|i| view! {
                    <figure>
                        <canvas node_ref=refs[i] width=CANVAS height=CANVAS class="toy" data-testid=format!("toy-regime-k{}", KS[i])
                            data-memorized=counts(i, CentroidKind::Memorized) data-spurious=counts(i, CentroidKind::Spurious) data-generalized=counts(i, CentroidKind::Generalized)></canvas>
                        <figcaption>{caption(i)}</figcaption>
                    </figure>
                }).collect_view()}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trips_and_rejects_bad_values() {
        let s = ToySettings { k: 9, seed: 7, steps: 1234, lr: 5e-4, t: 0.2, samples: 500, threshold: 1.5 };
        let q = s.to_query();
        let pairs: Vec<(&str, &str)> = q.split('&').map(|p| p.split_once('=').unwrap()).collect();
        assert_eq!(pairs.len(), OWN_KEYS.len());
        let (back, notices) = ToySettings::from_pairs(pairs);
        assert_eq!(back, s);
        assert!(notices.is_empty(), "{notices:?}");

        // K alone takes its preset's threshold and view time.
        let (k9, n) = ToySettings::from_pairs([("tk", "9")]);
        assert_eq!((k9.k, k9.threshold, k9.t), (9, 2.0, 0.15));
        assert!(n.is_empty());

        // Every bad value: default kept, one notice each, no panic.
        let bad = [
            ("tk", "0"),
            ("tk", "99999999999999999999"),
            ("tseed", "-1"),
            ("tsteps", "0"),
            ("tlr", "NaN"),
            ("tlr", "1"),
            ("tt", "inf"),
            ("tn", "5"),
            ("tthr", "-3"),
        ];
        let (d, notices) = ToySettings::from_pairs(bad);
        assert_eq!(d, ToySettings::default());
        assert_eq!(notices.len(), bad.len(), "{notices:?}");
        assert!(notices[0].contains("tk") && notices[0].contains("“0”"), "{}", notices[0]);
    }
}
