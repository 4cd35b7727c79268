//! The sweep result bundle: one typed format, defined here and nowhere else. `memgen sweep` and
//! `memgen merge` write it, the page reads it (the shipped bundle, a user's files) and writes it
//! too (a point run in the tab, exported as a bundle).
//!
//! A bundle is a folder of three kinds of files:
//! * `fractions.csv`: [`CSV_HEADER`], one row per K, ascending: the fractions over `S_eval` and
//!   their bootstrap standard deviations ([`fractions_csv`], [`parse_fractions_csv`]);
//! * `gallery-k<K>.json`: the samples of point K with their nearest neighbours in `S` and `S′`
//!   and the images those refer to ([`Gallery`]);
//! * `manifest.json`: how it was made and what it holds ([`Manifest`]: the [`Identity`] that
//!   must agree for bundles to be merged, then per-K results, timings, command lines).
//!
//! Versions: [`FORMAT_VERSION`] 3 is written. It records the model as one tagged value
//! ([`ModelSpec`]: `"model": {"kind": "unet", "training": …, "engine": …}`) in the sweep's
//! settings and in each point's `config`. Version 2 added, per point, the [`PointConfig`] that
//! produced it (`config`) and named extra files (`files`: model weights, probe records);
//! versions 1 and 2 still read: [`Manifest::parse`] upgrades their four model fields (`model`,
//! `unet`, `training`, `engine`) as it reads them, and `memgen upgrade` rewrites a bundle's
//! manifest in this format. Any other version is refused with a message naming it.

use std::collections::BTreeMap;

use memgen_core::experiment::ExperimentSpec;
use memgen_core::metrics::{classify_distances, Bootstrap, Classified, Dataset, Fractions, Label, Rule, SampleDistances};
use serde::{Deserialize, Serialize};

use crate::point::PointConfig;
use crate::unet::SamplerConfig;

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "memgen-sweep-bundle";
/// The `format_version` this build writes.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest `format_version` this build reads.
pub const OLDEST_READABLE_VERSION: u32 = 1;
/// Header of `fractions.csv`.
pub const CSV_HEADER: &str = "k,memorized,memorized_std,spurious,spurious_std,generalized,generalized_std";
/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The fractions table's file name.
pub const CSV_FILE: &str = "fractions.csv";
/// Largest bundle file a reader accepts (a gallery of 10,000 MNIST samples is ~25 MB).
pub const MAX_FILE_BYTES: usize = 64 << 20;
/// Most K values a bundle may hold (the page draws a button for each).
pub const MAX_POINTS: usize = 256;
/// How gallery images are stored.
pub const IMAGE_ENCODING: &str = "base64 of u8 pixels, row-major [h, w, c] per image";
/// The distance of the labels and galleries.
pub const DISTANCE: &str = "L2 on pixels p/255";

/// File name of the gallery of point `k`.
pub fn gallery_file(k: usize) -> String {
    format!("gallery-k{k}.json")
}

/// File name of point `k`'s EMA weights (`memgen_models::unet::snapshot::WEIGHTS_FORMAT`).
pub fn weights_file(k: usize) -> String {
    format!("weights-k{k}.safetensors")
}

/// File name of the saved samples (`set` = `eval` or `synthetic`) of point `k`
/// (`memgen sweep --save-samples`): uint8 .npy `[n, h, w]` or `[n, h, w, c]`.
pub fn samples_file(k: usize, set: &str) -> String {
    format!("samples-k{k}-{set}.npy")
}

