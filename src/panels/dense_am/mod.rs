//! The Dense Associative Memory panel (docs/SCIENCE.md §3, paper Fig. 1A): the energy
//! landscape, its basins of attraction, stored versus spurious attractors, and sweeps of
//! their counts against β and K.
//!
//! The panel is a few components over one [`Panel`] of signals: the memories, β, energy and
//! view controls ([`controls::Controls`]), the energy and basin canvases with their editing
//! and retrieval traces ([`figures`]), the attractor summary and list ([`attractors`]), and
//! the β and K sweeps with their plots ([`sweeps`]).

use leptos::html::Canvas;
use leptos::prelude::*;
use memgen_core::dense_am::BasinMap;

use crate::compute;
use crate::state::{DenseAmState, Notice, BETA_RANGE};
use crate::widgets::{Notices, PanelFrame};

mod attractors;
mod controls;
mod figures;
mod sweeps;

use attractors::{AttractorList, AttractorSummary};
use controls::Controls;
use figures::{BasinFigure, EnergyFigure};
use sweeps::{SweepControls, SweepPlots};

/// Side of the canvases in CSS pixels.
const CANVAS: u32 = 512;

/// This panel's URL keys.
pub const OWN_KEYS: &[&str] = crate::views::View::Memory.url_keys();

/// Reads the panel state from `location.search`.
fn read_url() -> (DenseAmState, Vec<Notice>) {
    let (pairs, truncated) = crate::url::read_pairs(&[]);
    let (state, mut notices) = DenseAmState::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if truncated && !notices.iter().any(|n| n.0.contains("longer than")) {
        notices.push(Notice(format!("The link is longer than {} KB; the rest of it was ignored.", crate::url::MAX_QUERY_BYTES / 1024)));
    }
    (state, notices)
}

/// Writes this panel's `query` into the URL, keeping the parameters of other panels.
fn replace_url(query: &str) {
    crate::url::replace_own(OWN_KEYS, query);
}

/// β ↔ slider position (0…1000, log scale over [`BETA_RANGE`]).
fn beta_to_slider(beta: f64) -> f64 {
    let (lo, hi) = (BETA_RANGE.0.log10(), BETA_RANGE.1.log10());
    ((beta.log10() - lo) / (hi - lo) * 1000.0).clamp(0.0, 1000.0)
}

fn slider_to_beta(v: f64) -> f64 {
    let (lo, hi) = (BETA_RANGE.0.log10(), BETA_RANGE.1.log10());
    let b = 10f64.powf(lo + v / 1000.0 * (hi - lo));
    // Three significant digits keep links short.
    let m = 10f64.powf(b.log10().floor() - 2.0);
    (b / m).round() * m
}

/// Grid size for interactive frames: full resolution on WebGPU, fewer pixels on the CPU
/// when K is large so a frame stays under about a second.
fn interactive_size(k: usize, gpu: bool) -> u32 {
    if gpu {
        return CANVAS;
    }
    let s = (2.0e7 / k.max(1) as f64).sqrt();
    ((s as u32) / 8 * 8).clamp(96, CANVAS)
}

fn basin_size(k: usize, gpu: bool) -> u32 {
    if gpu {
        return 128;
    }
    let s = (3.0e6 / (k.max(1) as f64 * 20.0)).sqrt();
    (s as u32).clamp(32, 128)
}

/// Summary of a basin map, for the list and the sweep plots.
#[derive(Debug, Clone, PartialEq)]
struct BasinView {
    map: BasinMap,
    size: u32,
    state: DenseAmState,
}

/// A sweep's results: `(x, spurious count, retrieval fraction)`.
#[derive(Debug, Clone, PartialEq, Default)]
struct Sweep {
    by_beta: Vec<(f64, f64, f64)>,
    by_k: Vec<(f64, f64, f64)>,
}

/// Where a running sweep stands.
#[derive(Debug, Clone, PartialEq)]
enum SweepProgress {
    /// Sweeping K (`by_k`) or β: the fraction `done` and the seconds left.
    Running { by_k: bool, done: f64, eta: f64 },
    /// The sweep stopped on this error.
    Failed(String),
}

/// A retrieval traced from a click on the basin map.
#[derive(Debug, Clone, PartialEq)]
struct Trace {
    /// The states it went through.
    path: Vec<[f64; 2]>,
    /// Where it started and what it reached, in words.
    text: String,
}

