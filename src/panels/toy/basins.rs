//! The Ward centroids' basins and curvature (docs/SCIENCE.md §5–6), probed here with the
//! trained network: the library's basin search (bisection over the authors' 500 levels of t,
//! 10 trials, Euler–Maruyama back to 1e-3, δ = 0.01), a level at a time with the sampler
//! stepped in short chunks between frames, cancellable; and the 2×2 Hessian of the learned
//! energy at the view time t with its eigenvalues (a well or a saddle).

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::basin::{GridSearch, Search};
use memgen_models::toy::basin::{noised, recovered_share, toy_energy_hessian, toy_radius, trial_noise, ToyBasinSettings, ToyHessian, STREAM_TOY_PROBE_LEVEL};
use memgen_models::toy::centroids::CentroidKind;
use memgen_models::toy::{EulerMaruyama, Sampling};

use super::{current_model, toy_device, Panel};
use crate::browser::{now_ms, yield_now};
use crate::widgets::time_left;

/// Euler–Maruyama steps between frames.
const CHUNK: usize = 25;

#[derive(Clone, PartialEq)]
enum Probe {
    Idle,
    Running(usize, String),
    Done { i: usize, t_c: Option<f64>, log_area: f64, levels: Vec<(f64, f64)>, hessian: ToyHessian },
    Failed(String),
}

fn kind_name(k: Option<CentroidKind>) -> &'static str {
    match k {
        Some(CentroidKind::Memorized) => "memorized",
        Some(CentroidKind::Spurious) => "spurious",
        Some(CentroidKind::Generalized) => "generalized",
        None => "unlabelled",
    }
}

/// Probes centroid `i` at `at`; `None` when cancelled.
async fn probe(
    at: [f32; 2],
    view_t: f64,
    seed: u64,
    cancel: RwSignal<bool>,
    status: impl Fn(String),
) -> Result<Option<(Option<f64>, f64, Vec<(f64, f64)>, ToyHessian)>, String> {
    let model = current_model().ok_or("train the network first")?;
    let device = toy_device().inner();
    let settings = ToyBasinSettings { search: Search::Bisection, ..ToyBasinSettings::paper() };
    let grid = settings.grid();
    let (z, mut noise) = trial_noise(settings.trials, seed);
    let mut search = GridSearch::new(settings.search, grid.len(), settings.threshold);
    let started = now_ms();
    let (mut steps_done, mut levels_done) = (0usize, 0usize);
    while let Some(i) = search.next() {
        let t = grid[i];
        let start = noised(at, &z, t);
        let config = EulerMaruyama { steps: ToyBasinSettings::steps_from(t), t_end: settings.t_end, count: start.len() };
        let stream = memgen_core::spec::NoiseStream::new(seed, STREAM_TOY_PROBE_LEVEL);
        let mut run = Sampling::from_points(&model, &start, t, config, &device, stream);
        while !run.finished() {
            if cancel.get_untracked() {
                return Ok(None);
            }
            run.run_steps_synced(CHUNK).await?;
            steps_done += CHUNK.min(config.steps);
            yield_now().await;
        }
        let ends = run.samples().await?;
        search.record(i, recovered_share(at, &ends, settings.delta));
        levels_done += 1;
        // About 500 steps a level on average over the bisection's levels.
        let rate = steps_done as f64 / ((now_ms() - started) / 1000.0);
        let left = search.most().saturating_sub(levels_done) * 500;
        status(format!("level t = {t:.3}: {levels_done} of at most {} levels read; {}", search.most(), time_left(left as f64, rate)));
    }
    let t_c = search.t_c().map(|i| grid[i]);
    let (_, log_area) = toy_radius(t_c, &mut noise)?;
    let levels = search.levels().into_iter().map(|(i, p)| (grid[i], p)).collect();
    let hessian = toy_energy_hessian(&model, at, view_t, 3e-3, &device).await?;
    Ok(Some((t_c, log_area, levels, hessian)))
}

