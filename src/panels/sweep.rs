//! Phase-transition fractions and nearest-neighbour galleries (paper Figs. 1–4) from a
//! `memgen sweep` result bundle: the one shipped in `www/bundles/mnist/` when the page opens
//! (precomputed, and it says so with the command that made it), or any bundle the user loads.
//! δ sliders relabel every gallery sample from its stored distances, without regenerating.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::metrics::{capacities, Classified, Label, Rule, CAPACITY_EPSILON, DELTA_M};
use plotters::style::RGBColor;
use wasm_bindgen::JsCast;

use crate::bundle::{label_fractions, parse_fractions_csv, parse_manifest, Gallery, ManifestInfo, Row, MAX_FILE_BYTES};
use crate::panels::datasets::{fetch_bytes, input_files, read_file};
use crate::plot::{fractions_plot, ErrorSeries};

/// The shipped bundles' folder, its index and the bundle the panel opens.
const BUNDLES: &str = "www/bundles";
const SHIPPED_NAME: &str = "mnist";
const SHIPPED: &str = "www/bundles/mnist";
/// Gallery rows drawn at once.
const SHOWN: usize = 40;

const COLOURS: [RGBColor; 3] = [RGBColor(33, 102, 172), RGBColor(214, 39, 140), RGBColor(26, 152, 80)];

/// Where the bundle's galleries come from.
#[derive(Clone)]
enum Source {
    /// Fetched lazily from the shipped folder.
    Shipped,
    /// Files the user chose: name → bytes.
    Uploaded(Arc<Vec<(String, Vec<u8>)>>),
}

#[derive(Clone)]
struct Loaded {
    rows: Vec<Row>,
    info: ManifestInfo,
    source: Source,
}

fn label_class(l: Label) -> &'static str {
    l.as_str()
}

/// base64 → bytes with the browser's `atob` (no extra crate).
fn unbase64(s: &str) -> Option<Vec<u8>> {
    let bin = web_sys::window()?.atob(s).ok()?;
    Some(bin.chars().map(|c| c as u32 as u8).collect())
}

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
fn Thumb(image: String, shape: [usize; 3], caption: String) -> impl IntoView {
    let r = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        if let (Some(c), Some(px)) = (r.get(), unbase64(&image)) {
            draw_pixels(&c, &px, shape);
        }
    });
    view! {
        <figure class="thumb">
            <canvas node_ref=r class="pixelated"></canvas>
            <figcaption>{caption}</figcaption>
        </figure>
    }
}

async fn load_shipped() -> Result<Loaded, String> {
    // The index lists the shipped bundles, so a build without one makes no failing request.
    let index = fetch_bytes(&format!("{BUNDLES}/index.json")).await?;
    let index: serde_json::Value = serde_json::from_slice(&index).map_err(|e| format!("{BUNDLES}/index.json: {e}"))?;
    let listed = index.get("bundles").and_then(|b| b.as_array()).is_some_and(|b| b.iter().any(|x| x.as_str() == Some(SHIPPED_NAME)));
    if !listed {
        return Err(format!("{BUNDLES}/index.json lists none"));
    }
    let manifest = fetch_bytes(&format!("{SHIPPED}/manifest.json")).await?;
    let csv = fetch_bytes(&format!("{SHIPPED}/fractions.csv")).await?;
    let info = parse_manifest(&manifest)?;
    let rows = parse_fractions_csv(&String::from_utf8_lossy(&csv))?;
    Ok(Loaded { rows, info, source: Source::Shipped })
}

fn load_uploaded(files: Vec<(String, Vec<u8>)>) -> Result<Loaded, String> {
    let find = |n: &str| files.iter().find(|(f, _)| f == n).map(|(_, b)| b.as_slice());
    let manifest = find("manifest.json").ok_or("choose a bundle's files: manifest.json is missing")?;
    let csv = find("fractions.csv").ok_or("choose a bundle's files: fractions.csv is missing")?;
    let info = parse_manifest(manifest)?;
    let rows = parse_fractions_csv(&String::from_utf8_lossy(csv))?;
    Ok(Loaded { rows, info, source: Source::Uploaded(Arc::new(files)) })
}

