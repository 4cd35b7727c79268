//! Sweep result bundles: reading, writing and merging (`memgen merge`).
//!
//! A bundle is a folder:
//! * `fractions.csv`: `k,memorized,memorized_std,spurious,spurious_std,generalized,generalized_std`,
//!   one row per K, ascending; fractions over `S_eval` and their bootstrap standard deviations.
//! * `gallery-k<K>.json`: the samples of point K with their top-5 neighbours in `S` and `S'`.
//! * `manifest.json`: how it was made ([`Identity`]: spec, sweep settings, parameter count,
//!   versions) and what it holds (per-K results, timings, shard, command line).
//!
//! Merging checks that every input has the same identity and that a K present in two inputs
//! has byte-identical rows and galleries there; timings and command lines may differ.

use crate::CliError;
use memgen_core::metrics::{Bootstrap, Fractions};
use memgen_core::spec::ExperimentSpec;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `manifest.json`'s `format`.
pub const FORMAT: &str = "memgen-sweep-bundle";
/// `manifest.json`'s `format_version`.
pub const FORMAT_VERSION: u32 = 1;
/// Header of `fractions.csv`.
pub const CSV_HEADER: &str =
    "k,memorized,memorized_std,spurious,spurious_std,generalized,generalized_std";
const MANIFEST: &str = "manifest.json";
const CSV: &str = "fractions.csv";

/// File name of the gallery of point `k`.
pub fn gallery_file(k: usize) -> String {
    format!("gallery-k{k}.json")
}

/// File name of the saved samples (`set` = `eval` or `synthetic`) of point `k`
/// (`memgen sweep --save-samples`): uint8 .npy `[n, h, w]` or `[n, h, w, c]`.
pub fn samples_file(k: usize, set: &str) -> String {
    format!("samples-k{k}-{set}.npy")
}

/// Versions of the crates that made a bundle.
pub fn versions() -> Value {
    json!({
        "memgen-cli": env!("CARGO_PKG_VERSION"),
        "memgen-core": env!("CARGO_PKG_VERSION"),
        "memgen-models": env!("CARGO_PKG_VERSION"),
        "burn": "0.22.1",
    })
}

/// What must agree for bundles to be merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The experiment spec (its `k_values` is the whole sweep, every shard's).
    pub spec: ExperimentSpec,
    /// Model, training, sampler, dataset file and conventions.
    pub sweep: Value,
    /// Trainable parameters of the model (0 for the ideal denoiser).
    pub model_parameters: usize,
    /// Crate versions.
    pub versions: Value,
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    /// Training-set size.
    pub k: usize,
    /// Label fractions over `S_eval`.
    pub fractions: Fractions,
    /// Bootstrap summaries (mean, std, 2.5/97.5 percentiles).
    pub bootstrap: Bootstrap,
    /// Gallery file name.
    pub gallery: String,
    /// Training-loss summary (UNet only).
    pub loss: Value,
}

/// A bundle in memory.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub identity: Identity,
    /// Ascending in K once written.
    pub results: Vec<PointResult>,
    /// Gallery JSON bytes, same order as `results`.
    pub galleries: Vec<Vec<u8>>,
    pub shard: Option<Value>,
    pub timings: Vec<Value>,
    pub total_s: f64,
    pub command_line: Vec<String>,
    pub merged_from: Vec<String>,
    /// The command lines of the merged inputs, in `merged_from`'s order.
    pub merged_command_lines: Vec<Vec<String>>,
    /// How to make the bundle again, when it was made by a script around `memgen` (the page
    /// shows it instead of `command_line`).
    pub reproduce: Option<String>,
}

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

/// One CSV row (Rust's shortest round-trip float formatting: deterministic).
fn csv_row(r: &PointResult) -> String {
    let b = &r.bootstrap;
    format!(
        "{},{},{},{},{},{},{}",
        r.k,
        r.fractions.memorized,
        b.memorized.std,
        r.fractions.spurious,
        b.spurious.std,
        r.fractions.generalized,
        b.generalized.std
    )
}

fn io(path: &Path, e: std::io::Error) -> CliError {
    input(format!("{}: {e}", path.display()))
}

