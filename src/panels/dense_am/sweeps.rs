//! The sweeps (paper Fig. 1A, in numbers): a coarse basin map per point, against β for the
//! memories shown or against K for the preset at the current β, with progress, cancel and the
//! two plots of spurious counts and retrieval.

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use plotters::style::RGBColor;

use super::{Panel, SweepProgress};
use crate::compute;
use crate::plot::{line_plot, Series};
use crate::state::DenseAmState;
use crate::widgets::ProgressLine;

/// The K values of the K sweep.
const SWEEP_KS: [f64; 15] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0, 32.0, 48.0, 64.0];

impl SweepProgress {
    /// What is being done, the fraction done and the seconds left.
    fn line(&self) -> (String, f64, f64) {
        match self {
            SweepProgress::Running { by_k: true, done, eta } => ("Sweeping K".into(), *done, *eta),
            SweepProgress::Running { by_k: false, done, eta } => ("Sweeping β".into(), *done, *eta),
            SweepProgress::Failed(e) => (format!("Sweep failed: {e}"), 0.0, 0.0),
        }
    }
}

impl Panel {
    /// Starts a sweep over K (`by_k`) or β; it stops the one running.
    fn run_sweep(self, by_k: bool) {
        let gen = self.sweep_gen.begin();
        spawn_local(self.sweep_points(by_k, self.state.get_untracked(), gen));
    }

    /// The sweep's points from state `s`, shown as they come; it stops once `sweep_gen` moves on
    /// from `gen`.
    async fn sweep_points(self, by_k: bool, s: DenseAmState, gen: crate::job::Ticket) {
        let cancelled = move || self.sweep_gen.is_stale(gen);
        let xs: Vec<f64> = if by_k { SWEEP_KS.to_vec() } else { (0..20).map(|i| 0.3 * 1000f64.powf(i as f64 / 19.0)).collect() };
        let t0 = crate::browser::now_ms();
        let mut out = Vec::new();
        for (i, &x) in xs.iter().enumerate() {
            let (mems, beta) = if by_k { (s.preset.memories(x as usize, s.seed), s.beta) } else { (s.memories(), x) };
            let size = if self.gpu { 48 } else { 32 };
            let res = compute::basin(&mems, beta, s.form, s.view, size, false, &|_, _| {}, &cancelled).await;
            if cancelled() {
                return;
            }
            match res {
                Ok(map) => out.push((x, map.spurious_count() as f64, map.retrieval_fraction())),
                Err(e) => {
                    self.sweep_progress.set(Some(SweepProgress::Failed(e)));
                    return;
                }
            }
            let done = (i + 1) as f64 / xs.len() as f64;
            let elapsed = (crate::browser::now_ms() - t0) / 1000.0;
            let eta = elapsed / done * (1.0 - done);
            self.sweep_progress.set(Some(SweepProgress::Running { by_k, done, eta }));
            self.sweep.update(|sw| if by_k { sw.by_k = out.clone() } else { sw.by_beta = out.clone() });
            crate::browser::yield_now().await;
        }
        self.sweep_progress.set(None);
    }

    /// Stops the running sweep.
    fn cancel_sweep(self) {
        self.sweep_gen.cancel();
        self.sweep_progress.set(None);
    }
}

/// The sweep buttons and the running sweep's progress with its cancel button.
#[component]
pub(super) fn SweepControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    view! {
        <div class="controls">
            <button data-testid="sweep-beta" on:click=move |_| p.run_sweep(false)>"Sweep β (0.3 … 300)"</button>
            <button data-testid="sweep-k" on:click=move |_| p.run_sweep(true)>"Sweep K (1 … 64)"</button>
            {move || p.sweep_progress.get().map(|s| {
                let (label, done, eta) = s.line();
                view! {
                    <span class="progress" data-testid="sweep-progress" data-state=if matches!(s, SweepProgress::Failed(_)) { "failed" } else { "running" }>
                        <ProgressLine fraction=done text=label /> {format!(" {:.0}% · about {:.0} s left ", 100.0 * done, eta)}
                        <button data-testid="sweep-cancel" on:click=move |_| p.cancel_sweep()>"cancel"</button>
                    </span>
                }
            })}
        </div>
    }
}

