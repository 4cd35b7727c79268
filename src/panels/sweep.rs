//! Phase-transition fractions and nearest-neighbour galleries (paper Figs. 1–4) from a
//! `memgen sweep` result bundle: the one shipped in `www/bundles/mnist/` when the page opens
//! (precomputed, and it says so with the command that made it), or any bundle the user loads.
//! δ sliders relabel every gallery sample from its stored distances, without regenerating.

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::metrics::{capacities, Classified, Rule, CAPACITY_EPSILON, DELTA_M};
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
/// Lighter shades for the point run in this tab.
const LIVE_COLOURS: [RGBColor; 3] = [RGBColor(146, 197, 222), RGBColor(241, 182, 218), RGBColor(166, 219, 160)];

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
    let loss_ref = NodeRef::<Canvas>::new();
    // A point run in this tab on the Datasets panel's S_K.
    let subset = use_context::<crate::panels::datasets::SubsetSignal>().map(|s| s.0);
    let live_cfg = RwSignal::new(LiveSettings {
        steps: 200,
        batch: 32,
        eval: 32,
        sprime_mult: 4,
        sampler_steps: 20,
        seed: 0,
        lr: DEFAULT_LR,
        base_channels: DEFAULT_BASE,
        groups: DEFAULT_GROUPS,
    });
    let ctl = LiveCtl {
        phase: RwSignal::new("idle".to_string()),
        status: RwSignal::new(String::new()),
        progress: RwSignal::new(0.0),
        losses: RwSignal::new(Vec::new()),
        paused: RwSignal::new(false),
        gen: StoredValue::new(0),
        sweep_label: RwSignal::new(String::new()),
        resumed_at: RwSignal::new(0),
        saved_step: RwSignal::new(0),
    };
    let live_point = RwSignal::new(None::<(usize, [f64; 3])>);
    // Points of the sweep run in this tab (K, fractions under the δ at their end).
    let live_sweep = RwSignal::new(Vec::<(usize, [f64; 3])>::new());
    // An unfinished sweep of this browser: its schedule and settings.
    let active: Option<(String, LiveSettings)> = storage_get(ACTIVE_SWEEP).ok().flatten().and_then(|v| serde_json::from_str(&v).ok());
    let schedule = RwSignal::new(active.as_ref().map(|a| a.0.clone()).unwrap_or_else(|| "2,4,8,16".to_string()));
    if let Some((_, cfg)) = active {
        live_cfg.set(cfg);
    }
    let sweep_resume = StoredValue::new(active.is_some());
    let gpu_available = crate::compute::backend().is_some_and(|b| b.kernels.is_some());
    // On WebGPU the UNet trains in a Web Worker (its first steps build the WGSL of hundreds of
    // kernels, which on the page's thread blocked the tab); sampling runs here on the CPU with
    // the weights it sends back. On a software adapter (SwiftShader) WebGPU is far slower than
    // the CPU backend in wasm, so there it is opt-in.
    let software = crate::compute::software_adapter();
    let use_gpu = RwSignal::new(gpu_available && !software);

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
        let l = loaded.get();
        let live = live_point.get();
        let mut sweep_pts = live_sweep.get();
        if let Some(p) = live {
            if !sweep_pts.iter().any(|q| q.0 == p.0) {
                sweep_pts.push(p);
            }
        }
        sweep_pts.sort_by_key(|p| p.0);
        let Some(c) = plot_ref.get() else { return };
        if l.is_none() && sweep_pts.is_empty() {
            return;
        }
        let rows = l.as_ref().map(|l| l.rows.clone()).unwrap_or_default();
        const NAMES: [&str; 3] = ["memorized", "spurious", "generalized"];
        const LIVE: [&str; 3] = ["memorized (this tab)", "spurious (this tab)", "generalized (this tab)"];
        let mut series: Vec<ErrorSeries> =
            (0..3).filter(|_| !rows.is_empty()).map(|i| ErrorSeries { label: NAMES[i], points: rows.iter().map(|r| (r.k as f64, r.f[i], r.std[i])).collect(), colour: COLOURS[i] }).collect();
        if !sweep_pts.is_empty() {
            series.extend((0..3).map(|i| ErrorSeries { label: LIVE[i], points: sweep_pts.iter().map(|(k, f)| (*k as f64, f[i], 0.0)).collect(), colour: LIVE_COLOURS[i] }));
        }
        let caps = capacities(&rows.iter().map(|r| (r.k, r.fractions())).collect::<Vec<_>>(), CAPACITY_EPSILON);
        let markers: Vec<(&str, f64)> = [("MC", caps.mc), ("SC", caps.sc), ("GC", caps.gc)].into_iter().filter_map(|(n, k)| Some((n, k? as f64))).collect();
        let title = match &l {
            Some(l) => format!("{} · {} model · |S_eval| = {}", l.info.dataset, l.info.model, l.info.n_eval),
            None => "run in this tab".to_string(),
        };
        fractions_plot(&c, &title, &series, &markers, selected_k.get().or(live.map(|p| p.0)).map(|k| k as f64));
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

    // Loss curve of the run in this tab.
    Effect::new(move |_| {
        let l = ctl.losses.get();
        if let Some(c) = loss_ref.get() {
            let pts: Vec<(f64, f64)> = l.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v as f64)).collect();
            let hi = pts.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-3) * 1.05;
            crate::plot::line_plot(&c, "training loss (this tab)", "step", false, (0.0, hi), &[crate::plot::Series { label: "loss", points: &pts, colour: COLOURS[0] }]);
        }
    });

    let start_point = move |sub: crate::panels::datasets::SubsetK, cfg: LiveSettings| {
        let gen = ctl.gen.get_value() + 1;
        ctl.gen.set_value(gen);
        ctl.losses.set(Vec::new());
        ctl.paused.set(false);
        ctl.progress.set(0.0);
        let gpu = use_gpu.get_untracked() && gpu_available;
        spawn_local(async move {
            match run_live(sub, cfg, gpu, ctl, gen).await {
                Ok(g) => {
                    let f = label_fractions(g.classify(&Rule::Ratio { delta_m: delta_m.get_untracked(), delta_s: delta_s.get_untracked() }).iter().map(|c| c.label));
                    live_point.set(Some((g.k, [f.memorized, f.spurious, f.generalized])));
                    selected_k.set(None);
                    picked.set(None);
                    gallery.set(Some(Arc::new(g)));
                    gallery_state.set("done".into());
                    ctl.phase.set("done".into());
                    ctl.progress.set(1.0);
                    ctl.status.set("Done: the gallery below shows this tab's samples.".into());
                }
                Err(e) if e == "cancelled" => {}
                Err(e) => ctl.phase.set(format!("error: {e}")),
            }
        });
    };
    let run_here = move |_| {
        let Some(sub) = subset.and_then(|s| s.get_untracked()) else {
            notice.set(Some("Pick a dataset in the Datasets panel first: the point is trained on its S_K.".into()));
            return;
        };
        ctl.sweep_label.set(String::new());
        start_point(sub, live_cfg.get_untracked());
    };
    // Re-runs a bundle's point K in this tab with the bundle's settings: its training subset
    // (the Datasets panel's set, the bundle's seed), its network, steps, batch and learning
    // rate, and the per-point seed `memgen sweep` used, so the run is the CLI's run.
    let rerun_point = move |k: usize| {
        let Some(l) = loaded.get_untracked() else { return };
        let Some(r) = l.info.rerun.clone() else {
            notice.set(Some("This bundle's manifest does not record the UNet's settings (an ideal-denoiser sweep?), so its points cannot be re-run here.".into()));
            return;
        };
        let Some(sub) = subset.and_then(|s| s.get_untracked()) else {
            notice.set(Some(format!("Open {} in the Datasets panel first: the re-run trains on its training split.", l.info.dataset)));
            return;
        };
        if sub.name != l.info.dataset {
            notice.set(Some(format!("This bundle was made on {}, but the Datasets panel shows {}: choose {} there, then re-run. Nothing was started.", l.info.dataset, sub.name, l.info.dataset)));
            return;
        }
        let point = match (crate::panels::datasets::SubsetK { seed: r.seed, balanced: false, ..sub }).with_k(k) {
            Ok(p) => p,
            Err(e) => {
                notice.set(Some(format!("K = {k} cannot be re-run here: {e}.")));
                return;
            }
        };
        // The bundle's gallery holds the training images its samples were compared with:
        // they must be this subset's, or the set is not the one the bundle was trained on.
        if let Some(g) = gallery.get_untracked().filter(|g| g.k == k) {
            let d = point.hwc.iter().product::<usize>();
            let differs = g.train_images.iter().find(|t| unbase64(&t.image).as_deref() != point.pixels.get(t.index * d..(t.index + 1) * d));
            if let Some(t) = differs {
                notice.set(Some(format!("The Datasets panel's {} is not the set this bundle was trained on (training image {} of S_K differs); nothing was started.", point.name, t.index)));
                return;
            }
        }
        let cfg = LiveSettings {
            steps: r.steps,
            batch: r.batch,
            eval: r.n_eval,
            sprime_mult: r.sprime_mult,
            sampler_steps: r.sampler_steps,
            seed: memgen_core::spec::sweep_point_seed(r.seed, k),
            lr: r.lr,
            base_channels: r.base_channels,
            groups: r.groups,
        };
        if let Err(e) = cfg.net(point.hwc).validate() {
            notice.set(Some(format!("The bundle's network cannot be built here: {e}.")));
            return;
        }
        notice.set((r.sampler_kind != "ddim").then(|| format!("The bundle sampled with {}; this tab samples with DDIM ({} steps).", r.sampler_kind, r.sampler_steps)));
        live_cfg.set(cfg);
        ctl.sweep_label.set(format!("re-run of the bundle's K = {k} · "));
        start_point(point, cfg);
    };
    // A sweep over a K schedule in this tab: finished points are kept in browser storage, so a
    // reload (or a new click) resumes where it stopped.
    let sweep_here = move || {
        let Some(sub) = subset.and_then(|s| s.get_untracked()) else {
            notice.set(Some("Pick a dataset in the Datasets panel first: the sweep trains on its S_K for each K.".into()));
            return;
        };
        let ks = match parse_schedule(&schedule.get_untracked()) {
            Ok(ks) => ks,
            Err(e) => {
                notice.set(Some(format!("{e}; nothing was started.")));
                return;
            }
        };
        let cfg = live_cfg.get_untracked();
        let schedule_text = ks.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",");
        let _ = storage_set(ACTIVE_SWEEP, &serde_json::to_string(&(schedule_text, cfg)).unwrap_or_default());
        let gen = ctl.gen.get_value() + 1;
        ctl.gen.set_value(gen);
        ctl.paused.set(false);
        live_sweep.set(Vec::new());
        let gpu = use_gpu.get_untracked() && gpu_available;
        spawn_local(async move {
            let n = ks.len();
            for (i, &k) in ks.iter().enumerate() {
                let key = point_key(&sub, &cfg, k);
                let stored = storage_get(&key).ok().flatten().and_then(|v| serde_json::from_str::<[f64; 3]>(&v).ok());
                let f = match stored {
                    Some(f) => f,
                    None => {
                        let point = match sub.with_k(k) {
                            Ok(p) => p,
                            Err(e) => {
                                ctl.phase.set(format!("error: {e}"));
                                return;
                            }
                        };
                        ctl.losses.set(Vec::new());
                        ctl.sweep_label.set(format!("K = {k} ({} of {n}) · ", i + 1));
                        match run_live(point, cfg, gpu, ctl, gen).await {
                            Ok(g) => {
                                let fr = label_fractions(g.classify(&Rule::Ratio { delta_m: delta_m.get_untracked(), delta_s: delta_s.get_untracked() }).iter().map(|c| c.label));
                                let f = [fr.memorized, fr.spurious, fr.generalized];
                                let _ = storage_set(&key, &serde_json::to_string(&f).unwrap_or_default());
                                selected_k.set(None);
                                gallery.set(Some(Arc::new(g)));
                                gallery_state.set("done".into());
                                f
                            }
                            Err(e) if e == "cancelled" => return,
                            Err(e) => {
                                ctl.phase.set(format!("error: K = {k}: {e}"));
                                return;
                            }
                        }
                    }
                };
                live_sweep.update(|v| v.push((k, f)));
            }
            ctl.sweep_label.set(String::new());
            let _ = storage_remove(ACTIVE_SWEEP);
            ctl.phase.set("sweep-done".into());
            ctl.progress.set(1.0);
            ctl.status.set(format!("Sweep done: {n} K values (finished points are kept in this browser)."));
        });
    };
    // Resume an unfinished sweep once the Datasets panel has published S_K after a reload.
    Effect::new(move |_| {
        let ready = subset.is_some_and(|s| s.with(|v| v.is_some()));
        if ready && sweep_resume.get_value() {
            sweep_resume.set_value(false);
            ctl.status.set("Resuming the sweep that was running before the reload…".into());
            sweep_here();
        }
    });

    let live_num = move |label: &'static str, testid: &'static str, get: fn(&LiveSettings) -> usize, set: fn(&mut LiveSettings, usize), lo: usize, hi: usize| {
        view! {
            <label>{label}
                <input type="number" class="narrow" min=lo max=hi data-testid=testid prop:value=move || live_cfg.with(|c| get(c).to_string())
                    on:change=move |ev| {
                        match event_target_value(&ev).trim().parse::<usize>() {
                            Ok(v) if (lo..=hi).contains(&v) => live_cfg.update(|c| set(c, v)),
                            _ => notice.set(Some(format!("{label}must be a whole number from {lo} to {hi}; kept {}.", live_cfg.with_untracked(|c| get(c))))),
                        }
                    } />
            </label>
        }
    };
    let busy = move || matches!(ctl.phase.get().as_str(), "training" | "sampling" | "labelling");
    let live_view = view! {
        <div class="live" data-testid="sweep-live">
            <h3>"Run a point in this tab"</h3>
            <p class="muted" data-testid="sweep-live-subset">{move || match subset.and_then(|s| s.get()) {
                Some(s) => live_cfg.with(|c| format!("Trains the UNet ({} parameters: base width {}, at {}×{}; Adam lr {}) on S_K from the Datasets panel: {}, K = {}, seed {} — then generates S_eval and S′ = {}·K with DDIM and labels them.",
                    c.net(s.hwc).parameter_count(), c.base_channels, s.hwc[0], s.hwc[1], c.lr, s.name, s.k, s.seed, c.sprime_mult)),
                None => "Pick a dataset in the Datasets panel: the point trains on its S_K.".to_string(),
            }}</p>
            <div class="controls">
                {live_num("steps ", "live-steps", |c| c.steps, |c, v| c.steps = v, 1, 100_000)}
                {live_num("batch ", "live-batch", |c| c.batch, |c, v| c.batch = v, 1, 256)}
                {live_num("|S_eval| ", "live-eval", |c| c.eval, |c, v| c.eval = v, 1, 2_000)}
                {live_num("S′ per K ", "live-mult", |c| c.sprime_mult, |c, v| c.sprime_mult = v, 1, 16)}
                {live_num("DDIM steps ", "live-sampler-steps", |c| c.sampler_steps, |c, v| c.sampler_steps = v, 1, 1000)}
                <label><input type="checkbox" data-testid="live-gpu" prop:checked=move || use_gpu.get() disabled=!gpu_available on:change=move |ev| use_gpu.set(event_target_checked(&ev)) />
                    {if !gpu_available {
                        " on WebGPU (not available here: CPU in WebAssembly, slower)"
                    } else if software {
                        " train on WebGPU, in a worker (off by default: this adapter is a software renderer, much slower here than the CPU in WebAssembly)"
                    } else {
                        " train on WebGPU, in a worker (the page stays free; sampling runs here on the CPU)"
                    }}</label>
            </div>
            <div class="controls">
                <button data-testid="live-run" on:click=run_here disabled=busy>"Train, generate and label"</button>
                <button data-testid="live-pause" disabled=move || !busy() on:click=move |_| ctl.paused.update(|p| *p = !*p)>{move || if ctl.paused.get() { "Resume" } else { "Pause" }}</button>
                <button data-testid="live-cancel" disabled=move || !busy() on:click=move |_| { ctl.gen.update_value(|g| *g += 1); let _ = storage_remove(ACTIVE_SWEEP); ctl.sweep_label.set(String::new()); ctl.phase.set("cancelled".into()); ctl.status.set("Cancelled.".into()); }>"Cancel"</button>
                <span class="progress" data-testid="live-progress" data-state=move || ctl.phase.get() data-losses=move || ctl.losses.with(|l| l.len().to_string())
                    data-resumed-at=move || ctl.resumed_at.get().to_string() data-saved-step=move || ctl.saved_step.get().to_string()>
                    {move || { let p = ctl.phase.get(); if let Some(e) = p.strip_prefix("error: ") { format!("Failed: {e}") } else if ctl.paused.get() { format!("paused · {}", ctl.status.get()) } else { ctl.status.get() } }}
                    " " <progress max="1" value=move || ctl.progress.get()></progress>
                </span>
            </div>
            <div class="controls">
                <label>"K schedule "
                    <input type="text" data-testid="live-schedule" prop:value=move || schedule.get() on:change=move |ev| schedule.set(event_target_value(&ev)) />
                </label>
                <button data-testid="live-sweep" on:click=move |_| sweep_here() disabled=busy>"Sweep these K here"</button>
                <span class="muted" data-testid="live-sweep-points" data-ks=move || live_sweep.with(|v| v.iter().map(|p| p.0.to_string()).collect::<Vec<_>>().join(","))>
                    "Each K trains its own model; finished points are kept in this browser and a reload resumes the sweep."
                </span>
            </div>
            <canvas node_ref=loss_ref width="340" height="200" data-testid="live-loss"></canvas>
        </div>
    };

    let relabelled = Memo::new(move |_| label_fractions(classified.get().iter().map(|c| c.label)));
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
                    <span data-testid="sweep-plot" data-ks=ks_attr></span>
                    <div class="controls">
                        <span>"Gallery at K: "</span>
                        {ks.into_iter().map(|k| view! {
                            <button data-testid=format!("sweep-k{k}") class:active=move || selected_k.get() == Some(k) on:click=move |_| selected_k.set(Some(k))>{k.to_string()}</button>
                        }).collect_view()}
                    </div>
                    {l.info.rerun.clone().map(|r| {
                        let [h, w, c] = r.hwc;
                        let params = memgen_models::unet::UNetConfig { channels: c, height: h, width: w, base_channels: r.base_channels, groups: r.groups };
                        let what = format!(
                            "Trains the bundle's network (base width {}, {} parameters at {h}×{w}) for {} steps at batch {} with Adam lr {} on the bundle's S_K (seed {}), then samples |S_eval| = {} and S′ = {}·K with DDIM ({} steps) and labels them: the point's own `memgen sweep` run, repeated in this tab, where it is slower. Progress, pause and cancel are below; the result is drawn beside the bundle's.",
                            r.base_channels, params.parameter_count(), r.steps, r.batch, r.lr, r.seed, r.n_eval, r.sprime_mult, r.sampler_steps);
                        view! {
                            <div class="controls">
                                <button data-testid="sweep-rerun" disabled=busy on:click=move |_| if let Some(k) = selected_k.get_untracked() { rerun_point(k) }>
                                    {move || selected_k.get().map(|k| format!("Re-run K = {k} in this tab")).unwrap_or_else(|| "Re-run a point in this tab".into())}
                                </button>
                                <span class="muted" data-testid="sweep-rerun-what">{what}</span>
                            </div>
                        }
                    })}
                }
            })}
            <canvas node_ref=plot_ref width="640" height="360" data-testid="sweep-plot-canvas"
                style=move || if loaded.get().is_some() || live_point.get().is_some() || !live_sweep.get().is_empty() { "" } else { "display:none" }></canvas>
            {live_view}
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
                data-memorized=move || format!("{:.4}", relabelled.get().memorized)
                data-spurious=move || format!("{:.4}", relabelled.get().spurious)
                data-generalized=move || format!("{:.4}", relabelled.get().generalized)
                data-n=move || classified.get().len().to_string()>
                {move || {
                    let s = gallery_state.get();
                    if let Some(e) = s.strip_prefix("error: ") { return format!("The gallery could not be loaded: {e}"); }
                    if s == "loading" { return "Loading the gallery…".into(); }
                    let f = relabelled.get();
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
                                <div class=format!("gallery-row {}", c.label.as_str()) data-testid="sweep-sample" data-label=c.label.as_str() data-index=s.index.to_string()
                                    data-train=train_attr data-image=s.image.clone()
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

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = localStorage, js_name = getItem, catch)]
    fn storage_get(key: &str) -> Result<Option<String>, wasm_bindgen::JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = setItem, catch)]
    fn storage_set(key: &str, value: &str) -> Result<(), wasm_bindgen::JsValue>;
    #[wasm_bindgen(js_namespace = localStorage, js_name = removeItem, catch)]
    fn storage_remove(key: &str) -> Result<(), wasm_bindgen::JsValue>;
}