/// Writes `b` into `dir` (created if needed), sorting points by K.
pub fn write(b: &Bundle, dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut order: Vec<usize> = (0..b.results.len()).collect();
    order.sort_by_key(|&i| b.results[i].k);
    let mut csv = String::from(CSV_HEADER);
    csv.push('\n');
    for &i in &order {
        csv.push_str(&csv_row(&b.results[i]));
        csv.push('\n');
        let p = dir.join(&b.results[i].gallery);
        std::fs::write(&p, &b.galleries[i]).map_err(|e| io(&p, e))?;
    }
    let p = dir.join(CSV);
    std::fs::write(&p, csv).map_err(|e| io(&p, e))?;
    let results: Vec<&PointResult> = order.iter().map(|&i| &b.results[i]).collect();
    let mut manifest = serde_json::to_value(&b.identity).expect("json");
    let m = manifest.as_object_mut().expect("object");
    m.insert(
        "k_done".into(),
        json!(results.iter().map(|r| r.k).collect::<Vec<_>>()),
    );
    m.insert("results".into(), json!(results));
    m.insert("shard".into(), b.shard.clone().unwrap_or(Value::Null));
    m.insert("timings".into(), json!(b.timings));
    m.insert("total_s".into(), json!(b.total_s));
    m.insert("command_line".into(), json!(b.command_line));
    if !b.merged_from.is_empty() {
        m.insert("merged_from".into(), json!(b.merged_from));
        m.insert("merged_command_lines".into(), json!(b.merged_command_lines));
    }
    if let Some(r) = &b.reproduce {
        m.insert("reproduce".into(), json!(r));
    }
    let p = dir.join(MANIFEST);
    std::fs::write(&p, serde_json::to_vec_pretty(&manifest).expect("json")).map_err(|e| io(&p, e))
}

/// A bundle read back: its identity, rows, results, gallery bytes and timings.
struct ReadBundle {
    dir: PathBuf,
    identity: Identity,
    points: BTreeMap<usize, (String, PointResult, Vec<u8>)>,
    timings: Vec<Value>,
    command_line: Vec<String>,
}

fn read(dir: &Path) -> Result<ReadBundle, CliError> {
    let mp = dir.join(MANIFEST);
    let bytes = std::fs::read(&mp).map_err(|e| io(&mp, e))?;
    let manifest: Value = serde_json::from_slice(&bytes)
        .map_err(|e| input(format!("{}: not JSON: {e}", mp.display())))?;
    let identity: Identity = serde_json::from_value(manifest.clone())
        .map_err(|e| input(format!("{}: not a sweep manifest: {e}", mp.display())))?;
    if identity.format != FORMAT || identity.format_version != FORMAT_VERSION {
        return Err(input(format!(
            "{}: format {} v{} is not {FORMAT} v{FORMAT_VERSION}",
            mp.display(),
            identity.format,
            identity.format_version
        )));
    }
    let results: Vec<PointResult> =
        serde_json::from_value(manifest.get("results").cloned().unwrap_or(Value::Null))
            .map_err(|e| input(format!("{}: results: {e}", mp.display())))?;
    let cp = dir.join(CSV);
    let csv = std::fs::read_to_string(&cp).map_err(|e| io(&cp, e))?;
    let mut lines = csv.lines();
    if lines.next() != Some(CSV_HEADER) {
        return Err(input(format!(
            "{}: header is not {CSV_HEADER}",
            cp.display()
        )));
    }
    let mut rows = BTreeMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let k: usize = line
            .split(',')
            .next()
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| input(format!("{}: bad row {line:?}", cp.display())))?;
        rows.insert(k, line.to_string());
    }
    let mut points = BTreeMap::new();
    for r in results {
        let row = rows.remove(&r.k).ok_or_else(|| {
            input(format!(
                "{}: no row for K = {} of the manifest",
                cp.display(),
                r.k
            ))
        })?;
        let gp = dir.join(&r.gallery);
        let g = std::fs::read(&gp).map_err(|e| io(&gp, e))?;
        points.insert(r.k, (row, r, g));
    }
    if let Some(k) = rows.keys().next() {
        return Err(input(format!(
            "{}: row K = {k} is not in the manifest",
            cp.display()
        )));
    }
    let timings = manifest
        .get("timings")
        .and_then(|t| t.as_array().cloned())
        .unwrap_or_default();
    let command_line = manifest
        .get("command_line")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    Ok(ReadBundle {
        dir: dir.to_path_buf(),
        identity,
        points,
        timings,
        command_line,
    })
}

