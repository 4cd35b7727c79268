//! The K × training-steps phase diagram (`memgen sweep --timeline`): one cell per point and
//! time of its training, coloured by its dominant label, with its precision written in it
//! and every figure on hover. Shown when the bundle's points carry a timeline.

use leptos::html::Canvas;
use leptos::prelude::*;
use memgen_core::metrics::Label;
use memgen_models::bundle::TimePoint;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;

use super::{Panel, COLOURS};

const W: i32 = 640;
const H: i32 = 300;
const LEFT: i32 = 96;
const TOP: i32 = 28;
const BOTTOM: i32 = 40;

/// The diagram's points: per K (ascending), its timeline.
fn grid(p: &Panel) -> Vec<(usize, Vec<TimePoint>)> {
    p.loaded.with(|l| {
        l.as_ref().map(|l| l.manifest.results.iter().filter(|r| !r.timeline.is_empty()).map(|r| (r.k, r.timeline.clone())).collect()).unwrap_or_default()
    })
}

fn colour(label: Label) -> RGBColor {
    match label {
        Label::Memorized => COLOURS[0],
        Label::Spurious => COLOURS[1],
        Label::Generalized => COLOURS[2],
    }
}

/// Rows: the most time points any K has; row 0 (bottom) is each K's first.
fn rows(g: &[(usize, Vec<TimePoint>)]) -> usize {
    g.iter().map(|(_, t)| t.len()).max().unwrap_or(0)
}

/// The cell under canvas pixel `(x, y)`: (column, row).
fn cell_at(g: &[(usize, Vec<TimePoint>)], x: f64, y: f64) -> Option<(usize, usize)> {
    let (nc, nr) = (g.len() as f64, rows(g) as f64);
    let (cw, ch) = ((W - LEFT - 10) as f64 / nc, (H - TOP - BOTTOM) as f64 / nr);
    let c = ((x - LEFT as f64) / cw).floor();
    let r = nr - 1.0 - ((y - TOP as f64) / ch).floor();
    (c >= 0.0 && c < nc && r >= 0.0 && r < nr).then_some((c as usize, r as usize))
}

fn draw(canvas: &web_sys::HtmlCanvasElement, g: &[(usize, Vec<TimePoint>)]) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else { return };
    let root = backend.into_drawing_area();
    let _ = root.fill(&WHITE);
    let (nc, nr) = (g.len() as i32, rows(g) as i32);
    if nc == 0 || nr == 0 {
        return;
    }
    let (cw, ch) = ((W - LEFT - 10) / nc, (H - TOP - BOTTOM) / nr);
    let font = ("sans-serif", 12).into_font();
    let _ = root.draw(&Text::new("dominant label at each K and training time (precision in the cell)", (LEFT, 8), font.clone()));
    for (c, (k, tl)) in g.iter().enumerate() {
        let x0 = LEFT + c as i32 * cw;
        for (r, t) in tl.iter().enumerate() {
            let y0 = TOP + (nr - 1 - r as i32) * ch;
            let col = colour(t.dominant());
            // Lighter when the label is a narrow majority.
            let share = [t.fractions.memorized, t.fractions.spurious, t.fractions.generalized].into_iter().fold(0.0, f64::max);
            let _ = root.draw(&Rectangle::new([(x0 + 1, y0 + 1), (x0 + cw - 1, y0 + ch - 1)], col.mix(0.35 + 0.65 * share).filled()));
            if let Some(q) = &t.quality {
                let _ = root.draw(&Text::new(format!("{:.2}", q.precision), (x0 + cw / 2 - 12, y0 + ch / 2 - 6), font.clone().color(&WHITE)));
            }
        }
        let _ = root.draw(&Text::new(k.to_string(), (x0 + cw / 2 - 10, H - BOTTOM + 6), font.clone()));
    }
    // Row labels from the first K with that many time points: its fraction of the steps.
    if let Some((_, tl)) = g.iter().find(|(_, t)| t.len() == nr as usize) {
        let last = tl.last().map(|t| t.steps).unwrap_or(1).max(1);
        for (r, t) in tl.iter().enumerate() {
            let y0 = TOP + (nr - 1 - r as i32) * ch;
            let frac = t.steps as f64 / last as f64;
            let label = if (frac - 1.0).abs() < 1e-9 { "all steps".to_string() } else { format!("1/{:.0} of steps", 1.0 / frac) };
            let _ = root.draw(&Text::new(label, (4, y0 + ch / 2 - 6), font.clone()));
        }
    }
    let _ = root.draw(&Text::new("training-set size K", (LEFT + (W - LEFT) / 2 - 50, H - 18), font));
    let _ = root.present();
}

/// The phase diagram in words: per K, the dominant label at each training time.
fn description(g: &[(usize, Vec<TimePoint>)]) -> String {
    let per_k =
        g.iter().map(|(k, tl)| format!("K = {k}: {}", tl.iter().map(|t| t.dominant().as_str()).collect::<Vec<_>>().join(" → "))).collect::<Vec<_>>().join("; ");
    format!("K × training-steps phase diagram, each cell coloured by its dominant label, from early to all steps. {per_k}. Focus it and use the arrow keys for a cell's figures.")
}

