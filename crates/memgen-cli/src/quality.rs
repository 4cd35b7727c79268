//! `memgen refnet` trains the reference classifier of a dataset; `memgen quality` measures
//! samples with it (docs/SCIENCE.md §7): a user's own .npy, or each point of a sweep bundle.
use crate::data::{load_entry, manifest};
use crate::CliError;
use clap::{Args, ValueEnum};
use memgen_data::{sha256_hex, DatasetId, PackedDataset, PixelRange, Split};
use memgen_models::bundle::{Gallery, Manifest as BundleManifest, PointQuality, MANIFEST_FILE};
use memgen_models::refnet::{QualityReference, RefNet, RefNetConfig, RefNetInfo, REFNET_FORMAT};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Datasets with a reference classifier.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum QualityDataset {
    /// MNIST (28×28 grey digits)
    Mnist,
    /// Fashion-MNIST (28×28 grey clothing)
    FashionMnist,
}

impl QualityDataset {
    fn id(self) -> DatasetId {
        match self {
            QualityDataset::Mnist => DatasetId::Mnist,
            QualityDataset::FashionMnist => DatasetId::FashionMnist,
        }
    }
}

/// The classifier's file name in the data folder: `mnist-refnet.safetensors`.
pub fn refnet_file(dataset: DatasetId) -> String {
    format!("{}-refnet.safetensors", dataset.as_str())
}

/// Test images in the reference manifold (the other half of the 10,000 are held out as real
/// images scored beside the samples).
pub const DEFAULT_REFERENCE: usize = 5000;

/// How `memgen quality` reads sample values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Range {
    /// uint8 files as 0–255; float files as [−1, 1] if any value is below 0, else [0, 1]
    Auto,
    /// 0–255
    Byte,
    /// [0, 1]
    ZeroOne,
    /// [−1, 1]
    MinusOneOne,
}

/// `memgen refnet`.
#[derive(Args)]
pub struct RefnetArgs {
    /// Dataset whose training split trains it
    #[arg(long, value_enum)]
    dataset: QualityDataset,
    /// Output file [default: DATA_DIR/<dataset>-refnet.safetensors]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passes over the 60,000 training images [default: 3]
    #[arg(long)]
    epochs: Option<usize>,
    /// Folder holding datasets.json and the packed .mgds files
    #[arg(long, default_value = "www/data")]
    data_dir: PathBuf,
}

/// `memgen quality`.
#[derive(Args)]
pub struct QualityArgs {
    /// Dataset whose classifier and test split judge the samples
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: QualityDataset,
    /// Samples (.npy, [n, 28, 28] or [n, 784]; see --range)
    #[arg(long, conflicts_with = "bundle", required_unless_present = "bundle")]
    samples: Option<PathBuf>,
    /// A sweep bundle folder: measures each point's gallery samples
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// With --bundle: write each point's quality into the bundle's manifest.json
    #[arg(long, requires = "bundle")]
    write: bool,
    /// How sample values map to pixels
    #[arg(long, value_enum, default_value = "auto")]
    range: Range,
    /// Classifier file [default: DATA_DIR/<dataset>-refnet.safetensors, made by `memgen refnet`]
    #[arg(long)]
    classifier: Option<PathBuf>,
    /// Test images in the reference manifold (the rest are the real images scored beside yours)
    #[arg(long, default_value_t = DEFAULT_REFERENCE)]
    reference: usize,
    /// With --samples: also write the samples' classifier features (float32 .npy [n, F])
    #[arg(long, requires = "samples")]
    features_out: Option<PathBuf>,
    /// Folder holding datasets.json and the packed .mgds files
    #[arg(long, default_value = "www/data")]
    data_dir: PathBuf,
}

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

fn split(data_dir: &Path, id: DatasetId, s: Split) -> Result<PackedDataset, CliError> {
    let m = manifest(data_dir)?;
    let e = m.find(id, s).ok_or_else(|| input(format!("{}: no {s:?} split in {}/datasets.json", id.as_str(), data_dir.display())))?;
    load_entry(data_dir, e)
}

