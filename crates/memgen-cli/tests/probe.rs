//! `memgen probe`: basins and spectra of a bundle's gallery samples from its weights, written
//! per K, resumable, named in the manifest; bad input fails in one line.

use memgen_models::bundle::Manifest;
use memgen_models::probe::{decode_f16, KProbe};
use std::path::{Path, PathBuf};

mod common;
use common::{fails_with, ok_json};

fn data_dir() -> String {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/data");
    assert!(d.join("mnist-train.mgds").is_file(), "{} lacks MNIST: run `bash scripts/datasets.sh` first", d.display());
    d.to_str().unwrap().to_string()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("memgen-probe-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn probe_writes_basins_and_spectra_per_k_and_resumes() {
    let data = data_dir();
    let out = tmpdir("bundle");
    let b = out.join("b");
    let b_s = b.to_str().unwrap().to_string();
    #[rustfmt::skip]
    ok_json(&["sweep", "--dataset", "mnist", "--ks", "2,4", "--model", "unet", "--engine", "fused", "--steps", "30",
        "--batch", "8", "--eval", "6", "--sampler", "ddim", "--sampler-steps", "5", "--sample-batch", "4",
        "--bootstrap", "20", "--data-dir", &data, "--out", &b_s]);
    #[rustfmt::skip]
    let args = ["probe", "--bundle", &b_s, "--delta", "1.5", "--samples", "3", "--train-points", "2", "--stride", "200",
        "--trials", "4", "--sampler-steps", "5", "--data-dir", &data, "--write", "--spectrum-ranks", "0"];
    let first = ok_json(&args);
    assert_eq!(first["ks"], serde_json::json!([2, 4]));
    let m = Manifest::parse(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    for r in &m.results {
        let name = &r.files["probe"];
        let bytes = std::fs::read(b.join(name)).unwrap();
        assert_eq!(r.checksums[name], memgen_data::sha256_hex(&bytes));
        let p: KProbe = serde_json::from_slice(&bytes).unwrap();
        assert_eq!((p.k, p.samples.len()), (r.k, 3));
        assert_eq!(p.weights_sha256, r.checksums[&r.files["weights"]]);
        let g = memgen_models::bundle::Gallery::parse(&std::fs::read(b.join(&r.gallery)).unwrap()).unwrap();
        for (s, gs) in p.samples.iter().zip(&g.samples) {
            assert_eq!((s.index, s.label), (gs.index, gs.label));
            let sv = decode_f16(&s.spectrum_f16).unwrap();
            assert_eq!(sv.len(), 784);
            assert!(sv.windows(2).all(|w| w[0] >= w[1]) && sv[783] >= 0.0 && sv[0] > 0.0, "K = {}: spectrum not descending", r.k);
            let grid: Vec<usize> = (1..1000).step_by(200).collect();
            assert!(s.basin.levels.iter().all(|l| grid.contains(&l.0) && (0.0..=1.0).contains(&l.1)));
            match s.basin.t_c {
                Some(t) => {
                    assert!(grid.contains(&t) && s.basin.radius > 0.0);
                    let h = 392.0;
                    let want = h * (std::f64::consts::PI * s.basin.radius.powi(2)).ln() - (1..=392).map(|i| (i as f64).ln()).sum::<f64>();
                    assert!((s.basin.log_volume - want).abs() < 1e-6 * want.abs(), "log-volume {} vs {want}", s.basin.log_volume);
                }
                None => assert!(s.basin.log_volume == f64::NEG_INFINITY),
            }
        }
        let t = p.train.unwrap();
        assert_eq!((t.count, t.mean.len(), t.sd.len()), (2, 784, 784));
    }
    // Again: every K is kept (same settings and weights), the files unchanged.
    let before = std::fs::read(b.join("probe-k4.json")).unwrap();
    ok_json(&args);
    assert_eq!(std::fs::read(b.join("probe-k4.json")).unwrap(), before);
    // Fewer ranks kept: the files are cut to 16 log-spaced ranks, not probed again (each mean
    // is that of the stored f16 values, where a new probe would average the f64 spectrum).
    let full: KProbe = serde_json::from_slice(&before).unwrap();
    let mut cut_args = args.to_vec();
    *cut_args.last_mut().unwrap() = "16";
    ok_json(&cut_args);
    let cut: KProbe = serde_json::from_slice(&std::fs::read(b.join("probe-k4.json")).unwrap()).unwrap();
    let ranks = memgen_models::probe::spectrum_ranks(784, 16);
    assert_eq!(cut.settings.spectrum_ranks.as_ref(), Some(&ranks));
    assert_eq!((cut.train, cut.weights_sha256), (full.train, full.weights_sha256));
    for (c, f) in cut.samples.iter().zip(&full.samples) {
        let fv = decode_f16(&f.spectrum_f16).unwrap();
        assert_eq!((&c.basin, c.index), (&f.basin, f.index));
        assert_eq!(decode_f16(&c.spectrum_f16).unwrap(), ranks.iter().map(|r| fv[r - 1]).collect::<Vec<_>>());
        let mean = fv.iter().map(|v| *v as f64).sum::<f64>() / 784.0;
        assert!((c.mean_singular_value.unwrap() - mean).abs() <= 1e-12 * mean, "{:?} against {mean}", c.mean_singular_value);
    }
    let m = Manifest::parse(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    let r4 = m.results.iter().find(|r| r.k == 4).unwrap();
    assert_eq!(r4.checksums["probe-k4.json"], memgen_data::sha256_hex(&std::fs::read(b.join("probe-k4.json")).unwrap()));
    // --calibrate: the δ rule on MNIST's first 2,000 training images gives the default δ, and
    // a probe without --delta uses it.
    let c = ok_json(&["probe", "--bundle", &b_s, "--calibrate", "--samples", "2", "--trials", "2", "--sampler-steps", "5", "--data-dir", &data]);
    let suggested = c["suggested_delta"].as_f64().unwrap();
    assert!((suggested - memgen_models::probe::default_delta("mnist").unwrap()).abs() < 0.01, "δ {suggested}");
    let median = c["nearest_other_training_image"]["median"].as_f64().unwrap();
    assert!((median / 3.0 - suggested).abs() < 1e-12 && (4.0..6.5).contains(&median), "median nearest-other distance {median}");
    assert_eq!(c["model_floor"]["train_t1"]["n"], 4);
    #[rustfmt::skip]
    let d = ok_json(&["probe", "--bundle", &b_s, "--ks", "2", "--samples", "1", "--train-points", "0", "--stride", "400",
        "--trials", "2", "--sampler-steps", "5", "--data-dir", &data]);
    assert_eq!(d["settings"]["basin"]["delta"], 1.70);
    // Bad input, one line each.
    fails_with(&["probe", "--bundle", &b_s, "--delta", "0"], "--delta");
    fails_with(&["probe", "--bundle", &b_s, "--delta", "1", "--ks", "3"], "K = 3");
    fails_with(&["probe", "--bundle", "/nonexistent", "--delta", "1"], "nonexistent");
    fails_with(&["probe", "--bundle", &b_s, "--delta", "1", "--curvature-t", "1000"], "--curvature-t");
    std::fs::remove_dir_all(&out).unwrap();
}
