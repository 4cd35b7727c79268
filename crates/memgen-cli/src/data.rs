//! `memgen datasets`, `memgen export` and `memgen import`: the lab's packed datasets
//! (memgen-data) and bring-your-own images, as .npy.
use crate::CliError;
use clap::ValueEnum;
use memgen_data::images::{import_path, ImportOptions};
use memgen_data::{balanced_subset, sha256_hex, subset, DatasetId, Manifest, ManifestEntry, PackedDataset, Split, MANIFEST_FILE};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportDataset {
    /// MNIST, 28×28 grey, 60,000 train / 10,000 test
    Mnist,
    /// Fashion-MNIST, 28×28 grey, 60,000 train / 10,000 test
    FashionMnist,
    /// Noto emoji, 32×32 RGB on white, one set (use --split train)
    Emoji,
}

impl From<ExportDataset> for DatasetId {
    fn from(d: ExportDataset) -> Self {
        match d {
            ExportDataset::Mnist => DatasetId::Mnist,
            ExportDataset::FashionMnist => DatasetId::FashionMnist,
            ExportDataset::Emoji => DatasetId::Emoji,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SplitArg {
    /// The full training set (emoji: its only set)
    Train,
    /// The test set
    Test,
}

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

fn one_line(e: impl std::fmt::Display) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}

/// Reads `DIR/datasets.json`, or says how to build it.
pub fn manifest(data_dir: &Path) -> Result<Manifest, CliError> {
    let path = data_dir.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(input(format!("no dataset manifest at {}: run `bash scripts/datasets.sh` to build the datasets (or pass --data-dir)", path.display())))
        }
        Err(e) => return Err(input(format!("{}: {}", path.display(), one_line(e)))),
    };
    Manifest::from_json(&bytes).map_err(|e| input(format!("{}: {}", path.display(), one_line(e))))
}

fn split_name(s: Split) -> &'static str {
    match s {
        Split::Train => "train",
        Split::TrainWeb => "train-web",
        Split::Test => "test",
        Split::All => "all",
    }
}

fn entry_json(data_dir: &Path, e: &ManifestEntry) -> Value {
    let h = &e.header;
    json!({
        "split": split_name(e.split),
        "file": e.file,
        "present": data_dir.join(&e.file).is_file(),
        "n": h.n,
        "shape": [h.height, h.width, h.channels],
        "bytes": e.bytes,
        "sha256": e.sha256,
        "payload_sha256": h.payload_sha256,
        "web": e.web,
        "subsample": h.subsample.as_ref().map(|s| json!({"of": s.of, "of_n": s.of_n, "method": s.method})),
    })
}

/// `memgen datasets`.
pub fn datasets(data_dir: &Path) -> Result<Value, CliError> {
    let m = manifest(data_dir)?;
    let mut list = Vec::new();
    for id in DatasetId::ALL {
        let files: Vec<&ManifestEntry> = m.of(id).collect();
        let Some(first) = files.first() else { continue };
        let h = &first.header;
        let web = m.web_train(id);
        list.push(json!({
            "id": id.as_str(),
            "title": id.title(),
            "shape": [h.height, h.width, h.channels],
            "classes": h.class_names,
            "licence": h.licence,
            "attribution": h.attribution,
            "source": h.source,
            "source_sha256": h.source_sha256,
            "splits": files.iter().map(|e| entry_json(data_dir, e)).collect::<Vec<_>>(),
            "web_file": web.map(|e| e.file.clone()),
            "web_subsample": web.and_then(|e| e.subsample()).map(|s| json!({
                "n": web.map(|e| e.header.n), "of": s.of, "of_n": s.of_n, "method": s.method,
            })),
            "cli_train_file": m.full_train(id).map(|e| e.file.clone()),
        }));
    }
    Ok(json!({
        "data_dir": data_dir.display().to_string(),
        "format_version": m.format_version,
        "datasets": list,
    }))
}

pub struct ExportArgs {
    pub dataset: ExportDataset,
    pub k: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub split: SplitArg,
    pub balanced: bool,
    pub labels: Option<PathBuf>,
    pub data_dir: PathBuf,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|e| input(format!("cannot write {}: {}", path.display(), one_line(e))))
}