/// `memgen refnet`.
pub fn refnet(a: &RefnetArgs) -> Result<Value, CliError> {
    let id = a.dataset.id();
    let train = split(&a.data_dir, id, Split::Train)?;
    let test = split(&a.data_dir, id, Split::Test)?;
    let mut config = RefNetConfig::mnist();
    if let Some(e) = a.epochs {
        config.epochs = e.max(1);
    }
    if train.height() != config.height || train.width() != config.width || train.channels() != config.channels {
        return Err(input(format!("{}: images are {}×{}×{}, the classifier takes 28×28×1", id.as_str(), train.height(), train.width(), train.channels())));
    }
    let labels = train.labels().ok_or_else(|| input("training split has no labels"))?.to_vec();
    let images = train.to_f32(PixelRange::MinusOneOne);
    let t0 = std::time::Instant::now();
    let net = RefNet::train(config.clone(), &images, &labels, |step, steps, loss| {
        if step % 500 == 0 || step == steps {
            eprintln!("refnet {}: step {step}/{steps}, loss {loss:.4}, {:.0} s", id.as_str(), t0.elapsed().as_secs_f64());
        }
    })
    .map_err(input)?;
    let train_s = t0.elapsed().as_secs_f64();
    let test_labels = test.labels().ok_or_else(|| input("test split has no labels"))?;
    let accuracy = net.accuracy(&test.to_f32(PixelRange::MinusOneOne), test_labels).map_err(input)?;
    let info = RefNetInfo {
        format: REFNET_FORMAT.into(),
        config,
        dataset: id.as_str().into(),
        train_sha256: train.header().payload_sha256.clone(),
        test_accuracy: accuracy,
        params: net.num_params(),
    };
    let bytes = net.to_bytes(&info).map_err(input)?;
    let out = a.out.clone().unwrap_or_else(|| a.data_dir.join(refnet_file(id)));
    std::fs::write(&out, &bytes).map_err(|e| input(format!("cannot write {}: {e}", out.display())))?;
    Ok(
        json!({"out": out, "sha256": sha256_hex(&bytes), "bytes": bytes.len(), "test_accuracy": accuracy, "params": info.params, "train_s": train_s, "info": info}),
    )
}

/// Loads a classifier file and the dataset's test split into a reference.
pub fn reference(data_dir: &Path, id: DatasetId, classifier: Option<&Path>, n_reference: usize) -> Result<(QualityReference, String), CliError> {
    let path = classifier.map(Path::to_path_buf).unwrap_or_else(|| data_dir.join(refnet_file(id)));
    let bytes = std::fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            input(format!("{}: no classifier; make it with `memgen refnet --dataset {}` (or `bash scripts/refnet.sh`)", path.display(), id.as_str()))
        } else {
            input(format!("{}: {e}", path.display()))
        }
    })?;
    let (net, info) = RefNet::from_bytes(&bytes).map_err(|e| input(format!("{}: {e}", path.display())))?;
    if info.dataset != id.as_str() {
        return Err(input(format!("{}: a classifier of {}, not {}", path.display(), info.dataset, id.as_str())));
    }
    let test = split(data_dir, id, Split::Test)?;
    let reference = QualityReference::new(net, info, &test.to_f32(PixelRange::MinusOneOne), n_reference).map_err(input)?;
    Ok((reference, sha256_hex(&bytes)))
}

/// Maps sample values to `[−1, 1]`.
fn to_unit(values: &[f32], range: Range, is_u8: bool) -> Result<(Vec<f32>, Range), CliError> {
    let range = match range {
        Range::Auto if is_u8 => Range::Byte,
        Range::Auto if values.iter().any(|&v| v < 0.0) => Range::MinusOneOne,
        Range::Auto => Range::ZeroOne,
        r => r,
    };
    let (lo, hi) = match range {
        Range::Byte => (0.0, 255.0),
        Range::ZeroOne => (0.0, 1.0),
        _ => (-1.0, 1.0),
    };
    if let Some(v) = values.iter().find(|v| !v.is_finite() || **v < lo - 1e-3 || **v > hi + 1e-3) {
        return Err(input(format!("sample value {v} is outside {range:?} [{lo}, {hi}]; pass --range")));
    }
    Ok((values.iter().map(|&v| (2.0 * (v - lo) / (hi - lo) - 1.0).clamp(-1.0, 1.0)).collect(), range))
}

pub fn point_quality(r: &QualityReference, sha: &str, images: &[f32], of: &str) -> Result<PointQuality, CliError> {
    let samples = r.measure(images).map_err(input)?;
    let real = r.baseline(samples.samples).map_err(input)?;
    Ok(PointQuality { of: of.into(), samples, real, classifier_sha256: sha.into() })
}