/// The centroids as a list, each with a button that probes its basin and curvature.
#[component]
pub(super) fn CentroidProbes(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let state = RwSignal::new(Probe::Idle);
    let cancel = RwSignal::new(false);
    Effect::new(move |_| {
        let _ = p.centroids.get();
        cancel.set(true);
        state.set(Probe::Idle);
    });
    let start = move |i: usize| {
        let Some(c) = p.centroids.with_untracked(|c| c.get(i).cloned()) else { return };
        let s = p.settings.get_untracked();
        cancel.set(false);
        state.set(Probe::Running(i, "starting…".into()));
        spawn_local(async move {
            match probe(c.at, s.t, s.seed, cancel, |m| state.set(Probe::Running(i, m))).await {
                Ok(Some((t_c, log_area, levels, hessian))) => state.set(Probe::Done { i, t_c, log_area, levels, hessian }),
                Ok(None) => state.set(Probe::Idle),
                Err(e) => state.set(Probe::Failed(e)),
            }
        });
    };
    // A centroid clicked on the trained network's view.
    Effect::new(move |_| {
        if let Some(i) = p.probe_request.get() {
            p.probe_request.set(None);
            if !matches!(state.get_untracked(), Probe::Running(..)) {
                start(i);
            }
        }
    });
    move || {
        let cents = p.centroids.get();
        if cents.is_empty() {
            return None;
        }
        let st = state.get();
        let running = matches!(st, Probe::Running(..));
        let rows = cents
            .iter()
            .enumerate()
            .map(|(i, c)| {
                view! {
                    <li>
                        {format!("{} centroid at ({:.2}, {:.2}), {} samples ", kind_name(c.kind), c.at[0], c.at[1], c.count)}
                        <button data-testid=format!("toy-probe-{i}") data-kind=kind_name(c.kind) data-index=i.to_string() data-at=format!("{},{}", c.at[0], c.at[1]) disabled=running on:click=move |_| start(i)>"Probe its basin and curvature"</button>
                    </li>
                }
            })
            .collect::<Vec<_>>();
        let (attr, text, tc, eig) = match &st {
            Probe::Idle => (
                "idle".to_string(),
                "Probe a centroid (its button, or click it on the trained network's view): 10 noised copies per level of t, taken back by the sampler; its basin ends where fewer than 9 come back within 0.01."
                    .to_string(),
                String::new(),
                String::new(),
            ),
            Probe::Running(i, m) => (format!("running:{i}"), format!("Centroid {}: {m}", i + 1), String::new(), String::new()),
            Probe::Failed(e) => (format!("error: {e}"), format!("Could not probe it: {e}"), String::new(), String::new()),
            Probe::Done { i, t_c, log_area, levels, hessian } => {
                let e = hessian.eigenvalues;
                let shape = if e[0] > 0.0 && e[1] > 0.0 {
                    "a well"
                } else if e[0] > 0.0 || e[1] > 0.0 {
                    "a saddle"
                } else {
                    "a hilltop"
                };
                (
                    format!("done:{i}"),
                    format!(
                        "Centroid {}: {} ({} levels read). The learned energy's Hessian at t = {}: eigenvalues {:.2} and {:.2}, {shape} (asymmetry of the score's Jacobian {:.3}).",
                        i + 1,
                        match t_c {
                            Some(t) => format!("basin up to t_c = {t:.3}, log-area {log_area:.2}"),
                            None => "no basin: at the first level already fewer than 9 of 10 trials come back within 0.01".into(),
                        },
                        levels.len(),
                        hessian.t,
                        e[0],
                        e[1],
                        hessian.asymmetry
                    ),
                    t_c.map(|t| format!("{t:.4}")).unwrap_or("none".into()),
                    format!("{:.4},{:.4}", e[0], e[1]),
                )
            }
        };
        Some(view! {
            <div class="controls" data-testid="toy-probe" data-state=attr data-t-c=tc data-eigenvalues=eig>
                <ul>{rows}</ul>
                <button data-testid="toy-probe-cancel" disabled=!running on:click=move |_| cancel.set(true)>"Cancel"</button>
                <span>{text}</span>
            </div>
        })
    }
}