/// The browser-storage key of the sweep in progress.
const ACTIVE_SWEEP: &str = "memgen-sweep-active";

/// Parses a K schedule `2,4,8,…`: whole numbers ≥ 2, at most 64 of them, ascending unique.
fn parse_schedule(text: &str) -> Result<Vec<usize>, String> {
    let mut ks = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<usize>() {
            Ok(k) if (2..=100_000).contains(&k) => ks.push(k),
            _ => return Err(format!("“{}” in the K schedule is not a whole number from 2 to 100000", crate::url::preview(part))),
        }
    }
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() || ks.len() > 64 {
        return Err("the K schedule needs 1 to 64 values, like 2,4,8,16".into());
    }
    Ok(ks)
}

/// Storage key of one finished point: everything that decides its result.
fn point_key(sub: &crate::panels::datasets::SubsetK, cfg: &LiveSettings, k: usize) -> String {
    // Non-default network or learning rate (a re-run bundle point) adds to the key; the
    // default settings keep the keys that earlier builds stored.
    let net = if (cfg.lr, cfg.base_channels, cfg.groups) == (DEFAULT_LR, DEFAULT_BASE, DEFAULT_GROUPS) {
        String::new()
    } else {
        format!(":lr{}:b{}:g{}", cfg.lr, cfg.base_channels, cfg.groups)
    };
    format!(
        "memgen-sweep-point:{}:{}:{}:{}:{}:{}:{}:{}:{}{net}:{k}",
        sub.name, sub.seed, sub.balanced, cfg.seed, cfg.steps, cfg.batch, cfg.eval, cfg.sprime_mult, cfg.sampler_steps
    )
}

