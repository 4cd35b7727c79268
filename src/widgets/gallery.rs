//! The nearest-neighbour gallery (paper Figs. 1B, 3), a widget any view can show: each
//! generated sample with its nearest training images (top row) and nearest other samples `S′`
//! (bottom row), filtered and sorted ([`GalleryRows`]), the detail of a clicked sample against
//! the thresholds ([`SampleDetail`]), one image ([`Thumb`]) and the table export
//! ([`gallery_csv`]). Everything comes in through props: a [`Gallery`] of the bundle format
//! and its labels under the current δ.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use memgen_core::metrics::Classified;
use memgen_models::bundle::{Gallery, IndexedImage};
use wasm_bindgen::JsCast;

use crate::browser::unbase64;

/// Gallery rows drawn at once.
const SHOWN: usize = 40;

/// Draws u8 `[h, w, c]` pixels on a canvas (scaled by CSS, pixelated).
fn draw_pixels(canvas: &web_sys::HtmlCanvasElement, px: &[u8], [h, w, c]: [usize; 3]) {
    if px.len() != h * w * c {
        return;
    }
    let mut rgba = vec![255u8; h * w * 4];
    for (i, o) in rgba.chunks_exact_mut(4).enumerate() {
        if c == 1 {
            o[..3].fill(px[i]);
        } else {
            o[..3].copy_from_slice(&px[i * 3..i * 3 + 3]);
        }
    }
    canvas.set_width(w as u32);
    canvas.set_height(h as u32);
    let Ok(Some(ctx)) = canvas.get_context("2d") else { return };
    let Ok(ctx) = ctx.dyn_into::<web_sys::CanvasRenderingContext2d>() else { return };
    if let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), w as u32, h as u32) {
        let _ = ctx.put_image_data(&img, 0.0, 0.0);
    }
}

