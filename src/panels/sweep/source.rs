//! Where the panel's bundle comes from: the shipped one (fetched lazily, file by file) or the
//! files a user chose. Parsing and checks are the library's (`memgen_models::bundle`).

use std::sync::Arc;

use memgen_models::bundle::{gallery_file, parse_fractions_csv, Gallery, Manifest, Row, CSV_FILE, MANIFEST_FILE};
use memgen_models::sweep::SweepConfig;

use crate::browser::fetch_bytes;

/// The shipped bundles' folder (its index lists them) and the bundle the panel opens.
const BUNDLES: &str = "www/bundles";
const SHIPPED_NAME: &str = "mnist";

/// Where the bundle's galleries come from.
#[derive(Clone)]
pub enum Source {
    /// Fetched lazily from the shipped folder.
    Shipped,
    /// Files the user chose: name → bytes.
    Uploaded(Arc<Vec<(String, Vec<u8>)>>),
}

/// A bundle the panel shows: its table, its manifest and where its galleries are.
#[derive(Clone)]
pub struct Loaded {
    pub rows: Vec<Row>,
    pub manifest: Arc<Manifest>,
    pub source: Source,
}

impl Loaded {
    /// The sweep that made it (what a re-run of one of its points repeats).
    pub fn sweep(&self) -> SweepConfig {
        SweepConfig::from_identity(&self.manifest.identity)
    }
}

fn parse(manifest: &[u8], csv: &[u8], source: Source) -> Result<Loaded, String> {
    // The table first: it is what the plot shows, and a damaged one is the commoner case.
    let rows = parse_fractions_csv(&String::from_utf8_lossy(csv)).map_err(|e| e.to_string())?;
    let manifest = Manifest::parse(manifest).map_err(|e| e.to_string())?;
    memgen_models::bundle::check_rows_against(&rows, &manifest).map_err(|e| e.to_string())?;
    Ok(Loaded { rows, manifest: Arc::new(manifest), source })
}

/// The shipped bundle, when the index lists it (so a build without one makes no failing request).
pub async fn load_shipped() -> Result<Loaded, String> {
    let index = fetch_bytes(&format!("{BUNDLES}/index.json")).await?;
    let index: serde_json::Value = serde_json::from_slice(&index).map_err(|e| format!("{BUNDLES}/index.json: {e}"))?;
    let listed = index.get("bundles").and_then(|b| b.as_array()).is_some_and(|b| b.iter().any(|x| x.as_str() == Some(SHIPPED_NAME)));
    if !listed {
        return Err(format!("{BUNDLES}/index.json lists none"));
    }
    let manifest = fetch_bytes(&format!("{BUNDLES}/{SHIPPED_NAME}/{MANIFEST_FILE}")).await?;
    let csv = fetch_bytes(&format!("{BUNDLES}/{SHIPPED_NAME}/{CSV_FILE}")).await?;
    parse(&manifest, &csv, Source::Shipped)
}

/// A bundle from the files a user chose (its manifest and table now, galleries when shown).
pub fn load_uploaded(files: Vec<(String, Vec<u8>)>) -> Result<Loaded, String> {
    let find = |n: &str| files.iter().find(|(f, _)| f == n).map(|(_, b)| b.clone());
    let manifest = find(MANIFEST_FILE).ok_or(format!("choose a bundle's files: {MANIFEST_FILE} is missing"))?;
    let csv = find(CSV_FILE).ok_or(format!("choose a bundle's files: {CSV_FILE} is missing"))?;
    parse(&manifest, &csv, Source::Uploaded(Arc::new(files)))
}

/// A file of the bundle by name: fetched from the shipped folder, or among the chosen files.
pub async fn load_file(source: &Source, name: &str) -> Result<Vec<u8>, String> {
    match source {
        Source::Shipped => fetch_bytes(&format!("{BUNDLES}/{SHIPPED_NAME}/{name}")).await,
        Source::Uploaded(files) => files.iter().find(|(f, _)| f == name).map(|(_, b)| b.clone()).ok_or(format!("{name} was not among the chosen files")),
    }
}

/// The gallery of point `k`.
pub async fn load_gallery(source: &Source, manifest: &Manifest, k: usize) -> Result<Gallery, String> {
    let name = gallery_file(k);
    let bytes = load_file(source, &name).await?;
    let g = Gallery::parse(&bytes).map_err(|e| format!("{name}: {e}"))?;
    if g.k != k {
        return Err(format!("{name} holds K = {}", g.k));
    }
    g.check_against(manifest).map_err(|e| format!("{name}: {e}"))?;
    Ok(g)
}