/// The diagram's cells as a table (CSV).
fn table(g: &[(usize, Vec<TimePoint>)]) -> String {
    crate::export::csv(
        &["k", "steps", "images_seen", "n_eval", "memorized", "spurious", "generalized", "dominant", "precision"],
        g.iter().flat_map(|(k, tl)| {
            tl.iter().map(move |t| {
                vec![
                    k.to_string(),
                    t.steps.to_string(),
                    t.images_seen.to_string(),
                    t.n_eval.to_string(),
                    t.fractions.memorized.to_string(),
                    t.fractions.spurious.to_string(),
                    t.fractions.generalized.to_string(),
                    t.dominant().as_str().to_string(),
                    t.quality.as_ref().map(|q| q.precision.to_string()).unwrap_or_default(),
                ]
            })
        }),
    )
}

/// The phase diagram, with a line of figures for the cell under the pointer.
#[component]
pub(crate) fn PhaseDiagram(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let g = Memo::new(move |_| grid(&p));
    let hover = RwSignal::new(None::<(usize, usize)>);
    Effect::new(move |_| {
        let g = g.get();
        if let Some(c) = canvas.get() {
            draw(&c, &g);
        }
    });
    let cells = move || {
        g.get()
            .iter()
            .flat_map(|(k, tl)| {
                tl.iter().map(move |t| {
                    format!("{k}:{}:{}:{}", t.steps, t.dominant().as_str(), t.quality.as_ref().map(|q| format!("{:.3}", q.precision)).unwrap_or_default())
                })
            })
            .collect::<Vec<_>>()
            .join(";")
    };
    let detail = move || {
        let (c, r) = hover.get()?;
        let g = g.get();
        let (k, tl) = g.get(c)?;
        let t = tl.get(r)?;
        let f = &t.fractions;
        let q = t
            .quality
            .as_ref()
            .map(|q| format!(", precision {:.2}, recall {}", q.precision, q.recall.map(|v| format!("{v:.2}")).unwrap_or("–".into())))
            .unwrap_or_default();
        Some(format!(
            "K = {k} after {} steps ({} training images): {:.0}% memorized, {:.0}% spurious, {:.0}% generalized of {} samples (|S′| = {}){q}.",
            t.steps,
            t.images_seen,
            100.0 * f.memorized,
            100.0 * f.spurious,
            100.0 * f.generalized,
            t.n_eval,
            t.n_synthetic
        ))
    };
    view! {
        <div style=move || if g.get().is_empty() { "display:none" } else { "" }>
            <canvas node_ref=canvas width=W.to_string() height=H.to_string() data-testid="sweep-phase-diagram"
                role="img" aria-label=move || description(&g.get()) tabindex="0"
                aria-describedby="sweep-phase-detail"
                on:focus=move |_| if hover.get_untracked().is_none() { hover.set(Some((0, 0))) }
                on:keydown=move |ev| {
                    // The arrow keys move between cells (columns: K; rows: training time).
                    let (c, r) = hover.get_untracked().unwrap_or((0, 0));
                    let g = g.get_untracked();
                    let cols = g.len();
                    let rows = g.get(c).map(|(_, t)| t.len()).unwrap_or(0);
                    let next = match ev.key().as_str() {
                        "ArrowLeft" => Some((c.saturating_sub(1), r)),
                        "ArrowRight" => Some(((c + 1).min(cols.saturating_sub(1)), r)),
                        "ArrowDown" => Some((c, r.saturating_sub(1))),
                        "ArrowUp" => Some((c, (r + 1).min(rows.saturating_sub(1)))),
                        _ => None,
                    };
                    if let Some((c, r)) = next {
                        ev.prevent_default();
                        let rows = g.get(c).map(|(_, t)| t.len()).unwrap_or(0);
                        hover.set(Some((c, r.min(rows.saturating_sub(1)))));
                    }
                }
                on:mousemove=move |ev| {
                    // The canvas may be drawn smaller than its pixel size (narrow windows).
                    let scale = canvas.get_untracked().map(|c| c.width() as f64 / (c.client_width().max(1) as f64)).unwrap_or(1.0);
                    hover.set(cell_at(&g.get_untracked(), ev.offset_x() as f64 * scale, ev.offset_y() as f64 * scale))
                }
                on:mouseleave=move |_| hover.set(None)
                on:blur=move |_| hover.set(None)></canvas>
            <span data-testid="sweep-phase-cells" data-cells=cells></span>
            <crate::export::ExportButtons name="phase-diagram" canvas=canvas csv=Callback::new(move |()| {
                let g = g.get_untracked();
                (!g.is_empty()).then(|| table(&g))
            }) />
            <p class="muted" id="sweep-phase-detail" data-testid="sweep-phase-detail" aria-live="polite">
                {move || detail().unwrap_or_else(|| "Point at a cell for its figures. Each K trains its own model; a column shows it at fractions of its training, from the same starting noise.".into())}
            </p>
        </div>
    }
}