/// Draws one sweep on `canvas`: the spurious counts, and the retrieval fraction scaled to the
/// top of the axis.
fn counts_plot(canvas: &web_sys::HtmlCanvasElement, title: &str, x_label: &str, points: &[(f64, f64, f64)]) {
    let top = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let sp: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1)).collect();
    let rf: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.2 * top)).collect();
    line_plot(
        canvas,
        title,
        x_label,
        true,
        (0.0, top),
        &[
            Series { label: "spurious attractors", points: &sp, colour: RGBColor(200, 30, 180) },
            Series { label: "retrieval fraction × top of axis", points: &rf, colour: RGBColor(30, 120, 200) },
        ],
    );
}

/// The sweeps' plots against β and against K, redrawn as points come.
#[component]
pub(super) fn SweepPlots(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let beta_plot_ref = NodeRef::<Canvas>::new();
    let k_plot_ref = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let sw = p.sweep.get();
        if let Some(c) = beta_plot_ref.get() {
            counts_plot(&c, "Spurious attractors and retrieval (scaled) vs β", "β (log)", &sw.by_beta);
        }
        if let Some(c) = k_plot_ref.get() {
            counts_plot(&c, "Spurious attractors and retrieval (scaled) vs K", "K (log)", &sw.by_k);
        }
    });
    let table = move |by_k: bool| {
        Callback::new(move |()| {
            let sw = p.sweep.get_untracked();
            let pts = if by_k { sw.by_k } else { sw.by_beta };
            (!pts.is_empty()).then(|| {
                crate::export::csv(
                    &[if by_k { "k" } else { "beta" }, "spurious", "retrieval"],
                    pts.iter().map(|(x, sp, rf)| vec![x.to_string(), sp.to_string(), rf.to_string()]),
                )
            })
        })
    };
    let shown = move |by_k: bool| move || if p.sweep.with(|sw| if by_k { sw.by_k.is_empty() } else { sw.by_beta.is_empty() }) { "display:none" } else { "" };
    view! {
        <div class="canvases">
            <figure style=shown(false)>
                <canvas node_ref=beta_plot_ref width="512" height="300" data-testid="sweep-beta-plot" role="img"
                    data-points=move || p.sweep.with(|sw| hook(&sw.by_beta))
                    aria-label=move || p.sweep.with(|sw| sweep_description("β", &sw.by_beta))></canvas>
                <figcaption><crate::export::ExportButtons name="densam-sweep-beta" canvas=beta_plot_ref csv=table(false) /></figcaption>
            </figure>
            <figure style=shown(true)>
                <canvas node_ref=k_plot_ref width="512" height="300" data-testid="sweep-k-plot" role="img"
                    data-points=move || p.sweep.with(|sw| hook(&sw.by_k))
                    aria-label=move || p.sweep.with(|sw| sweep_description("K", &sw.by_k))></canvas>
                <figcaption><crate::export::ExportButtons name="densam-sweep-k" canvas=k_plot_ref csv=table(true) /></figcaption>
            </figure>
        </div>
    }
}

/// The test hook of a sweep's points: `x:spurious:retrieval` separated by `;`.
fn hook(points: &[(f64, f64, f64)]) -> String {
    points.iter().map(|(x, sp, rf)| format!("{x}:{sp}:{rf}")).collect::<Vec<_>>().join(";")
}

/// A sweep's plot in words: its range, and where the spurious count peaks.
fn sweep_description(x: &str, points: &[(f64, f64, f64)]) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return format!("Sweep over {x}: not run yet.");
    };
    let peak = points.iter().fold(first, |a, b| if b.1 > a.1 { b } else { a });
    format!(
        "Spurious attractors and retrieval fraction against {x} from {} to {}: retrieval {:.2} at {x} = {} and {:.2} at {x} = {}; most spurious attractors ({}) at {x} = {}.",
        first.0, last.0, first.2, first.0, last.2, last.0, peak.1, peak.0
    )
}
