//! Phase-transition fractions and nearest-neighbour galleries (paper Figs. 1–4) from a
//! `memgen sweep` result bundle: the one shipped in `www/bundles/mnist/` when the page opens
//! (precomputed, and it says so with the command that made it), or any bundle the user loads.
//! δ sliders relabel every gallery sample from its stored distances, without regenerating.
//! Points can be run in the tab too (`live`): the library's point, the CLI's code.
//!
//! The panel is a few components over one [`Panel`] of signals: the bundle's header and K
//! buttons ([`BundleHeader`]), the plot ([`FractionsPlot`]), the in-tab runs
//! ([`live_view::LiveControls`]), the relabelling controls and the gallery ([`gallery`]).

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::metrics::{capacities, fractions, Classified, Label, Rule, CAPACITY_EPSILON, DELTA_M};
use memgen_models::bundle::{Bundle, Gallery, MAX_FILE_BYTES};
use plotters::style::RGBColor;

use crate::browser::{input_files, read_file};
use crate::panels::datasets::{SubsetK, SubsetSignal};
use crate::plot::{fractions_plot, ErrorSeries};

mod basins;
mod live;
mod live_ctl;
mod live_probe;
mod live_view;
mod live_worker;
mod quality;
mod regen;
mod source;
mod timeline;
mod url;

use crate::widgets::gallery::GalleryRows;
use crate::widgets::PanelFrame;
use basins::Basins;
use live::{LiveSettings, ACTIVE_SWEEP};
use live_ctl::LiveCtl;
use live_view::{LiveControls, RerunControls};
use quality::{LiveQuality, QualityPlot, QualitySummary};
use regen::RegenerateSample;
use source::{load_gallery, load_shipped, load_uploaded, Loaded, Source};
use timeline::PhaseDiagram;

pub(crate) const COLOURS: [RGBColor; 3] = [RGBColor(33, 102, 172), RGBColor(214, 39, 140), RGBColor(26, 152, 80)];
/// Lighter shades for the points run in this tab.
const LIVE_COLOURS: [RGBColor; 3] = [RGBColor(146, 197, 222), RGBColor(241, 182, 218), RGBColor(166, 219, 160)];

/// Where the panel's bundle stands.
#[derive(Debug, Clone, PartialEq)]
enum LoadState {
    Loading,
    Shipped,
    Loaded,
    None(String),
}

impl LoadState {
    fn attr(&self) -> String {
        match self {
            LoadState::Loading => "loading".into(),
            LoadState::Shipped => "shipped".into(),
            LoadState::Loaded => "loaded".into(),
            LoadState::None(why) => format!("none: {why}"),
        }
    }
}

/// Where the shown gallery stands.
#[derive(Debug, Clone, PartialEq)]
enum GalleryState {
    Idle,
    Loading,
    Done,
    Failed(String),
}

impl GalleryState {
    fn attr(&self) -> String {
        match self {
            GalleryState::Idle => "idle".into(),
            GalleryState::Loading => "loading".into(),
            GalleryState::Done => "done".into(),
            GalleryState::Failed(e) => format!("error: {e}"),
        }
    }
}

