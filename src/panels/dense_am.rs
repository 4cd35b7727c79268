//! The Dense Associative Memory panel (docs/SCIENCE.md §3, paper Fig. 1A): the energy
//! landscape, its basins of attraction, stored versus spurious attractors, and sweeps of
//! their counts against β and K.

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::dense_am::{AttractorKind, BasinMap, DenseAm, EnergyForm};
use plotters::style::RGBColor;

use crate::compute::{self, Path};
use crate::plot::{line_plot, Series};
use crate::render;
use crate::state::{fmt_num, DenseAmState, Notice, Preset, BETA_RANGE, MAX_K};

/// Side of the canvases in CSS pixels.
const CANVAS: u32 = 512;

/// This panel's URL keys.
const OWN_KEYS: [&str; 7] = ["beta", "form", "preset", "k", "seed", "view", "pts"];

/// Reads the panel state from `location.search`.
fn read_url() -> (DenseAmState, Vec<Notice>) {
    let (pairs, truncated) = crate::url::read_pairs(&[]);
    let (state, mut notices) = DenseAmState::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if truncated && !notices.iter().any(|n| n.0.contains("longer than")) {
        notices.push(Notice(format!("The link is longer than {} KB; the rest of it was ignored.", crate::state::MAX_QUERY_BYTES / 1024)));
    }
    (state, notices)
}

