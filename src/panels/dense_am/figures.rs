//! The energy and basin canvases: a new energy frame and then a basin map on every state
//! change (stale work dropped), memories added, dragged and removed on the energy canvas, and
//! a retrieval traced from a click on the basin map.

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::dense_am::{AttractorKind, BasinMap, BasinParams, DenseAm};

use super::{basin_size, interactive_size, BasinView, Panel, Trace, CANVAS};
use crate::compute::{self, Path};
use crate::render;
use crate::state::{DenseAmState, MAX_K};

/// The spurious attractors of `map`, as points.
fn spurious_points(map: &BasinMap) -> Vec<[f64; 2]> {
    map.attractors.iter().filter(|a| a.kind == AttractorKind::Spurious).map(|a| [a.position[0], a.position[1]]).collect()
}

/// Records the time of the first heatmap on `<body data-first-frame-ms>`.
fn mark_first_frame() {
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    if body.get_attribute("data-first-frame-ms").is_none() {
        let _ = body.set_attribute("data-first-frame-ms", &format!("{:.0}", crate::browser::now_ms()));
    }
}

impl Panel {
    /// Redraws the overlays on the energy canvas over the cached frame (cheap).
    fn redraw_energy(self) {
        let Some(canvas) = self.energy_ref.get_untracked() else { return };
        let s = self.state.get_untracked();
        if let Some((rgba, size)) = self.last_frame.get_value() {
            render::put_pixels(&canvas, &rgba, size, size);
        }
        let spurious: Vec<[f64; 2]> = self.basin.get_untracked().filter(|b| b.state == s).map(|b| spurious_points(&b.map)).unwrap_or_default();
        let traj = self.trajectory.get_untracked();
        render::draw_overlay(&canvas, s.view, &s.memories(), &spurious, traj.as_ref().map(|t| t.path.as_slice()));
    }

    /// Draws the basin map, coloured by attractor, with its overlays.
    fn draw_basin(self) {
        let Some(canvas) = self.basin_ref.get_untracked() else { return };
        let Some(b) = self.basin.get_untracked() else { return };
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
        let spurious = spurious_points(&b.map);
        let traj = self.trajectory.get_untracked();
        render::draw_overlay(&canvas, b.state.view, &b.state.memories(), &spurious, traj.as_ref().map(|t| t.path.as_slice()));
    }

    /// The energy frame of state `s`, then its basin map; both dropped once `frame_gen` moves on
    /// from `gen`.
    async fn frame(self, s: DenseAmState, gen: crate::job::Ticket) {
        let is_stale = move || self.frame_gen.is_stale(gen);
        let mems = s.memories();
        let size = interactive_size(mems.len(), self.gpu);
        let t0 = crate::browser::now_ms();
        let frame = compute::energy_frame(&mems, s.beta, s.form, s.view, size, Path::Auto, false, &is_stale).await;
        if is_stale() {
            return;
        }
        match frame {
            Ok(f) => {
                let ms = crate::browser::now_ms() - t0;
                self.last_frame.set_value(Some((f.rgba, f.size)));
                self.redraw_energy();
                mark_first_frame();
                self.frame_info.set(format!("{}×{} grid, K = {}, {:.0} ms on the {}", f.size, f.size, mems.len(), ms, if f.on_gpu { "GPU" } else { "CPU" }));
            }
            Err(e) => self.frame_info.set(format!("Could not draw the energy: {e}")),
        }
        // Let the picture appear before the heavier basin map.
        crate::browser::yield_now().await;
        if is_stale() {
            return;
        }
        let bsize = basin_size(mems.len(), self.gpu);
        self.basin_progress.set(0.0);
        let progress = move |d: usize, t: usize| self.basin_progress.set(d as f64 / t.max(1) as f64);
        match compute::basin(&mems, s.beta, s.form, s.view, bsize, false, &progress, &is_stale).await {
            Ok(map) if !is_stale() => {
                self.basin.set(Some(BasinView { map, size: bsize, state: s }));
                self.draw_basin();
                self.redraw_energy();
            }
            Ok(_) => {}
            Err(e) if e != "cancelled" => self.frame_info.set(format!("Basin map failed: {e}")),
            Err(_) => {}
        }
    }

