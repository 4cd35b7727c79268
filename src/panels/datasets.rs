//! The Datasets panel (issue 4): pick MNIST, Fashion-MNIST (web subsample) or the emoji
//! set, watch it stream in (bytes received / total, cancellable, decoded chunk by chunk
//! while it downloads so the tab never freezes), preview the training subset S_K
//! (`memgen_data::subset`, the nested-prefix seeded permutation shared with the CLI),
//! read its shape, checksum, licence and attribution, or bring your own `.npy` array.
//!
//! Nothing is fetched until a dataset is picked (or named in the link with `ds=`).
//! URL keys owned here: `ds` (mnist | fashion-mnist | emoji), `dk` (K), `dseed`; they are
//! merged into the query without touching other panels' keys.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_data::{DatasetId, DatasetInfo, Manifest, ManifestEntry, PackedDataset, PackedStream};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::browser::{fetch_response, input_files, js_err, read_file, JsFile};
use crate::compute;
use crate::state::Notice;

/// Where the packed files and the manifest are served (relative to the page).
const DATA_DIR: &str = "www/data";
/// Default K of the preview's training subset.
const DEFAULT_K: usize = 100;
/// Largest K accepted from the link or the input.
const MAX_K: usize = 60_000;
/// Images drawn in the preview grid (10 × 10).
const PREVIEW_MAX: usize = 100;
const PREVIEW_COLS: usize = 10;
/// Preview cell: image side and label strip, in canvas pixels.
const CELL: usize = 48;
const LABEL_H: usize = 14;
/// Limits on a user's file.
const MAX_UPLOAD_BYTES: f64 = 200.0 * 1024.0 * 1024.0;
const MAX_UPLOAD_IMAGES: usize = 100_000;
/// Resolutions offered for uploaded data.
const RESOLUTIONS: [usize; 4] = [16, 28, 32, 64];

/// The panel's URL state.
#[derive(Debug, Clone, Copy, PartialEq)]
struct UrlState {
    ds: Option<DatasetId>,
    k: usize,
    seed: u64,
    /// Class-balanced S_K (`dbal=1`): round robin over the classes in the seeded order.
    balanced: bool,
}

/// The URL keys this panel owns.
const OWN_KEYS: [&str; 4] = ["ds", "dk", "dseed", "dbal"];

/// Parses `ds`, `dk` and `dseed` from decoded query pairs; bad values give the default and a notice.
use crate::url::preview;

fn parse_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (UrlState, Vec<Notice>) {
    let mut s = UrlState { ds: None, k: DEFAULT_K, seed: 0, balanced: false };
    let mut notices = Vec::new();
    for (key, value) in pairs {
        let shown = preview(value);
        match key {
            "ds" => match DatasetId::parse(value.trim()) {
                Some(d) => s.ds = Some(d),
                None => notices.push(Notice(format!("Unknown dataset “{shown}” (mnist, fashion-mnist or emoji); none is loaded."))),
            },
            "dk" => match value.trim().parse::<i64>() {
                Ok(k) if (1..=MAX_K as i64).contains(&k) => s.k = k as usize,
                Ok(k) if k > MAX_K as i64 => {
                    notices.push(Notice(format!("The dataset K = {shown} is more than {MAX_K}; using {MAX_K}.")));
                    s.k = MAX_K;
                }
                _ => notices.push(Notice(format!("The dataset K must be a whole number from 1 to {MAX_K}, not “{shown}”; using {DEFAULT_K}."))),
            },
            "dseed" => match value.trim().parse::<u64>() {
                Ok(v) => s.seed = v,
                Err(_) => notices.push(Notice(format!("The dataset seed must be a whole number ≥ 0, not “{shown}”; using 0."))),
            },
            "dbal" => match value.trim() {
                "1" | "true" => s.balanced = true,
                "0" | "false" | "" => s.balanced = false,
                _ => notices.push(Notice(format!("dbal must be 1 (class-balanced) or 0, not “{shown}”; using 0."))),
            },
            _ => {}
        }
    }
    (s, notices)
}

