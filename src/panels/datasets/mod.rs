//! The Datasets panel (issue 4): pick MNIST, Fashion-MNIST (web subsample) or the emoji
//! set, watch it stream in (bytes received / total, cancellable, decoded chunk by chunk
//! while it downloads so the tab never freezes), preview the training subset S_K
//! (`memgen_data::subset`, the nested-prefix seeded permutation shared with the CLI),
//! read its shape, checksum, licence and attribution, or bring your own `.npy` array.
//!
//! Nothing is fetched until a dataset is picked (or named in the link with `ds=`).
//! URL keys owned here: `ds` (mnist | fashion-mnist | emoji), `dk` (K), `dseed`, `dbal`; they
//! are merged into the query without touching other panels' keys ([`url`]).
//!
//! The panel is a few components over one [`Panel`] of signals: the picker, K, seed, balance
//! and download progress ([`controls::DatasetControls`]), the S_K preview
//! ([`preview::PreviewFigure`]), the set's provenance ([`info::SetInfo`]) and the upload
//! of the user's own files ([`controls::UploadControls`]). Fetching, streaming and decoding
//! are in [`load`].

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_data::{DatasetId, Manifest, ManifestEntry, PackedDataset};

use crate::state::Notice;
use crate::widgets::{Notices, PanelFrame};

mod controls;
mod info;
pub(crate) mod load;
mod preview;
mod url;

use self::url::{read_url, write_url, UrlState};
use controls::{DatasetControls, UploadControls};
use info::SetInfo;
use preview::PreviewFigure;

/// The notices this view gives for decoded query pairs (bad values keep their defaults).
pub fn url_notices(pairs: &[(&str, &str)]) -> Vec<String> {
    url::parse_pairs(pairs.iter().copied()).1.into_iter().map(|n| n.0).collect()
}

/// S_K as the Datasets panel shows it: u8 pixels `[K, h, w, c]`.
#[derive(Debug, Clone)]
pub struct SubsetK {
    /// Where the set came from (a built-in set or the user's files): decides its `δ_s`.
    pub origin: memgen_data::SetOrigin,
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
    /// The set's name (`mnist`, …, or an upload's file name).
    pub fn name(&self) -> &str {
        self.origin.name()
    }

    /// The same set's S_K for another `k` (the same seed and rule; nested in K).
    pub fn with_k(&self, k: usize) -> Result<SubsetK, String> {
        let n = self.data.len();
        if !(1..=n).contains(&k) {
            return Err(format!("K = {k} is not between 1 and the {n} images of {}", self.name()));
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

/// Where a download stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchState {
    Loading,
    Done,
    Cancelled,
    Failed,
}

impl FetchState {
    /// The `data-state` of the progress line: "loading", "done", "cancelled" or "error".
    fn attr(self) -> &'static str {
        match self {
            FetchState::Loading => "loading",
            FetchState::Done => "done",
            FetchState::Cancelled => "cancelled",
            FetchState::Failed => "error",
        }
    }
}

/// Download progress.
#[derive(Debug, Clone, PartialEq)]
struct Progress {
    label: String,
    bytes: f64,
    total: f64,
    state: FetchState,
}

/// The preview that was drawn.
#[derive(Debug, Clone, PartialEq)]
struct Drawn {
    /// K of the subset.
    k: usize,
    /// Images drawn (the first of S_K).
    shown: usize,
    /// The sha256 of S_K's pixels, as `memgen export` writes them.
    sha: String,
}

/// The panel's state: one set of signals its components share.
#[derive(Clone, Copy)]
pub(crate) struct Panel {
    /// Whether the user (or the link) has chosen, so the URL mirrors the choice.
    url_touched: StoredValue<bool>,
    picked: RwSignal<Option<DatasetId>>,
    k: RwSignal<usize>,
    seed: RwSignal<u64>,
    balanced: RwSignal<bool>,
    notices: RwSignal<Vec<Notice>>,
    loaded: RwSignal<Option<Loaded>>,
    progress: RwSignal<Option<Progress>>,
    manifest: StoredValue<Option<Manifest>>,
    /// Registry sets already loaded in this tab, so switching back costs nothing.
    cache: StoredValue<Vec<Loaded>>,
    /// Bumped by each load, upload and cancel: a download of an older one stops.
    load_gen: crate::job::Generation,
    drawn: RwSignal<Option<Drawn>>,
    /// Side of the user's images once converted.
    resolution: RwSignal<usize>,
    /// Convert the user's images in colour (else grey).
    colour: RwSignal<bool>,
    /// What the upload is doing, while it runs.
    uploading: RwSignal<Option<String>>,
    canvas: NodeRef<Canvas>,
}

impl Panel {
    /// The panel's signals, with the link's choice; the link's bad values become notices.
    fn new() -> Panel {
        let (initial, notices) = read_url();
        Panel {
            url_touched: StoredValue::new(false),
            picked: RwSignal::new(initial.ds),
            k: RwSignal::new(initial.k),
            seed: RwSignal::new(initial.seed),
            balanced: RwSignal::new(initial.balanced),
            notices: RwSignal::new(notices),
            loaded: RwSignal::new(None),
            progress: RwSignal::new(None),
            manifest: StoredValue::new(None),
            cache: StoredValue::new(Vec::new()),
            load_gen: crate::job::Generation::new(),
            drawn: RwSignal::new(None),
            resolution: RwSignal::new(28),
            colour: RwSignal::new(false),
            uploading: RwSignal::new(None),
            canvas: NodeRef::new(),
        }
    }

    /// Shows a notice.
    fn notify(&self, m: String) {
        self.notices.update(|v| v.push(Notice(m)));
    }

    /// The URL mirrors the choice once the user (or the link) made one.
    fn mirror_url(self) {
        Effect::new(move |_| {
            let s = UrlState { ds: self.picked.get(), k: self.k.get(), seed: self.seed.get(), balanced: self.balanced.get() };
            if self.url_touched.get_value() || s.ds.is_some() {
                self.url_touched.set_value(true);
                write_url(s);
            }
        });
    }
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

/// The Datasets panel.
#[component]
pub fn DatasetsPanel() -> impl IntoView {
    let p = Panel::new();
    p.mirror_url();
    // A dataset named in the link loads after the first paint.
    if let Some(id) = p.picked.get_untracked() {
        spawn_local(async move {
            crate::browser::yield_now().await;
            p.load(id);
        });
    }
    preview::redraw_on_change(p);

    view! {
        <PanelFrame testid="panel-datasets" title="Datasets: the images the memorization → generalization transition is measured on" class="datasets">
            <p class="explain">
                "Real image sets, packed and checksummed at build time from package registries. "
                "A training subset S_K is the first K images of one seeded permutation, "
                "so S_K ⊂ S_2K for the same seed — the same images as " <code>"memgen export --dataset … --k K --seed N"</code> " writes. "
                "Nothing is downloaded until you pick a set."
            </p>
            <Notices notices=p.notices />
            <DatasetControls p=p />
            <div class="dataset-body">
                <PreviewFigure p=p />
                <SetInfo p=p />
            </div>
            <h3>"Bring your own data"</h3>
            <UploadControls p=p />
            <p class="muted">
                "PNG or JPEG files (several at once), a zip of them, or a NumPy .npy array of uint8 (0–255), float32 or float64 (0–1 or −1–1), "
                "shape [n, h, w] or [n, h, w, c]; at most 200 MB and 100,000 images. "
                "Everything is resized to the chosen resolution in grey or colour, as " <code>"memgen import"</code> " does, and stays in this tab."
            </p>
        </PanelFrame>
    }
}