/// `memgen quality`.
pub fn quality(a: &QualityArgs) -> Result<Value, CliError> {
    let id = a.dataset.id();
    // A bundle's manifest is read first: a broken bundle is named before any classifier loads.
    let bundle = match &a.bundle {
        Some(dir) if a.samples.is_none() => {
            let mpath = dir.join(MANIFEST_FILE);
            let mbytes = std::fs::read(&mpath).map_err(|e| input(format!("{}: {e}", mpath.display())))?;
            let m = BundleManifest::parse(&mbytes).map_err(|e| input(format!("{}: {e}", mpath.display())))?;
            Some((dir, mpath, m))
        }
        _ => None,
    };
    let (r, sha) = reference(&a.data_dir, id, a.classifier.as_deref(), a.reference)?;
    let d = r.net().config.image_len();
    if let Some(path) = &a.samples {
        let bytes = std::fs::read(path).map_err(|e| input(format!("{}: {e}", path.display())))?;
        let arr = memgen_data::npy::decode(&bytes).map_err(|e| input(format!("{}: {e}", path.display())))?;
        let per: usize = arr.shape.iter().skip(1).product();
        if arr.shape.is_empty() || per != d {
            return Err(input(format!("{}: shape {:?}; expected [n, 28, 28] or [n, 784] (grey 28×28)", path.display(), arr.shape)));
        }
        let (values, is_u8) = match arr.data {
            memgen_data::npy::NpyData::F32(v) => (v, false),
            memgen_data::npy::NpyData::F64(v) => (v.into_iter().map(|x| x as f32).collect(), false),
            memgen_data::npy::NpyData::U8(v) => (v.into_iter().map(f32::from).collect(), true),
        };
        let (images, range) = to_unit(&values, a.range, is_u8)?;
        // Features once: measured, and written when asked for.
        let (f, classes) = r.net().features_and_classes(&images).map_err(input)?;
        let samples = r.measure_features(&f, &classes).map_err(input)?;
        let q = PointQuality { of: "samples".into(), real: r.baseline(samples.samples).map_err(input)?, samples, classifier_sha256: sha.clone() };
        if let Some(out) = &a.features_out {
            let npy = memgen_data::npy::encode_f32(&[f.rows(), f.cols()], f.data()).map_err(|e| input(e.to_string()))?;
            std::fs::write(out, npy).map_err(|e| input(format!("cannot write {}: {e}", out.display())))?;
        }
        return Ok(json!({"dataset": id.as_str(), "range": format!("{range:?}"), "quality": q.samples, "real": q.real, "classifier_sha256": sha,
                         "reference": r.reference_len()}));
    }
    let Some((dir, mpath, mut m)) = bundle else { return Err(input("pass --samples FILE.npy or --bundle DIR")) };
    let mut points = Vec::new();
    let galleries: Vec<(String, Gallery)> = m
        .results
        .iter()
        .map(|rec| {
            let gpath = dir.join(&rec.gallery);
            Gallery::parse(&std::fs::read(&gpath).map_err(|e| input(format!("{}: {e}", gpath.display())))?)
                .and_then(|g| g.check_against(&m).map(|_| g))
                .map(|g| (gpath.display().to_string(), g))
                .map_err(|e| input(format!("{}: {e}", gpath.display())))
        })
        .collect::<Result<_, _>>()?;
    for (rec, (gpath, g)) in m.results.iter_mut().zip(galleries) {
        let mut pixels = Vec::with_capacity(g.samples.len() * d);
        for s in &g.samples {
            let px = memgen_models::bundle::decode_image(&s.image).map_err(|e| input(format!("{gpath}: {e}")))?;
            if px.len() != d {
                return Err(input(format!("{gpath}: a {}-pixel image; the classifier takes {d}", px.len())));
            }
            pixels.extend(px);
        }
        let images = r.net().packed_input(&pixels);
        let q = point_quality(&r, &sha, &images, "gallery")?;
        points.push(json!({"k": rec.k, "fractions": rec.fractions, "quality": q.samples, "real": q.real}));
        rec.quality = Some(q);
    }
    if a.write {
        // Through a JSON value: keys sorted, as the shipped bundles are written.
        let text = serde_json::to_value(&m).and_then(|v| serde_json::to_string_pretty(&v)).map_err(|e| input(e.to_string()))?;
        std::fs::write(&mpath, text).map_err(|e| input(format!("cannot write {}: {e}", mpath.display())))?;
    }
    Ok(json!({"dataset": id.as_str(), "bundle": dir, "written": a.write, "classifier_sha256": sha, "reference": r.reference_len(), "points": points}))
}
