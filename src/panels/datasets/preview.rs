//! The S_K preview: the first images of the training subset drawn into a canvas with their
//! class names, redrawn whenever the set, K, the seed or the balance change; each S_K drawn is
//! published to the other panels (the in-tab sweep point trains on it).

use std::sync::Arc;

use leptos::prelude::*;
use memgen_data::PackedDataset;

use super::{Drawn, Loaded, Origin, Panel, SubsetK, SubsetSignal};

/// Images drawn in the preview grid (10 × 10).
const PREVIEW_MAX: usize = 100;
const PREVIEW_COLS: usize = 10;
/// Preview cell: image side and label strip, in canvas pixels.
const CELL: usize = 48;
const LABEL_H: usize = 14;

/// Draws the first images of `indices` into the preview canvas; returns how many were drawn.
fn draw_preview(canvas: &web_sys::HtmlCanvasElement, data: &PackedDataset, indices: &[usize]) -> usize {
    let shown = indices.len().min(PREVIEW_MAX);
    let cols = PREVIEW_COLS;
    let rows = shown.div_ceil(cols).max(1);
    let labelled = !data.class_names().is_empty();
    let cell_h = CELL + if labelled { LABEL_H } else { 0 };
    let (cw, ch) = (cols * CELL, rows * cell_h);
    canvas.set_width(cw as u32);
    canvas.set_height(ch as u32);
    let mut rgba = vec![255u8; cw * ch * 4];
    let (h, w, c) = (data.height(), data.width(), data.channels());
    for (slot, &i) in indices.iter().take(shown).enumerate() {
        let Some(img) = data.get_u8(i) else { continue };
        let (ox, oy) = ((slot % cols) * CELL, (slot / cols) * cell_h);
        // 2 px margin inside the cell, nearest-neighbour scaling.
        let inner = CELL - 4;
        for y in 0..inner {
            let sy = y * h / inner;
            for x in 0..inner {
                let sx = x * w / inner;
                let p = (sy * w + sx) * c;
                let rgb = if c >= 3 { [img[p], img[p + 1], img[p + 2]] } else { [img[p]; 3] };
                let q = ((oy + 2 + y) * cw + ox + 2 + x) * 4;
                rgba[q..q + 3].copy_from_slice(&rgb);
            }
        }
    }
    let Some(ctx) = crate::render::context(canvas) else { return 0 };
    let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), cw as u32, ch as u32) else {
        return 0;
    };
    let _ = ctx.put_image_data(&img, 0.0, 0.0);
    if labelled {
        ctx.set_font("10px system-ui, sans-serif");
        ctx.set_text_align("center");
        ctx.set_fill_style_str("#444");
        for (slot, &i) in indices.iter().take(shown).enumerate() {
            let name = data.class_name(i).unwrap_or("");
            let name: String = name.chars().take(9).collect();
            let x = (slot % cols) * CELL + CELL / 2;
            let y = (slot / cols) * cell_h + CELL + LABEL_H - 3;
            let _ = ctx.fill_text(&name, x as f64, y as f64);
        }
    }
    shown
}

/// Publishes S_K (the first `k` of `indices`' order, with its `pixels`) to the other panels
/// through the app's [`SubsetSignal`], when there is one.
fn publish(l: &Loaded, k: usize, seed: u64, balanced: bool, pixels: Vec<u8>, indices: Vec<usize>) {
    let Some(SubsetSignal(sig)) = use_context::<SubsetSignal>() else { return };
    let (origin, file, sha256) = match &l.origin {
        Origin::Registry { id, entry } => (memgen_data::SetOrigin::BuiltIn(*id), entry.file.clone(), entry.sha256.clone()),
        Origin::Upload { file, .. } => (memgen_data::SetOrigin::Upload { file: file.clone() }, file.clone(), String::new()),
    };
    let hwc = [l.data.height(), l.data.width(), l.data.channels()];
    sig.set(Some(SubsetK { origin, k, seed, hwc, pixels: Arc::new(pixels), indices: Arc::new(indices), file, sha256, data: l.data.clone(), balanced }));
}

/// Redraws the preview (and publishes S_K) whenever the set, K, the seed or the balance change.
pub(super) fn redraw_on_change(p: Panel) {
    Effect::new(move |_| {
        let Some(l) = p.loaded.get() else { return };
        let (k, seed, balanced) = (p.k.get(), p.seed.get(), p.balanced.get());
        p.drawn.set(None);
        let Some(canvas) = p.canvas.get() else { return };
        let n = l.data.len();
        let k = k.min(n);
        let idx = match (balanced, l.data.labels()) {
            (true, Some(labels)) => memgen_data::balanced_subset(labels, k, seed),
            (true, None) => {
                p.notify("This set has no class labels, so S_K cannot be class-balanced; showing the plain seeded subset.".into());
                memgen_data::subset(n, k, seed)
            }
            (false, _) => memgen_data::subset(n, k, seed),
        };
        match idx {
            Ok(idx) => {
                let shown = draw_preview(&canvas, &l.data, &idx);
                // The checksum of S_K's pixels, as `memgen export` writes them (for tests and links).
                let px = l.data.images_u8(&idx).ok();
                let sha = px.as_deref().map(memgen_data::sha256_hex).unwrap_or_default();
                // Publish S_K to the other panels (the in-tab sweep point trains on it).
                if let Some(pixels) = px {
                    publish(&l, k, seed, balanced, pixels, idx);
                }
                p.drawn.set(Some(Drawn { k, shown, sha }));
            }
            Err(e) => p.notify(format!("The training subset could not be drawn: {e}")),
        }
    });
}

/// The preview canvas (its `data-*` say what was drawn) and its caption.
#[component]
pub(super) fn PreviewFigure(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let canvas_ref = p.canvas;
    let caption = move || match (p.loaded.get(), p.drawn.get()) {
        (Some(l), Some(Drawn { k, shown, .. })) => format!(
            "S_K for K = {k}, seed {}: {} of all {} (subsets of one seed are nested). {}",
            p.seed.get(),
            if p.balanced.get() && l.data.labels().is_some() {
                format!("class-balanced, {k} images taken round robin over the classes in the seeded order")
            } else {
                format!("the first {k} images of the seeded permutation")
            },
            l.data.len(),
            if shown < k { format!("The first {shown} are shown.") } else { "All are shown.".into() }
        ),
        (Some(_), None) => "Drawing…".into(),
        _ => "Pick a dataset to preview its training subset.".into(),
    };
    view! {
        <figure class="dataset-figure">
            <canvas node_ref=canvas_ref width="480" height="62" class="dataset-preview" data-testid="dataset-preview"
                data-state=move || if p.drawn.with(|d| d.is_some()) { "done" } else if p.loaded.with(|l| l.is_some()) { "running" } else { "empty" }
                data-count=move || p.drawn.with(|d| d.as_ref().map(|d| d.k.to_string()).unwrap_or_default())
                data-drawn=move || p.drawn.with(|d| d.as_ref().map(|d| d.shown.to_string()).unwrap_or_default())
                data-sha=move || p.drawn.with(|d| d.as_ref().map(|d| d.sha.clone()).unwrap_or_default())
                role="img" aria-label=caption></canvas>
            <figcaption>{caption}" " <crate::export::ExportButtons name="training-subset" canvas=canvas_ref /></figcaption>
        </figure>
    }
}