/// Settings of a point run in this tab.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct LiveSettings {
    steps: usize,
    batch: usize,
    eval: usize,
    sprime_mult: usize,
    sampler_steps: usize,
    seed: u64,
    /// Adam's learning rate, the UNet's base width and GroupNorm groups: the panel's defaults
    /// unless a bundle's point is re-run with the bundle's settings.
    #[serde(default = "default_lr")]
    lr: f64,
    #[serde(default = "default_base")]
    base_channels: usize,
    #[serde(default = "default_groups")]
    groups: usize,
}

const DEFAULT_LR: f64 = 1e-3;
const DEFAULT_BASE: usize = 16;
const DEFAULT_GROUPS: usize = 8;
fn default_lr() -> f64 {
    DEFAULT_LR
}
fn default_base() -> usize {
    DEFAULT_BASE
}
fn default_groups() -> usize {
    DEFAULT_GROUPS
}

impl LiveSettings {
    fn net(&self, hwc: [usize; 3]) -> memgen_models::unet::UNetConfig {
        let [height, width, channels] = hwc;
        memgen_models::unet::UNetConfig { channels, height, width, base_channels: self.base_channels, groups: self.groups }
    }
}

/// Controls shared by the running point and its buttons.
#[derive(Clone, Copy)]
struct LiveCtl {
    phase: RwSignal<String>,
    status: RwSignal<String>,
    progress: RwSignal<f64>,
    losses: RwSignal<Vec<f32>>,
    paused: RwSignal<bool>,
    gen: StoredValue<u64>,
    /// "K = 8 (3 of 5) · " while a sweep runs.
    sweep_label: RwSignal<String>,
    /// The step the current training run started from (non-zero after a resume).
    resumed_at: RwSignal<usize>,
    /// The step of the last training state kept in browser storage.
    saved_step: RwSignal<usize>,
}