/// Versions of the library crates that made a bundle (the front end does not change results).
pub fn versions() -> BTreeMap<String, String> {
    [("memgen-core", env!("CARGO_PKG_VERSION")), ("memgen-models", env!("CARGO_PKG_VERSION")), ("burn", "0.22.1")]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A bundle that cannot be read: which file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct BundleError {
    /// The file's name in the bundle.
    pub file: String,
    /// What is wrong (names the field where serde can).
    pub message: String,
}

fn bad(file: &str, message: impl Into<String>) -> BundleError {
    BundleError { file: file.to_string(), message: message.into() }
}

use crate::model::ModelSpec;

/// The sweep's settings: model, training, sampler, dataset file and conventions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSettings {
    /// The lab's dataset name (`mnist`, `fashion-mnist`, `emoji`).
    pub dataset: String,
    /// The paper's dataset whose `δ_s` applies.
    pub paper_dataset_for_delta_s: Dataset,
    /// The packed training split.
    pub data_file: String,
    /// Its checksum.
    pub data_sha256: String,
    /// `[h, w, c]` of the images.
    pub image_hwc: [usize; 3],
    /// How `S_K` is drawn.
    pub subset: String,
    /// How a point's seed follows from the sweep's.
    pub point_seed: String,
    /// The model, with its settings at the sweep's level (a UNet's steps may depend on K: each
    /// point's `config` has its own).
    pub model: ModelSpec,
    /// The sampler of `S_eval` and `S′`.
    pub sampler: SamplerConfig,
    /// Images per sampling batch (results depend on it).
    pub sample_batch: usize,
    /// Pixel conventions.
    pub pixels: String,
    /// The distance of labels and galleries.
    pub distance: String,
    /// Samples per gallery file.
    pub gallery_samples: usize,
    /// Neighbours per gallery sample.
    pub gallery_neighbours: usize,
    /// Whether `S_eval` and `S′` were saved as .npy beside the bundle.
    pub saved_samples: bool,
    /// How each K's weights file stores its values (and so what its samples were made from).
    #[serde(default, skip_serializing_if = "crate::unet::snapshot::WeightsDtype::is_f32")]
    pub weights: crate::unet::snapshot::WeightsDtype,
}

/// What must agree for bundles to be merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// The experiment spec (its `k_values` is the whole sweep, every shard's).
    pub spec: ExperimentSpec,
    /// Model, training, sampler, dataset file and conventions.
    pub sweep: SweepSettings,
    /// Trainable parameters of the model (0 for the ideal denoiser).
    pub model_parameters: usize,
    /// Crate versions.
    pub versions: BTreeMap<String, String>,
}

/// Training-loss summary of a UNet point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossSummary {
    /// Mean loss of the first 100 steps.
    pub first_100: f64,
    /// Mean loss of the last 100 steps.
    pub last_100: f64,
    /// Mean loss of consecutive blocks of 1% of the run, for a loss curve.
    pub curve: Vec<f64>,
}

impl LossSummary {
    /// The summary of a run's losses.
    pub fn of(losses: &[f32]) -> LossSummary {
        let mean = |l: &[f32]| l.iter().map(|v| *v as f64).sum::<f64>() / l.len().max(1) as f64;
        let n = losses.len();
        LossSummary {
            first_100: mean(&losses[..n.min(100)]),
            last_100: mean(&losses[n.saturating_sub(100)..]),
            curve: losses.chunks((n / 100).max(1)).map(mean).collect(),
        }
    }
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    /// Training-set size.
    pub k: usize,
    /// Label fractions over `S_eval`.
    pub fractions: Fractions,
    /// Bootstrap summaries (mean, std, 2.5/97.5 percentiles).
    pub bootstrap: Bootstrap,
    /// Gallery file name.
    pub gallery: String,
    /// Training-loss summary (UNet only).
    pub loss: Option<LossSummary>,
    /// The settings that produced this point (format 2; absent in version 1 bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PointConfig>,
    /// Further files of this point by kind (format 2): e.g. `weights` (the EMA weights the
    /// samples came from); later basin, curvature and quality records and training-time
    /// snapshots. A reader skips kinds it does not know.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// SHA-256 of each of `files` (format 2): file name → hex digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checksums: BTreeMap<String, String>,
    /// Sample quality of this point (format 2, optional): precision, recall and Fréchet
    /// distance in the reference classifier's features, beside real test images' figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<PointQuality>,
    /// The point along its training (format 2, optional): fractions and quality of smaller sets
    /// sampled from the EMA weights at earlier steps, ascending in steps. The last entry is the
    /// point itself, measured the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimePoint>,
}

/// A point measured at one step of its training ([`crate::sweep::time_point`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePoint {
    /// Training steps done.
    pub steps: usize,
    /// Training images seen (steps × batch).
    pub images_seen: usize,
    /// `|S_eval|` at this time: the first samples of the point's `S_eval` noise, so the same
    /// starting noise is followed through training.
    pub n_eval: usize,
    /// `|S′|` at this time (capped, so the spurious fraction is a lower estimate).
    pub n_synthetic: usize,
    /// Label fractions.
    pub fractions: Fractions,
    /// Sample quality (datasets with a reference classifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<memgen_core::quality::SampleQuality>,
}