async fn load_gallery(source: &Source, k: usize) -> Result<Gallery, String> {
    let name = format!("gallery-k{k}.json");
    let bytes = match source {
        Source::Shipped => fetch_bytes(&format!("{SHIPPED}/{name}")).await?,
        Source::Uploaded(files) => files.iter().find(|(f, _)| *f == name).map(|(_, b)| b.clone()).ok_or(format!("{name} was not among the chosen files"))?,
    };
    let g = Gallery::parse(&bytes).map_err(|e| format!("{name}: {e}"))?;
    if g.k != k {
        return Err(format!("{name} holds K = {}", g.k));
    }
    Ok(g)
}

/// The phase-transition panel.
#[component]
pub fn SweepPanel() -> impl IntoView {
    let loaded = RwSignal::new(None::<Loaded>);
    let state = RwSignal::new("loading".to_string());
    let notice = RwSignal::new(None::<String>);
    let selected_k = RwSignal::new(None::<usize>);
    let gallery = RwSignal::new(None::<Arc<Gallery>>);
    let gallery_state = RwSignal::new("idle".to_string());
    let delta_m = RwSignal::new(DELTA_M);
    let delta_s = RwSignal::new(0.2);
    let filter = RwSignal::new("all".to_string());
    let sort_by_ratio = RwSignal::new(false);
    let picked = RwSignal::new(None::<usize>);
    let plot_ref = NodeRef::<Canvas>::new();

    let adopt = move |l: Loaded| {
        if let Some(Rule::Ratio { delta_m: m, delta_s: s }) = l.info.rule {
            delta_m.set(m);
            delta_s.set(s);
        }
        let k = l.rows.first().map(|r| r.k);
        loaded.set(Some(l));
        selected_k.set(k);
    };

    spawn_local(async move {
        match load_shipped().await {
            Ok(l) => {
                adopt(l);
                state.set("shipped".into());
            }
            Err(e) => state.set(format!("none: {e}")),
        }
    });

    // Gallery of the selected K.
    Effect::new(move |_| {
        let Some(k) = selected_k.get() else { return };
        let Some(source) = loaded.with_untracked(|l| l.as_ref().map(|l| l.source.clone())) else { return };
        gallery.set(None);
        picked.set(None);
        gallery_state.set("loading".into());
        spawn_local(async move {
            match load_gallery(&source, k).await {
                Ok(g) if selected_k.get_untracked() == Some(k) => {
                    gallery.set(Some(Arc::new(g)));
                    gallery_state.set("done".into());
                }
                Ok(_) => {}
                Err(e) => gallery_state.set(format!("error: {e}")),
            }
        });
    });

    let rule = move || Rule::Ratio { delta_m: delta_m.get(), delta_s: delta_s.get() };
    let classified = Memo::new(move |_| gallery.get().map(|g| g.classify(&rule())).unwrap_or_default());

    // The plot.
    Effect::new(move |_| {
        let Some(l) = loaded.get() else { return };
        let Some(c) = plot_ref.get() else { return };
        let series: Vec<ErrorSeries> = ["memorized", "spurious", "generalized"]
            .iter()
            .enumerate()
            .map(|(i, name)| ErrorSeries { label: name, points: l.rows.iter().map(|r| (r.k as f64, r.f[i], r.std[i])).collect(), colour: COLOURS[i] })
            .collect();
        let caps = capacities(&l.rows.iter().map(|r| (r.k, r.fractions())).collect::<Vec<_>>(), CAPACITY_EPSILON);
        let markers: Vec<(&str, f64)> = [("MC", caps.mc), ("SC", caps.sc), ("GC", caps.gc)].into_iter().filter_map(|(n, k)| Some((n, k? as f64))).collect();
        let title = format!("{} · {} model · |S_eval| = {}", l.info.dataset, l.info.model, l.info.n_eval);
        fractions_plot(&c, &title, &series, &markers, selected_k.get().map(|k| k as f64));
    });

    let on_upload = move |ev: leptos::ev::Event| {
        let files = input_files(&ev);
        if files.is_empty() {
            return;
        }
        state.set("loading".into());
        spawn_local(async move {
            let mut read = Vec::new();
            for f in &files {
                if f.size() > MAX_FILE_BYTES as f64 {
                    notice.set(Some(format!("{} is larger than {} MB; the bundle was not loaded and the current one stays.", f.name(), MAX_FILE_BYTES >> 20)));
                    state.set(if loaded.with_untracked(|l| l.is_some()) { "loaded".into() } else { "none".into() });
                    return;
                }
                match read_file(f).await {
                    Ok(b) => read.push((f.name(), b)),
                    Err(e) => {
                        notice.set(Some(e));
                        return;
                    }
                }
            }
            match load_uploaded(read) {
                Ok(l) => {
                    notice.set(None);
                    adopt(l);
                    state.set("loaded".into());
                }
                Err(e) => {
                    notice.set(Some(format!("This bundle could not be loaded: {e}. The current one stays.")));
                    state.set(if loaded.with_untracked(|l| l.is_some()) { "loaded".into() } else { "none".into() });
                }
            }
        });
    };

    let relabelled = move || label_fractions(classified.get().iter().map(|c| c.label));
    let slider = move |label: &'static str, testid: &'static str, sig: RwSignal<f64>, max: f64| {
        view! {
            <label>
                {label}
                <input type="range" min="0.01" max=max step="0.01" data-testid=testid prop:value=move || sig.get().to_string()
                    on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<f64>() { if v.is_finite() { sig.set(v.clamp(0.01, max)) } } } />
                <span class="value">{move || format!("{:.2}", sig.get())}</span>
            </label>
        }
    };

    view! {
        <section class="panel" data-testid="panel-sweep">
            <h2>"Phase transition: memorized → spurious → generalized against K (paper Figs. 1–4)"</h2>
            <p class="explain">
                "Each generated sample x̂ is labelled from its distances to the training set S (nearest x₁, second x₂) and to the model's other samples S′ (nearest x₁′): memorized if d(x̂,x₁)/d(x̂,x₂) ≤ δ_m, else spurious if d(x̂,x₁′)/(d(x̂,x₁)+d(x̂,x₁′)) ≤ δ_s, else generalized. "
                "The fractions against K show the transition; MC, SC and GC mark the memorization, spurious and generalization capacity estimates (ε = 5%). "
                "Bundles are made natively by "<code>"memgen sweep"</code>" (see the README), on one machine or sharded over a cluster and joined with "<code>"memgen merge"</code>"."
            </p>
            <div class="controls">
                <label>"Load a bundle (choose its manifest.json, fractions.csv and gallery-k*.json) "
                    <input type="file" multiple accept=".json,.csv" data-testid="sweep-upload" on:change=on_upload />
                </label>
            </div>
            {move || notice.get().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            <div data-testid="sweep-state" data-state=move || state.get()>
                {move || {
                    let s = state.get();
                    if s == "loading" {
                        "Loading the sweep bundle…".to_string()
                    } else if s.starts_with("none") {
                        format!("No sweep bundle is shipped with this build ({}). Make one with `memgen sweep --dataset mnist --ks 2,4,8,… --out DIR` and load its files here.", s.trim_start_matches("none: "))
                    } else {
                        String::new()
                    }
                }}
            </div>
            {move || loaded.get().map(|l| {
                let shipped = matches!(l.source, Source::Shipped);
                let ks: Vec<usize> = l.rows.iter().map(|r| r.k).collect();
                let ks_attr = ks.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",");
                view! {
                    <p class="muted" data-testid="sweep-provenance">
                        {if shipped { "Precomputed (shipped with the lab, not run in this tab). " } else { "Loaded from your files. " }}
                        {format!("{} K values, {} model ({} parameters{}), sampler {}, {:.0} s in all. Made by: ",
                            l.rows.len(), l.info.model, l.info.parameters,
                            l.info.steps.map(|s| format!(", {s} training steps")).unwrap_or_default(), l.info.sampler, l.info.total_s)}
                        <code data-testid="sweep-command">{l.info.command_line.clone()}</code>
                    </p>
                    <canvas node_ref=plot_ref width="640" height="360" data-testid="sweep-plot"
                        data-ks=ks_attr></canvas>
                    <div class="controls">
                        <span>"Gallery at K: "</span>
                        {ks.into_iter().map(|k| view! {
                            <button data-testid=format!("sweep-k{k}") class:active=move || selected_k.get() == Some(k) on:click=move |_| selected_k.set(Some(k))>{k.to_string()}</button>
                        }).collect_view()}
                    </div>
                }
            })}
            <div class="controls">
                {slider("δ_m ", "sweep-delta-m", delta_m, 1.0)}
                {slider("δ_s ", "sweep-delta-s", delta_s, 0.49)}
                <label>"show "
                    <select data-testid="sweep-filter" on:change=move |ev| filter.set(event_target_value(&ev))>
                        <option value="all">"all"</option>
                        <option value="memorized">"memorized"</option>
                        <option value="spurious">"spurious"</option>
                        <option value="generalized">"generalized"</option>
                    </select>
                </label>
                <label><input type="checkbox" data-testid="sweep-sort" on:change=move |ev| sort_by_ratio.set(event_target_checked(&ev)) />" sort by d(x̂,x₁)/d(x̂,x₂)"</label>
            </div>
            <p data-testid="sweep-relabelled" data-state=move || gallery_state.get()
                data-memorized=move || format!("{:.4}", relabelled().memorized)
                data-spurious=move || format!("{:.4}", relabelled().spurious)
                data-generalized=move || format!("{:.4}", relabelled().generalized)
                data-n=move || classified.get().len().to_string()>
                {move || {
                    let s = gallery_state.get();
                    if let Some(e) = s.strip_prefix("error: ") { return format!("The gallery could not be loaded: {e}"); }
                    if s == "loading" { return "Loading the gallery…".into(); }
                    let f = relabelled();
                    let n = classified.get().len();
                    if n == 0 { return String::new(); }
                    format!("With these δ, the {n} gallery samples are {:.1}% memorized, {:.1}% spurious, {:.1}% generalized.", 100.0 * f.memorized, 100.0 * f.spurious, 100.0 * f.generalized)
                }}
            </p>
            {move || {
                let g = gallery.get()?;
                let cls = classified.get();
                let want = filter.get();
                let mut order: Vec<usize> = (0..g.samples.len().min(cls.len())).filter(|&i| want == "all" || cls[i].label.as_str() == want).collect();
                if sort_by_ratio.get() {
                    order.sort_by(|a, b| cls[*a].memorization_ratio.total_cmp(&cls[*b].memorization_ratio));
                }
                let total = order.len();
                order.truncate(SHOWN);
                let shown = order.len();
                let shape = g.shape;
                let find = |list: &[crate::bundle::IndexedImage], j: usize| list.iter().find(|t| t.index == j).map(|t| t.image.clone()).unwrap_or_default();
                Some(view! {
                    <p class="muted">{format!("Showing {shown} of {total} samples. Top row: the 5 nearest training images (S); bottom row: the 5 nearest other samples (S′); L2 distances on pixels/255. Click a sample for its ratios.")}</p>
                    <div class="gallery" data-testid="sweep-gallery" data-rows=shown.to_string()>
                        {order.into_iter().map(|i| {
                            let s = g.samples[i].clone();
                            let c: Classified = cls[i];
                            let train_attr = s.train_neighbours.iter().map(|j| j.to_string()).collect::<Vec<_>>().join(",");
                            let tops = s.train_neighbours.iter().zip(&s.train_distances).map(|(&j, &d)| view! { <Thumb image=find(&g.train_images, j) shape=shape caption=format!("S#{j} {d:.3}") /> }).collect_view();
                            let bottoms = s.synthetic_neighbours.iter().zip(&s.synthetic_distances).map(|(&j, &d)| view! { <Thumb image=find(&g.synthetic_images, j) shape=shape caption=format!("S′#{j} {d:.3}") /> }).collect_view();
                            view! {
                                <div class=format!("gallery-row {}", label_class(c.label)) data-testid="sweep-sample" data-label=c.label.as_str() data-index=s.index.to_string()
                                    data-train=train_attr
                                    on:click=move |_| picked.set(Some(i))>
                                    <div class="gallery-sample"><Thumb image=s.image.clone() shape=shape caption=format!("x̂ #{} · {}", s.index, c.label.as_str()) /></div>
                                    <div class="gallery-neighbours">
                                        <div class="gallery-line">{tops}</div>
                                        <div class="gallery-line">{bottoms}</div>
                                    </div>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                })
            }}
            {move || {
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
            }}
        </section>
    }
}