/// The panel's state: one set of signals its components share.
#[derive(Clone, Copy)]
pub(crate) struct Panel {
    loaded: RwSignal<Option<Loaded>>,
    /// How many bundles this view has shown (a test hook: which one is loaded).
    adopted: RwSignal<u32>,
    state: RwSignal<LoadState>,
    notice: RwSignal<Option<String>>,
    selected_k: RwSignal<Option<usize>>,
    gallery: RwSignal<Option<Arc<Gallery>>>,
    gallery_state: RwSignal<GalleryState>,
    delta_m: RwSignal<f64>,
    delta_s: RwSignal<f64>,
    picked: RwSignal<Option<usize>>,
    /// The Datasets panel's S_K (points run here train on it).
    subset: Option<RwSignal<Option<SubsetK>>>,
    live_cfg: RwSignal<LiveSettings>,
    schedule: RwSignal<String>,
    ctl: LiveCtl,
    /// The last point run here (K, fractions under the δ at its end).
    live_point: RwSignal<Option<(usize, [f64; 3])>>,
    /// Points of the sweep run here.
    live_sweep: RwSignal<Vec<(usize, [f64; 3])>>,
    /// The last point run here as a bundle (its files can be saved).
    live_bundle: RwSignal<Option<Bundle>>,
    /// Why the last point run here has no quality figures.
    live_quality_error: RwSignal<Option<String>>,
    use_gpu: RwSignal<bool>,
    gpu_available: bool,
    software: bool,
    /// Whether an unfinished sweep of this browser waits for S_K to resume.
    sweep_resume: StoredValue<bool>,
    /// What the link asked of the view, until the first bundle has taken it.
    from_url: StoredValue<Option<url::SweepUrl>>,
    /// The link's picked sample, opened once its gallery is in.
    pending_pick: StoredValue<Option<usize>>,
    /// `all` or a label: the gallery's filter.
    filter: RwSignal<String>,
    /// Sort the gallery by the memorization ratio.
    sort_by_ratio: RwSignal<bool>,
    /// Notices about the link's keys for this view.
    url_notices: RwSignal<Vec<crate::state::Notice>>,
}

/// The notices this view gives for decoded query pairs (bad values keep their defaults).
pub fn url_notices(pairs: &[(&str, &str)]) -> Vec<String> {
    url::parse_pairs(pairs.iter().copied()).1
}

impl Panel {
    fn new() -> Panel {
        // An unfinished sweep of this browser: its schedule and settings.
        // A corrupt record (removed) or unreadable storage: said beside the link's notices.
        let (active, stored_notice): (Option<(String, LiveSettings)>, Option<String>) =
            match crate::browser::read_stored(ACTIVE_SWEEP, "unfinished sweep", |v| serde_json::from_str(v).ok()) {
                Ok(a) => (a, None),
                Err(e) => (None, Some(e)),
            };
        let gpu_available = crate::compute::backend().is_some_and(|b| b.kernels.is_some());
        // On a software adapter (SwiftShader) WebGPU is far slower than the CPU in wasm: opt-in.
        let software = crate::compute::software_adapter();
        let (pairs, _) = crate::url::read_pairs(url::OWN_KEYS);
        let (from_url, notices) = url::parse_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Panel {
            pending_pick: StoredValue::new(None),
            filter: RwSignal::new(from_url.filter.clone().unwrap_or_else(|| "all".into())),
            sort_by_ratio: RwSignal::new(from_url.sort),
            from_url: StoredValue::new(Some(from_url)),
            url_notices: RwSignal::new(notices.into_iter().chain(stored_notice).map(crate::state::Notice).collect()),
            loaded: RwSignal::new(None),
            adopted: RwSignal::new(0),
            state: RwSignal::new(LoadState::Loading),
            notice: RwSignal::new(None),
            selected_k: RwSignal::new(None),
            gallery: RwSignal::new(None),
            gallery_state: RwSignal::new(GalleryState::Idle),
            delta_m: RwSignal::new(DELTA_M),
            delta_s: RwSignal::new(0.2),
            picked: RwSignal::new(None),
            subset: use_context::<SubsetSignal>().map(|s| s.0),
            live_cfg: RwSignal::new(active.as_ref().map(|a| a.1).unwrap_or_default()),
            schedule: RwSignal::new(active.as_ref().map(|a| a.0.clone()).unwrap_or_else(|| "2,4,8,16".to_string())),
            ctl: LiveCtl::new(),
            live_point: RwSignal::new(None),
            live_sweep: RwSignal::new(Vec::new()),
            live_bundle: RwSignal::new(None),
            live_quality_error: RwSignal::new(None),
            use_gpu: RwSignal::new(gpu_available && !software),
            gpu_available,
            software,
            sweep_resume: StoredValue::new(active.is_some()),
        }
    }