impl TimePoint {
    /// The label with the largest share (ties: memorized, then spurious).
    pub fn dominant(&self) -> Label {
        let f = &self.fractions;
        if f.memorized >= f.spurious && f.memorized >= f.generalized {
            Label::Memorized
        } else if f.spurious >= f.generalized {
            Label::Spurious
        } else {
            Label::Generalized
        }
    }
}

/// A point's sample quality ([`crate::refnet`]), with the same measures for as many held-out
/// real test images, so a reader sees what "good" is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointQuality {
    /// Which samples were measured: `S_eval` or `gallery` (the samples a gallery shows).
    pub of: String,
    /// The samples' figures.
    pub samples: memgen_core::quality::SampleQuality,
    /// Held-out real test images' figures (as many images).
    pub real: memgen_core::quality::SampleQuality,
    /// SHA-256 of the classifier file.
    pub classifier_sha256: String,
}

/// Where a bundle came from when it was made of shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

/// Wall time of one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Training-set size.
    pub k: usize,
    /// Seconds training (0 for the ideal denoiser).
    pub train_s: f64,
    /// Seconds sampling `S_eval` and `S′`.
    pub sample_s: f64,
    /// Seconds finding neighbours and labelling.
    pub label_s: f64,
    /// The backend it ran on.
    #[serde(default)]
    pub backend: String,
    /// The shard folder it came from (merged bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// What must agree for bundles to be merged.
    #[serde(flatten)]
    pub identity: Identity,
    /// The K values this bundle holds, ascending.
    pub k_done: Vec<usize>,
    /// Per-K results, ascending in K.
    pub results: Vec<PointRecord>,
    /// The shard it is (none for a whole or merged sweep).
    pub shard: Option<Shard>,
    /// Per-K wall times.
    pub timings: Vec<Timing>,
    /// Seconds in all.
    pub total_s: f64,
    /// The command that made it.
    pub command_line: Vec<String>,
    /// The folders it was merged from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Their command lines, in `merged_from`'s order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_command_lines: Vec<Vec<String>>,
    /// How to make it again, when a script around `memgen` made it (shown instead of
    /// `command_line`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<String>,
}

impl Manifest {
    /// Parses `manifest.json`: refuses another format or an unknown version by name, and names
    /// the field serde stumbled on.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, BundleError> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            format_version: Option<serde_json::Value>,
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err(bad(MANIFEST_FILE, format!("larger than {} MB", MAX_FILE_BYTES >> 20)));
        }
        let h: Header = serde_json::from_slice(bytes).map_err(|e| bad(MANIFEST_FILE, format!("not JSON: {e}")))?;
        if h.format.as_deref() != Some(FORMAT) {
            return Err(bad(MANIFEST_FILE, format!("not a memgen sweep bundle (no \"format\": \"{FORMAT}\")")));
        }
        let v = h.format_version.as_ref().and_then(|v| v.as_u64());
        match v {
            Some(v) if (OLDEST_READABLE_VERSION as u64..=FORMAT_VERSION as u64).contains(&v) => {}
            _ => {
                let shown = h.format_version.map(|v| v.to_string()).unwrap_or_else(|| "missing".into());
                return Err(bad(
                    MANIFEST_FILE,
                    format!("format_version {shown} is not one this build reads ({OLDEST_READABLE_VERSION} to {FORMAT_VERSION}); a newer lab made it, or it is damaged"),
                ));
            }
        }
        let m: Manifest = if v == Some(FORMAT_VERSION as u64) {
            serde_json::from_slice(bytes).map_err(|e| bad(MANIFEST_FILE, e.to_string()))?
        } else {
            let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(MANIFEST_FILE, format!("not JSON: {e}")))?;
            upgrade_manifest(&mut value);
            serde_json::from_value(value).map_err(|e| bad(MANIFEST_FILE, e.to_string()))?
        };
        if m.results.len() > MAX_POINTS {
            return Err(bad(MANIFEST_FILE, format!("{} results: more than {MAX_POINTS}", m.results.len())));
        }
        if m.results.iter().map(|r| r.k).ne(m.k_done.iter().copied()) {
            return Err(bad(MANIFEST_FILE, "k_done does not list the results' K values"));
        }
        Ok(m)
    }

    /// This manifest in the current format, pretty-printed (what `memgen upgrade` writes).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a manifest serializes")
    }

    /// The line that makes the bundle again: `reproduce`, else the command line with the
    /// program's folder dropped.
    pub fn made_by(&self) -> String {
        match &self.reproduce {
            Some(r) => r.clone(),
            None => self.command_line.iter().map(|x| x.rsplit('/').next().unwrap_or(x)).collect::<Vec<_>>().join(" "),
        }
    }
}