/// Browser-storage key prefix of a training run in progress (the rest is the point's key).
const TRAIN_SNAPSHOT_PREFIX: &str = "memgen-sweep-train:";
/// How often a training run in this tab is kept in browser storage.
const SNAPSHOT_EVERY_MS: f64 = 5_000.0;

/// A training run kept in browser storage: the snapshot (base64) and the losses so far.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct StoredTraining {
    snapshot: String,
    losses: Vec<f32>,
}

impl LiveCtl {
    /// Waits while paused; `Err` once the run was cancelled (its generation superseded).
    async fn checkpoint(&self, gen: u64) -> Result<(), String> {
        loop {
            if self.gen.get_value() != gen {
                return Err("cancelled".into());
            }
            if !self.paused.get_untracked() {
                break;
            }
            crate::compute::sleep_ms(100).await;
        }
        crate::compute::yield_now().await;
        Ok(())
    }
}

/// Trains the point's UNet in this tab with the fused CPU trainer (the same network, batches,
/// clipping, Adam and EMA as burn's; `memgen sweep --engine fused`), keeping its state in
/// browser storage. Chunks of about 30 ms of steps, with the event loop in between.
async fn train_in_tab(
    sub: &crate::panels::datasets::SubsetK,
    tc: memgen_models::unet::UNetTrainConfig,
    cfg: LiveSettings,
    device: &burn::tensor::Device,
    ctl: LiveCtl,
    gen: u64,
) -> Result<memgen_models::unet::UNet, String> {
    use memgen_models::unet::fused::{FusedUNetTraining, DEFAULT_SHARDS};
    use memgen_models::unet::to_model;
    let ([h, w, c], k) = (sub.hwc, sub.k);
    let images = to_model(&sub.pixels, h, w, c);
    // Training is kept in browser storage (weights, EMA, Adam state, step, losses) every
    // SNAPSHOT_EVERY_MS, so a reload goes on from there: the resumed run is the same run.
    let snap_key = point_key(sub, &cfg, k).replacen("memgen-sweep-point:", TRAIN_SNAPSHOT_PREFIX, 1);
    let stored = storage_get(&snap_key).ok().flatten().and_then(|v| serde_json::from_str::<StoredTraining>(&v).ok());
    let mut run = match stored.and_then(|st| unbase64(&st.snapshot).map(|b| (b, st.losses))) {
        Some((bytes, losses)) => match FusedUNetTraining::resume(tc, &images, cfg.seed, DEFAULT_SHARDS, &bytes) {
            Ok(r) => {
                ctl.losses.set(losses);
                ctl.status.set(format!("Resumed training at step {} from this browser's storage.", r.steps_done()));
                r
            }
            Err(e) => {
                let _ = storage_remove(&snap_key);
                ctl.status.set(format!("The stored training state could not be used ({e}); training from the start."));
                FusedUNetTraining::new(tc, &images, cfg.seed, DEFAULT_SHARDS)?
            }
        },
        None => FusedUNetTraining::new(tc, &images, cfg.seed, DEFAULT_SHARDS)?,
    };
    ctl.resumed_at.set(run.steps_done());
    ctl.phase.set("training".into());
    let t0 = crate::compute::now_ms();
    let (start, mut saved_at) = (run.steps_done(), t0);
    while !run.finished() {
        if let Err(e) = ctl.checkpoint(gen).await {
            let _ = storage_remove(&snap_key);
            return Err(e);
        }
        let chunk_t0 = crate::compute::now_ms();
        let mut l = run.run_steps(1);
        while !run.finished() && crate::compute::now_ms() - chunk_t0 < 30.0 {
            l.extend(run.run_steps(1));
        }
        crate::compute::yield_now().await;
        if l.iter().any(|x| !x.is_finite()) {
            let _ = storage_remove(&snap_key);
            return Err("training diverged (non-finite loss)".into());
        }
        ctl.losses.update(|v| v.extend(l));
        let done = run.steps_done();
        if crate::compute::now_ms() - saved_at >= SNAPSHOT_EVERY_MS && !run.finished() {
            saved_at = crate::compute::now_ms();
            // Snapshots read the weights back synchronously: the CPU backend only.
            if let Ok(bytes) = run.snapshot(cfg.seed) {
                let value = StoredTraining { snapshot: b64(&bytes), losses: ctl.losses.get_untracked() };
                if storage_set(&snap_key, &serde_json::to_string(&value).unwrap_or_default()).is_ok() {
                    ctl.saved_step.set(done);
                }
            }
        }
        let rate = (done - start) as f64 / ((crate::compute::now_ms() - t0) / 1000.0).max(1e-3);
        ctl.progress.set(done as f64 / cfg.steps as f64);
        ctl.status.set(format!("{}training step {done} / {} · {rate:.2} steps/s · about {:.0} s left", ctl.sweep_label.get_untracked(), cfg.steps, (cfg.steps - done) as f64 / rate.max(1e-9)));
    }
    let _ = storage_remove(&snap_key);
    run.ema_model(&device.clone().inner())
}