    fn rule(&self) -> Rule {
        Rule::Ratio { delta_m: self.delta_m.get_untracked(), delta_s: self.delta_s.get_untracked() }
    }

    /// Shows a loaded bundle: its δ, its first K (the first bundle: the link's K and δ, where
    /// it names them).
    fn adopt(&self, l: Loaded) {
        let asked = self.from_url.try_update_value(|u| u.take()).flatten().unwrap_or_default();
        if let Rule::Ratio { delta_m: m, delta_s: s } = l.manifest.identity.spec.rule {
            self.delta_m.set(asked.delta_m.unwrap_or(m));
            self.delta_s.set(asked.delta_s.unwrap_or(s));
        }
        let first = l.rows.first().map(|r| r.k);
        let k = match asked.k {
            Some(k) if l.rows.iter().any(|r| r.k == k) => Some(k),
            Some(k) => {
                let ks: Vec<String> = l.rows.iter().map(|r| r.k.to_string()).collect();
                self.url_notices
                    .update(|n| n.push(crate::state::Notice(format!("This bundle has no K = {k} (it has {}); showing its first K.", ks.join(", ")))));
                first
            }
            None => first,
        };
        self.pending_pick.set_value(asked.pick.filter(|_| k == asked.k));
        self.selected_k.set(k);
        self.loaded.set(Some(l));
        self.adopted.update(|n| *n += 1);
    }

    /// Shows a gallery made in this tab.
    fn show_gallery(&self, g: Gallery) {
        self.selected_k.set(None);
        self.picked.set(None);
        self.gallery.set(Some(Arc::new(g)));
        self.gallery_state.set(GalleryState::Done);
    }

    /// The bundle's files the user chose: kept only if they make a bundle.
    fn upload(self, ev: leptos::ev::Event) {
        let files = input_files(&ev);
        if files.is_empty() {
            return;
        }
        let previous = self.state.get_untracked();
        self.state.set(LoadState::Loading);
        spawn_local(async move {
            let mut read = Vec::new();
            for f in &files {
                let failed = if f.size() > MAX_FILE_BYTES as f64 {
                    Some(format!("{} is larger than {} MB; the bundle was not loaded and the current one stays.", f.name(), MAX_FILE_BYTES >> 20))
                } else {
                    match read_file(f).await {
                        Ok(b) => {
                            read.push((f.name(), b));
                            None
                        }
                        Err(e) => Some(e),
                    }
                };
                if let Some(n) = failed {
                    self.notice.set(Some(n));
                    self.state.set(previous);
                    return;
                }
            }
            match load_uploaded(read) {
                Ok(l) => {
                    self.notice.set(None);
                    self.adopt(l);
                    self.state.set(LoadState::Loaded);
                }
                Err(e) => {
                    self.notice.set(Some(format!("This bundle could not be loaded: {e}. The current one stays.")));
                    self.state.set(previous);
                }
            }
        });
    }
}

/// Fractions of the gallery's labels.
fn label_fractions(c: &[Classified]) -> memgen_core::metrics::Fractions {
    fractions(&c.iter().map(|c| c.label).collect::<Vec<Label>>())
}