/// A format 1 or 2 manifest as this format reads it: the model fields of the sweep's settings
/// (flattened into the manifest) and of each point's `config` become one [`ModelSpec`], and the
/// version becomes [`FORMAT_VERSION`] (what it holds is now this format's).
fn upgrade_manifest(value: &mut serde_json::Value) {
    let Some(top) = value.as_object_mut() else { return };
    if let Some(sweep) = top.get_mut("sweep").and_then(|s| s.as_object_mut()) {
        crate::model::upgrade_legacy_fields(sweep);
    }
    if let Some(results) = top.get_mut("results").and_then(|r| r.as_array_mut()) {
        for config in results.iter_mut().filter_map(|r| r.get_mut("config")).filter_map(|c| c.as_object_mut()) {
            crate::model::upgrade_legacy_fields(config);
        }
    }
    top.insert("format_version".into(), FORMAT_VERSION.into());
}

/// A bundle in memory: its manifest, each point's gallery bytes (in `results`' order) and the
/// points' further files it carries (weights: name and bytes; a bundle read from files leaves
/// them where they are, to be fetched when needed).
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// `manifest.json`.
    pub manifest: Manifest,
    /// Gallery JSON bytes, one per result, same order.
    pub galleries: Vec<Vec<u8>>,
    /// Further files (each named in its point's `files`, with its checksum).
    pub extra: Vec<(String, Vec<u8>)>,
}

/// SHA-256 of `bytes`, lower-case hex (the checksums of a point's `files`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl PointRecord {
    /// Names `bytes` as this point's file of `kind` (`weights`, `probe`), with its checksum.
    pub fn attach(&mut self, kind: &str, name: &str, bytes: &[u8]) {
        self.checksums.insert(name.to_string(), sha256_hex(bytes));
        self.files.insert(kind.to_string(), name.to_string());
    }
}

impl Bundle {
    /// A bundle of one run's points (sorted by K here).
    pub fn new(identity: Identity, points: Vec<(PointRecord, Timing, Vec<u8>)>, total_s: f64, command_line: Vec<String>) -> Bundle {
        let mut points = points;
        points.sort_by_key(|p| p.0.k);
        let k_done = points.iter().map(|p| p.0.k).collect();
        let (mut results, mut timings, mut galleries) = (Vec::new(), Vec::new(), Vec::new());
        for (r, t, g) in points {
            results.push(r);
            timings.push(t);
            galleries.push(g);
        }
        Bundle {
            manifest: Manifest {
                identity,
                k_done,
                results,
                shard: None,
                timings,
                total_s,
                command_line,
                merged_from: Vec::new(),
                merged_command_lines: Vec::new(),
                reproduce: None,
            },
            galleries,
            extra: Vec::new(),
        }
    }

    /// The bundle's files, name → bytes: `fractions.csv`, every gallery, the further files it
    /// carries, `manifest.json`. Deterministic: the same bundle gives the same bytes on every
    /// platform.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![(CSV_FILE.to_string(), fractions_csv(&self.manifest.results).into_bytes())];
        for (r, g) in self.manifest.results.iter().zip(&self.galleries) {
            out.push((r.gallery.clone(), g.clone()));
        }
        out.extend(self.extra.iter().cloned());
        out.push((MANIFEST_FILE.to_string(), self.manifest.to_bytes()));
        out
    }

    /// Reads a bundle from its files (`get(name)` returns a file's bytes), checking that the
    /// table, the manifest and the galleries agree.
    pub fn read(mut get: impl FnMut(&str) -> Result<Vec<u8>, BundleError>) -> Result<Bundle, BundleError> {
        let manifest = Manifest::parse(&get(MANIFEST_FILE)?)?;
        let rows = parse_fractions_csv(&String::from_utf8_lossy(&get(CSV_FILE)?))?;
        check_rows_against(&rows, &manifest)?;
        for (row, r) in rows.iter().zip(&manifest.results) {
            let (f, b) = (&r.fractions, &r.bootstrap);
            if row.f != [f.memorized, f.spurious, f.generalized] || row.std != [b.memorized.std, b.spurious.std, b.generalized.std] {
                return Err(bad(CSV_FILE, format!("the row of K = {} and the manifest's record of it are different results", r.k)));
            }
        }
        let mut galleries = Vec::new();
        for r in &manifest.results {
            let g = get(&r.gallery)?;
            Gallery::parse(&g).and_then(|x| x.check_against(&manifest)).map_err(|e| bad(&r.gallery, e))?;
            galleries.push(g);
        }
        Ok(Bundle { manifest, galleries, extra: Vec::new() })
    }
}

