//! The panel's four figures: (a) the trained network, (b) the ideal score of the same K points,
//! (c) the exact K → ∞ energy, and the loss curve with the Ward centroids' counts; and the
//! drawing of a view (energy heatmap, score arrows, points, samples, centroids), which the
//! pretrained regimes share.

use leptos::html::Canvas;
use leptos::prelude::*;
use memgen_core::matrix::Matrix;
use memgen_models::toy::centroids::CentroidKind;
use memgen_models::toy::energy::{circle_energy_grid, grid_points, ideal_energy};
use plotters::style::RGBColor;
use wasm_bindgen::JsCast;

use super::{Centroid, Panel, CANVAS, HI, LO};
use crate::plot::{line_plot, Series};
use crate::render;

/// The plotted square as the canvas sees it: centre and half side.
const VIEW: [f64; 3] = [0.0, 0.0, 1.5];
/// Samples the test hook `data-samples-head` lists (the browser test compares them with
/// `memgen toy`'s for the same seed).
const SAMPLES_HOOK: usize = 500;

/// Energies on an `n × n` grid (from [`grid_points`], y increasing with the row) → RGBA
/// with row 0 at the top.
fn energy_rgba(e: &[f32], n: usize) -> Vec<u8> {
    let mut flipped = Vec::with_capacity(e.len());
    for row in (0..n).rev() {
        flipped.extend_from_slice(&e[row * n..(row + 1) * n]);
    }
    render::colour_energies(&flipped, n, n, 14)
}

/// The canvas behind `r`, once it is mounted.
pub(super) fn canvas_of(r: NodeRef<Canvas>) -> Option<web_sys::HtmlCanvasElement> {
    r.get_untracked().map(|c| c.unchecked_into())
}