/// The fractions against K: the bundle's with error bars and capacities, and this tab's points.
#[component]
fn FractionsPlot(
    /// The panel.
    p: Panel,
    /// The selected K's gallery samples labelled under the current δ.
    classified: Memo<Vec<Classified>>,
) -> impl IntoView {
    let plot_ref = NodeRef::<Canvas>::new();
    // The selected K's fractions under δ other than the bundle's, as the plot marks them.
    let relabelled = RwSignal::new(String::new());
    // What the plot last drew, for its SVG and CSV exports.
    type Drawn = (String, Vec<ErrorSeries<'static>>, Vec<(&'static str, f64)>, Option<f64>);
    let drawn: StoredValue<Option<Drawn>> = StoredValue::new(None);
    Effect::new(move |_| {
        let l = p.loaded.get();
        let rule = Rule::Ratio { delta_m: p.delta_m.get(), delta_s: p.delta_s.get() };
        let cls = classified.get();
        let mine = match (&l, p.selected_k.get(), p.gallery.get()) {
            (Some(l), Some(k), Some(g)) if g.k == k && !cls.is_empty() && l.manifest.identity.spec.rule != rule => {
                let f = label_fractions(&cls);
                Some((k, [f.memorized, f.spurious, f.generalized], cls.len()))
            }
            _ => None,
        };
        relabelled.set(mine.map(|(k, f, n)| format!("{k}:{:.4},{:.4},{:.4}:{n}", f[0], f[1], f[2])).unwrap_or_default());
        let live = p.live_point.get();
        let mut pts = p.live_sweep.get();
        if let Some(q) = live.filter(|q| !pts.iter().any(|r| r.0 == q.0)) {
            pts.push(q);
        }
        pts.sort_by_key(|q| q.0);
        let Some(c) = plot_ref.get() else { return };
        if l.is_none() && pts.is_empty() {
            return;
        }
        let rows = l.as_ref().map(|l| l.rows.clone()).unwrap_or_default();
        const NAMES: [&str; 3] = ["memorized", "spurious", "generalized"];
        const LIVE: [&str; 3] = ["memorized (this tab)", "spurious (this tab)", "generalized (this tab)"];
        let mut series: Vec<ErrorSeries> = (0..3)
            .filter(|_| !rows.is_empty())
            .map(|i| ErrorSeries { label: NAMES[i], points: rows.iter().map(|r| (r.k as f64, r.f[i], r.std[i])).collect(), colour: COLOURS[i] })
            .collect();
        if !pts.is_empty() {
            series.extend((0..3).map(|i| ErrorSeries {
                label: LIVE[i],
                points: pts.iter().map(|(k, f)| (*k as f64, f[i], 0.0)).collect(),
                colour: LIVE_COLOURS[i],
            }));
        }
        // The δ sliders relabel the selected K's gallery only (the page holds its samples, not
        // all of S_eval): marked at that K, and named so.
        const MINE: [&str; 3] = ["memorized, your δ (this K's gallery)", "spurious, your δ (this K's gallery)", "generalized, your δ (this K's gallery)"];
        if let Some((k, f, _)) = mine {
            series.extend((0..3).map(|i| ErrorSeries { label: MINE[i], points: vec![(k as f64, f[i], 0.0)], colour: LIVE_COLOURS[i] }));
        }
        let caps = capacities(&rows.iter().map(|r| (r.k, r.fractions())).collect::<Vec<_>>(), CAPACITY_EPSILON);
        let markers: Vec<(&str, f64)> = [("MC", caps.mc), ("SC", caps.sc), ("GC", caps.gc)].into_iter().filter_map(|(n, k)| Some((n, k? as f64))).collect();
        let title = match &l {
            Some(l) => format!("{} · {} model · |S_eval| = {}", l.manifest.identity.sweep.dataset, model_name(l), l.manifest.identity.spec.n_eval),
            None => "run in this tab".to_string(),
        };
        let highlight = p.selected_k.get().or(live.map(|q| q.0)).map(|k| k as f64);
        fractions_plot(&c, &title, &series, &markers, highlight);
        drawn.set_value(Some((title, series, markers, highlight)));
    });
    let svg = move |_: ()| drawn.with_value(|d| d.as_ref().map(|(t, s, m, h)| crate::plot::fractions_svg(640, 360, t, s, m, *h)));
    let table = move |_: ()| {
        drawn.with_value(|d| {
            d.as_ref().map(|(_, series, _, _)| {
                // One row per point of every curve: which curve, K, fraction, std.
                crate::export::csv(
                    &["series", "k", "fraction", "std"],
                    series.iter().flat_map(|s| s.points.iter().map(move |(k, f, sd)| vec![s.label.to_string(), k.to_string(), f.to_string(), sd.to_string()])),
                )
            })
        })
    };
    let shown = move || p.loaded.get().is_some() || p.live_point.get().is_some() || !p.live_sweep.get().is_empty();
    view! {
        <figure class="wide" style=move || if shown() { "" } else { "display:none" }>
            <canvas node_ref=plot_ref width="640" height="360" data-testid="sweep-plot-canvas" data-relabelled=move || relabelled.get()
                role="img" aria-label=move || plot_description(&p, &relabelled.get())></canvas>
            <figcaption>
                {move || plot_description(&p, &relabelled.get())}" "
                <crate::export::ExportButtons name="fractions" canvas=plot_ref svg=svg csv=table />
            </figcaption>
        </figure>
    }
}