/// Trains the point's UNet on WebGPU in a Web Worker (src/worker.rs); returns its EMA weights
/// on `plain` (the page's CPU device), where the page samples. Pause and cancel reach it.
async fn train_in_worker(
    sub: &crate::panels::datasets::SubsetK,
    tc: memgen_models::unet::UNetTrainConfig,
    seed: u64,
    ctl: LiveCtl,
    gen: u64,
    plain: &burn::tensor::Device,
) -> Result<memgen_models::unet::UNet, String> {
    use crate::worker::{FromWorker, ToWorker, UNetJob, WorkerHandle, TRAIN_WORKER_URL};
    let (tx, mut rx) = futures_channel::mpsc::unbounded::<(FromWorker, Option<Vec<u8>>)>();
    let handle = WorkerHandle::spawn(TRAIN_WORKER_URL, move |m, b| {
        let _ = tx.unbounded_send((m, b));
    })?;
    handle.send_with(ToWorker::UnetTrain(UNetJob { config: tc, seed, chunk: 1 }), Some(sub.pixels.to_vec()));
    ctl.resumed_at.set(0);
    ctl.phase.set("training".into());
    ctl.status.set(format!("{}starting the training worker (WebGPU)…", ctl.sweep_label.get_untracked()));
    let (mut paused_sent, mut device, mut weights) = (false, String::new(), None);
    loop {
        if ctl.gen.get_value() != gen {
            return Err("cancelled".into());
        }
        let paused = ctl.paused.get_untracked();
        if paused != paused_sent {
            handle.send(if paused { ToWorker::Pause } else { ToWorker::Resume });
            paused_sent = paused;
        }
        while let Ok((msg, bytes)) = rx.try_recv() {
            match msg {
                FromWorker::Ready => {}
                FromWorker::Device { label } => device = label,
                FromWorker::Progress { done, total, losses, secs } => {
                    ctl.losses.update(|v| v.extend(losses));
                    let rate = done as f64 / secs.max(1e-3);
                    ctl.progress.set(done as f64 / total.max(1) as f64);
                    ctl.status.set(format!(
                        "{}training on {device} in a worker: step {done} / {total} · {rate:.2} steps/s · about {:.0} s left",
                        ctl.sweep_label.get_untracked(),
                        total.saturating_sub(done) as f64 / rate.max(1e-9)
                    ));
                }
                FromWorker::Weights { .. } => {
                    let b = bytes.ok_or("the worker sent no weights")?;
                    weights = Some(memgen_models::unet::snapshot::decode_weights(&b, plain)?.0);
                }
                FromWorker::Finished { .. } => return weights.ok_or_else(|| "the worker finished without weights".to_string()),
                FromWorker::Failed { message } => return Err(format!("training worker: {message}")),
            }
        }
        crate::compute::sleep_ms(100).await;
    }
}

