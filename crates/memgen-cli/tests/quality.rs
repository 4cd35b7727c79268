//! The sample-quality measure on the real datasets (issue 15, item 1): the reference classifiers
//! that `scripts/refnet.sh` trains (`memgen refnet`) into www/data, and their calibration —
//! held-out real test images score high precision and recall, uniform noise near zero
//! precision, blurred and locally pixel-shuffled digits in between — and `memgen quality` on
//! .npy files and on the shipped bundle.
//!
//! Reads www/data (built by `bash scripts/datasets.sh` and `bash scripts/refnet.sh`).

use memgen_core::quality::SampleQuality;
use memgen_data::{DatasetId, Manifest, PackedDataset, PixelRange, Split};
use memgen_models::refnet::{QualityReference, RefNet};
use std::path::{Path, PathBuf};

mod common;
use common::{fails_with, ok_json};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/data")
}

fn test_split(id: DatasetId) -> PackedDataset {
    let m = Manifest::from_json(&std::fs::read(data().join("datasets.json")).expect("www/data/datasets.json: run bash scripts/datasets.sh")).unwrap();
    PackedDataset::read_file(data().join(&m.find(id, Split::Test).unwrap().file)).unwrap()
}

fn reference(id: DatasetId) -> (QualityReference, PackedDataset) {
    let path = data().join(format!("{}-refnet.safetensors", id.as_str()));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (made by bash scripts/refnet.sh)", path.display()));
    let (net, info) = RefNet::from_bytes(&bytes).unwrap();
    let test = test_split(id);
    (QualityReference::new(net, info, &test.to_f32(PixelRange::MinusOneOne), 5000).unwrap(), test)
}

/// Held-out test images (indices 5000.., never in the reference), in [−1, 1].
fn held_out(test: &PackedDataset, n: usize) -> Vec<f32> {
    test.images_f32(&(5000..5000 + n).collect::<Vec<_>>(), PixelRange::MinusOneOne).unwrap()
}

/// A 5×5 box blur of 28×28 images.
fn blur(images: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0; images.len()];
    for (src, dst) in images.chunks(784).zip(out.chunks_mut(784)) {
        for y in 0..28i32 {
            for x in 0..28i32 {
                let (mut s, mut n) = (0.0, 0.0);
                for dy in -2..=2 {
                    for dx in -2..=2 {
                        let (yy, xx) = (y + dy, x + dx);
                        if (0..28).contains(&yy) && (0..28).contains(&xx) {
                            s += src[(yy * 28 + xx) as usize];
                            n += 1.0;
                        }
                    }
                }
                dst[(y * 28 + x) as usize] = s / n;
            }
        }
    }
    out
}

/// Each pixel swapped with a seeded random pixel at most `r` away in each direction.
fn local_shuffle(images: &[f32], r: i32, seed: u64) -> Vec<f32> {
    let mut out = images.to_vec();
    let mut noise = memgen_core::spec::NoiseStream::new(seed, 11);
    for img in out.chunks_mut(784) {
        for i in 0..784i32 {
            let (y, x) = (i / 28, i % 28);
            let yy = (y + noise.below(2 * r as u64 + 1) as i32 - r).clamp(0, 27);
            let xx = (x + noise.below(2 * r as u64 + 1) as i32 - r).clamp(0, 27);
            img.swap(i as usize, (yy * 28 + xx) as usize);
        }
    }
    out
}

fn show(what: &str, q: &SampleQuality) -> String {
    format!(
        "{what}: precision {:.3}, recall {:?}, Fréchet {:?}, classes {:?}",
        q.precision,
        q.recall.map(|r| (r * 1e3).round() / 1e3),
        q.frechet.map(|f| (f * 1e4).round() / 1e4),
        q.classes
    )
}

/// `max_noise_precision`: Fashion-MNIST's classifier puts uniform noise on its bags' manifold
/// (docs/SCIENCE.md §7), so there only recall and the Fréchet distance single noise out.
fn calibrate(id: DatasetId, min_accuracy: f64, max_noise_precision: f64) {
    let (r, test) = reference(id);
    assert!(r.info.test_accuracy >= min_accuracy, "{}: test accuracy {}", id.as_str(), r.info.test_accuracy);
    let n = 1000;
    let real = r.baseline(n).unwrap();
    let noise: Vec<f32> = memgen_core::spec::uniforms(n * 784, 5, 12).into_iter().map(|u| 2.0 * u - 1.0).collect();
    let noise = r.measure(&noise).unwrap();
    let images = held_out(&test, n);
    let blurred = r.measure(&blur(&images)).unwrap();
    let shuffled = r.measure(&local_shuffle(&images, 2, 3)).unwrap();
    let report = [show("real", &real), show("noise", &noise), show("blurred", &blurred), show("shuffled", &shuffled)].join("\n");
    eprintln!("{}:\n{report}", id.as_str());
    assert!(real.precision >= 0.9 && real.recall.unwrap() >= 0.7, "{report}");
    assert!(noise.precision <= max_noise_precision && noise.recall.unwrap() <= 0.01, "{report}");
    for q in [&blurred, &shuffled] {
        assert!(q.precision > noise.precision + 0.05 && q.precision < real.precision - 0.1, "{report}");
        assert!(q.recall.unwrap() < real.recall.unwrap() - 0.2, "{report}");
        assert!(q.frechet.unwrap() > 2.0 * real.frechet.unwrap(), "{report}");
    }
    assert!(noise.frechet.unwrap() > 10.0 * real.frechet.unwrap(), "{report}");
    assert!(noise.frechet.unwrap() > blurred.frechet.unwrap().max(shuffled.frechet.unwrap()), "{report}");
    // The classifier itself sees real test images as their classes, all ten of them.
    let classes = r.measure(&images).unwrap();
    assert_eq!(classes.classes_present(), 10);
    assert_eq!(classes.classes.iter().sum::<usize>(), n);
}