/// One small image with a caption.
#[component]
pub fn Thumb(
    /// base64 u8 pixels.
    image: String,
    /// `[h, w, c]`.
    shape: [usize; 3],
    /// Shown under the image.
    caption: String,
    /// What a screen reader says of the image (the caption, when not given).
    #[prop(optional)]
    alt: Option<String>,
) -> impl IntoView {
    let alt = alt.unwrap_or_else(|| caption.clone());
    let r = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let (Some(c), Some(px)) = (r.get(), unbase64(&image)) {
            draw_pixels(&c, &px, shape);
        }
    });
    view! {
        <figure class="thumb">
            <canvas node_ref=r class="pixelated" role="img" aria-label=alt></canvas>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

/// The gallery as a table: each sample's index in S_eval, its label under the current δ (and
/// the bundle's), its two ratios and its nearest distances.
pub fn gallery_csv(g: &Gallery, cls: &[Classified]) -> String {
    let d = |v: &[f64], i: usize| v.get(i).map(|x| x.to_string()).unwrap_or_default();
    crate::export::csv(
        &["k", "index", "label", "bundle_label", "memorization_ratio", "spurious_ratio", "d_train_1", "d_train_2", "d_synthetic_1", "train_neighbour_1"],
        g.samples.iter().zip(cls).map(|(s, c)| {
            vec![
                g.k.to_string(),
                s.index.to_string(),
                c.label.as_str().to_string(),
                s.label.as_str().to_string(),
                s.memorization_ratio.to_string(),
                s.spurious_ratio.to_string(),
                d(&s.train_distances, 0),
                d(&s.train_distances, 1),
                d(&s.synthetic_distances, 0),
                s.train_neighbours.first().map(|j| j.to_string()).unwrap_or_default(),
            ]
        }),
    )
}

/// The rows of the gallery: each sample, its training neighbours and its `S′` neighbours.
#[component]
pub fn GalleryRows(
    /// The gallery shown (none while loading).
    gallery: RwSignal<Option<Arc<Gallery>>>,
    /// Its samples' labels under the current δ.
    classified: Memo<Vec<Classified>>,
    /// `all`, `memorized`, `spurious` or `generalized`.
    filter: RwSignal<String>,
    /// Sort by `d(x̂,x₁)/d(x̂,x₂)`.
    sort_by_ratio: RwSignal<bool>,
    /// The clicked sample.
    picked: RwSignal<Option<usize>>,
    /// `δ_m` and `δ_s`, for the clicked sample's detail (shown under its row).
    delta_m: RwSignal<f64>,
    delta_s: RwSignal<f64>,
) -> impl IntoView {
    // The first SHOWN rows, or all of them on request.
    let show_all = RwSignal::new(false);
    move || {
        let g = gallery.get()?;
        let cls = classified.get();
        let want = filter.get();
        let mut order: Vec<usize> = (0..g.samples.len().min(cls.len())).filter(|&i| want == "all" || cls[i].label.as_str() == want).collect();
        if sort_by_ratio.get() {
            order.sort_by(|a, b| cls[*a].memorization_ratio.total_cmp(&cls[*b].memorization_ratio));
        }
        let total = order.len();
        if !show_all.get() {
            order.truncate(SHOWN);
        }
        let shown = order.len();
        let shape = g.shape;
        let find = |list: &[IndexedImage], j: usize| list.iter().find(|t| t.index == j).map(|t| t.image.clone()).unwrap_or_default();
        let (g2, cls2) = (g.clone(), cls.clone());
        let table = move |_: ()| Some(gallery_csv(&g2, &cls2));
        Some(view! {
            <p class="muted">
                <crate::export::ExportButtons name="gallery" csv=table />" "
                {format!("Showing {shown} of {total} samples. Each card: the sample, its 4 nearest training images (S, top row) and its 4 nearest other samples (S′, bottom row), as in the paper's Figs. 1B and 3; the label is written under each sample and drawn as the card's edge (solid memorized, dashed spurious, dotted generalized); L2 distances on pixels/255. Click a sample (or press Enter on it) for its ratios, shown under it. ")}
                {(total > SHOWN).then(|| view! {
                    <button data-testid="sweep-gallery-all" on:click=move |_| show_all.update(|v| *v = !*v)>
                        {move || if show_all.get() { format!("Show the first {SHOWN}") } else { format!("Show all {total}") }}
                    </button>
                })}
            </p>
            <div class="label-strip" data-testid="sweep-label-strip">
                {["memorized", "spurious", "generalized"].into_iter().map(|lab| {
                    let all: Vec<usize> = (0..g.samples.len().min(cls.len())).filter(|&i| cls[i].label.as_str() == lab).collect();
                    let items = all.iter().take(4).map(|&i| {
                        let s = &g.samples[i];
                        view! {
                            <button class="strip-item" data-testid=format!("sweep-strip-{lab}") aria-label=format!("open sample {} ({lab})", s.index)
                                on:click=move |_| { filter.set(lab.to_string()); picked.set(Some(i)); }>
                                <Thumb image=s.image.clone() shape=shape caption=format!("#{}", s.index) alt=format!("generated sample #{}, labelled {lab}", s.index) />
                            </button>
                        }
                    }).collect_view();
                    view! {
                        <div class=format!("strip {lab}")>
                            <span class="strip-label">{format!("{lab} ({})", all.len())}</span>
                            {items}
                            {all.is_empty().then(|| view! { <span class="muted">"none under these δ"</span> })}
                        </div>
                    }
                }).collect_view()}
            </div>
            <div class="gallery" data-testid="sweep-gallery" data-rows=shown.to_string()>
                {order.into_iter().map(|i| {
                    let s = g.samples[i].clone();
                    let c: Classified = cls[i];
                    let train_attr = s.train_neighbours.iter().map(|j| j.to_string()).collect::<Vec<_>>().join(",");
                    let tops = s.train_neighbours.iter().zip(&s.train_distances).take(NEIGHBOURS).map(|(&j, &d)| view! { <Thumb image=find(&g.train_images, j) shape=shape caption=format!("S#{j} {d:.3}") alt=format!("training image #{j}, distance {d:.3} from the sample") /> }).collect_view();
                    let bottoms = s.synthetic_neighbours.iter().zip(&s.synthetic_distances).take(NEIGHBOURS).map(|(&j, &d)| view! { <Thumb image=find(&g.synthetic_images, j) shape=shape caption=format!("S′#{j} {d:.3}") alt=format!("synthetic image #{j} (S′), distance {d:.3} from the sample") /> }).collect_view();
                    let label = c.label.as_str();
                    let toggle = move || picked.set(Some(i));
                    view! {
                        <div class=move || format!("gallery-row {label}{}", if picked.get() == Some(i) { " picked" } else { "" })
                            data-testid="sweep-sample" data-label=label data-index=s.index.to_string()
                            data-train=train_attr data-image=s.image.clone()
                            tabindex="0" role="button" aria-pressed=move || (picked.get() == Some(i)).to_string()
                            on:click=move |_| toggle()
                            on:keydown=move |e: web_sys::KeyboardEvent| if e.key() == "Enter" || e.key() == " " { e.prevent_default(); toggle() }>
                            <div class="gallery-sample"><Thumb image=s.image.clone() shape=shape caption=format!("x̂ #{} · {}", s.index, c.label.as_str())
                                alt=format!("generated sample #{}, labelled {}; its nearest training image at distance {}", s.index, c.label.as_str(), s.train_distances.first().map(|d| format!("{d:.3}")).unwrap_or("–".into())) /></div>
                            <div class="gallery-neighbours">
                                <div class="gallery-line">{tops}</div>
                                <div class="gallery-line">{bottoms}</div>
                            </div>
                        </div>
                        {move || (picked.get() == Some(i)).then(|| view! { <SampleDetail picked=picked classified=classified delta_m=delta_m delta_s=delta_s /> })}
                    }
                }).collect_view()}
            </div>
        })
    }
}

/// Neighbours shown of each kind (the paper's figures show four).
const NEIGHBOURS: usize = 4;

/// The clicked sample's ratios against the thresholds.
#[component]
pub fn SampleDetail(
    /// The clicked sample.
    picked: RwSignal<Option<usize>>,
    /// Labels under the current δ.
    classified: Memo<Vec<Classified>>,
    /// `δ_m`.
    delta_m: RwSignal<f64>,
    /// `δ_s`.
    delta_s: RwSignal<f64>,
) -> impl IntoView {
    move || {
        let i = picked.get()?;
        let c = *classified.get().get(i)?;
        let (m, s) = (delta_m.get(), delta_s.get());
        Some(view! {
            <p class="detail" data-testid="sweep-detail">
                {format!("Sample #{i}: d(x̂,x₁)/d(x̂,x₂) = {:.3} {} δ_m = {m:.2} → {}; d(x̂,x₁′)/(d(x̂,x₁)+d(x̂,x₁′)) = {:.3} {} δ_s = {s:.2}. Label: {}.",
                    c.memorization_ratio, if c.memorization_ratio <= m { "≤" } else { ">" },
                    if c.memorization_ratio <= m { "a copy of its nearest training image" } else { "not a copy" },
                    c.spurious_ratio, if c.spurious_ratio <= s { "≤" } else { ">" }, c.label.as_str())}
            </p>
        })
    }
}