/// The panel's state: one set of signals its components share.
#[derive(Clone, Copy)]
pub(crate) struct Panel {
    /// What the URL mirrors: memories, β, energy form, view.
    state: RwSignal<DenseAmState>,
    notices: RwSignal<Vec<Notice>>,
    /// The last basin map and the state it was made for.
    basin: RwSignal<Option<BasinView>>,
    /// How far the basin map being made is, in `[0, 1]`.
    basin_progress: RwSignal<f64>,
    /// The last energy frame: its size, time and device, or why it failed.
    frame_info: RwSignal<String>,
    trajectory: RwSignal<Option<Trace>>,
    sweep: RwSignal<Sweep>,
    sweep_progress: RwSignal<Option<SweepProgress>>,
    /// Bumped by each sweep and cancel: an older sweep stops.
    sweep_gen: crate::job::Generation,
    /// Bumped by each state change: an older frame or basin map is dropped.
    frame_gen: crate::job::Generation,
    /// The memory being dragged on the energy canvas.
    dragging: StoredValue<Option<usize>>,
    /// The keyboard's memory on the energy map (arrows move it) and its start point on the basin
    /// map (Enter traces from it), with the line that says so.
    keys: RwSignal<figures::Keys>,
    /// The last energy frame's pixels and side, redrawn under new overlays.
    last_frame: StoredValue<Option<(Vec<u8>, u32)>>,
    energy_ref: NodeRef<Canvas>,
    basin_ref: NodeRef<Canvas>,
    /// Whether the compute backend is WebGPU.
    gpu: bool,
}

impl Panel {
    /// The panel's signals, with the link's state; the link's bad values become notices.
    fn new() -> Panel {
        let (initial, notices) = read_url();
        Panel {
            state: RwSignal::new(initial),
            notices: RwSignal::new(notices),
            basin: RwSignal::new(None),
            basin_progress: RwSignal::new(0.0),
            frame_info: RwSignal::new(String::new()),
            trajectory: RwSignal::new(None),
            sweep: RwSignal::new(Sweep::default()),
            sweep_progress: RwSignal::new(None),
            sweep_gen: crate::job::Generation::new(),
            frame_gen: crate::job::Generation::new(),
            dragging: StoredValue::new(None),
            keys: RwSignal::new(figures::Keys::default()),
            last_frame: StoredValue::new(None),
            energy_ref: NodeRef::new(),
            basin_ref: NodeRef::new(),
            gpu: compute::backend().is_some_and(|b| b.kernels.is_some()),
        }
    }
}

/// The DenseAM panel.
#[component]
pub fn DenseAmPanel() -> impl IntoView {
    let p = Panel::new();
    // The URL mirrors the state.
    Effect::new(move |_| {
        let q = p.state.with(|s| s.to_query());
        replace_url(&q);
    });
    figures::redraw_on_change(p);

    view! {
        <PanelFrame testid="panel-dense-am" title="Dense Associative Memory: memories, energy and spurious states">
            <p class="explain">
                "Each white dot is a stored memory yⱼ. The energy "
                <span class="math">"E(x) = −β⁻¹ log Σⱼ exp(β xᵀyⱼ) + ½‖x‖²"</span>
                " has a well at every memory when β is large: retrieval (the update x ← Σⱼ softmax(β xᵀY)ⱼ yⱼ) returns the memory you started near. "
                "Lower β or crowd the memories and wells merge: retrieval then lands on "
                <b>"spurious states"</b>
                " (magenta crosses) that are mixtures, not memories — the associative-memory picture of a diffusion model leaving memorization."
            </p>
            <Notices notices=p.notices />
            <Controls p=p />
            <div class="canvases">
                <EnergyFigure p=p />
                <BasinFigure p=p />
            </div>
            <p class="trajectory" data-testid="trajectory">
                {move || p.trajectory.get().map(|t| t.text).unwrap_or_else(|| "Click the basin map to trace a retrieval.".into())}
            </p>
            <AttractorSummary p=p />
            <AttractorList p=p />
            <h3>"How many attractors are spurious? (paper Fig. 1A, in numbers)"</h3>
            <p class="explain">
                "Each point below is a full basin map on a coarse grid: "
                "the number of distinct spurious attractors and the share of starts that retrieve a stored memory. "
                "Against β for the memories above; against K for the chosen preset at the current β."
            </p>
            <SweepControls p=p />
            <SweepPlots p=p />
        </PanelFrame>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slider_maps_beta_both_ways() {
        for b in [0.01, 0.5, 10.0, 123.0, 1e4] {
            let back = slider_to_beta(beta_to_slider(b));
            assert!((back / b - 1.0).abs() < 0.01, "{b} -> {back}");
        }
        assert_eq!(slider_to_beta(0.0), 0.01);
        assert_eq!(slider_to_beta(1000.0), 1e4);
    }

    #[test]
    fn cpu_sizes_shrink_with_k() {
        assert_eq!(interactive_size(9, false), 512);
        assert!(interactive_size(1000, false) < 200);
        assert_eq!(interactive_size(1000, true), 512);
        assert!(basin_size(1000, false) >= 32);
    }
}