/// The fractions plot in words (its caption and its text alternative).
fn plot_description(p: &Panel, relabelled: &str) -> String {
    let rows = p.loaded.with(|l| l.as_ref().map(|l| l.rows.clone()).unwrap_or_default());
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return "Fractions of the samples run in this tab against K.".into();
    };
    let pct = |x: f64| format!("{:.0}%", 100.0 * x);
    let mut s = format!(
        "Fractions memorized, spurious and generalized against K from {} to {}: at K = {} {} memorized, {} spurious, {} generalized; at K = {} {} memorized, {} spurious, {} generalized.",
        first.k, last.k, first.k, pct(first.f[0]), pct(first.f[1]), pct(first.f[2]), last.k, pct(last.f[0]), pct(last.f[1]), pct(last.f[2])
    );
    if !relabelled.is_empty() {
        s.push_str(" The selected K is also marked as relabelled under your δ.");
    }
    s
}

fn model_name(l: &Loaded) -> &'static str {
    l.manifest.identity.sweep.model.name()
}

/// The loaded bundle: where it came from, how it was made, its K buttons and the re-run.
#[component]
fn BundleHeader(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    move || {
        p.loaded.get().map(|l| {
            let shipped = matches!(l.source, Source::Shipped);
            let ks: Vec<usize> = l.rows.iter().map(|r| r.k).collect();
            let ks_attr = ks.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",");
            let m = &l.manifest;
            let steps = m.identity.sweep.model.training().map(|t| format!(", {} training steps", t.steps)).unwrap_or_default();
            let sampler = serde_json::to_string(&m.identity.sweep.sampler).unwrap_or_default();
            view! {
                <p class="muted" data-testid="sweep-provenance">
                    {if shipped { "Precomputed (shipped with the lab, not run in this tab). " } else { "Loaded from your files. " }}
                    {format!("{} K values, {} model ({} parameters{steps}), sampler {sampler}, {:.0} s in all. Made by: ", l.rows.len(), model_name(&l), m.identity.model_parameters, m.total_s)}
                    <code data-testid="sweep-command">{m.made_by()}</code>
                </p>
                <span data-testid="sweep-plot" data-ks=ks_attr></span>
                <div class="controls">
                    <span>"Gallery at K: "</span>
                    {ks.into_iter().map(|k| view! {
                        <button data-testid=format!("sweep-k{k}") class:active=move || p.selected_k.get() == Some(k)
                            aria-pressed=move || (p.selected_k.get() == Some(k)).to_string() on:click=move |_| p.selected_k.set(Some(k))>{k.to_string()}</button>
                    }).collect_view()}
                </div>
                <RerunControls p=p sweep=l.sweep() />
            }
        })
    }
}