fn read_url() -> (UrlState, Vec<Notice>) {
    let (pairs, _) = crate::url::read_pairs(&OWN_KEYS);
    parse_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Sets this panel's keys in the current query, keeping every other key as it is.
fn write_url(s: UrlState) {
    let mut parts = Vec::new();
    if let Some(d) = s.ds {
        parts.push(format!("ds={}", d.as_str()));
    }
    parts.push(format!("dk={}", s.k));
    parts.push(format!("dseed={}", s.seed));
    if s.balanced {
        parts.push("dbal=1".into());
    }
    crate::url::replace_own(&OWN_KEYS, &parts.join("&"));
}

/// S_K as the Datasets panel shows it: u8 pixels `[K, h, w, c]`.
#[derive(Debug, Clone)]
pub struct SubsetK {
    pub name: String,
    pub k: usize,
    pub seed: u64,
    pub hwc: [usize; 3],
    pub pixels: Arc<Vec<u8>>,
    /// S_K's indices in the whole set, in S_K's order.
    pub indices: Arc<Vec<usize>>,
    /// The packed file the set came from and its checksum (a file's name and no checksum for
    /// an upload).
    pub file: String,
    pub sha256: String,
    /// The whole set and the subset rule, so other panels can draw S_K for other K.
    pub data: Arc<PackedDataset>,
    pub balanced: bool,
}

impl SubsetK {
    /// The same set's S_K for another `k` (the same seed and rule; nested in K).
    pub fn with_k(&self, k: usize) -> Result<SubsetK, String> {
        let n = self.data.len();
        if k < 1 || k > n {
            return Err(format!("K = {k} is not between 1 and the {n} images of {}", self.name));
        }
        let idx = match (self.balanced, self.data.labels()) {
            (true, Some(labels)) => memgen_data::balanced_subset(labels, k, self.seed),
            _ => memgen_data::subset(n, k, self.seed),
        }
        .map_err(|e| e.to_string())?;
        let pixels = self.data.images_u8(&idx).map_err(|e| e.to_string())?;
        Ok(SubsetK { k, pixels: Arc::new(pixels), indices: Arc::new(idx), ..self.clone() })
    }
}

/// The context through which the Datasets panel publishes S_K.
#[derive(Debug, Clone, Copy)]
pub struct SubsetSignal(pub RwSignal<Option<SubsetK>>);

/// Where the loaded set came from.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    Registry { id: DatasetId, entry: Box<ManifestEntry> },
    Upload { file: String, note: String },
}

/// The set the panel shows.
#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    data: Arc<PackedDataset>,
    origin: Origin,
}

/// Download progress.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    label: String,
    bytes: f64,
    total: f64,
    /// "loading", "done", "cancelled" or "error".
    state: &'static str,
}

async fn fetch_manifest() -> Result<Manifest, String> {
    let url = format!("{DATA_DIR}/{}", memgen_data::MANIFEST_FILE);
    let resp = fetch_response(&url).await?;
    let buf = JsFuture::from(resp.array_buffer()).await.map_err(|e| format!("could not read {url}: {}", js_err(e)))?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    Manifest::from_json(&bytes).map_err(|e| format!("{url}: {e}"))
}