    /// Edits the memories as points (at most [`MAX_K`]); the traced retrieval is dropped.
    fn edit_points(self, f: impl FnOnce(&mut Vec<[f64; 2]>)) {
        self.state.update(|s| {
            let mut pts = s.memories();
            f(&mut pts);
            pts.truncate(MAX_K);
            s.points = Some(pts);
        });
        self.trajectory.set(None);
    }

    /// A pointer at client `(x, y)` on `canvas`: canvas pixels and the plane's point.
    fn canvas_point(self, canvas: &web_sys::HtmlCanvasElement, x: f64, y: f64) -> (f64, f64, [f64; 2]) {
        let rect = canvas.get_bounding_client_rect();
        let size = canvas.width() as f64;
        let px = (x - rect.left()) / rect.width().max(1.0) * size;
        let py = (y - rect.top()) / rect.height().max(1.0) * size;
        (px, py, render::from_canvas(self.state.get_untracked().view, size, px, py))
    }

    /// The memory drawn within 10 canvas pixels of `(px, py)`, the nearest if several.
    fn nearest_within(self, px: f64, py: f64, size: f64) -> Option<usize> {
        let s = self.state.get_untracked();
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
    }

    /// On a memory: shift-click or right-click removes it, else it is dragged. Elsewhere a
    /// click adds one.
    fn energy_down(self, ev: web_sys::PointerEvent) {
        let Some(canvas) = self.energy_ref.get_untracked() else { return };
        let (px, py, at) = self.canvas_point(&canvas, ev.client_x() as f64, ev.client_y() as f64);
        let hit = self.nearest_within(px, py, canvas.width() as f64);
        let _ = canvas.set_pointer_capture(ev.pointer_id());
        match hit {
            Some(j) if ev.shift_key() || ev.button() == 2 => self.edit_points(|pts| {
                pts.remove(j);
            }),
            Some(j) => self.dragging.set_value(Some(j)),
            None if ev.button() == 0 => self.edit_points(|pts| pts.push(at)),
            None => {}
        }
    }

    /// Moves the memory being dragged.
    fn energy_move(self, ev: web_sys::PointerEvent) {
        let Some(j) = self.dragging.get_value() else { return };
        let Some(canvas) = self.energy_ref.get_untracked() else { return };
        let (_, _, at) = self.canvas_point(&canvas, ev.client_x() as f64, ev.client_y() as f64);
        self.edit_points(|pts| {
            if j < pts.len() {
                pts[j] = at;
            }
        });
    }

    /// Traces the retrieval from the clicked point of the basin map and says where it ends.
    fn trace(self, ev: web_sys::MouseEvent) {
        let Some(canvas) = self.basin_ref.get_untracked() else { return };
        let (_, _, p) = self.canvas_point(&canvas, ev.client_x() as f64, ev.client_y() as f64);
        self.trace_from(p);
    }

