//! Sweep result bundles on disk: writing a folder, reading one, and `memgen merge`. The format
//! itself (its types, the CSV, version checks) is `memgen_models::bundle`, shared with the page.
//!
//! Merging checks that every input has the same identity and that a K present in two inputs
//! has byte-identical rows and galleries there; timings and command lines may differ.

use crate::CliError;
use memgen_models::bundle::{fractions_csv, samples_file, Bundle, BundleError, Identity, Manifest, MAX_FILE_BYTES};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

fn io(path: &Path, e: std::io::Error) -> CliError {
    input(format!("{}: {e}", path.display()))
}

/// Writes `b`'s files into `dir` (created if needed).
pub fn write(b: &Bundle, dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, bytes) in b.files() {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| io(&p, e))?;
    }
    Ok(())
}

/// Reads the bundle in `dir` (every file checked; errors name the file and the field).
pub fn read(dir: &Path) -> Result<Bundle, CliError> {
    Bundle::read(|name| {
        let p = dir.join(name);
        let too_big = std::fs::metadata(&p).map(|m| m.len() > MAX_FILE_BYTES as u64).unwrap_or(false);
        if too_big {
            return Err(BundleError { file: name.into(), message: format!("larger than {} MB", MAX_FILE_BYTES >> 20) });
        }
        std::fs::read(&p).map_err(|e| BundleError { file: name.into(), message: e.to_string() })
    })
    .map_err(|e| input(format!("{}: {e}", dir.display())))
}

/// `memgen upgrade`: each bundle read (every file checked, an older manifest upgraded as it is
/// read) and its manifest written again in this format; reports each folder's version before.
pub fn upgrade(dirs: &[PathBuf]) -> Result<Value, CliError> {
    let mut out = Vec::new();
    for dir in dirs {
        let path = dir.join(memgen_models::bundle::MANIFEST_FILE);
        let before: Value = serde_json::from_slice(&std::fs::read(&path).map_err(|e| io(&path, e))?).map_err(|e| input(format!("{}: {e}", path.display())))?;
        let b = read(dir)?;
        let bytes = b.manifest.to_bytes();
        std::fs::write(&path, &bytes).map_err(|e| io(&path, e))?;
        out.push(json!({"dir": dir.display().to_string(), "from_version": before["format_version"], "to_version": b.manifest.identity.format_version}));
    }
    Ok(json!({ "upgraded": out }))
}

/// Names the first top-level field in which two identities differ.
fn first_difference(a: &Identity, b: &Identity) -> String {
    let (va, vb) = (serde_json::to_value(a).expect("json"), serde_json::to_value(b).expect("json"));
    let (Some(x), Some(y)) = (va.as_object(), vb.as_object()) else { return "everything".into() };
    for (key, v) in x {
        if y.get(key) != Some(v) {
            if let (Value::Object(p), Some(Value::Object(q))) = (v, y.get(key)) {
                if let Some(sub) = p.keys().chain(q.keys()).find(|s| p.get(*s) != q.get(*s)) {
                    return format!("{key}.{sub}");
                }
            }
            return key.clone();
        }
    }
    "nothing".into()
}

/// `memgen merge`.
pub fn merge(dirs: &[PathBuf], out: &Path, command_line: Vec<String>, reproduce: Option<String>) -> Result<Value, CliError> {
    if dirs.is_empty() {
        return Err(input("merge: give at least one bundle folder"));
    }
    let bundles = dirs.iter().map(|d| read(d)).collect::<Result<Vec<_>, _>>()?;
    let first = &bundles[0].manifest.identity;
    for (b, d) in bundles.iter().zip(dirs).skip(1) {
        if b.manifest.identity != *first {
            return Err(input(format!(
                "mismatched specs: {} and {} differ in {}",
                dirs[0].display(),
                d.display(),
                first_difference(first, &b.manifest.identity)
            )));
        }
    }
    // K → (folder, record, gallery); a K in two inputs must have the same row and gallery.
    let mut points = BTreeMap::new();
    for (b, dir) in bundles.iter().zip(dirs) {
        for (r, g) in b.manifest.results.iter().zip(&b.galleries) {
            match points.get(&r.k) {
                Some((other, q, h)) if fractions_csv(std::slice::from_ref(q)) != fractions_csv(std::slice::from_ref(r)) || h != g => {
                    let other: &PathBuf = other;
                    return Err(input(format!("K = {} is in {} and {} with different results", r.k, other.display(), dir.display())));
                }
                Some(_) => {}
                None => {
                    points.insert(r.k, (dir.clone(), r.clone(), g.clone()));
                }
            }
        }
    }
    let mut timings = Vec::new();
    for (b, dir) in bundles.iter().zip(dirs) {
        for t in &b.manifest.timings {
            timings.push(memgen_models::bundle::Timing { source: Some(dir.display().to_string()), ..t.clone() });
        }
    }
    let total_s = timings.iter().map(|t| t.train_s + t.sample_s + t.label_s).sum();
    let merged = Bundle {
        manifest: Manifest {
            identity: first.clone(),
            k_done: points.keys().copied().collect(),
            results: points.values().map(|p| p.1.clone()).collect(),
            shard: None,
            timings,
            total_s,
            command_line,
            merged_from: dirs.iter().map(|d| d.display().to_string()).collect(),
            merged_command_lines: bundles.iter().map(|b| b.manifest.command_line.clone()).collect(),
            reproduce,
        },
        galleries: points.values().map(|p| p.2.clone()).collect(),
        extra: Vec::new(),
    };
    write(&merged, out)?;
    for (k, (dir, _, _)) in &points {
        let names = ["eval", "synthetic"].map(|set| samples_file(*k, set));
        for name in names.iter().chain(std::iter::once(&memgen_models::bundle::weights_file(*k))) {
            let src = dir.join(name);
            if src.is_file() {
                let dst = out.join(name);
                std::fs::copy(&src, &dst).map_err(|e| io(&dst, e))?;
            }
        }
    }
    let missing: Vec<usize> = first.spec.k_values.iter().copied().filter(|k| !points.contains_key(k)).collect();
    Ok(json!({
        "out": out.display().to_string(),
        "k_done": points.keys().collect::<Vec<_>>(),
        "k_missing": missing,
        "inputs": dirs.len(),
    }))
}