/// Writes this panel's `query` into the URL, keeping the parameters of other panels.
fn replace_url(query: &str) {
    crate::url::replace_own(&OWN_KEYS, query);
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

/// The DenseAM panel.
#[component]
pub fn DenseAmPanel() -> impl IntoView {
    let (initial, initial_notices) = read_url();
    let state = RwSignal::new(initial);
    let notices = RwSignal::new(initial_notices);
    let basin = RwSignal::new(None::<BasinView>);
    let basin_progress = RwSignal::new(0.0f64);
    let frame_info = RwSignal::new(String::new());
    let trajectory = RwSignal::new(None::<(Vec<[f64; 2]>, String)>);
    let sweep = RwSignal::new(Sweep::default());
    let sweep_progress = RwSignal::new(None::<(String, f64, f64)>);
    let sweep_gen = StoredValue::new(0u64);
    let frame_gen = StoredValue::new(0u64);
    let dragging = StoredValue::new(None::<usize>);
    let last_frame = StoredValue::new(None::<(Vec<u8>, u32)>);
    let energy_ref = NodeRef::<Canvas>::new();
    let basin_ref = NodeRef::<Canvas>::new();
    let beta_plot_ref = NodeRef::<Canvas>::new();
    let k_plot_ref = NodeRef::<Canvas>::new();
    let gpu = compute::backend().map(|b| b.kernels.is_some()).unwrap_or(false);

    // The URL mirrors the state.
    Effect::new(move |_| {
        let q = state.with(|s| s.to_query());
        replace_url(&q);
    });

    // Redraw overlays on the energy canvas from the cached frame (cheap).
    let redraw_energy = move || {
        let Some(canvas) = energy_ref.get_untracked() else { return };
        let s = state.get_untracked();
        if let Some((rgba, size)) = last_frame.get_value() {
            render::put_pixels(&canvas, &rgba, size, size);
        }
        let spurious: Vec<[f64; 2]> = basin
            .get_untracked()
            .filter(|b| b.state == s)
            .map(|b| b.map.attractors.iter().filter(|a| a.kind == AttractorKind::Spurious).map(|a| [a.position[0], a.position[1]]).collect())
            .unwrap_or_default();
        let traj = trajectory.get_untracked();
        render::draw_overlay(&canvas, s.view, &s.memories(), &spurious, traj.as_ref().map(|t| t.0.as_slice()));
    };

    let draw_basin = move || {
        let Some(canvas) = basin_ref.get_untracked() else { return };
        let Some(b) = basin.get_untracked() else { return };
        let n = b.size as usize;
        let mut rgba = vec![0u8; n * n * 4];
        for (i, a) in b.map.assignment.iter().enumerate() {
            let c = match a {
                Some(idx) => {
                    let at = &b.map.attractors[*idx];
                    match at.kind {
                        AttractorKind::Memory(j) => render::attractor_colour(Some(j), false),
                        AttractorKind::Spurious => render::attractor_colour(Some(*idx), true),
                        AttractorKind::Saddle => [90, 90, 90],
                    }
                }
                None => render::attractor_colour(None, false),
            };
            rgba[4 * i..4 * i + 3].copy_from_slice(&c);
            rgba[4 * i + 3] = 255;
        }
        render::put_pixels(&canvas, &rgba, b.size, b.size);
        let spurious: Vec<[f64; 2]> = b.map.attractors.iter().filter(|a| a.kind == AttractorKind::Spurious).map(|a| [a.position[0], a.position[1]]).collect();
        let traj = trajectory.get_untracked();
        render::draw_overlay(&canvas, b.state.view, &b.state.memories(), &spurious, traj.as_ref().map(|t| t.0.as_slice()));
    };

    // Every state change: a new energy frame, then the basin map. Stale work is dropped.
    Effect::new(move |_| {
        let s = state.get();
        let gen = frame_gen.get_value() + 1;
        frame_gen.set_value(gen);
        let is_stale = move || frame_gen.get_value() != gen;
        spawn_local(async move {
            let mems = s.memories();
            let size = interactive_size(mems.len(), gpu);
            let t0 = compute::now_ms();
            let frame = compute::energy_frame(&mems, s.beta, s.form, s.view, size, Path::Auto, false, &is_stale).await;
            if is_stale() {
                return;
            }
            match frame {
                Ok(f) => {
                    let ms = compute::now_ms() - t0;
                    last_frame.set_value(Some((f.rgba, f.size)));
                    redraw_energy();
                    mark_first_frame();
                    frame_info.set(format!("{}×{} grid, K = {}, {:.0} ms on the {}", f.size, f.size, mems.len(), ms, if f.on_gpu { "GPU" } else { "CPU" }));
                }
                Err(e) => frame_info.set(format!("Could not draw the energy: {e}")),
            }
            // Let the picture appear before the heavier basin map.
            compute::yield_now().await;
            if is_stale() {
                return;
            }
            let bsize = basin_size(mems.len(), gpu);
            basin_progress.set(0.0);
            let progress = move |d: usize, t: usize| basin_progress.set(d as f64 / t.max(1) as f64);
            match compute::basin(&mems, s.beta, s.form, s.view, bsize, false, &progress, &is_stale).await {
                Ok(map) if !is_stale() => {
                    basin.set(Some(BasinView { map, size: bsize, state: s }));
                    draw_basin();
                    redraw_energy();
                }
                Ok(_) => {}
                Err(e) if e != "cancelled" => frame_info.set(format!("Basin map failed: {e}")),
                Err(_) => {}
            }
        });
    });

    // Redraw sweep plots when results change.
    Effect::new(move |_| {
        let sw = sweep.get();
        let max_sp = |v: &[(f64, f64, f64)]| v.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
        if let Some(c) = beta_plot_ref.get() {
            let sp: Vec<(f64, f64)> = sw.by_beta.iter().map(|p| (p.0, p.1)).collect();
            let rf: Vec<(f64, f64)> = sw.by_beta.iter().map(|p| (p.0, p.2 * max_sp(&sw.by_beta))).collect();
            line_plot(
                &c,
                "Spurious attractors and retrieval (scaled) vs β",
                "β (log)",
                true,
                (0.0, max_sp(&sw.by_beta)),
                &[
                    Series { label: "spurious attractors", points: &sp, colour: RGBColor(200, 30, 180) },
                    Series { label: "retrieval fraction × top of axis", points: &rf, colour: RGBColor(30, 120, 200) },
                ],
            );
        }
        if let Some(c) = k_plot_ref.get() {
            let sp: Vec<(f64, f64)> = sw.by_k.iter().map(|p| (p.0, p.1)).collect();
            let rf: Vec<(f64, f64)> = sw.by_k.iter().map(|p| (p.0, p.2 * max_sp(&sw.by_k))).collect();
            line_plot(
                &c,
                "Spurious attractors and retrieval (scaled) vs K",
                "K (log)",
                true,
                (0.0, max_sp(&sw.by_k)),
                &[
                    Series { label: "spurious attractors", points: &sp, colour: RGBColor(200, 30, 180) },
                    Series { label: "retrieval fraction × top of axis", points: &rf, colour: RGBColor(30, 120, 200) },
                ],
            );
        }
    });

    let edit_points = move |f: &dyn Fn(&mut Vec<[f64; 2]>)| {
        state.update(|s| {
            let mut pts = s.memories();
            f(&mut pts);
            pts.truncate(MAX_K);
            s.points = Some(pts);
        });
        trajectory.set(None);
    };

    let canvas_point = move |canvas: &web_sys::HtmlCanvasElement, x: f64, y: f64| {
        let rect = canvas.get_bounding_client_rect();
        let size = canvas.width() as f64;
        let px = (x - rect.left()) / rect.width().max(1.0) * size;
        let py = (y - rect.top()) / rect.height().max(1.0) * size;
        (px, py, render::from_canvas(state.get_untracked().view, size, px, py))
    };

    let nearest_within = move |px: f64, py: f64, size: f64| -> Option<usize> {
        let s = state.get_untracked();
        s.memories()
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let (x, y) = render::to_canvas(s.view, size, *m);
                (j, ((x - px).powi(2) + (y - py).powi(2)).sqrt())
            })
            .filter(|(_, d)| *d <= 10.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(j, _)| j)
    };

    let on_energy_down = move |ev: web_sys::PointerEvent| {
        let Some(canvas) = energy_ref.get_untracked() else { return };
        let (px, py, p) = canvas_point(&canvas, ev.client_x() as f64, ev.client_y() as f64);
        let hit = nearest_within(px, py, canvas.width() as f64);
        let _ = canvas.set_pointer_capture(ev.pointer_id());
        match hit {
            Some(j) if ev.shift_key() || ev.button() == 2 => edit_points(&|pts| {
                pts.remove(j);
            }),
            Some(j) => dragging.set_value(Some(j)),
            None if ev.button() == 0 => edit_points(&|pts| pts.push(p)),
            None => {}
        }
    };
    let on_energy_move = move |ev: web_sys::PointerEvent| {
        let Some(j) = dragging.get_value() else { return };
        let Some(canvas) = energy_ref.get_untracked() else { return };
        let (_, _, p) = canvas_point(&canvas, ev.client_x() as f64, ev.client_y() as f64);
        edit_points(&|pts| {
            if j < pts.len() {
                pts[j] = p;
            }
        });
    };
    let on_energy_up = move |_ev: web_sys::PointerEvent| dragging.set_value(None);

    let on_basin_click = move |ev: web_sys::MouseEvent| {
        let Some(canvas) = basin_ref.get_untracked() else { return };
        let (_, _, p) = canvas_point(&canvas, ev.client_x() as f64, ev.client_y() as f64);
        let s = state.get_untracked();
        let mems = s.memories();
        let flat = compute::flat(&mems);
        let am = DenseAm::new(&flat, 2, s.beta, s.form);
        let (r, path) = am.trajectory(&p, 1e-9, 2000);
        let gaps = am.neighbour_gaps();
        let frac = memgen_core::dense_am::BasinParams::default().memory_frac;
        let kind = match am.nearest_memory(&r.state) {
            Some((j, d)) if d <= frac * gaps[j] => format!("stored memory #{j}"),
            _ if r.converged => format!("a spurious state at ({:.3}, {:.3})", r.state[0], r.state[1]),
            _ => "no fixed point within 2000 updates".to_string(),
        };
        let text = format!("From ({:.3}, {:.3}): {} updates → {}; final energy E = {:.5}.", p[0], p[1], r.steps, kind, r.energy);
        trajectory.set(Some((path.iter().map(|v| [v[0], v[1]]).collect(), text)));
        redraw_energy();
        draw_basin();
    };

    let run_sweep = move |by_k: bool| {
        let gen = sweep_gen.get_value() + 1;
        sweep_gen.set_value(gen);
        let cancelled = move || sweep_gen.get_value() != gen;
        let s = state.get_untracked();
        spawn_local(async move {
            let xs: Vec<f64> = if by_k {
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0, 32.0, 48.0, 64.0]
            } else {
                (0..20).map(|i| 0.3 * 1000f64.powf(i as f64 / 19.0)).collect()
            };
            let t0 = compute::now_ms();
            let mut out = Vec::new();
            for (i, &x) in xs.iter().enumerate() {
                let (mems, beta) = if by_k { (s.preset.memories(x as usize, s.seed), s.beta) } else { (s.memories(), x) };
                let size = if gpu { 48 } else { 32 };
                let res = compute::basin(&mems, beta, s.form, s.view, size, false, &|_, _| {}, &cancelled).await;
                if cancelled() {
                    return;
                }
                match res {
                    Ok(map) => out.push((x, map.spurious_count() as f64, map.retrieval_fraction())),
                    Err(e) => {
                        sweep_progress.set(Some((format!("Sweep failed: {e}"), 0.0, 0.0)));
                        return;
                    }
                }
                let done = (i + 1) as f64 / xs.len() as f64;
                let elapsed = (compute::now_ms() - t0) / 1000.0;
                let eta = elapsed / done * (1.0 - done);
                sweep_progress.set(Some((if by_k { "Sweeping K".into() } else { "Sweeping β".into() }, done, eta)));
                sweep.update(|sw| if by_k { sw.by_k = out.clone() } else { sw.by_beta = out.clone() });
                compute::yield_now().await;
            }
            sweep_progress.set(None);
        });
    };

    let beta_text = move || fmt_num(state.with(|s| s.beta));
    let summary = move || basin.get().map(|b| (b.map.stored_count(), b.map.spurious_count(), b.map.retrieval_fraction(), b.state == state.get()));

    view! {
        <section class="panel" data-testid="panel-dense-am">
            <h2>"Dense Associative Memory: memories, energy and spurious states"</h2>
            <p class="explain">
                "Each white dot is a stored memory yⱼ. The energy "
                <span class="math">"E(x) = −β⁻¹ log Σⱼ exp(β xᵀyⱼ) + ½‖x‖²"</span>
                " has a well at every memory when β is large: retrieval (the update x ← Σⱼ softmax(β xᵀY)ⱼ yⱼ) returns the memory you started near. "
                "Lower β or crowd the memories and wells merge: retrieval then lands on "
                <b>"spurious states"</b>
                " (magenta crosses) that are mixtures, not memories — the associative-memory picture of a diffusion model leaving memorization."
            </p>
            <crate::widgets::Notices notices=notices />
            <div class="controls">
                <label>
                    "Memories "
                    <select data-testid="preset" on:change=move |ev| {
                        if let Some(p) = Preset::parse(&event_target_value(&ev)) {
                            state.update(|s| { s.preset = p; s.points = None; });
                            trajectory.set(None);
                        }
                    }>
                        {Preset::ALL
                            .into_iter()
                            .map(|p| view! { <option value=p.as_str() selected=move || state.with(|s| s.preset == p)>{p.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "K "
                    <input type="number" min="1" max=MAX_K.to_string() data-testid="k-input"
                        prop:value=move || state.with(|s| s.points.as_ref().map(|p| p.len()).unwrap_or(s.k).to_string())
                        on:change=move |ev| {
                            match event_target_value(&ev).trim().parse::<usize>() {
                                Ok(k) if (1..=MAX_K).contains(&k) => {
                                    state.update(|s| { s.k = k; s.points = None; });
                                    trajectory.set(None);
                                }
                                _ => notices.update(|v| v.push(Notice(format!("K must be a whole number from 1 to {MAX_K}.")))),
                            }
                        } />
                </label>
                <label>
                    "seed "
                    <input type="number" min="0" class="narrow" data-testid="seed-input"
                        prop:value=move || state.with(|s| s.seed.to_string())
                        on:change=move |ev| {
                            match event_target_value(&ev).trim().parse::<u64>() {
                                Ok(v) => state.update(|s| { s.seed = v; s.points = None; }),
                                Err(_) => notices.update(|n| n.push(Notice("The seed must be a whole number ≥ 0.".into()))),
                            }
                        } />
                </label>
                <label class="beta">
                    "β "
                    <input type="range" min="0" max="1000" step="1" data-testid="beta-slider"
                        prop:value=move || state.with(|s| beta_to_slider(s.beta).round().to_string())
                        on:input=move |ev| {
                            if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                                state.update(|s| s.beta = slider_to_beta(v));
                            }
                        } />
                    <span data-testid="beta-value" class="value">{beta_text}</span>
                </label>
                <label>
                    "energy "
                    <select data-testid="form" on:change=move |ev| {
                        if let Some(f) = EnergyForm::parse(&event_target_value(&ev)) {
                            state.update(|s| s.form = f);
                        }
                    }>
                        <option value="dot" selected=move || state.with(|s| s.form == EnergyForm::Dot)>"dot product + ½‖x‖²"</option>
                        <option value="distance" selected=move || state.with(|s| s.form == EnergyForm::Distance)>"distance −β⁻¹ log Σ exp(−β‖x−y‖²/2)"</option>
                    </select>
                </label>
                <span class="view-buttons">
                    <button on:click=move |_| state.update(|s| s.view[2] = (s.view[2] / 1.5).max(1e-3))>"zoom in"</button>
                    <button on:click=move |_| state.update(|s| s.view[2] = (s.view[2] * 1.5).min(1e3))>"zoom out"</button>
                    <button on:click=move |_| state.update(|s| s.view = DenseAmState::default().view)>"reset view"</button>
                    <button data-testid="reset-memories" on:click=move |_| { state.update(|s| s.points = None); trajectory.set(None); }>"reset memories"</button>
                </span>
            </div>
            <div class="canvases">
                <figure>
                    <canvas node_ref=energy_ref width=CANVAS height=CANVAS data-testid="energy-canvas" class="plane"
                        on:pointerdown=on_energy_down on:pointermove=on_energy_move on:pointerup=on_energy_up
                        on:contextmenu=|ev| ev.prevent_default()></canvas>
                    <figcaption>
                        "Energy landscape (dark = low energy, contour lines every band). Click to add a memory, drag to move, shift-click or right-click to remove. "
                        <span data-testid="frame-info" class="muted">{move || frame_info.get()}</span>
                    </figcaption>
                </figure>
                <figure>
                    <canvas node_ref=basin_ref width=CANVAS height=CANVAS data-testid="basin-canvas" class="plane" on:click=on_basin_click></canvas>
                    <figcaption>
                        "Basins of attraction: every start on a grid is iterated to its fixed point and coloured by where it ends (memories: bright colours; spurious states: muted colours; grey: a saddle on a boundary; black: no convergence within 300 updates). Click to trace one retrieval."
                    </figcaption>
                </figure>
            </div>
            <p class="trajectory" data-testid="trajectory">{move || trajectory.get().map(|t| t.1).unwrap_or_else(|| "Click the basin map to trace a retrieval.".into())}</p>
            <div class="summary" data-testid="attractor-summary"
                data-state=move || match summary() { Some((_, _, _, true)) => "done", _ => "running" }
                data-stored=move || summary().map(|s| s.0.to_string()).unwrap_or_default()
                data-spurious=move || summary().map(|s| s.1.to_string()).unwrap_or_default()
                data-retrieval-fraction=move || summary().map(|s| format!("{:.4}", s.2)).unwrap_or_default()>
                {move || match summary() {
                    Some((stored, spurious, frac, fresh)) => format!(
                        "{stored} stored memories reached, {spurious} spurious attractors; {:.1}% of starts retrieve a stored memory.{}",
                        100.0 * frac,
                        if fresh { "" } else { " (updating…)" }
                    ),
                    None => format!("Computing the basin map… {:.0}%", 100.0 * basin_progress.get()),
                }}
            </div>
            <details class="attractors" open>
                <summary>"Attractors (largest basins first)"</summary>
                <ol data-testid="attractor-list">
                    {move || {
                        let Some(b) = basin.get() else { return Vec::new() };
                        let total = b.map.assignment.len().max(1) as f64;
                        let mut list: Vec<_> = b.map.attractors.clone();
                        list.sort_by(|a, c| c.count.cmp(&a.count));
                        list.into_iter()
                            .take(60)
                            .map(|a| {
                                let label = match a.kind {
                                    AttractorKind::Memory(j) => format!("stored memory #{j}"),
                                    AttractorKind::Spurious => "spurious state".to_string(),
                                    AttractorKind::Saddle => "saddle (unstable fixed point on a basin boundary)".to_string(),
                                };
                                let class = match a.kind {
                                    AttractorKind::Spurious => "spurious",
                                    AttractorKind::Saddle => "saddle",
                                    AttractorKind::Memory(_) => "stored",
                                };
                                view! {
                                    <li class=class>
                                        {format!("{label} at ({:.3}, {:.3}) · E = {:.4} · basin {:.1}% ({} starts)", a.position[0], a.position[1], a.energy, 100.0 * a.count as f64 / total, a.count)}
                                    </li>
                                }
                            })
                            .collect::<Vec<_>>()
                    }}
                </ol>
            </details>
            <h3>"How many attractors are spurious? (paper Fig. 1A, in numbers)"</h3>
            <p class="explain">
                "Each point below is a full basin map on a coarse grid: the number of distinct spurious attractors and the share of starts that retrieve a stored memory. "
                "Against β for the memories above; against K for the chosen preset at the current β."
            </p>
            <div class="controls">
                <button data-testid="sweep-beta" on:click=move |_| run_sweep(false)>"Sweep β (0.3 … 300)"</button>
                <button data-testid="sweep-k" on:click=move |_| run_sweep(true)>"Sweep K (1 … 64)"</button>
                {move || sweep_progress.get().map(|(label, done, eta)| view! {
                    <span class="progress" data-testid="sweep-progress">
                        {label} " " <progress max="1" value=done></progress> {format!(" {:.0}% · about {:.0} s left ", 100.0 * done, eta)}
                        <button on:click=move |_| { sweep_gen.update_value(|g| *g += 1); sweep_progress.set(None); }>"cancel"</button>
                    </span>
                })}
            </div>
            <div class="canvases">
                <canvas node_ref=beta_plot_ref width="512" height="300" data-testid="sweep-beta-plot"></canvas>
                <canvas node_ref=k_plot_ref width="512" height="300" data-testid="sweep-k-plot"></canvas>
            </div>
        </section>
    }
}

/// Records the time of the first heatmap on `<body data-first-frame-ms>`.
fn mark_first_frame() {
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    if body.get_attribute("data-first-frame-ms").is_none() {
        let _ = body.set_attribute("data-first-frame-ms", &format!("{:.0}", compute::now_ms()));
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