/// δ sliders, the label filter and the sort.
#[component]
fn RelabelControls(
    /// The panel.
    p: Panel,
    /// `all` or a label.
    filter: RwSignal<String>,
    /// Sort by the memorization ratio.
    sort_by_ratio: RwSignal<bool>,
) -> impl IntoView {
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
        <div class="controls">
            {slider("δ_m ", "sweep-delta-m", p.delta_m, 1.0)}
            {slider("δ_s ", "sweep-delta-s", p.delta_s, 0.49)}
            <label>"show "
                <select data-testid="sweep-filter" prop:value=move || filter.get() on:change=move |ev| filter.set(event_target_value(&ev))>
                    <option value="all">"all"</option>
                    <option value="memorized">"memorized"</option>
                    <option value="spurious">"spurious"</option>
                    <option value="generalized">"generalized"</option>
                </select>
            </label>
            <label><input type="checkbox" data-testid="sweep-sort" prop:checked=move || sort_by_ratio.get() on:change=move |ev| sort_by_ratio.set(event_target_checked(&ev)) />" sort by d(x̂,x₁)/d(x̂,x₂)"</label>
        </div>
    }
}

/// The gallery's fractions under the current δ.
#[component]
fn RelabelSummary(
    /// The panel.
    p: Panel,
    /// Labels under the current δ.
    classified: Memo<Vec<Classified>>,
) -> impl IntoView {
    let relabelled = Memo::new(move |_| label_fractions(&classified.get()));
    view! {
        <p data-testid="sweep-relabelled" data-state=move || p.gallery_state.get().attr()
            data-k=move || p.gallery.with(|g| g.as_ref().map(|g| g.k.to_string()).unwrap_or_default())
            data-memorized=move || format!("{:.4}", relabelled.get().memorized)
            data-spurious=move || format!("{:.4}", relabelled.get().spurious)
            data-generalized=move || format!("{:.4}", relabelled.get().generalized)
            data-n=move || classified.get().len().to_string()>
            {move || {
                match p.gallery_state.get() {
                    GalleryState::Failed(e) => return format!("The gallery could not be loaded: {e}"),
                    GalleryState::Loading => return "Loading the gallery…".into(),
                    _ => {}
                }
                let f = relabelled.get();
                let n = classified.get().len();
                if n == 0 { return String::new(); }
                format!("With these δ, the {n} gallery samples are {:.1}% memorized, {:.1}% spurious, {:.1}% generalized.", 100.0 * f.memorized, 100.0 * f.spurious, 100.0 * f.generalized)
            }}
        </p>
    }
}

