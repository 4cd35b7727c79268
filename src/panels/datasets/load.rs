//! Loading a set: the manifest and a packed file streamed from `www/data` (bytes received
//! against the total, cancellable, decoded chunk by chunk and checksummed a slice at a time so
//! the tab never freezes), the tab's cache of sets already loaded, and the user's own files
//! converted exactly as `memgen import` does.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_data::{DatasetId, DatasetInfo, Manifest, ManifestEntry, PackedDataset, PackedStream};
use wasm_bindgen_futures::JsFuture;

use super::{fmt_bytes, short, FetchState, Loaded, Origin, Panel, Progress};
use crate::browser::{fetch_response, input_files, js_err, read_file, JsFile};

/// Where the packed files and the manifest are served (relative to the page).
const DATA_DIR: &str = "www/data";
/// Limits on a user's file.
const MAX_UPLOAD_BYTES: f64 = 200.0 * 1024.0 * 1024.0;
const MAX_UPLOAD_IMAGES: usize = 100_000;

pub(crate) async fn fetch_manifest() -> Result<Manifest, String> {
    let url = format!("{DATA_DIR}/{}", memgen_data::MANIFEST_FILE);
    let resp = fetch_response(&url).await?;
    let buf = JsFuture::from(resp.array_buffer()).await.map_err(|e| format!("could not read {url}: {}", js_err(e)))?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    Manifest::from_json(&bytes).map_err(|e| format!("{url}: {e}"))
}

/// Streams one packed file into [`PackedStream`]; `progress(received, total)` after each
/// chunk; returns `Ok(None)` when cancelled.
pub(crate) async fn fetch_packed(entry: &ManifestEntry, progress: &dyn Fn(f64, f64), cancelled: &dyn Fn() -> bool) -> Result<Option<PackedDataset>, String> {
    let url = format!("{DATA_DIR}/{}", entry.file);
    let resp = fetch_response(&url).await?;
    let length = resp.headers().get("Content-Length").and_then(|v| v.trim().parse::<f64>().ok());
    let mut total = if entry.bytes > 0 { entry.bytes as f64 } else { length.unwrap_or(0.0) };
    let body = resp.body().ok_or_else(|| format!("{url}: the response has no body"))?;
    let reader = body.get_reader();
    let mut stream = PackedStream::new();
    let mut last_yield = crate::browser::now_ms();
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
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(js_err)?;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        stream.push(&bytes).map_err(|e| format!("{}: {e}", entry.file))?;
        let received = stream.received() as f64;
        // A server that compresses on the fly may send more than the file's size.
        total = total.max(received);
        progress(received, total);
        if crate::browser::now_ms() - last_yield > 12.0 {
            crate::browser::yield_now().await;
            last_yield = crate::browser::now_ms();
        }
    }
    let received = stream.received() as f64;
    progress(received, received.max(if received >= total { received } else { total }));
    crate::browser::yield_now().await;
    if cancelled() {
        return Ok(None);
    }
    // The checksum of ~50 MB is computed a slice at a time so the tab stays responsive.
    let mut verifier = stream.into_verifier().map_err(|e| format!("{}: {e}", entry.file))?;
    loop {
        let t0 = crate::browser::now_ms();
        let mut done = false;
        while !done && crate::browser::now_ms() - t0 < 12.0 {
            done = verifier.step(1 << 20);
        }
        if done {
            break;
        }
        crate::browser::yield_now().await;
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
        crate::browser::yield_now().await;
        if sniff(&bytes) == Some(InputKind::Zip) {
            // A zip is decoded a few entries at a time so the tab stays responsive.
            let mut job = importer.begin_zip(name, std::io::Cursor::new(bytes.as_slice()), bytes.len() as u64).map_err(|e| e.to_string())?;
            loop {
                let t0 = crate::browser::now_ms();
                let mut done = false;
                while !done && crate::browser::now_ms() - t0 < 12.0 {
                    done = importer.zip_step(&mut job, 8).map_err(|e| e.to_string())?;
                }
                let (at, of) = job.progress();
                progress(format!("Decoding {name}: {at} of {of} images…"));
                crate::browser::yield_now().await;
                if done {
                    break;
                }
            }
        } else {
            progress(format!("Decoding {name}…"));
            crate::browser::yield_now().await;
            importer.push(name, &bytes).map_err(|e| e.to_string())?;
        }
        if hasher_input.len() < 64 * 1024 * 1024 {
            hasher_input.extend_from_slice(&bytes);
        }
        crate::browser::yield_now().await;
    }
    let what = if names.len() == 1 { names[0].clone() } else { format!("{} files", names.len()) };
    let imported = importer.finish(&what).map_err(|e| e.to_string())?;
    let skipped = match imported.skipped.len() {
        0 => String::new(),
        n => {
            let first: Vec<&str> = imported.skipped.iter().take(3).map(String::as_str).collect();
            format!("; {n} archive entries skipped ({}{})", first.join("; "), if n > 3 { "; …" } else { "" })
        }
    };
    let note = format!("{what}: {} images, resized to {side}×{side} {}{skipped}", imported.len(), if colour { "colour" } else { "grey" });
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

