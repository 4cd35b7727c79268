//! The MNIST sweep bundle shipped under www/bundles/mnist (made by `scripts/make-bundle.sh`,
//! which the page opens first) shows the paper's transition (issue 6): at least 12 K values,
//! memorized ≥ 0.9 at the smallest K and ≤ 0.1 at the largest, the spurious fraction peaking
//! strictly inside the range, generalized the largest share at the largest K. Its galleries
//! hold the exact nearest training images of every shown sample (brute force on the real
//! MNIST file), and its labels follow from the stored distances under the bundle's rule.
//!
//! Reads MNIST from www/data (built by `bash scripts/datasets.sh`).

use base64::Engine;
use memgen_core::knn::knn_naive;
use memgen_core::metrics::{classify_distances, Label, Rule, SampleDistances};
use memgen_core::Matrix;
use memgen_data::PackedDataset;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::fractions as rows;

fn www() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www")
}

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn b64(v: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

#[test]
fn the_shipped_mnist_bundle_shows_the_transition() {
    let dir = shipped();
    let r = rows(&dir);
    let ks: Vec<usize> = r.iter().map(|x| x.0).collect();
    assert!(r.len() >= 12, "only {} K values: {ks:?}", r.len());
    assert!(ks.windows(2).all(|w| w[0] < w[1]), "{ks:?}");
    let (first, last) = (&r[0].1, &r[r.len() - 1].1);
    assert!(first[0] >= 0.9, "memorized {} at the smallest K = {}", first[0], ks[0]);
    assert!(last[0] <= 0.1, "memorized {} at the largest K = {}", last[0], ks[ks.len() - 1]);
    let spurious: Vec<f64> = r.iter().map(|x| x.1[2]).collect();
    let peak = (0..r.len()).max_by(|&a, &b| spurious[a].total_cmp(&spurious[b])).unwrap();
    assert!(
        peak > 0 && peak < r.len() - 1 && spurious[peak] > spurious[0] && spurious[peak] > spurious[r.len() - 1],
        "the spurious fraction must peak strictly inside the K range: {spurious:?}"
    );
    assert!(last[4] > last[0] && last[4] > last[2], "generalized is not the largest share at the largest K: {last:?}");
    for (k, f) in &r {
        assert!((f[0] + f[2] + f[4] - 1.0).abs() < 1e-9, "K = {k}: fractions sum to {}", f[0] + f[2] + f[4]);
    }

    // The manifest says how it was made, and the page can re-run its points.
    let m = json(&dir.join("manifest.json"));
    assert_eq!(m["format_version"], 3, "the shipped bundle is in the current format (memgen upgrade)");
    assert_eq!(m["sweep"]["model"]["kind"], "unet");
    assert_eq!(usizes(&m["k_done"]), ks);
    assert!(m["reproduce"].as_str().unwrap().contains("bash scripts/make-bundle.sh"), "{}", m["reproduce"]);
    let net = &m["sweep"]["model"]["training"]["net"];
    for key in ["base_channels", "groups"] {
        assert!(net[key].as_u64().is_some(), "manifest lacks sweep.model.training.net.{key}");
    }
}

/// Issue 15's criteria on the shipped files: K reaches 4096; at the three largest K the samples
/// lie on the manifold of real digits (precision ≥ 0.8 in the reference classifier's features)
/// and cover all ten classes; every K's weights are in the bundle with the manifest's SHA-256;
/// at least 6 K values carry a timeline of 4 or more points; the bundle stays under 15 MB.
#[test]
fn the_shipped_mnist_bundle_generalizes_to_real_digits() {
    let dir = shipped();
    let m = json(&dir.join("manifest.json"));
    let results = m["results"].as_array().unwrap();
    let k = |r: &Value| r["k"].as_u64().unwrap();
    assert!(k(results.last().unwrap()) >= 4096, "the largest K is {}", k(results.last().unwrap()));
    for r in &results[results.len() - 3..] {
        let q = &r["quality"]["samples"];
        let precision = q["precision"].as_f64().unwrap();
        assert!(precision >= 0.8, "K = {}: precision {precision} (real images {})", k(r), r["quality"]["real"]["precision"]);
        let classes = usizes(&q["classes"]);
        assert!(classes.len() == 10 && classes.iter().all(|&c| c > 0), "K = {}: classes {classes:?}", k(r));
    }
    let mut total = 0u64;
    for e in std::fs::read_dir(&dir).unwrap() {
        total += e.unwrap().metadata().unwrap().len();
    }
    assert!(total < 15_000_000, "the bundle is {total} bytes");
    for r in results {
        let name = r["files"]["weights"].as_str().unwrap_or_else(|| panic!("K = {}: no weights", k(r)));
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(memgen_data::packed::sha256_hex(&bytes), r["checksums"][name].as_str().unwrap(), "{name}");
    }
    let timelines = results.iter().filter(|r| r["timeline"].as_array().is_some_and(|t| t.len() >= 4)).count();
    assert!(timelines >= 6, "only {timelines} K values have a timeline of 4 points");
}

/// Issue 16 on the shipped files: every K carries `memgen probe`'s file (named in the manifest
/// with its SHA-256, made from that K's weights): every gallery sample's basin and spectrum (the
/// kept ranks, and its mean over all 784), and the mean spectrum of the K's first 16 training
/// points (all of them below K = 16).
#[test]
fn the_shipped_mnist_bundle_carries_basins_and_spectra_for_every_gallery_sample() {
    let dir = shipped();
    let m = json(&dir.join("manifest.json"));
    for r in m["results"].as_array().unwrap() {
        let k = r["k"].as_u64().unwrap();
        let name = r["files"]["probe"].as_str().unwrap_or_else(|| panic!("K = {k}: no probe file (memgen probe --write)"));
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(memgen_data::packed::sha256_hex(&bytes), r["checksums"][name].as_str().unwrap(), "{name}");
        let p: memgen_models::probe::KProbe = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(p.weights_sha256, r["checksums"][r["files"]["weights"].as_str().unwrap()].as_str().unwrap(), "{name}: other weights");
        let g = json(&dir.join(r["gallery"].as_str().unwrap()));
        let gallery = g["samples"].as_array().unwrap();
        assert_eq!(p.samples.len(), gallery.len(), "{name}: not every gallery sample");
        let ranks = p.settings.spectrum_ranks.clone().unwrap_or_else(|| (1..=784).collect());
        for (s, gs) in p.samples.iter().zip(gallery) {
            assert_eq!(s.index as u64, gs["index"].as_u64().unwrap());
            let sv = memgen_models::probe::decode_f16(&s.spectrum_f16).unwrap();
            assert_eq!(sv.len(), ranks.len(), "{name}: sample {}", s.index);
            assert!(sv.windows(2).all(|w| w[0] >= w[1]) && sv[0] > 0.0, "{name}: sample {}: spectrum not descending", s.index);
            let mean = s.mean_singular_value.unwrap_or(f64::NAN);
            assert!(mean <= sv[0] as f64 && mean >= *sv.last().unwrap() as f64, "{name}: sample {}: mean {mean}", s.index);
            assert!(!s.basin.levels.is_empty());
        }
        let t = p.train.as_ref().unwrap_or_else(|| panic!("{name}: no training spectra"));
        assert_eq!((t.count, t.mean.len()), (16.min(k as usize), 784), "{name}");
    }
}

fn shipped() -> PathBuf {
    let index = json(&www().join("bundles/index.json"));
    assert!(
        index["bundles"].as_array().unwrap().iter().any(|b| b == "mnist"),
        "www/bundles/index.json lists no mnist bundle: make it with `bash scripts/make-bundle.sh`"
    );
    www().join("bundles/mnist")
}

#[test]
fn the_shipped_galleries_hold_the_exact_neighbours_and_labels() {
    let dir = shipped();
    let r = rows(&dir);
    let m = json(&dir.join("manifest.json"));
    let rule: Rule = serde_json::from_value(m["spec"]["rule"].clone()).unwrap();
    let seed = m["spec"]["seed"].as_u64().unwrap();

    // Every gallery: neighbours and distances equal brute-force kNN against the real S_K, and
    // the stored labels follow from the distances under the rule.
    let ds = PackedDataset::read_file(www().join("data/mnist-train.mgds")).unwrap();
    let d = 784;
    for (k, f) in &r {
        let g = json(&dir.join(format!("gallery-k{k}.json")));
        let idx = usizes(&g["train_dataset_indices"]);
        assert_eq!(idx, memgen_core::spec::subset_indices(ds.len(), *k, seed).unwrap());
        let train_px = ds.images_u8(&idx).unwrap();
        let samples = g["samples"].as_array().unwrap();
        assert!(!samples.is_empty());
        let eval_px: Vec<u8> = samples.iter().flat_map(|s| b64(&s["image"])).collect();
        let to_matrix = |px: &[u8]| Matrix::new(px.iter().map(|&p| p as f32 / 255.0).collect(), px.len() / d, d).unwrap();
        let nt = knn_naive(&to_matrix(&eval_px), &to_matrix(&train_px), 5.min(*k), false).unwrap();
        let synth: std::collections::BTreeMap<usize, Vec<u8>> =
            g["synthetic_images"].as_array().unwrap().iter().map(|t| (t["index"].as_u64().unwrap() as usize, b64(&t["image"]))).collect();
        let mut counts = [0usize; 3];
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(usizes(&s["train_neighbours"]), nt.indices_of(i), "K = {k}, sample {i}");
            let td: Vec<f64> = s["train_distances"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            for (a, b) in td.iter().zip(nt.distances_of(i)) {
                assert!((a - b).abs() < 1e-9, "K = {k}, sample {i}: {a} vs {b}");
            }
            // The recorded synthetic neighbours are at their recorded distances.
            let sample = &eval_px[i * d..(i + 1) * d];
            let sd: Vec<f64> = s["synthetic_distances"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            for (j, dist) in usizes(&s["synthetic_neighbours"]).iter().zip(&sd) {
                let y = &synth[j];
                let e = sample.iter().zip(y).map(|(&a, &b)| ((a as f64 - b as f64) / 255.0).powi(2)).sum::<f64>().sqrt();
                assert!((e - dist).abs() < 1e-5, "K = {k}, sample {i}, S′ #{j}: {e} vs {dist}");
            }
            assert!(sd.windows(2).all(|w| w[0] <= w[1]));
            let c = classify_distances(SampleDistances { d1: td[0], d2: td[1], d1_synthetic: sd[0] }, &rule);
            assert_eq!(serde_json::to_value(c.label).unwrap(), s["label"], "K = {k}, sample {i}");
            counts[match c.label {
                Label::Memorized => 0,
                Label::Spurious => 1,
                Label::Generalized => 2,
            }] += 1;
        }
        // The shown samples are the first of S_eval: their shares are near the point's fractions.
        let n = samples.len() as f64;
        for (j, c) in counts.iter().enumerate() {
            let (share, frac) = (*c as f64 / n, f[2 * j]);
            assert!((share - frac).abs() <= 4.0 * (frac * (1.0 - frac) / n).sqrt() + 2.0 / n, "K = {k}: gallery share {share} vs fraction {frac}");
        }
    }
}