fn b64(bytes: &[u8]) -> String {
    let bin: String = bytes.iter().map(|&b| b as char).collect();
    web_sys::window().and_then(|w| w.btoa(&bin).ok()).unwrap_or_default()
}

/// Trains the UNet on `sub` on `device`, generates S_eval and S′, labels them (exact kNN in
/// pixel space p/255, the CLI's metric) and returns the gallery of every sample.
async fn run_live(sub: crate::panels::datasets::SubsetK, cfg: LiveSettings, gpu: bool, ctl: LiveCtl, gen: u64) -> Result<Gallery, String> {
    use memgen_core::spec::NoiseStream;
    use memgen_models::unet::{quantize_u8, to_packed, ImageSampling, SamplerConfig, UNetTrainConfig, STREAM_UNET_EVAL, STREAM_UNET_SYNTHETIC};
    let [h, w, c] = sub.hwc;
    let d = h * w * c;
    let k = sub.k;
    if k < 2 {
        return Err("S_K needs at least 2 images for the labels".into());
    }
    let net = cfg.net(sub.hwc);
    net.validate().map_err(|e| e.to_string())?;
    let mut tc = UNetTrainConfig::browser(net);
    tc.steps = cfg.steps;
    tc.batch = cfg.batch;
    tc.lr = cfg.lr;
    let device = memgen_models::device::LabDevice::cpu().device;
    let plain = device.clone().inner();
    let ema = if gpu { train_in_worker(&sub, tc, cfg.seed, ctl, gen, &plain).await? } else { train_in_tab(&sub, tc, cfg, &device, ctl, gen).await? };
    ctl.phase.set("sampling".into());
    // Sampling runs the fused forward pass on the EMA weights (burn's ε̂ to 1e-5; several
    // times faster on the tab's one CPU thread).
    let ema = memgen_models::unet::fused::FusedUNet::from_unet(&ema, net)?;
    let sampler = SamplerConfig::ddim(cfg.sampler_steps);
    let n_synth = cfg.sprime_mult * k;
    let total = (cfg.eval + n_synth) * cfg.sampler_steps;
    let mut evals_done = 0usize;
    let t1 = crate::compute::now_ms();
    let mut sets = Vec::new();
    for (count, stream) in [(cfg.eval, STREAM_UNET_EVAL), (n_synth, STREAM_UNET_SYNTHETIC)] {
        let mut noise = NoiseStream::new(cfg.seed, stream);
        let mut out = Vec::with_capacity(count * d);
        let mut done = 0;
        while done < count {
            let b = 32.min(count - done);
            let mut s = ImageSampling::new(&ema, sampler, [b, c, h, w], &plain, &mut noise);
            while !s.finished() {
                ctl.checkpoint(gen).await?;
                s.run_steps_synced(1).await?;
                evals_done += b;
                let rate = evals_done as f64 / ((crate::compute::now_ms() - t1) / 1000.0).max(1e-3);
                ctl.progress.set(evals_done as f64 / total as f64);
                ctl.status.set(format!("{}sampling: {evals_done} / {total} network evaluations · about {:.0} s left", ctl.sweep_label.get_untracked(), (total - evals_done) as f64 / rate.max(1e-9)));
            }
            out.extend(s.samples().await?);
            done += b;
        }
        sets.push(to_packed(&quantize_u8(&out), h, w, c));
    }
    ctl.phase.set("labelling".into());
    crate::compute::yield_now().await;
    let g = memgen_core::gallery::gallery_neighbours(&sub.pixels, &sets[0], &sets[1], d, cfg.eval).map_err(|e| e.to_string())?;
    let (nt, ns) = (&g.train, &g.synthetic);
    let samples = (0..cfg.eval)
        .map(|i| {
            crate::bundle::GallerySample {
                index: i,
                image: b64(&sets[0][i * d..(i + 1) * d]),
                train_neighbours: nt.indices_of(i).to_vec(),
                train_distances: nt.distances_of(i).to_vec(),
                synthetic_neighbours: ns.indices_of(i).to_vec(),
                synthetic_distances: ns.distances_of(i).to_vec(),
            }
        })
        .collect();
    let img = |px: &[u8], j: usize| crate::bundle::IndexedImage { index: j, image: b64(&px[j * d..(j + 1) * d]) };
    Ok(Gallery {
        k,
        shape: sub.hwc,
        n_eval: cfg.eval,
        n_synthetic: n_synth,
        samples,
        train_images: g.train_refs.iter().map(|&j| img(&sub.pixels, j)).collect(),
        synthetic_images: g.synthetic_refs.iter().map(|&j| img(&sets[1], j)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_sorted_unique_and_reject_bad_values() {
        assert_eq!(parse_schedule(" 8, 2,4,2 ,").unwrap(), vec![2, 4, 8]);
        for bad in ["", "1,2", "2,x", "2,-4", "2,1e9", &(2..100).map(|k| k.to_string()).collect::<Vec<_>>().join(",")] {
            assert!(parse_schedule(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_schedule("2,x").unwrap_err().contains("“x”"));
    }
}