/// Streams one packed file into [`PackedStream`]; `progress(received, total)` after each
/// chunk; returns `Ok(None)` when cancelled.
async fn fetch_packed(entry: &ManifestEntry, progress: &dyn Fn(f64, f64), cancelled: &dyn Fn() -> bool) -> Result<Option<PackedDataset>, String> {
    let url = format!("{DATA_DIR}/{}", entry.file);
    let resp = fetch_response(&url).await?;
    let length = resp.headers().get("Content-Length").and_then(|v| v.trim().parse::<f64>().ok());
    let mut total = if entry.bytes > 0 { entry.bytes as f64 } else { length.unwrap_or(0.0) };
    let body = resp.body().ok_or_else(|| format!("{url}: the response has no body"))?;
    let reader = body.get_reader();
    let mut stream = PackedStream::new();
    let mut last_yield = compute::now_ms();
    loop {
        if cancelled() {
            let _ = reader.cancel();
            return Ok(None);
        }
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| format!("{url}: download failed: {}", js_err(e)))?;
        if cancelled() {
            let _ = reader.cancel();
            return Ok(None);
        }
        let done = js_sys::Reflect::get(&chunk, &"done".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(|e| js_err(e))?;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        stream.push(&bytes).map_err(|e| format!("{}: {e}", entry.file))?;
        let received = stream.received() as f64;
        // A server that compresses on the fly may send more than the file's size.
        total = total.max(received);
        progress(received, total);
        if compute::now_ms() - last_yield > 12.0 {
            compute::yield_now().await;
            last_yield = compute::now_ms();
        }
    }
    let received = stream.received() as f64;
    progress(received, received.max(if received >= total { received } else { total }));
    compute::yield_now().await;
    if cancelled() {
        return Ok(None);
    }
    // The checksum of ~50 MB is computed a slice at a time so the tab stays responsive.
    let mut verifier = stream.into_verifier().map_err(|e| format!("{}: {e}", entry.file))?;
    loop {
        let t0 = compute::now_ms();
        let mut done = false;
        while !done && compute::now_ms() - t0 < 12.0 {
            done = verifier.step(1 << 20);
        }
        if done {
            break;
        }
        compute::yield_now().await;
        if cancelled() {
            return Ok(None);
        }
    }
    let data = verifier.finish().map_err(|e| format!("{}: {e}", entry.file))?;
    if data.header().payload_sha256 != entry.header.payload_sha256 {
        return Err(format!(
            "{}: its payload checksum {} is not the manifest's {}; rebuild the datasets (scripts/datasets.sh)",
            entry.file,
            short(&data.header().payload_sha256),
            short(&entry.header.payload_sha256)
        ));
    }
    Ok(Some(data))
}

fn short(hex: &str) -> String {
    hex.chars().take(12).collect()
}