    /// The energy map from the keyboard: N / P choose a memory, the arrows move it (Shift: five
    /// times as far), A adds one at the view's centre, Delete removes the chosen one.
    fn energy_key(self, ev: web_sys::KeyboardEvent) {
        let s = self.state.get_untracked();
        let mems = s.memories();
        let step = s.view[2] * if ev.shift_key() { 0.1 } else { 0.02 };
        let chosen = self.keys.get_untracked().memory.filter(|j| *j < mems.len());
        let key = ev.key();
        let handled = match key.as_str() {
            "n" | "N" | "p" | "P" if !mems.is_empty() => {
                let n = mems.len();
                let j = match (chosen, key.eq_ignore_ascii_case("n")) {
                    (None, _) => 0,
                    (Some(j), true) => (j + 1) % n,
                    (Some(j), false) => (j + n - 1) % n,
                };
                self.keys.update(|k| k.memory = Some(j));
                true
            }
            "a" | "A" | "+" => {
                let n = mems.len();
                if n < MAX_K {
                    self.edit_points(|pts| pts.push([s.view[0], s.view[1]]));
                    self.keys.update(|k| k.memory = Some(n));
                }
                true
            }
            "Delete" | "Backspace" | "-" => {
                if let Some(j) = chosen {
                    self.edit_points(|pts| {
                        pts.remove(j);
                    });
                    self.keys.update(|k| k.memory = None);
                }
                true
            }
            "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" => {
                let (dx, dy) = arrow(&key);
                if let Some(j) = chosen {
                    self.edit_points(|pts| pts[j] = [pts[j][0] + dx * step, pts[j][1] + dy * step]);
                }
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    }

    /// The basin map from the keyboard: the arrows move the start point (Shift: five times as
    /// far), Enter or Space traces the retrieval from it.
    fn basin_key(self, ev: web_sys::KeyboardEvent) {
        let s = self.state.get_untracked();
        let step = s.view[2] * if ev.shift_key() { 0.1 } else { 0.02 };
        let key = ev.key();
        let start = self.keys.get_untracked().start.unwrap_or([s.view[0], s.view[1]]);
        match key.as_str() {
            "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" => {
                let (dx, dy) = arrow(&key);
                self.keys.update(|k| k.start = Some([start[0] + dx * step, start[1] + dy * step]));
            }
            "Enter" | " " => {
                self.keys.update(|k| k.start = Some(start));
                self.trace_from(start);
            }
            _ => return,
        }
        ev.prevent_default();
    }

    /// Traces the retrieval from `p` and says where it ends.
    fn trace_from(self, p: [f64; 2]) {
        let s = self.state.get_untracked();
        let mems = s.memories();
        let flat = compute::flat(&mems);
        let am = DenseAm::new(&flat, 2, s.beta, s.form);
        let (r, path) = am.trajectory(&p, 1e-9, 2000);
        let gaps = am.neighbour_gaps();
        let frac = BasinParams::default().memory_frac;
        let kind = match am.nearest_memory(&r.state) {
            Some((j, d)) if d <= frac * gaps[j] => format!("stored memory #{j}"),
            _ if r.converged => format!("a spurious state at ({:.3}, {:.3})", r.state[0], r.state[1]),
            _ => "no fixed point within 2000 updates".to_string(),
        };
        let text = format!("From ({:.3}, {:.3}): {} updates → {}; final energy E = {:.5}.", p[0], p[1], r.steps, kind, r.energy);
        self.trajectory.set(Some(Trace { path: path.iter().map(|v| [v[0], v[1]]).collect(), text }));
        self.redraw_energy();
        self.draw_basin();
    }
}

/// What the keyboard holds on the two maps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Keys {
    /// The chosen memory on the energy map.
    memory: Option<usize>,
    /// The start point on the basin map.
    start: Option<[f64; 2]>,
}

/// An arrow key's direction in the plane (up is +y).
fn arrow(key: &str) -> (f64, f64) {
    match key {
        "ArrowLeft" => (-1.0, 0.0),
        "ArrowRight" => (1.0, 0.0),
        "ArrowUp" => (0.0, 1.0),
        _ => (0.0, -1.0),
    }
}

/// The keyboard's memory in words (the energy map's live line).
fn energy_keys_line(p: &Panel) -> String {
    let mems = p.state.with(|s| s.memories());
    match p.keys.with(|k| k.memory).filter(|j| *j < mems.len()) {
        Some(j) => format!("Memory {} of {} chosen, at ({:.3}, {:.3}).", j + 1, mems.len(), mems[j][0], mems[j][1]),
        None => format!("{} memories; press N to choose one.", mems.len()),
    }
}

/// Every state change: a new energy frame, then the basin map. Stale work is dropped.
pub(super) fn redraw_on_change(p: Panel) {
    Effect::new(move |_| {
        let s = p.state.get();
        let gen = p.frame_gen.begin();
        spawn_local(p.frame(s, gen));
    });
}

/// The energy map in words (its text alternative).
fn energy_description(p: &Panel) -> String {
    p.state.with(|s| {
        format!(
            "Energy map of {} memories ({}) at β = {}, over x and y from {} to {} and {} to {}; low energy is dark, each memory a dot.",
            s.memories().len(),
            s.preset.as_str(),
            crate::state::fmt_num(s.beta),
            crate::state::fmt_num(s.view[0] - s.view[2]),
            crate::state::fmt_num(s.view[0] + s.view[2]),
            crate::state::fmt_num(s.view[1] - s.view[2]),
            crate::state::fmt_num(s.view[1] + s.view[2])
        )
    })
}

/// The basin map in words.
fn basin_description(p: &Panel) -> String {
    match p.basin.get() {
        Some(b) => format!(
            "Basin map: {} stored memories and {} spurious attractors; {:.1}% of the starts retrieve a stored memory.",
            b.map.stored_count(),
            b.map.spurious_count(),
            100.0 * b.map.retrieval_fraction()
        ),
        None => "Basin map: being computed.".into(),
    }
}

/// The energy landscape, where memories are added, dragged and removed.
#[component]
pub(super) fn EnergyFigure(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let energy_ref = p.energy_ref;
    view! {
        <figure>
            <canvas node_ref=energy_ref width=CANVAS height=CANVAS data-testid="energy-canvas" class="plane"
                on:pointerdown=move |ev| p.energy_down(ev) on:pointermove=move |ev| p.energy_move(ev)
                on:pointerup=move |_| p.dragging.set_value(None)
                on:contextmenu=|ev| ev.prevent_default() role="img" aria-label=move || energy_description(&p)
                tabindex="0" aria-describedby="energy-keys" on:keydown=move |ev| p.energy_key(ev)></canvas>
            <figcaption>
                "Energy landscape (dark = low energy, contour lines every band). "
                "Click to add a memory, drag to move, shift-click or right-click to remove. "
                "From the keyboard: N / P choose a memory, the arrows move it (Shift: further), A adds one, Delete removes it. "
                <span id="energy-keys" data-testid="energy-keys" aria-live="polite" class="muted"
                    data-memory=move || p.keys.with(|k| k.memory.map(|j| j.to_string()).unwrap_or_default())>{move || energy_keys_line(&p)}</span>" "
                <span data-testid="frame-info" class="muted">{move || p.frame_info.get()}</span>" "
                <crate::export::ExportButtons name="energy" canvas=energy_ref />
            </figcaption>
        </figure>
    }
}

/// The basins of attraction; a click traces one retrieval.
#[component]
pub(super) fn BasinFigure(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let basin_ref = p.basin_ref;
    view! {
        <figure>
            <canvas node_ref=basin_ref width=CANVAS height=CANVAS data-testid="basin-canvas" class="plane" on:click=move |ev| p.trace(ev)
                role="img" aria-label=move || basin_description(&p) tabindex="0" aria-describedby="basin-keys" on:keydown=move |ev| p.basin_key(ev)></canvas>
            <figcaption>
                "Basins of attraction: every start on a grid is iterated to its fixed point and coloured by where it ends "
                "(memories: bright colours; spurious states: muted colours; grey: a saddle on a boundary; black: no convergence within 300 updates). "
                "Click to trace one retrieval; from the keyboard, the arrows move the start point and Enter traces from it. "
                <span id="basin-keys" data-testid="basin-keys" class="muted"
                    data-start=move || p.keys.with(|k| k.start.map(|s| format!("{:.4},{:.4}", s[0], s[1])).unwrap_or_default())>
                    {move || p.keys.with(|k| k.start).map(|s| format!("Start point ({:.3}, {:.3}). ", s[0], s[1])).unwrap_or_default()}
                </span>
                <crate::export::ExportButtons name="basins" canvas=basin_ref />
            </figcaption>
        </figure>
    }
}