/// Names the first top-level field in which two identities differ.
fn first_difference(a: &Identity, b: &Identity) -> String {
    let (va, vb) = (
        serde_json::to_value(a).expect("json"),
        serde_json::to_value(b).expect("json"),
    );
    for key in [
        "format",
        "format_version",
        "spec",
        "sweep",
        "model_parameters",
        "versions",
    ] {
        if va.get(key) != vb.get(key) {
            if let (Some(Value::Object(x)), Some(Value::Object(y))) = (va.get(key), vb.get(key)) {
                if let Some(sub) = x.keys().chain(y.keys()).find(|s| x.get(*s) != y.get(*s)) {
                    return format!("{key}.{sub}");
                }
            }
            return key.to_string();
        }
    }
    "nothing".into()
}

/// `memgen merge`.
pub fn merge(dirs: &[PathBuf], out: &Path, command_line: Vec<String>, reproduce: Option<String>) -> Result<Value, CliError> {
    if dirs.is_empty() {
        return Err(input("merge: give at least one bundle folder"));
    }
    let bundles = dirs
        .iter()
        .map(|d| read(d))
        .collect::<Result<Vec<_>, _>>()?;
    let first = &bundles[0];
    for b in &bundles[1..] {
        if b.identity != first.identity {
            return Err(input(format!(
                "mismatched specs: {} and {} differ in {}",
                first.dir.display(),
                b.dir.display(),
                first_difference(&first.identity, &b.identity)
            )));
        }
    }
    let mut points: BTreeMap<usize, (&Path, &(String, PointResult, Vec<u8>))> = BTreeMap::new();
    for b in &bundles {
        for (k, p) in &b.points {
            match points.get(k) {
                Some((other, q)) if q.0 != p.0 || q.2 != p.2 => {
                    return Err(input(format!(
                        "K = {k} is in {} and {} with different results",
                        other.display(),
                        b.dir.display()
                    )));
                }
                Some(_) => {}
                None => {
                    points.insert(*k, (&b.dir, p));
                }
            }
        }
    }
    let mut timings = Vec::new();
    for b in &bundles {
        for t in &b.timings {
            let mut t = t.clone();
            t["source"] = json!(b.dir.display().to_string());
            timings.push(t);
        }
    }
    let merged = Bundle {
        identity: first.identity.clone(),
        results: points.values().map(|(_, p)| p.1.clone()).collect(),
        galleries: points.values().map(|(_, p)| p.2.clone()).collect(),
        shard: None,
        total_s: timings
            .iter()
            .filter_map(|t| {
                Some(
                    t.get("train_s")?.as_f64()?
                        + t.get("sample_s")?.as_f64()?
                        + t.get("label_s")?.as_f64()?,
                )
            })
            .sum(),
        timings,
        command_line,
        merged_from: dirs.iter().map(|d| d.display().to_string()).collect(),
        merged_command_lines: bundles.iter().map(|b| b.command_line.clone()).collect(),
        reproduce,
    };
    write(&merged, out)?;
    for (k, (dir, _)) in &points {
        for set in ["eval", "synthetic"] {
            let src = dir.join(samples_file(*k, set));
            if src.is_file() {
                let dst = out.join(samples_file(*k, set));
                std::fs::copy(&src, &dst).map_err(|e| io(&dst, e))?;
            }
        }
    }
    let missing: Vec<usize> = first
        .identity
        .spec
        .k_values
        .iter()
        .copied()
        .filter(|k| !points.contains_key(k))
        .collect();
    Ok(json!({
        "out": out.display().to_string(),
        "k_done": points.keys().collect::<Vec<_>>(),
        "k_missing": missing,
        "inputs": dirs.len(),
    }))
}