impl Panel {
    /// Sets the download's state, if there is a download.
    fn set_fetch_state(self, state: FetchState) {
        self.progress.update(|p| {
            if let Some(p) = p {
                p.state = state
            }
        });
    }

    /// Lowers K to the `n` images of the new set `what` (with a notice) when K is larger.
    fn fit_k(self, n: usize, what: &str) {
        if self.k.get_untracked() > n {
            self.notify(format!("K = {} is more than the {n} images of {what}; using {n}.", self.k.get_untracked()));
            self.k.set(n);
        }
    }

    /// Shows registry set `id`: from this tab's cache, else streamed in (a later load, an
    /// upload or a cancel stops it).
    pub(super) fn load(self, id: DatasetId) {
        let gen = self.load_gen.begin();
        if self.show_cached(id) {
            return;
        }
        self.progress.set(Some(Progress { label: format!("Loading {}", id.title()), bytes: 0.0, total: 0.0, state: FetchState::Loading }));
        spawn_local(self.fetch(id, gen));
    }

    /// Shows registry set `id` from this tab's cache; `false` when it is not there.
    fn show_cached(self, id: DatasetId) -> bool {
        let hit = self.cache.with_value(|c| c.iter().find(|l| matches!(&l.origin, Origin::Registry { id: i, .. } if *i == id)).cloned());
        let Some(l) = hit else { return false };
        if let Origin::Registry { entry, .. } = &l.origin {
            let b = entry.bytes as f64;
            self.progress.set(Some(Progress { label: format!("{} · {}", id.title(), entry.file), bytes: b, total: b, state: FetchState::Done }));
        }
        self.fit_k(l.data.len(), id.title());
        self.loaded.set(Some(l));
        true
    }

    /// Fetches the manifest (once) and streams set `id` in; the load is `gen` (stale once
    /// `load_gen` moves on).
    async fn fetch(self, id: DatasetId, gen: crate::job::Ticket) {
        let cancelled = move || self.load_gen.is_stale(gen);
        if self.manifest.with_value(|m| m.is_none()) {
            match fetch_manifest().await {
                Ok(m) => self.manifest.set_value(Some(m)),
                Err(e) => {
                    if !cancelled() {
                        self.notify(format!("The dataset list could not be loaded: {e}. Build the data with scripts/datasets.sh."));
                        self.set_fetch_state(FetchState::Failed);
                    }
                    return;
                }
            }
        }
        let Some(entry) = self.manifest.with_value(|m| m.as_ref().and_then(|m| m.web_train(id).cloned())) else {
            self.notify(format!("The dataset list has no file for {} that the app can load.", id.title()));
            self.set_fetch_state(FetchState::Failed);
            return;
        };
        let label = format!("{} · {}", id.title(), entry.file);
        let report = move |bytes: f64, total: f64| {
            if !cancelled() {
                self.progress.set(Some(Progress { label: label.clone(), bytes, total, state: FetchState::Loading }));
            }
        };
        report(0.0, entry.bytes as f64);
        match fetch_packed(&entry, &report, &cancelled).await {
            Ok(Some(data)) if !cancelled() => {
                self.set_fetch_state(FetchState::Done);
                self.fit_k(data.len(), &entry.file);
                let l = Loaded { data: Arc::new(data), origin: Origin::Registry { id, entry: Box::new(entry) } };
                self.cache.update_value(|c| c.push(l.clone()));
                self.loaded.set(Some(l));
            }
            Err(e) if !cancelled() => {
                self.notify(format!("{} could not be loaded: {e}. The previous dataset stays.", id.title()));
                self.set_fetch_state(FetchState::Failed);
            }
            _ => {}
        }
    }

    /// Stops the download under way.
    pub(super) fn cancel(self) {
        self.load_gen.cancel();
        self.set_fetch_state(FetchState::Cancelled);
    }

    /// The user's files, converted at the chosen resolution and colour, become the set shown;
    /// files too large or that do not convert give a notice and the current set stays.
    pub(super) fn upload(self, ev: leptos::ev::Event) {
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
            self.notify(format!("{name} is {}; up to 200 MB can be loaded. The current dataset stays.", fmt_bytes(size)));
            return;
        }
        let (side, colour) = (self.resolution.get_untracked(), self.colour.get_untracked());
        self.uploading.set(Some(format!("Reading {name}…")));
        spawn_local(async move {
            let result = import_files(list, side, colour, move |m| self.uploading.set(Some(m))).await;
            self.uploading.set(None);
            match result {
                Ok((data, note)) => {
                    // A new set: cancel any download so it does not replace this one.
                    self.load_gen.cancel();
                    self.progress.update(|p| {
                        if let Some(p) = p.as_mut().filter(|p| p.state == FetchState::Loading) {
                            p.state = FetchState::Cancelled
                        }
                    });
                    self.loaded.set(Some(Loaded { data: Arc::new(data), origin: Origin::Upload { file: name, note } }));
                }
                Err(e) => self.notify(format!("{}. The current dataset stays.", e.trim_end_matches('.'))),
            }
        });
    }
}