/// Draws a heatmap (or a plain background), arrows, points, samples and centroids.
pub(super) fn draw_view(
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
pub(super) fn arrows_from(grid: &[[f32; 2]], score: &[f32], t: f64, size: f64) -> Vec<([f32; 2], [f32; 2])> {
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

/// Ideal and exact views: instant, redrawn on every change of K, seed or t.
fn draw_reference_views(p: Panel, ideal_ref: NodeRef<Canvas>, exact_ref: NodeRef<Canvas>) {
    Effect::new(move |_| {
        let s = p.settings.get();
        let pts = p.train.get();
        let ideal_s = p.ideal_samples.get();
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
}

/// The centroid drawn nearest to canvas pixel `(x, y)` of a `size`-pixel view, if within 10 px.
fn centroid_at(centroids: &[Centroid], size: f64, x: f64, y: f64) -> Option<usize> {
    centroids
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (cx, cy) = render::to_canvas(VIEW, size, [c.at[0] as f64, c.at[1] as f64]);
            (i, (cx - x).hypot(cy - y))
        })
        .filter(|(_, d)| *d <= 10.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The trained network's view: its energy (once computed), arrows, samples and centroids.
fn draw_learned_view(p: Panel, learned_ref: NodeRef<Canvas>) {
    Effect::new(move |_| {
        let pts = p.train.get();
        let smp = p.samples.get();
        let cents = p.centroids.get();
        let le = p.learned_energy.get();
        let arrows = p.learned_arrows.get();
        if let Some(c) = canvas_of(learned_ref) {
            draw_view(&c, le.as_ref().map(|(e, n, _)| (e.as_slice(), *n)), &arrows, &pts, &smp, &cents);
        }
    });
}

/// The loss curve.
fn draw_loss_curve(p: Panel, loss_ref: NodeRef<Canvas>) {
    Effect::new(move |_| {
        let l = p.losses.get();
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
}

/// A 2-D view in words (the canvas's text alternative): what it shows and its counts.
pub(super) fn scene_description(what: &str, train: usize, samples: usize, counts: Option<(usize, usize, usize)>) -> String {
    let mut out = format!("{what}: {train} training point{} on the unit circle", if train == 1 { "" } else { "s" });
    if samples > 0 {
        out.push_str(&format!(", {samples} samples"));
    }
    match counts {
        Some((m, s, g)) if m + s + g > 0 => out.push_str(&format!("; Ward centroids of the samples: {m} memorized, {s} spurious, {g} generalized.")),
        _ => out.push('.'),
    }
    out
}

/// The four figures: trained network, ideal score, exact K → ∞ energy, loss curve.
#[component]
pub fn Figures(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let learned_ref = NodeRef::<Canvas>::new();
    let ideal_ref = NodeRef::<Canvas>::new();
    let exact_ref = NodeRef::<Canvas>::new();
    let loss_ref = NodeRef::<Canvas>::new();
    draw_reference_views(p, ideal_ref, exact_ref);
    draw_learned_view(p, learned_ref);
    draw_loss_curve(p, loss_ref);
    view! {
        <div class="canvases">
            <figure>
                <canvas node_ref=learned_ref width=CANVAS height=CANVAS data-testid="toy-learned" class="toy" role="img"
                    title="Click a Ward centroid to probe its basin and curvature"
                    on:click=move |ev| {
                        // The canvas may be drawn smaller than its pixel size (narrow windows).
                        let Some(c) = canvas_of(learned_ref) else { return };
                        let size = c.width() as f64;
                        let scale = size / (c.client_width().max(1) as f64);
                        let (x, y) = (ev.offset_x() as f64 * scale, ev.offset_y() as f64 * scale);
                        if let Some(i) = centroid_at(&p.centroids.get_untracked(), size, x, y) {
                            p.probe_request.set(Some(i));
                        }
                    }
                    aria-label=move || scene_description("Trained network's view", p.train.with(Vec::len), p.samples.with(Vec::len), Some(p.centroid_counts()))></canvas>
                <figcaption>"(a) Trained network: score arrows t·s(x, t), samples (orange), training points (white), Ward centroids (blue memorized, magenta spurious, green generalized) with their energies once the learned energy is computed." " " <crate::export::ExportButtons name="toy-learned" canvas=learned_ref /></figcaption>
            </figure>
            <figure>
                <canvas node_ref=ideal_ref width=CANVAS height=CANVAS data-testid="toy-ideal" class="toy" role="img"
                    aria-label=move || scene_description(&format!("Ideal score's energy at t = {}, with its score arrows", p.settings.with(|s| s.t)), p.train.with(Vec::len), p.ideal_samples.with(Vec::len), None)></canvas>
                <figcaption>"(b) Ideal score of the same K points (a DenseAM with β = 1/t, no training): energy −2t log p_t(x), its score arrows and samples. It memorizes perfectly." " " <crate::export::ExportButtons name="toy-ideal" canvas=ideal_ref /></figcaption>
            </figure>
            <figure>
                <canvas node_ref=exact_ref width=CANVAS height=CANVAS data-testid="toy-exact" class="toy" role="img"
                    aria-label=move || format!("Exact K → ∞ energy at t = {}: rotationally symmetric, lowest on a ring near the unit circle, with no separate wells.", p.settings.with(|s| s.t))></canvas>
                <figcaption>"(c) Exact K → ∞ energy E(R) = R² + 1 − β⁻¹ log I₀(2βR), β = 1/(2t): a continuous ring, the generalizing limit." " " <crate::export::ExportButtons name="toy-exact" canvas=exact_ref /></figcaption>
            </figure>
            <figure>
                <canvas node_ref=loss_ref width="340" height="240" data-testid="toy-loss" role="img" aria-label=move || p.losses.with(|l| crate::plot::loss_description(l))></canvas>
                <CentroidsCaption p=p />
                <crate::export::ExportButtons name="toy-loss" canvas=loss_ref csv=Callback::new(move |()| {
                    p.losses.with(|l| (!l.is_empty()).then(|| crate::export::csv(&["step", "loss"], l.iter().enumerate().map(|(i, v)| vec![(i + 1).to_string(), v.to_string()]))))
                }) />
            </figure>
        </div>
    }
}

/// The loss figure's caption: the Ward centroids' counts and how close the samples lie to the
/// training points, with their test hooks.
#[component]
fn CentroidsCaption(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    view! {
        <figcaption data-testid="toy-centroids"
            data-memorized=move || p.centroid_counts().0.to_string()
            data-spurious=move || p.centroid_counts().1.to_string()
            data-generalized=move || p.centroid_counts().2.to_string()
            data-near-fraction=move || p.near_fraction.get().map(|f| format!("{:.4}", f.0)).unwrap_or_default()
            data-near-wide=move || p.near_fraction.get().map(|f| format!("{:.4}", f.1)).unwrap_or_default()
            data-samples-head=move || p.samples.with(|x| x.iter().take(SAMPLES_HOOK).flatten().map(|v| v.to_string()).collect::<Vec<_>>().join(","))>
            {move || {
                let (m, s, g) = p.centroid_counts();
                let near = p
                    .near_fraction
                    .get()
                    .map(|f| format!(" {:.1}% of samples lie within 0.1 of a training point, {:.1}% within 0.25.", 100.0 * f.0, 100.0 * f.1))
                    .unwrap_or_default();
                if m + s + g == 0 { "Sample to cluster.".to_string() } else { format!("Ward centroids: {m} memorized, {s} spurious, {g} generalized.{near}") }
            }}
        </figcaption>
    }
}