fn fmt_bytes(b: f64) -> String {
    if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// The user's files (PNG, JPEG, zip of them, or `.npy`), converted by memgen-data's
/// [`Importer`](memgen_data::images::Importer) exactly as `memgen import` does, to
/// `side × side` grey or RGB images. Errors are sentences for a notice.
async fn import_files(files: Vec<JsFile>, side: usize, colour: bool, progress: impl Fn(String)) -> Result<(PackedDataset, String), String> {
    use memgen_data::images::{sniff, ImportOptions, Importer, InputKind};
    let mut opts = ImportOptions::new(side as u32, colour);
    opts.limits.max_file_bytes = MAX_UPLOAD_BYTES as u64;
    opts.limits.max_total_bytes = MAX_UPLOAD_BYTES as u64;
    opts.limits.max_images = MAX_UPLOAD_IMAGES;
    let mut importer = Importer::new(opts).map_err(|e| e.to_string())?;
    let names: Vec<String> = files.iter().map(|f| f.name()).collect();
    let mut hasher_input = Vec::new();
    for (file, name) in files.iter().zip(&names) {
        let bytes = read_file(file).await?;
        compute::yield_now().await;
        if sniff(&bytes) == Some(InputKind::Zip) {
            // A zip is decoded a few entries at a time so the tab stays responsive.
            let mut job = importer.begin_zip(name, std::io::Cursor::new(bytes.as_slice()), bytes.len() as u64).map_err(|e| e.to_string())?;
            loop {
                let t0 = compute::now_ms();
                let mut done = false;
                while !done && compute::now_ms() - t0 < 12.0 {
                    done = importer.zip_step(&mut job, 8).map_err(|e| e.to_string())?;
                }
                let (at, of) = job.progress();
                progress(format!("Decoding {name}: {at} of {of} images…"));
                compute::yield_now().await;
                if done {
                    break;
                }
            }
        } else {
            progress(format!("Decoding {name}…"));
            compute::yield_now().await;
            importer.push(name, &bytes).map_err(|e| e.to_string())?;
        }
        if hasher_input.len() < 64 * 1024 * 1024 {
            hasher_input.extend_from_slice(&bytes);
        }
        compute::yield_now().await;
    }
    let what = if names.len() == 1 { names[0].clone() } else { format!("{} files", names.len()) };
    let imported = importer.finish(&what).map_err(|e| e.to_string())?;
    let note = format!("{what}: {} images, resized to {side}×{side} {}", imported.len(), if colour { "colour" } else { "grey" });
    let info = DatasetInfo {
        name: what.clone(),
        class_names: Vec::new(),
        licence: "your own data (not uploaded anywhere; it stays in this tab)".into(),
        attribution: "brought by you".into(),
        source: format!("local {}", names.join(", ")),
        source_sha256: memgen_data::sha256_hex(&hasher_input),
        subsample: None,
        notes: note.clone(),
    };
    let ds = PackedDataset::new(info, imported.size, imported.size, imported.channels, imported.pixels, None).map_err(|e| format!("{what}: {e}"))?;
    Ok((ds, note))
}

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

/// The Datasets panel.
#[component]
pub fn DatasetsPanel() -> impl IntoView {
    let (initial, initial_notices) = read_url();
    let url_touched = StoredValue::new(false);
    let picked = RwSignal::new(initial.ds);
    let k = RwSignal::new(initial.k);
    let seed = RwSignal::new(initial.seed);
    let balanced = RwSignal::new(initial.balanced);
    let notices = RwSignal::new(initial_notices);
    let loaded = RwSignal::new(None::<Loaded>);
    let progress = RwSignal::new(None::<Progress>);
    let manifest = StoredValue::new(None::<Manifest>);
    // Registry sets already loaded in this tab, so switching back costs nothing.
    let cache = StoredValue::new(Vec::<Loaded>::new());
    let load_gen = StoredValue::new(0u64);
    let preview_done = RwSignal::new(None::<(usize, usize, u64, String)>);
    let preview_gen = StoredValue::new(0u64);
    let resolution = RwSignal::new(28usize);
    let colour = RwSignal::new(false);
    let uploading = RwSignal::new(None::<String>);
    let canvas_ref = NodeRef::<Canvas>::new();

    let notify = move |m: String| notices.update(|v| v.push(Notice(m)));

    // The URL mirrors the choice once the user (or the link) made one.
    Effect::new(move |_| {
        let s = UrlState { ds: picked.get(), k: k.get(), seed: seed.get(), balanced: balanced.get() };
        if url_touched.get_value() || s.ds.is_some() {
            url_touched.set_value(true);
            write_url(s);
        }
    });

    let load = move |id: DatasetId| {
        let gen = load_gen.get_value() + 1;
        load_gen.set_value(gen);
        let cancelled = move || load_gen.get_value() != gen;
        let hit = cache.with_value(|c| c.iter().find(|l| matches!(&l.origin, Origin::Registry { id: i, .. } if *i == id)).cloned());
        if let Some(l) = hit {
            if let Origin::Registry { entry, .. } = &l.origin {
                let b = entry.bytes as f64;
                progress.set(Some(Progress { label: format!("{} · {}", id.title(), entry.file), bytes: b, total: b, state: "done" }));
            }
            let n = l.data.len();
            if k.get_untracked() > n {
                notify(format!("K = {} is more than the {n} images of {}; using {n}.", k.get_untracked(), id.title()));
                k.set(n);
            }
            loaded.set(Some(l));
            return;
        }
        progress.set(Some(Progress { label: format!("Loading {}", id.title()), bytes: 0.0, total: 0.0, state: "loading" }));
        spawn_local(async move {
            if manifest.with_value(|m| m.is_none()) {
                match fetch_manifest().await {
                    Ok(m) => manifest.set_value(Some(m)),
                    Err(e) => {
                        if !cancelled() {
                            notify(format!("The dataset list could not be loaded: {e}. Build the data with scripts/datasets.sh."));
                            progress.update(|p| {
                                if let Some(p) = p {
                                    p.state = "error"
                                }
                            });
                        }
                        return;
                    }
                }
            }
            let Some(entry) = manifest.with_value(|m| m.as_ref().and_then(|m| m.web_train(id).cloned())) else {
                notify(format!("The dataset list has no file for {} that the app can load.", id.title()));
                progress.update(|p| {
                    if let Some(p) = p {
                        p.state = "error"
                    }
                });
                return;
            };
            let label = format!("{} · {}", id.title(), entry.file);
            let report = {
                let label = label.clone();
                move |bytes: f64, total: f64| {
                    if !cancelled() {
                        progress.set(Some(Progress { label: label.clone(), bytes, total, state: "loading" }));
                    }
                }
            };
            report(0.0, entry.bytes as f64);
            match fetch_packed(&entry, &report, &cancelled).await {
                Ok(Some(data)) if !cancelled() => {
                    progress.update(|p| {
                        if let Some(p) = p {
                            p.state = "done"
                        }
                    });
                    let n = data.len();
                    if k.get_untracked() > n {
                        notify(format!("K = {} is more than the {n} images of {}; using {n}.", k.get_untracked(), entry.file));
                        k.set(n);
                    }
                    let l = Loaded { data: Arc::new(data), origin: Origin::Registry { id, entry: Box::new(entry) } };
                    cache.update_value(|c| c.push(l.clone()));
                    loaded.set(Some(l));
                }
                Ok(_) => {}
                Err(e) => {
                    if !cancelled() {
                        notify(format!("{} could not be loaded: {e}. The previous dataset stays.", id.title()));
                        progress.update(|p| {
                            if let Some(p) = p {
                                p.state = "error"
                            }
                        });
                    }
                }
            }
        });
    };

    // A dataset named in the link loads after the first paint.
    if let Some(id) = initial.ds {
        spawn_local(async move {
            compute::yield_now().await;
            load(id);
        });
    }

    let cancel = move |_| {
        load_gen.update_value(|g| *g += 1);
        progress.update(|p| {
            if let Some(p) = p {
                p.state = "cancelled"
            }
        });
    };

    // Redraw the preview whenever the set, K or the seed change.
    Effect::new(move |_| {
        let Some(l) = loaded.get() else { return };
        let (kk, sd, bal) = (k.get(), seed.get(), balanced.get());
        let gen = preview_gen.get_value() + 1;
        preview_gen.set_value(gen);
        preview_done.set(None);
        let Some(canvas) = canvas_ref.get() else { return };
        let n = l.data.len();
        let kk = kk.min(n);
        let idx = match (bal, l.data.labels()) {
            (true, Some(labels)) => memgen_data::balanced_subset(labels, kk, sd),
            (true, None) => {
                notify("This set has no class labels, so S_K cannot be class-balanced; showing the plain seeded subset.".into());
                memgen_data::subset(n, kk, sd)
            }
            (false, _) => memgen_data::subset(n, kk, sd),
        };
        match idx {
            Ok(idx) => {
                let drawn = draw_preview(&canvas, &l.data, &idx);
                // The checksum of S_K's pixels, as `memgen export` writes them (for tests and links).
                let px = l.data.images_u8(&idx).ok();
                let sha = px.as_deref().map(memgen_data::sha256_hex).unwrap_or_default();
                // Publish S_K to the other panels (the in-tab sweep point trains on it).
                if let (Some(pixels), Some(SubsetSignal(sig))) = (px, use_context::<SubsetSignal>()) {
                    let (name, file, sha256) = match &l.origin {
                        Origin::Registry { id, entry } => (id.as_str().to_string(), entry.file.clone(), entry.sha256.clone()),
                        Origin::Upload { file, .. } => (file.clone(), file.clone(), String::new()),
                    };
                    let hwc = [l.data.height(), l.data.width(), l.data.channels()];
                    sig.set(Some(SubsetK {
                        name,
                        k: kk,
                        seed: sd,
                        hwc,
                        pixels: Arc::new(pixels),
                        indices: Arc::new(idx.clone()),
                        file,
                        sha256,
                        data: l.data.clone(),
                        balanced: bal,
                    }));
                }
                preview_done.set(Some((kk, drawn, gen, sha)));
            }
            Err(e) => notify(format!("The training subset could not be drawn: {e}")),
        }
    });

    let on_pick = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        url_touched.set_value(true);
        match DatasetId::parse(&v) {
            Some(id) => {
                picked.set(Some(id));
                load(id);
            }
            None => picked.set(None),
        }
    };

    let on_upload = move |ev: leptos::ev::Event| {
        let list = input_files(&ev);
        if list.is_empty() {
            return;
        }
        let name = if list.len() == 1 { list[0].name() } else { format!("{} files", list.len()) };
        let size: f64 = list.iter().map(|f| f.size()).sum();
        // Let the same file be chosen again.
        if let Some(target) = ev.target() {
            let _ = js_sys::Reflect::set(&target, &"value".into(), &"".into());
        }
        if size > MAX_UPLOAD_BYTES {
            notify(format!("{name} is {}; up to 200 MB can be loaded. The current dataset stays.", fmt_bytes(size)));
            return;
        }
        let (side, col) = (resolution.get_untracked(), colour.get_untracked());
        uploading.set(Some(format!("Reading {name}…")));
        spawn_local(async move {
            let result = import_files(list, side, col, move |m| uploading.set(Some(m))).await;
            uploading.set(None);
            match result {
                Ok((data, note)) => {
                    // A new set: cancel any download so it does not replace this one.
                    load_gen.update_value(|g| *g += 1);
                    progress.update(|p| {
                        if let Some(p) = p {
                            if p.state == "loading" {
                                p.state = "cancelled"
                            }
                        }
                    });
                    loaded.set(Some(Loaded { data: Arc::new(data), origin: Origin::Upload { file: name, note } }));
                }
                Err(e) => notify(format!("{}. The current dataset stays.", e.trim_end_matches('.'))),
            }
        });
    };

    let showing_upload = move || loaded.with(|l| matches!(l, Some(Loaded { origin: Origin::Upload { .. }, .. })));

    let info = move || {
        loaded.get().map(|l| {
            let h = l.data.header().clone();
            let shape = l.data.shape();
            let shape = if shape[3] == 1 { format!("[{}, {}, {}]", shape[0], shape[1], shape[2]) } else { format!("{shape:?}") };
            let (source_line, file_line, sub) = match &l.origin {
                Origin::Registry { id, entry } => (
                    format!("{} — {}", id.title(), h.source),
                    format!("{} · {} over the wire · file sha256 {}…", entry.file, fmt_bytes(entry.bytes as f64), short(&entry.sha256)),
                    h.subsample.as_ref().map(|s| format!("Subsample: {} (of {} images of {}).", s.method, s.of_n, s.of)),
                ),
                Origin::Upload { file, note } => (format!("Your file {file}"), note.clone(), None),
            };
            let classes = if h.class_names.is_empty() { "no labels".to_string() } else { h.class_names.join(", ") };
            view! {
                <p><b>{source_line}</b></p>
                <p>
                    {format!("{} images, shape {shape} ({}), payload sha256 ", h.n, if h.channels == 3 { "RGB" } else { "grey" })}
                    <code title=h.payload_sha256.clone()>{format!("{}…", short(&h.payload_sha256))}</code>
                </p>
                <p class="muted">{file_line}</p>
                {sub.map(|s| view! { <p class="muted">{s}</p> })}
                <p>"Classes: " {classes}</p>
                <p class="licence" data-testid="dataset-licence">"Licence: " <b>{h.licence.clone()}</b> ". " {h.attribution.clone()}</p>
            }
        })
    };

    let preview_caption = move || match (loaded.get(), preview_done.get()) {
        (Some(l), Some((kk, drawn, _, _))) => format!(
            "S_K for K = {kk}, seed {}: {} of all {} (subsets of one seed are nested). {}",
            seed.get(),
            if balanced.get() && l.data.labels().is_some() {
                format!("class-balanced, {kk} images taken round robin over the classes in the seeded order")
            } else {
                format!("the first {kk} images of the seeded permutation")
            },
            l.data.len(),
            if drawn < kk { format!("The first {drawn} are shown.") } else { "All are shown.".into() }
        ),
        (Some(_), None) => "Drawing…".into(),
        _ => "Pick a dataset to preview its training subset.".into(),
    };

    view! {
        <section class="panel datasets" data-testid="panel-datasets">
            <h2>"Datasets: the images the memorization → generalization transition is measured on"</h2>
            <p class="explain">
                "Real image sets, packed and checksummed at build time from package registries. A training subset S_K is the first K images of one seeded permutation, "
                "so S_K ⊂ S_2K for the same seed — the same images as " <code>"memgen export --dataset … --k K --seed N"</code> " writes. Nothing is downloaded until you pick a set."
            </p>
            <crate::widgets::Notices notices=notices />
            <div class="controls">
                <label>
                    "Dataset "
                    <select data-testid="dataset-picker" on:change=on_pick>
                        <option value="" prop:selected=move || picked.get().is_none() && !showing_upload()>"— pick one —"</option>
                        <option value="upload" disabled=true prop:selected=showing_upload>"your file (below)"</option>
                        {DatasetId::ALL
                            .into_iter()
                            .map(|d| {
                                let label = match d {
                                    DatasetId::Mnist => "MNIST (60,000 digits, 9.7 MB)",
                                    DatasetId::FashionMnist => "Fashion-MNIST (20,000 of 60,000, 8.8 MB)",
                                    DatasetId::Emoji => "Emoji (1,911 colour, 2.2 MB)",
                                };
                                view! { <option value=d.as_str() prop:selected=move || picked.get() == Some(d) && !showing_upload()>{label}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "K "
                    <input type="number" min="1" max=MAX_K.to_string() data-testid="dataset-k"
                        prop:value=move || k.get().to_string()
                        on:change=move |ev| {
                            url_touched.set_value(true);
                            let n = loaded.get_untracked().map(|l| l.data.len()).unwrap_or(MAX_K);
                            match event_target_value(&ev).trim().parse::<usize>() {
                                Ok(v) if v >= 1 && v <= n.min(MAX_K) => k.set(v),
                                Ok(v) if v > n.min(MAX_K) => {
                                    notify(format!("K = {v} is more than the {} images available; using {}.", n.min(MAX_K), n.min(MAX_K)));
                                    k.set(n.min(MAX_K));
                                }
                                _ => {
                                    notify(format!("K must be a whole number from 1 to {}.", n.min(MAX_K)));
                                    k.update(|_| {});
                                }
                            }
                        } />
                </label>
                <label>
                    "seed "
                    <input type="number" min="0" class="narrow" data-testid="dataset-seed"
                        prop:value=move || seed.get().to_string()
                        on:change=move |ev| {
                            url_touched.set_value(true);
                            match event_target_value(&ev).trim().parse::<u64>() {
                                Ok(v) => seed.set(v),
                                Err(_) => {
                                    notify("The seed must be a whole number ≥ 0.".into());
                                    seed.update(|_| {});
                                }
                            }
                        } />
                </label>
                <label title="Take S_K round robin over the classes, each class in the seeded order (memgen export --balanced)">
                    <input type="checkbox" data-testid="dataset-balanced"
                        prop:checked=move || balanced.get()
                        on:change=move |ev| {
                            url_touched.set_value(true);
                            balanced.set(event_target_checked(&ev));
                        } />
                    " class-balanced"
                </label>
                {move || progress.get().map(|p| {
                    let frac = if p.total > 0.0 { (p.bytes / p.total).min(1.0) } else { 0.0 };
                    let text = match p.state {
                        "loading" => format!(" {} / {} ", fmt_bytes(p.bytes), fmt_bytes(p.total)),
                        "done" => format!(" {} / {} · loaded ", fmt_bytes(p.bytes), fmt_bytes(p.total)),
                        "cancelled" => format!(" {} / {} · cancelled ", fmt_bytes(p.bytes), fmt_bytes(p.total)),
                        _ => " failed ".to_string(),
                    };
                    let loading = p.state == "loading";
                    view! {
                        <span class="progress" data-testid="dataset-progress" data-state=p.state
                            data-bytes=format!("{:.0}", p.bytes) data-total=format!("{:.0}", p.total)>
                            {p.label} " " <progress max="1" value=frac></progress> {text}
                            {loading.then(|| view! { <button data-testid="dataset-cancel" on:click=cancel>"cancel"</button> })}
                        </span>
                    }
                })}
            </div>
            <div class="dataset-body">
                <figure class="dataset-figure">
                    <canvas node_ref=canvas_ref width="480" height="62" class="dataset-preview" data-testid="dataset-preview"
                        data-state=move || if preview_done.get().is_some() { "done" } else if loaded.get().is_some() { "running" } else { "empty" }
                        data-count=move || preview_done.get().map(|p| p.0.to_string()).unwrap_or_default()
                        data-drawn=move || preview_done.get().map(|p| p.1.to_string()).unwrap_or_default()
                        data-sha=move || preview_done.get().map(|p| p.3).unwrap_or_default()></canvas>
                    <figcaption>{preview_caption}</figcaption>
                </figure>
                <div class="dataset-info" data-testid="dataset-info">
                    {move || info().map(|v| v.into_any()).unwrap_or_else(|| view! { <p class="muted">"No dataset loaded yet."</p> }.into_any())}
                </div>
            </div>
            <h3>"Bring your own data"</h3>
            <div class="controls">
                <label>
                    "Files (PNG, JPEG, zip or .npy) "
                    <input type="file" multiple=true accept=".npy,.png,.jpg,.jpeg,.zip,image/png,image/jpeg,application/zip" data-testid="dataset-upload" on:change=on_upload />
                </label>
                <label>
                    "resolution "
                    <select data-testid="dataset-resolution" on:change=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<usize>() { resolution.set(v) }
                    }>
                        {RESOLUTIONS.into_iter().map(|r| view! { <option value=r.to_string() selected=move || resolution.get() == r>{format!("{r}×{r}")}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    "colour "
                    <select data-testid="dataset-colour" on:change=move |ev| colour.set(event_target_value(&ev) == "colour")>
                        <option value="grey" selected=move || !colour.get()>"grey"</option>
                        <option value="colour" selected=move || colour.get()>"colour (RGB)"</option>
                    </select>
                </label>
                {move || uploading.get().map(|m| view! { <span class="muted">{m}</span> })}
            </div>
            <p class="muted">
                "PNG or JPEG files (several at once), a zip of them, or a NumPy .npy array of uint8 (0–255), float32 or float64 (0–1 or −1–1), shape [n, h, w] or [n, h, w, c]; "
                "at most 200 MB and 100,000 images. Everything is resized to the chosen resolution in grey or colour, as " <code>"memgen import"</code> " does, and stays in this tab."
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_pairs_parse_defensively() {
        let (s, n) = parse_pairs([("ds", "mnist"), ("dk", "64"), ("dseed", "7")]);
        assert_eq!(s, UrlState { ds: Some(DatasetId::Mnist), k: 64, seed: 7, balanced: false });
        assert!(n.is_empty());
        let (s, n) = parse_pairs([("ds", "cifar"), ("dk", "-3"), ("dseed", "x")]);
        assert_eq!(s, UrlState { ds: None, k: DEFAULT_K, seed: 0, balanced: false });
        assert_eq!(n.len(), 3);
        let (s, n) = parse_pairs([("dk", "999999999")]);
        assert_eq!(s.k, MAX_K);
        assert_eq!(n.len(), 1);
    }
}