/// The phase-transition panel.
#[component]
pub fn SweepPanel() -> impl IntoView {
    let p = Panel::new();
    let (filter, sort_by_ratio) = (p.filter, p.sort_by_ratio);
    spawn_local(async move {
        match load_shipped().await {
            Ok(l) => {
                p.adopt(l);
                p.state.set(LoadState::Shipped);
            }
            Err(e) => p.state.set(LoadState::None(e)),
        }
    });
    // The gallery of the selected K.
    Effect::new(move |_| {
        let Some(k) = p.selected_k.get() else { return };
        let Some((source, manifest)) = p.loaded.with_untracked(|l| l.as_ref().map(|l| (l.source.clone(), l.manifest.clone()))) else { return };
        p.gallery.set(None);
        p.picked.set(None);
        p.gallery_state.set(GalleryState::Loading);
        spawn_local(async move {
            match load_gallery(&source, &manifest, k).await {
                Ok(g) if p.selected_k.get_untracked() == Some(k) => {
                    let pick = p.pending_pick.try_update_value(|v| v.take()).flatten().filter(|&i| i < g.samples.len());
                    p.gallery.set(Some(Arc::new(g)));
                    p.gallery_state.set(GalleryState::Done);
                    if pick.is_some() {
                        p.picked.set(pick);
                    }
                }
                Ok(_) => {}
                Err(e) => p.gallery_state.set(GalleryState::Failed(e)),
            }
        });
    });
    let classified = Memo::new(move |_| {
        let rule = Rule::Ratio { delta_m: p.delta_m.get(), delta_s: p.delta_s.get() };
        p.gallery.get().map(|g| g.classify(&rule)).unwrap_or_default()
    });
    live_view::resume_sweep_when_ready(p);
    // The view's state into the URL, once the first bundle has taken the link's.
    Effect::new(move |_| {
        let rule = p.loaded.with(|l| match l.as_ref().map(|l| l.manifest.identity.spec.rule) {
            Some(Rule::Ratio { delta_m, delta_s }) => Some((delta_m, delta_s)),
            Some(_) => Some((DELTA_M, 0.2)),
            None => None,
        });
        let Some(rule) = rule else { return };
        let q = url::to_query(p.selected_k.get(), (p.delta_m.get(), p.delta_s.get()), rule, &filter.get(), sort_by_ratio.get(), p.picked.get());
        crate::url::replace_own(url::OWN_KEYS, &q);
    });

    view! {
        <PanelFrame testid="panel-sweep" title="Phase transition: memorized → spurious → generalized against K (paper Figs. 1–4)">
            <p class="explain">
                "Each generated sample x̂ is labelled from its distances to the training set S (nearest x₁, second x₂) and to the model's other samples S′ (nearest x₁′): memorized if d(x̂,x₁)/d(x̂,x₂) ≤ δ_m, else spurious if d(x̂,x₁′)/(d(x̂,x₁)+d(x̂,x₁′)) ≤ δ_s, else generalized. "
                "The fractions against K show the transition; MC, SC and GC mark the memorization, spurious and generalization capacity estimates (ε = 5%). "
                "A label is not quality: a failed sample is far from S and S′ too, so it counts as generalized. The quality row measures the samples in the features of a classifier trained on the data (improved precision: the share of samples on the manifold of real test images), with real test images' figure beside. "
                "Bundles are made natively by "<code>"memgen sweep"</code>" (see the README), on one machine or sharded over a cluster and joined with "<code>"memgen merge"</code>"."
            </p>
            <div class="controls">
                <label>"Load a bundle (choose its manifest.json, fractions.csv and gallery-k*.json, and weights-k*.safetensors to make samples again) "
                    <input type="file" multiple accept=".json,.csv,.safetensors" data-testid="sweep-upload" on:change=move |ev| p.upload(ev) />
                </label>
            </div>
            <crate::widgets::Notices notices=p.url_notices />
            {move || p.notice.get().map(|n| view! { <p class="notice" data-testid="notice">{n}</p> })}
            <div data-testid="sweep-state" data-state=move || p.state.get().attr() data-adopted=move || p.adopted.get()>
                {move || match p.state.get() {
                    LoadState::Loading => "Loading the sweep bundle…".to_string(),
                    LoadState::None(why) => format!("No sweep bundle is shipped with this build ({why}). Make one with `memgen sweep --dataset mnist --ks 2,4,8,… --out DIR` and load its files here."),
                    _ => String::new(),
                }}
            </div>
            <BundleHeader p=p />
            <FractionsPlot p=p classified=classified />
            <QualityPlot p=p />
            <PhaseDiagram p=p />
            <LiveControls p=p />
            <LiveQuality p=p />
            <RelabelControls p=p filter=filter sort_by_ratio=sort_by_ratio />
            <RelabelSummary p=p classified=classified />
            <QualitySummary p=p />
            <GalleryRows gallery=p.gallery classified=classified filter=filter sort_by_ratio=sort_by_ratio picked=p.picked delta_m=p.delta_m delta_s=p.delta_s />
            <RegenerateSample p=p />
            <Basins p=p />
        </PanelFrame>
    }
}

#[cfg(test)]
mod tests {
    use super::live_view::parse_schedule;

    #[test]
    fn schedules_parse_sorted_unique_and_reject_bad_values() {
        assert_eq!(parse_schedule(" 8, 2,4,2 ,").unwrap(), vec![2, 4, 8]);
        for bad in ["", "1,2", "2,x", "2,-4", "2,1e9", &(2..100).map(|k| k.to_string()).collect::<Vec<_>>().join(",")] {
            assert!(parse_schedule(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_schedule("2,x").unwrap_err().contains("“x”"));
    }
}