/// The u8 pixels of a gallery image ([`IMAGE_ENCODING`]).
pub fn decode_image(b64: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| format!("an image is not base64: {e}"))
}

/// Refuses a `fractions.csv` whose K values are not the manifest's (`k_done`, in order).
pub fn check_rows_against(rows: &[Row], manifest: &Manifest) -> Result<(), BundleError> {
    if rows.iter().map(|r| r.k).ne(manifest.k_done.iter().copied()) {
        return Err(bad(CSV_FILE, format!("its K values {:?} are not the manifest's {:?}", rows.iter().map(|r| r.k).collect::<Vec<_>>(), manifest.k_done)));
    }
    Ok(())
}

/// One row of `fractions.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Training-set size.
    pub k: usize,
    /// Memorized, spurious, generalized fractions.
    pub f: [f64; 3],
    /// Their bootstrap standard deviations.
    pub std: [f64; 3],
}

impl Row {
    /// The fractions as memgen-core's type.
    pub fn fractions(&self) -> Fractions {
        Fractions { memorized: self.f[0], spurious: self.f[1], generalized: self.f[2] }
    }
}

/// `fractions.csv` of `results` (Rust's shortest round-trip float formatting: deterministic).
pub fn fractions_csv(results: &[PointRecord]) -> String {
    let mut csv = String::from(CSV_HEADER);
    csv.push('\n');
    for r in results {
        let (f, b) = (&r.fractions, &r.bootstrap);
        csv.push_str(&format!("{},{},{},{},{},{},{}\n", r.k, f.memorized, b.memorized.std, f.spurious, b.spurious.std, f.generalized, b.generalized.std));
    }
    csv
}

/// At most 60 characters of `s`, for messages about bad input.
fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(60).collect();
    if p.len() < s.len() {
        p.push('…');
    }
    p
}

/// Parses `fractions.csv`: the exact header, then rows with K ascending and fractions in [0, 1].
pub fn parse_fractions_csv(text: &str) -> Result<Vec<Row>, BundleError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines.next() {
        Some(h) if h == CSV_HEADER => {}
        Some(h) => return Err(bad(CSV_FILE, format!("the header is “{}”, not {CSV_HEADER}", preview(h)))),
        None => return Err(bad(CSV_FILE, "it is empty")),
    }
    let mut rows: Vec<Row> = Vec::new();
    for (n, line) in lines.enumerate() {
        let wrong = || bad(CSV_FILE, format!("line {}: “{}” is not k and six numbers in [0, 1]", n + 2, preview(line)));
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != 7 {
            return Err(wrong());
        }
        let k: usize = cells[0].parse().map_err(|_| wrong())?;
        let mut v = [0f64; 6];
        for (x, c) in v.iter_mut().zip(&cells[1..]) {
            *x = c.parse().map_err(|_| wrong())?;
            if !(0.0..=1.0).contains(x) {
                return Err(wrong());
            }
        }
        if rows.len() == MAX_POINTS {
            return Err(bad(CSV_FILE, format!("more than {MAX_POINTS} rows")));
        }
        if rows.last().is_some_and(|r| r.k >= k) {
            return Err(bad(CSV_FILE, format!("line {}: K = {k} is not larger than the row before", n + 2)));
        }
        rows.push(Row { k, f: [v[0], v[2], v[4]], std: [v[1], v[3], v[5]] });
    }
    if rows.is_empty() {
        return Err(bad(CSV_FILE, "it has no rows"));
    }
    Ok(rows)
}

/// One generated sample of a gallery, with its neighbours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GallerySample {
    /// Its index in `S_eval`.
    pub index: usize,
    /// base64 u8 pixels `[h, w, c]`.
    pub image: String,
    /// Its label under the bundle's rule.
    pub label: Label,
    /// `d(x̂,x₁)/d(x̂,x₂)`.
    pub memorization_ratio: f64,
    /// `d(x̂,x₁′)/(d(x̂,x₁) + d(x̂,x₁′))`.
    pub spurious_ratio: f64,
    /// Nearest training images (indices into `S_K`), nearest first.
    pub train_neighbours: Vec<usize>,
    /// Their distances.
    pub train_distances: Vec<f64>,
    /// Nearest samples of `S′`.
    pub synthetic_neighbours: Vec<usize>,
    /// Their distances.
    pub synthetic_distances: Vec<f64>,
}