/// Reads one packed file of the manifest, checking the whole file's SHA-256 against it.
pub(crate) fn load_entry(data_dir: &Path, e: &ManifestEntry) -> Result<PackedDataset, CliError> {
    let path = data_dir.join(&e.file);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(input(format!("{}: missing (listed in the manifest): run `bash scripts/datasets.sh` to build the datasets", path.display())))
        }
        Err(err) => return Err(input(format!("{}: {}", path.display(), one_line(err)))),
    };
    let actual = sha256_hex(&bytes);
    if actual != e.sha256 {
        return Err(input(format!(
            "{}: checksum mismatch (file corrupted or stale): manifest says sha256 {}, file has {actual}; rebuild with `bash scripts/datasets.sh`",
            path.display(),
            e.sha256
        )));
    }
    PackedDataset::from_bytes_named(&bytes, &path.display().to_string()).map_err(|err| input(one_line(err)))
}

/// `memgen export`.
pub fn export(a: &ExportArgs) -> Result<Value, CliError> {
    let id = DatasetId::from(a.dataset);
    if a.k == 0 {
        return Err(input("--k must be at least 1"));
    }
    let m = manifest(&a.data_dir)?;
    let entry = match a.split {
        SplitArg::Train => m.full_train(id),
        SplitArg::Test => m.find(id, Split::Test),
    }
    .ok_or_else(|| {
        input(format!(
            "dataset {id} has no {} split in {}",
            match a.split {
                SplitArg::Train => "training",
                SplitArg::Test => "test",
            },
            a.data_dir.join(MANIFEST_FILE).display()
        ))
    })?;
    let ds = load_entry(&a.data_dir, entry)?;
    let n = ds.len();
    if a.k > n {
        return Err(input(format!("--k {} is larger than the {n} images of {}", a.k, entry.file)));
    }
    let idx = if a.balanced {
        let labels = ds.labels().ok_or_else(|| input(format!("{} has no labels: --balanced needs them", entry.file)))?;
        balanced_subset(labels, a.k, a.seed)
    } else {
        subset(n, a.k, a.seed)
    }
    .map_err(|e| input(one_line(e)))?;
    let npy = ds.to_npy(&idx).map_err(|e| input(one_line(e)))?;
    let (h, w, c) = (ds.height(), ds.width(), ds.channels());
    let shape: Vec<usize> = if c == 1 { vec![a.k, h, w] } else { vec![a.k, h, w, c] };
    let labels_out = match &a.labels {
        Some(p) => {
            let l = ds.labels_npy(&idx).map_err(|e| input(one_line(e)))?;
            write(p, &l)?;
            Some(json!({"path": p.display().to_string(), "shape": [a.k], "dtype": "uint8", "sha256": sha256_hex(&l)}))
        }
        None => None,
    };
    write(&a.out, &npy)?;
    let class_counts = ds.labels().map(|l| {
        let mut counts = vec![0usize; ds.class_names().len().max(l.iter().map(|&x| x as usize + 1).max().unwrap_or(0))];
        for &i in &idx {
            counts[l[i] as usize] += 1;
        }
        counts
    });
    Ok(json!({
        "dataset": id.as_str(),
        "split": split_name(entry.split),
        "source_file": entry.file,
        "source_sha256": entry.sha256,
        "n": n,
        "k": a.k,
        "seed": a.seed,
        "balanced": a.balanced,
        "selection": if a.balanced {
            "memgen-data balanced_subset: round-robin over classes of memgen-core subset_indices(n, n, seed)"
        } else {
            "memgen-core subset_indices(n, k, seed): first k of the seeded permutation"
        },
        "out": a.out.display().to_string(),
        "shape": shape,
        "dtype": "uint8",
        "sha256": sha256_hex(&npy),
        "labels": labels_out,
        "class_names": ds.class_names(),
        "class_counts": class_counts,
    }))
}

/// `memgen import`.
pub fn import(inp: &Path, size: u32, colour: bool, out: &Path) -> Result<Value, CliError> {
    let imgs = import_path(inp, ImportOptions::new(size, colour)).map_err(|e| input(one_line(e)))?;
    let npy = imgs.to_npy().map_err(|e| input(one_line(e)))?;
    write(out, &npy)?;
    Ok(json!({
        "input": inp.display().to_string(),
        "n": imgs.len(),
        "out": out.display().to_string(),
        "shape": imgs.shape(),
        "dtype": "uint8",
        "colour": colour,
        "sha256": sha256_hex(&npy),
        "skipped": imgs.skipped,
    }))
}