#[test]
fn mnist_quality_is_calibrated() {
    calibrate(DatasetId::Mnist, 0.98, 0.03);
}

#[test]
fn fashion_mnist_quality_is_calibrated() {
    calibrate(DatasetId::FashionMnist, 0.88, 0.75);
}

#[test]
fn memgen_quality_on_npy_files_and_bad_input() {
    let dir = std::env::temp_dir().join(format!("memgen-quality-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = data();
    let dd = d.to_str().unwrap();
    let test = test_split(DatasetId::Mnist);
    // Real test digits as uint8 [n, 28, 28] (auto range: 0–255).
    let idx: Vec<usize> = (9000..9500).collect();
    let px = test.images_u8(&idx).unwrap();
    let real = dir.join("real.npy");
    std::fs::write(&real, memgen_data::npy::encode_u8(&[idx.len(), 28, 28], &px).unwrap()).unwrap();
    let out = ok_json(&["quality", "--data-dir", dd, "--samples", real.to_str().unwrap()]);
    assert_eq!(out["range"], "Byte");
    let p = out["quality"]["precision"].as_f64().unwrap();
    let p_real = out["real"]["precision"].as_f64().unwrap();
    assert!(p > 0.85 && (p - p_real).abs() < 0.08, "{out}");
    assert_eq!(out["quality"]["samples"], 500);
    // The same digits as float32 in [0, 1] give the same figures.
    let f: Vec<f32> = px.iter().map(|&v| v as f32 / 255.0).collect();
    let unit = dir.join("unit.npy");
    std::fs::write(&unit, memgen_data::npy::encode_f32(&[idx.len(), 784], &f).unwrap()).unwrap();
    let out2 = ok_json(&["quality", "--data-dir", dd, "--samples", unit.to_str().unwrap()]);
    assert_eq!(out2["range"], "ZeroOne");
    assert!((out2["quality"]["precision"].as_f64().unwrap() - p).abs() < 1e-9, "{out2}");
    // Bad input: one line, no panic.
    let wrong = dir.join("wrong.npy");
    std::fs::write(&wrong, memgen_data::npy::encode_f32(&[2, 10], &[0.5; 20]).unwrap()).unwrap();
    fails_with(&["quality", "--data-dir", dd, "--samples", wrong.to_str().unwrap()], "expected [n, 28, 28]");
    fails_with(
        &["quality", "--data-dir", dd, "--samples", unit.to_str().unwrap(), "--range", "minus-one-one", "--classifier", "/nonexistent.safetensors"],
        "no classifier",
    );
    let big = dir.join("big.npy");
    std::fs::write(&big, memgen_data::npy::encode_f32(&[1, 784], &[3.0; 784]).unwrap()).unwrap();
    fails_with(&["quality", "--data-dir", dd, "--samples", big.to_str().unwrap()], "outside");
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"junk").unwrap();
    fails_with(&["quality", "--data-dir", dd, "--samples", unit.to_str().unwrap(), "--classifier", junk.to_str().unwrap()], "classifier file");
    fails_with(
        &[
            "quality",
            "--data-dir",
            dd,
            "--dataset",
            "fashion-mnist",
            "--samples",
            unit.to_str().unwrap(),
            "--classifier",
            d.join("mnist-refnet.safetensors").to_str().unwrap(),
        ],
        "a classifier of mnist",
    );
}

#[test]
fn the_shipped_bundle_records_quality_that_the_classifier_reproduces() {
    let bundle = data().join("../bundles/mnist");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let out = ok_json(&["quality", "--data-dir", data().to_str().unwrap(), "--bundle", bundle.to_str().unwrap()]);
    let points = out["points"].as_array().unwrap();
    let results = m["results"].as_array().unwrap();
    assert_eq!(points.len(), results.len());
    for (p, r) in points.iter().zip(results) {
        let stored = &r["quality"];
        let of = stored["of"].as_str().unwrap_or_else(|| panic!("K = {}: no quality record", r["k"]));
        assert!(of == "gallery" || of == "S_eval", "K = {}: quality of {of}", r["k"]);
        assert_eq!(p["k"], r["k"]);
        for (key, now) in [("samples", "quality"), ("real", "real")] {
            let (a, b) = (stored[key]["precision"].as_f64().unwrap(), p[now]["precision"].as_f64().unwrap());
            let (n, m) = (stored[key]["samples"].as_f64().unwrap(), p[now]["samples"].as_f64().unwrap());
            // The same images: another machine's classifier (other matrix kernels) may differ
            // in the last bits, so two samples either way. A record of all S_eval (or of as
            // many real images) against the gallery's first samples of it: the gallery's
            // figure is a binomial estimate of the stored one, within 4 standard errors.
            let tol = if of == "gallery" { 2.0 / n + 1e-9 } else { 4.0 * (a * (1.0 - a) / m).sqrt() + 2.0 / m };
            assert!((a - b).abs() <= tol, "K = {}: stored {key} precision {a} ({n} samples), measured now {b} ({m})", r["k"]);
        }
        assert!(stored["real"]["precision"].as_f64().unwrap() >= 0.85, "{stored}");
    }
}