/// A referenced image (training or synthetic) of a gallery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedImage {
    /// Its index in `S_K` or `S′`.
    pub index: usize,
    /// base64 u8 pixels `[h, w, c]`.
    pub image: String,
}

/// `gallery-k<K>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gallery {
    /// Training-set size.
    pub k: usize,
    /// `[h, w, c]`.
    pub shape: [usize; 3],
    /// [`IMAGE_ENCODING`].
    pub encoding: String,
    /// [`DISTANCE`].
    pub distance: String,
    /// The rule of the stored labels.
    pub rule: Rule,
    /// `|S_eval|` (the gallery may hold fewer).
    pub n_eval: usize,
    /// `|S′|`.
    pub n_synthetic: usize,
    /// Dataset indices of `S_K`, in `S_K`'s order.
    pub train_dataset_indices: Vec<usize>,
    /// The samples shown.
    pub samples: Vec<GallerySample>,
    /// Training images the samples refer to.
    pub train_images: Vec<IndexedImage>,
    /// Samples of `S′` the samples refer to.
    pub synthetic_images: Vec<IndexedImage>,
}

impl Gallery {
    /// Parses and checks a gallery: shapes, neighbour lists sorted and pointing at images it holds.
    pub fn parse(bytes: &[u8]) -> Result<Gallery, String> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!("larger than {} MB", MAX_FILE_BYTES >> 20));
        }
        let g: Gallery = serde_json::from_slice(bytes).map_err(|e| format!("not a sweep gallery: {e}"))?;
        let [h, w, c] = g.shape;
        if h == 0 || w == 0 || !(c == 1 || c == 3) || h * w > 512 * 512 {
            return Err(format!("gallery K = {}: bad image shape {:?}", g.k, g.shape));
        }
        // Every image holds h·w·c pixels (a wrong length would show as a black or torn
        // thumbnail).
        let len = h * w * c;
        let images = g.samples.iter().map(|s| ("sample", s.index, &s.image));
        let refs = g
            .train_images
            .iter()
            .map(|t| ("training image", t.index, &t.image))
            .chain(g.synthetic_images.iter().map(|t| ("synthetic image", t.index, &t.image)));
        for (what, i, b64) in images.chain(refs) {
            let px = decode_image(b64).map_err(|e| format!("gallery K = {}: {what} {i}: {e}", g.k))?;
            if px.len() != len {
                return Err(format!("gallery K = {}: {what} {i} has {} bytes, not {h}×{w}×{c} = {len}", g.k, px.len()));
            }
        }
        let has = |list: &[IndexedImage], j: usize| list.iter().any(|t| t.index == j);
        let sorted = |d: &[f64]| d.windows(2).all(|w| w[0] <= w[1]) && d.iter().all(|x| x.is_finite() && *x >= 0.0);
        for s in &g.samples {
            if s.train_distances.len() < 2
                || s.train_distances.len() != s.train_neighbours.len()
                || s.synthetic_distances.is_empty()
                || s.synthetic_distances.len() != s.synthetic_neighbours.len()
                || !sorted(&s.train_distances)
                || !sorted(&s.synthetic_distances)
            {
                return Err(format!("gallery K = {}: sample {} has malformed neighbour lists", g.k, s.index));
            }
            if let Some(j) = s.train_neighbours.iter().find(|j| !has(&g.train_images, **j)) {
                return Err(format!("gallery K = {}: training image {j} is referenced but not included", g.k));
            }
            if let Some(j) = s.synthetic_neighbours.iter().find(|j| !has(&g.synthetic_images, **j)) {
                return Err(format!("gallery K = {}: synthetic image {j} is referenced but not included", g.k));
            }
        }
        Ok(g)
    }

    /// Checks that the gallery belongs to `manifest`'s bundle: its K is one of the bundle's and
    /// its image shape is the dataset's.
    pub fn check_against(&self, manifest: &Manifest) -> Result<(), String> {
        if !manifest.k_done.contains(&self.k) {
            return Err(format!("gallery K = {} is not one of the bundle's K values", self.k));
        }
        let hwc = manifest.identity.sweep.image_hwc;
        if self.shape != hwc {
            return Err(format!("gallery K = {}: image shape {:?} is not the bundle's {:?}", self.k, self.shape, hwc));
        }
        Ok(())
    }

    /// The gallery's JSON bytes (compact; deterministic).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a gallery serializes")
    }

    /// Labels of every sample under `rule` (Eqs. 4–6 on the stored distances: no regeneration).
    pub fn classify(&self, rule: &Rule) -> Vec<Classified> {
        self.samples
            .iter()
            .map(|s| classify_distances(SampleDistances { d1: s.train_distances[0], d2: s.train_distances[1], d1_synthetic: s.synthetic_distances[0] }, rule))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The K = 32 point of the MNIST bundle: serde_json without `float_roundtrip` read its
    /// generalized std one ULP off the CSV's, and the finished bundle refused to merge.
    #[test]
    fn manifest_floats_read_back_to_the_bits_the_csv_has() {
        for x in [0.013252589693716357_f64, 0.0010034474525355058, 0.013299138384121181, 0.0014102729345768122, 0.003290763071082473] {
            let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
            assert_eq!(format!("{x}").parse::<f64>().unwrap().to_bits(), x.to_bits());
        }
    }

    #[test]
    fn csv_rows_parse_and_bad_rows_are_named() {
        let ok = format!("{CSV_HEADER}\n2,1,0,0,0,0,0\n8,0.5,0.05,0.25,0.04,0.25,0.04\n");
        let rows = parse_fractions_csv(&ok).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1], Row { k: 8, f: [0.5, 0.25, 0.25], std: [0.05, 0.04, 0.04] });
        for (bad, needle) in [
            ("", "empty"),
            ("k,m\n1,2", "header"),
            (&*format!("{CSV_HEADER}\n"), "no rows"),
            (&*format!("{CSV_HEADER}\n2,1,0,0,0,0"), "line 2"),
            (&*format!("{CSV_HEADER}\n2,1.5,0,0,0,0,0"), "line 2"),
            (&*format!("{CSV_HEADER}\n2,NaN,0,0,0,0,0"), "line 2"),
            (&*format!("{CSV_HEADER}\n4,1,0,0,0,0,0\n2,1,0,0,0,0,0"), "not larger"),
        ] {
            let e = parse_fractions_csv(bad).unwrap_err();
            assert_eq!(e.file, CSV_FILE);
            assert!(e.message.contains(needle), "{bad:?}: {e}");
        }
    }

    #[test]
    fn versions_1_and_2_upgrade_on_read_the_shipped_bundle_is_version_3_and_unknown_versions_are_refused_by_name() {
        use crate::model::Engine;
        // The bundle shipped before the K = 2..4096 one (commit 17c97f0^), kept as a fixture.
        let v1 = include_bytes!("../tests/data/manifest-v1.json");
        let m = Manifest::parse(v1).unwrap();
        assert_eq!(m.identity.format_version, FORMAT_VERSION, "upgraded as it is read");
        assert_eq!(m.k_done, vec![2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 512, 1024]);
        assert_eq!(m.identity.sweep.model.unet().map(|u| u.engine), Some(Engine::Fused { shards: 4 }));
        assert!(m.made_by().ends_with("bash scripts/make-bundle.sh"));
        // A version 1 point's settings follow from the identity.
        let c = m.point_config(4).unwrap();
        assert_eq!((c.k, c.seed, c.n_eval, c.n_synthetic), (4, memgen_core::spec::sweep_point_seed(0, 4), 256, 16));
        // The shipped bundle as it was in version 2 (each point records its own settings, steps
        // by K), and the same bundle converted by `memgen upgrade`: the same manifest.
        let v2 = Manifest::parse(include_bytes!("../tests/data/manifest-v2.json")).unwrap();
        let v3 = Manifest::parse(include_bytes!("../../../www/bundles/mnist/manifest.json")).unwrap();
        assert_eq!(v2, v3, "the shipped bundle is the version 2 fixture, upgraded");
        assert_eq!(v3.to_bytes(), include_bytes!("../../../www/bundles/mnist/manifest.json").to_vec(), "the shipped manifest is in this format");
        assert_eq!(v3.k_done, vec![2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]);
        let steps = |k| v3.point_config(k).and_then(|c| c.model.training().map(|t| t.steps));
        assert_eq!((steps(4), steps(1024), steps(4096)), (Some(2000), Some(16000), Some(32000)));
        assert_eq!(v3.point_config(4096).map(|c| c.n_eval), Some(1000));
        assert_eq!(v3.point_config(4096).map(|c| c.model.name()), Some("unet"));
        let text = String::from_utf8_lossy(v1);
        for (from, to, needle) in [
            ("\"format_version\": 1", "\"format_version\": 7", "format_version 7 is not one this build reads (1 to 3)"),
            ("\"format_version\": 1", "\"format_version\": \"x\"", "format_version \"x\""),
            ("\"format\": \"memgen-sweep-bundle\"", "\"format\": \"other\"", "not a memgen sweep bundle"),
            ("\"data_sha256\"", "\"data_sha\"", "data_sha256"),
        ] {
            assert!(text.contains(from), "{from}");
            let e = Manifest::parse(text.replacen(from, to, 1).as_bytes()).unwrap_err();
            assert_eq!(e.file, MANIFEST_FILE);
            assert!(e.message.contains(needle), "{to}: {e}");
        }
    }

    #[test]
    fn gallery_relabels_from_stored_distances_and_round_trips() {
        let sample = |i: usize, d: [f64; 2], s: f64, train: [usize; 2]| GallerySample {
            index: i,
            image: "AA==".into(),
            label: Label::Generalized,
            memorization_ratio: 0.0,
            spurious_ratio: 0.0,
            train_neighbours: train.to_vec(),
            train_distances: d.to_vec(),
            synthetic_neighbours: vec![3],
            synthetic_distances: vec![s],
        };
        let img = |i: usize| IndexedImage { index: i, image: "AA==".into() };
        let g = Gallery {
            k: 2,
            shape: [1, 1, 1],
            encoding: IMAGE_ENCODING.into(),
            distance: DISTANCE.into(),
            rule: Rule::Ratio { delta_m: 1.0 / 3.0, delta_s: 0.1 },
            n_eval: 2,
            n_synthetic: 8,
            train_dataset_indices: vec![5, 9],
            samples: vec![sample(0, [0.01, 1.0], 0.5, [0, 1]), sample(1, [0.6, 1.0], 0.01, [1, 0])],
            train_images: vec![img(0), img(1)],
            synthetic_images: vec![img(3)],
        };
        let bytes = g.to_bytes();
        let back = Gallery::parse(&bytes).unwrap();
        assert_eq!(back, g);
        let labels = |r: Rule| back.classify(&r).iter().map(|c| c.label).collect::<Vec<_>>();
        assert_eq!(labels(g.rule), vec![Label::Memorized, Label::Spurious]);
        // A looser δ_m turns the second sample memorized: relabelled without regenerating.
        assert_eq!(labels(Rule::Ratio { delta_m: 0.7, delta_s: 0.1 }), vec![Label::Memorized, Label::Memorized]);
        // A neighbour missing from the included images is refused.
        let mut broken = g.clone();
        broken.samples[0].train_neighbours = vec![0, 7];
        assert!(Gallery::parse(&broken.to_bytes()).unwrap_err().contains("training image 7"));
        assert!(Gallery::parse(b"{}").is_err());
        // An image whose bytes are not h·w·c (two bytes for a 1×1×1 image), or not base64.
        let mut long = g.clone();
        long.synthetic_images[0].image = "AAA=".into();
        assert_eq!(Gallery::parse(&long.to_bytes()).unwrap_err(), "gallery K = 2: synthetic image 3 has 2 bytes, not 1×1×1 = 1");
        let mut garbled = g.clone();
        garbled.samples[1].image = "%%".into();
        assert!(Gallery::parse(&garbled.to_bytes()).unwrap_err().starts_with("gallery K = 2: sample 1: an image is not base64"));
        // A gallery of another bundle: its shape, or its K, is not the manifest's.
        let m = Manifest::parse(include_bytes!("../../../www/bundles/mnist/manifest.json")).unwrap();
        assert_eq!(g.check_against(&m).unwrap_err(), "gallery K = 2: image shape [1, 1, 1] is not the bundle's [28, 28, 1]");
        let mut other_k = g.clone();
        (other_k.k, other_k.shape) = (3, [28, 28, 1]);
        assert_eq!(other_k.check_against(&m).unwrap_err(), "gallery K = 3 is not one of the bundle's K values");
        other_k.k = 2;
        assert_eq!(other_k.check_against(&m), Ok(()));
    }
}
