//! `memgen sweep` and `memgen merge`: the ideal denoiser memorizes, galleries hold the exact
//! nearest neighbours, merged shards equal one run, bad input fails in one line.
//!
//! Reads MNIST from www/data (built by `bash scripts/datasets.sh`, which scripts/test.sh runs
//! before the native tests).

use base64::Engine;
use memgen_core::knn::knn_naive;
use memgen_core::Matrix;
use memgen_data::npy::{decode, NpyData};
use memgen_data::PackedDataset;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::{fails_with, fractions, ok_json};

fn data_dir() -> String {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/data");
    assert!(d.join("mnist-train.mgds").is_file(), "{} lacks MNIST: run `bash scripts/datasets.sh` first", d.display());
    d.to_str().unwrap().to_string()
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("memgen-sweep-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ideal_args<'a>(data: &'a str, ks: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "sweep",
        "--dataset",
        "mnist",
        "--ks",
        ks,
        "--model",
        "ideal",
        "--eval",
        "48",
        "--sampler",
        "ddim",
        "--sampler-steps",
        "50",
        "--sample-batch",
        "64",
        "--bootstrap",
        "200",
        "--seed",
        "3",
        "--data-dir",
        data,
        "--out",
        out,
    ]
}

/// Replaces the value after `flag`.
fn set<'a>(args: &mut [&'a str], flag: &str, value: &'a str) {
    let i = args.iter().position(|a| *a == flag).unwrap();
    args[i + 1] = value;
}

#[test]
fn ideal_denoiser_samples_are_memorized_for_every_k() {
    let data = data_dir();
    let out = tmpdir("ideal");
    let v = ok_json(&ideal_args(&data, "2,8,32", out.to_str().unwrap()));
    assert_eq!(v["model_parameters"], 0);
    let rows = fractions(&out);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 8, 32]);
    for (k, f) in rows {
        assert!(f[0] >= 0.95, "K = {k}: memorized fraction {}", f[0]);
        assert!((f[0] + f[2] + f[4] - 1.0).abs() < 1e-12);
        assert!(f[1] >= 0.0 && f[1] < 0.1, "bootstrap std {}", f[1]);
    }
    let m: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["spec"]["k_values"], serde_json::json!([2, 8, 32]));
    assert_eq!(m["sweep"]["sampler"]["kind"], "ddim");
    assert!(m["command_line"].as_array().unwrap().len() > 5);
    assert_eq!(m["timings"].as_array().unwrap().len(), 3);
    std::fs::remove_dir_all(&out).ok();
}

fn b64(s: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s.as_str().unwrap()).unwrap()
}

fn npy_u8(p: &Path) -> Vec<u8> {
    let NpyData::U8(v) = decode(&std::fs::read(p).unwrap()).unwrap().data else { panic!("not u8") };
    v
}

fn matrix(px: &[u8], d: usize) -> Matrix {
    Matrix::new(px.iter().map(|p| *p as f32 / 255.0).collect(), px.len() / d, d).unwrap()
}

#[test]
fn gallery_neighbours_are_the_brute_force_knn() {
    let data = data_dir();
    let out = tmpdir("knn");
    let mut args = ideal_args(&data, "2,16", out.to_str().unwrap());
    args.push("--save-samples");
    // A few DDIM steps leave samples between training images: neighbours are not trivial.
    set(&mut args, "--sampler-steps", "3");
    ok_json(&args);
    let ds = PackedDataset::read_file(Path::new(&data).join("mnist-train.mgds")).unwrap();
    let d = 784;
    for k in [2usize, 16] {
        let g: Value = serde_json::from_slice(&std::fs::read(out.join(format!("gallery-k{k}.json"))).unwrap()).unwrap();
        let idx: Vec<usize> = g["train_dataset_indices"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(idx, memgen_core::spec::subset_indices(60_000, k, 3).unwrap());
        let train = matrix(&ds.images_u8(&idx).unwrap(), d);
        let eval_px = npy_u8(&out.join(format!("samples-k{k}-eval.npy")));
        let synth_px = npy_u8(&out.join(format!("samples-k{k}-synthetic.npy")));
        assert_eq!(synth_px.len(), 4 * k * d);
        let (eval, synth) = (matrix(&eval_px, d), matrix(&synth_px, d));
        let nt = knn_naive(&eval, &train, 5.min(k), false).unwrap();
        let ns = knn_naive(&eval, &synth, 5, false).unwrap();
        let samples = g["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 48);
        let train_imgs: std::collections::BTreeMap<u64, Vec<u8>> =
            g["train_images"].as_array().unwrap().iter().map(|t| (t["index"].as_u64().unwrap(), b64(&t["image"]))).collect();
        for (i, s) in samples.iter().enumerate() {
            assert_eq!(b64(&s["image"]), &eval_px[i * d..(i + 1) * d]);
            let ti: Vec<usize> = s["train_neighbours"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
            let si: Vec<usize> = s["synthetic_neighbours"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
            assert_eq!(ti, nt.indices_of(i), "sample {i} of K = {k}: train neighbours");
            assert_eq!(si, ns.indices_of(i), "sample {i} of K = {k}: synthetic neighbours");
            for (j, dist) in s["train_distances"].as_array().unwrap().iter().enumerate() {
                assert!((dist.as_f64().unwrap() - nt.distances_of(i)[j]).abs() < 1e-9);
            }
            for (j, dist) in s["synthetic_distances"].as_array().unwrap().iter().enumerate() {
                assert!((dist.as_f64().unwrap() - ns.distances_of(i)[j]).abs() < 1e-9);
            }
            assert_eq!(train_imgs[&(ti[0] as u64)], ds.images_u8(&[idx[ti[0]]]).unwrap());
            let r = s["memorization_ratio"].as_f64().unwrap();
            assert!((r - nt.distances_of(i)[0] / (nt.distances_of(i)[1] + 1e-6)).abs() < 1e-12);
        }
    }
    std::fs::remove_dir_all(&out).ok();
}

/// The manifest without what may differ between a run and a merge of its shards.
fn manifest_core(dir: &Path) -> Value {
    let mut m: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    for key in ["timings", "total_s", "command_line", "shard", "merged_from", "merged_command_lines", "reproduce"] {
        m.as_object_mut().unwrap().remove(key);
    }
    m
}

fn assert_same_bundle(a: &Path, b: &Path, ks: &[usize]) {
    assert_eq!(std::fs::read(a.join("fractions.csv")).unwrap(), std::fs::read(b.join("fractions.csv")).unwrap());
    for k in ks {
        let f = format!("gallery-k{k}.json");
        assert!(std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(), "{f} differs");
    }
    assert_eq!(manifest_core(a), manifest_core(b));
}

#[test]
fn two_merged_shards_equal_one_run() {
    let data = data_dir();
    let root = tmpdir("shards");
    let (full, s0, s1, merged) = (root.join("full"), root.join("s0"), root.join("s1"), root.join("merged"));
    for model in ["ideal", "unet"] {
        let base = |out: &Path, shard: Option<&str>| {
            let mut a: Vec<String> = [
                "sweep",
                "--dataset",
                "mnist",
                "--ks",
                "2,3,5",
                "--model",
                model,
                "--steps",
                "6",
                "--batch",
                "8",
                "--eval",
                "16",
                "--sampler",
                "ddpm",
                "--sampler-steps",
                "4",
                "--sample-batch",
                "16",
                "--bootstrap",
                "50",
                "--seed",
                "11",
                "--data-dir",
                &data,
                "--out",
                out.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if let Some(s) = shard {
                a.extend(["--shard".to_string(), s.to_string()]);
            }
            let refs: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
            ok_json(&refs)
        };
        base(&full, None);
        assert_eq!(base(&s0, Some("0/2"))["k"], serde_json::json!([2, 5]));
        assert_eq!(base(&s1, Some("1/2"))["k"], serde_json::json!([3]));
        let v = ok_json(&["merge", s0.to_str().unwrap(), s1.to_str().unwrap(), "--out", merged.to_str().unwrap(), "--reproduce", "bash make-it.sh"]);
        assert_eq!(v["k_missing"], serde_json::json!([]));
        assert_same_bundle(&full, &merged, &[2, 3, 5]);
        // The merged manifest keeps how it can be made again and each shard's command line.
        let manifest = |d: &Path| -> Value { serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap() };
        let m = manifest(&merged);
        assert_eq!(m["reproduce"], "bash make-it.sh");
        assert_eq!(m["merged_command_lines"], serde_json::json!([manifest(&s0)["command_line"], manifest(&s1)["command_line"]]));
        assert!(m["merged_command_lines"][1].as_array().unwrap().iter().any(|a| a == "1/2"));
        // Merging a bundle with itself (every K overlapping, same results) is allowed.
        ok_json(&["merge", full.to_str().unwrap(), merged.to_str().unwrap(), "--out", root.join("again").to_str().unwrap()]);
        if model == "unet" {
            let m: Value = serde_json::from_slice(&std::fs::read(full.join("manifest.json")).unwrap()).unwrap();
            assert_eq!(m["model_parameters"], 94_225);
        }
    }
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn merge_refuses_mismatched_specs_and_conflicting_points() {
    let data = data_dir();
    let root = tmpdir("merge-errors");
    let (a, b, c) = (root.join("a"), root.join("b"), root.join("c"));
    ok_json(&ideal_args(&data, "2,4", a.to_str().unwrap()));
    let mut other_seed = ideal_args(&data, "2,4", b.to_str().unwrap());
    set(&mut other_seed, "--seed", "4");
    ok_json(&other_seed);
    let out = root.join("out");
    fails_with(&["merge", a.to_str().unwrap(), b.to_str().unwrap(), "--out", out.to_str().unwrap()], "mismatched specs");
    // Same spec, K = 2 edited in one copy: a conflict.
    std::fs::create_dir_all(&c).unwrap();
    for f in ["manifest.json", "gallery-k2.json", "gallery-k4.json"] {
        std::fs::copy(a.join(f), c.join(f)).unwrap();
    }
    let csv = std::fs::read_to_string(a.join("fractions.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    let mut row: Vec<String> = lines[1].split(',').map(String::from).collect();
    row[1] = "0.5".into();
    lines[1] = row.join(",");
    std::fs::write(c.join("fractions.csv"), lines.join("\n") + "\n").unwrap();
    fails_with(&["merge", a.to_str().unwrap(), c.to_str().unwrap(), "--out", out.to_str().unwrap()], "different results");
    fails_with(&["merge", root.join("nope").to_str().unwrap(), "--out", out.to_str().unwrap()], "manifest.json");
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn sweep_rejects_bad_input_in_one_line() {
    let data = data_dir();
    let out = tmpdir("bad");
    let o = out.to_str().unwrap();
    let with = |ks: &str, extra: &[&str]| {
        let mut a = vec!["sweep", "--dataset", "mnist", "--ks", ks, "--model", "ideal", "--data-dir", &data, "--out", o];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<String>>()
    };
    let check = |args: Vec<String>, needle: &str| {
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        fails_with(&refs, needle);
    };
    check(with("2,x", &[]), "--ks");
    check(with("", &[]), "--ks");
    check(with("1,4", &[]), "too small");
    check(with("4,4", &[]), "twice");
    check(with("2,70000", &[]), "larger than");
    check(with("2,4", &["--shard", "3/2"]), "--shard");
    check(with("2,4", &["--shard", "1"]), "--shard");
    check(with("2,4", &["--shard", "0/0"]), "--shard");
    check(with("2,4", &["--sampler-steps", "0"]), "sampler-steps");
    check(with("2,4", &["--eval", "0"]), "--eval");
    check(vec!["sweep".into(), "--dataset".into(), "cifar".into(), "--ks".into(), "2".into(), "--out".into(), o.into()], "cifar");
    check(
        vec![
            "sweep".into(),
            "--dataset".into(),
            "mnist".into(),
            "--ks".into(),
            "2".into(),
            "--out".into(),
            o.into(),
            "--data-dir".into(),
            "/nonexistent".into(),
        ],
        "datasets.sh",
    );
    std::fs::remove_dir_all(&out).ok();
}

/// `--engine fused` trains and samples the same network as burn: after a few steps from the
/// same seed its samples are burn's (to a few u8 levels), and it is refused off the CPU.
#[test]
fn fused_engine_follows_burn_and_stays_on_the_cpu() {
    let data = data_dir();
    let root = tmpdir("engine");
    let run = |engine: &str| {
        let out = root.join(engine);
        let args = [
            "sweep",
            "--dataset",
            "mnist",
            "--ks",
            "2,4",
            "--model",
            "unet",
            "--steps",
            "6",
            "--batch",
            "8",
            "--eval",
            "16",
            "--sampler",
            "ddim",
            "--sampler-steps",
            "5",
            "--sample-batch",
            "16",
            "--bootstrap",
            "50",
            "--seed",
            "5",
            "--engine",
            engine,
            "--data-dir",
            &data,
            "--out",
            out.to_str().unwrap(),
        ];
        let v = ok_json(&args);
        let m: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["sweep"]["model"]["engine"]["name"], engine);
        (v, out)
    };
    let (_, burn) = run("burn");
    let (_, fused) = run("fused");
    for k in [2, 4] {
        let g = |d: &Path| -> Value { serde_json::from_slice(&std::fs::read(d.join(format!("gallery-k{k}.json"))).unwrap()).unwrap() };
        let (gb, gf) = (g(&burn), g(&fused));
        let (mut same, mut total, mut worst) = (0usize, 0usize, 0u8);
        for (a, b) in gb["samples"].as_array().unwrap().iter().zip(gf["samples"].as_array().unwrap()) {
            for (x, y) in b64(&a["image"]).iter().zip(b64(&b["image"])) {
                same += usize::from(*x == y);
                total += 1;
                worst = worst.max(x.abs_diff(y));
            }
        }
        assert!(same as f64 >= 0.99 * total as f64 && worst <= 4, "K = {k}: {same}/{total} pixels equal, largest difference {worst}");
    }
    // The fused engine runs on the CPU only.
    fails_with(
        &["sweep", "--dataset", "mnist", "--ks", "2", "--engine", "fused", "--device", "wgpu", "--data-dir", &data, "--out", root.join("x").to_str().unwrap()],
        "--engine fused runs on the CPU",
    );
    // Without the `gpu` feature (the default build) a GPU request says how to get one.
    #[cfg(not(feature = "gpu"))]
    fails_with(
        &["sweep", "--dataset", "mnist", "--ks", "2", "--steps", "1", "--device", "wgpu", "--data-dir", &data, "--out", root.join("x").to_str().unwrap()],
        "rebuild with `--features gpu`",
    );
    std::fs::remove_dir_all(&root).ok();
}

/// `--timeline`: each point measured along its training at steps/8, /4, /2 and all its steps,
/// from the first samples of its own S_eval noise. Its last time point is the finished model,
/// so its labels are those the gallery gives the same first samples, and its quality is
/// `memgen quality` of those samples.
#[test]
fn timeline_follows_training_and_ends_at_the_point_itself() {
    let data = data_dir();
    let out = tmpdir("timeline");
    let args = [
        "sweep",
        "--dataset",
        "mnist",
        "--ks",
        "2,8",
        "--model",
        "unet",
        "--steps",
        "160",
        "--batch",
        "8",
        "--eval",
        "24",
        "--sampler",
        "ddim",
        "--sampler-steps",
        "8",
        "--bootstrap",
        "50",
        "--engine",
        "fused",
        "--timeline",
        "4",
        "--timeline-eval",
        "12",
        "--timeline-synthetic",
        "8",
        "--data-dir",
        &data,
        "--out",
        out.to_str().unwrap(),
    ];
    ok_json(&args);
    let m: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    for r in m["results"].as_array().unwrap() {
        let k = r["k"].as_u64().unwrap() as usize;
        let tl = r["timeline"].as_array().unwrap();
        let steps: Vec<u64> = tl.iter().map(|t| t["steps"].as_u64().unwrap()).collect();
        assert_eq!(steps, [20, 40, 80, 160], "K = {k}");
        for t in tl {
            assert_eq!(t["images_seen"].as_u64().unwrap(), t["steps"].as_u64().unwrap() * 8);
            assert_eq!(t["n_eval"], 12);
            assert_eq!(t["n_synthetic"].as_u64().unwrap() as usize, 8.min(4 * k));
            let f = &t["fractions"];
            let sum = f["memorized"].as_f64().unwrap() + f["spurious"].as_f64().unwrap() + f["generalized"].as_f64().unwrap();
            assert!((sum - 1.0).abs() < 1e-9);
        }
        // The last time point: the gallery's first 12 samples, relabelled against the first
        // 8 samples of S′ (for K = 2 that is all of S′, so the labels are the gallery's).
        let g: Value = serde_json::from_slice(&std::fs::read(out.join(format!("gallery-k{k}.json"))).unwrap()).unwrap();
        let first: Vec<&Value> = g["samples"].as_array().unwrap().iter().filter(|s| s["index"].as_u64().unwrap() < 12).collect();
        assert_eq!(first.len(), 12);
        if k == 2 {
            let share = |l: &str| first.iter().filter(|s| s["label"] == l).count() as f64 / 12.0;
            let f = &tl[3]["fractions"];
            for l in ["memorized", "spurious", "generalized"] {
                assert!((f[l].as_f64().unwrap() - share(l)).abs() < 1e-12, "K = 2 {l}: timeline {} vs gallery {}", f[l], share(l));
            }
        }
        // Its quality is memgen quality's on those 12 pixels.
        let d = 784;
        let mut px = Vec::with_capacity(12 * d);
        let mut sorted = first.clone();
        sorted.sort_by_key(|s| s["index"].as_u64().unwrap());
        for s in sorted {
            px.extend(base64::engine::general_purpose::STANDARD.decode(s["image"].as_str().unwrap()).unwrap());
        }
        let npy = out.join(format!("first-k{k}.npy"));
        std::fs::write(&npy, memgen_data::npy::encode_u8(&[12, 28, 28], &px).unwrap()).unwrap();
        let q = ok_json(&["quality", "--data-dir", &data, "--samples", npy.to_str().unwrap()]);
        assert_eq!(q["quality"]["precision"], tl[3]["quality"]["precision"], "K = {k}");
        assert_eq!(q["quality"]["classes"], tl[3]["quality"]["classes"], "K = {k}");
    }
    // Only a fused run can be followed.
    let mut burn = args.to_vec();
    let i = burn.iter().position(|a| *a == "fused").unwrap();
    burn[i] = "burn";
    fails_with(&burn, "--timeline measures a fused training run");
    std::fs::remove_dir_all(&out).unwrap();
}

/// Each UNet point's EMA weights are in the bundle, with their SHA-256, and they make the
/// gallery's samples again one at a time (DDIM: each sample from its own slice of the S_eval
/// noise); `memgen merge` carries them along.
#[test]
fn weights_in_the_bundle_regenerate_its_samples() {
    use memgen_models::bundle::Manifest;
    use memgen_models::point::PointConfig;
    let data = data_dir();
    let out = tmpdir("weights");
    let b = out.join("b");
    let args = [
        "sweep",
        "--dataset",
        "mnist",
        "--ks",
        "2,4",
        "--model",
        "unet",
        "--steps",
        "30",
        "--batch",
        "8",
        "--eval",
        "10",
        "--sampler",
        "ddim",
        "--sampler-steps",
        "5",
        "--sample-batch",
        "4",
        "--bootstrap",
        "20",
        "--engine",
        "fused",
        "--data-dir",
        &data,
        "--out",
        b.to_str().unwrap(),
    ];
    ok_json(&args);
    let m = Manifest::parse(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    let device = burn::tensor::Device::flex();
    for r in &m.results {
        let name = &r.files["weights"];
        let bytes = std::fs::read(b.join(name)).unwrap();
        assert_eq!(memgen_data::sha256_hex(&bytes), r.checksums[name], "K = {}", r.k);
        let (unet, net) = memgen_models::unet::snapshot::decode_weights(&bytes, &device).unwrap();
        let fused = memgen_models::unet::fused::FusedUNet::from_unet(&unet, net).unwrap();
        let cfg: PointConfig = r.config.unwrap();
        let g: Value = serde_json::from_slice(&std::fs::read(b.join(&r.gallery)).unwrap()).unwrap();
        // Samples 0, 5 and 9: first, inside the second batch of 4, the last.
        for i in [0usize, 5, 9] {
            let s = g["samples"].as_array().unwrap().iter().find(|s| s["index"] == i).unwrap();
            let stored = base64::engine::general_purpose::STANDARD.decode(s["image"].as_str().unwrap()).unwrap();
            let again = pollster::block_on(memgen_models::sweep::regenerate_eval_sample(&fused, &cfg, [28, 28, 1], i, &device)).unwrap();
            let worst = stored.iter().zip(&again).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            // The sweep sampled from the f16 weights it wrote, so they make the same images.
            assert_eq!(worst, 0, "K = {}, sample {i}: largest pixel difference {worst}", r.k);
        }
        assert!(pollster::block_on(memgen_models::sweep::regenerate_eval_sample(&fused, &cfg, [28, 28, 1], 10, &device)).is_err());
    }
    // Merged bundles keep the weights.
    let one = out.join("one");
    let mut a1 = args.to_vec();
    let i = a1.iter().position(|a| *a == b.to_str().unwrap()).unwrap();
    let one_s = one.to_str().unwrap().to_string();
    a1[i] = &one_s;
    a1.extend(["--shard", "0/2"]);
    ok_json(&a1);
    let merged = out.join("merged");
    ok_json(&["merge", one.to_str().unwrap(), "--out", merged.to_str().unwrap()]);
    assert_eq!(std::fs::read(merged.join("weights-k2.safetensors")).unwrap(), std::fs::read(b.join("weights-k2.safetensors")).unwrap());
    std::fs::remove_dir_all(&out).unwrap();
}

/// `--checkpoint-every`: a sweep stopped inside a K (after a kept checkpoint) and started again
/// with the same flags goes on from the kept step and writes the files of one uninterrupted run.
#[test]
fn a_sweep_stopped_inside_a_k_goes_on_from_its_checkpoint() {
    let data = data_dir();
    let out = tmpdir("checkpoint");
    let (whole, cut) = (out.join("whole"), out.join("cut"));
    let base = |dir: &PathBuf| -> Vec<String> {
        [
            "sweep",
            "--dataset",
            "mnist",
            "--ks",
            "2",
            "--model",
            "unet",
            "--steps",
            "60",
            "--batch",
            "8",
            "--eval",
            "8",
            "--sampler",
            "ddim",
            "--sampler-steps",
            "4",
            "--bootstrap",
            "20",
            "--engine",
            "fused",
            "--timeline",
            "3",
            "--timeline-eval",
            "4",
            "--checkpoint-every",
            "20",
            "--data-dir",
            &data,
            "--out",
            dir.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let strs = |v: &[String]| v.iter().map(String::as_str).collect::<Vec<_>>().join("\u{0}");
    let args_whole = base(&whole);
    ok_json(&strs(&args_whole).split('\u{0}').collect::<Vec<_>>());
    assert!(!whole.join("checkpoint-k2").exists(), "a finished K keeps no checkpoint");
    let mut args_cut = base(&cut);
    args_cut.extend(["--stop-after".to_string(), "40".to_string()]);
    fails_with(&strs(&args_cut).split('\u{0}').collect::<Vec<_>>(), "stopped after keeping the checkpoint at step 40");
    assert!(cut.join("checkpoint-k2/run.safetensors").is_file());
    let again = base(&cut);
    ok_json(&strs(&again).split('\u{0}').collect::<Vec<_>>());
    for f in ["fractions.csv", "gallery-k2.json", "weights-k2.safetensors"] {
        assert!(std::fs::read(whole.join(f)).unwrap() == std::fs::read(cut.join(f)).unwrap(), "{f} differs after resuming");
    }
    let rec = |d: &PathBuf| {
        let m: Value = serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
        (m["results"][0]["timeline"].clone(), m["results"][0]["loss"].clone(), m["results"][0]["quality"].clone())
    };
    assert_eq!(rec(&whole), rec(&cut));
    let _ = std::fs::remove_dir_all(&out);
}

/// `--mult 1,2,2` (a third, 7×7 level), `--lr-schedule cosine` and `--epochs-per-k`: every
/// point records the network and its own steps; `memgen sample` with a point's seed and its
/// sampler makes that point's S_eval again from the bundle's weights, and refuses bad input in
/// one line.
#[test]
fn three_levels_steps_by_k_and_memgen_sample() {
    use memgen_models::bundle::Manifest;
    let data = data_dir();
    let out = tmpdir("levels");
    let b = out.join("b");
    let b_s = b.to_str().unwrap().to_string();
    #[rustfmt::skip]
    let args = [
        "sweep", "--dataset", "mnist", "--ks", "2,8", "--model", "unet", "--engine", "fused",
        "--mult", "1,2,2", "--lr-schedule", "cosine", "--warmup", "3", "--lr", "2e-3",
        "--steps", "30", "--epochs-per-k", "40", "--min-steps", "10", "--batch", "8",
        "--eval", "10", "--sampler", "ddim", "--sampler-steps", "5", "--sample-batch", "4",
        "--bootstrap", "20", "--weights-dtype", "f16", "--data-dir", &data, "--out", &b_s,
    ];
    ok_json(&args);
    let m = Manifest::parse(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.identity.model_parameters, 156_241);
    assert_eq!(m.identity.sweep.weights, memgen_models::unet::snapshot::WeightsDtype::F16);
    // Two bytes a parameter, and a small header.
    let w_len = std::fs::metadata(b.join("weights-k2.safetensors")).unwrap().len() as usize;
    assert!((2 * 156_241..2 * 156_241 + 16_384).contains(&w_len), "{w_len} bytes");
    let steps: Vec<usize> = m.results.iter().map(|r| r.config.unwrap().model.training().unwrap().steps).collect();
    // ⌈40·2/8⌉ = 10 (= --min-steps); ⌈40·8/8⌉ = 40, capped at --steps 30.
    assert_eq!(steps, [10, 30]);
    for r in &m.results {
        let t = *r.config.unwrap().model.training().unwrap();
        assert_eq!(t.net.mult, [1, 2, 2]);
        assert_eq!(t.lr_schedule, memgen_models::unet::LrSchedule::Cosine { warmup: 3, floor: 0.05 });
        let cfg = r.config.unwrap();
        let npy = out.join(format!("s{}.npy", r.k));
        let seed = cfg.seed.to_string();
        let w = b.join(&r.files["weights"]);
        #[rustfmt::skip]
        ok_json(&["sample", "--weights", w.to_str().unwrap(), "--n", "6", "--sampler", "ddim", "--sampler-steps", "5",
            "--batch", "4", "--seed", &seed, "--out", npy.to_str().unwrap()]);
        let made = npy_u8(&npy);
        assert_eq!(made.len(), 6 * 784);
        let g: Value = serde_json::from_slice(&std::fs::read(b.join(&r.gallery)).unwrap()).unwrap();
        for i in 0..6usize {
            let s = g["samples"].as_array().unwrap().iter().find(|s| s["index"] == i).unwrap();
            let stored = base64::engine::general_purpose::STANDARD.decode(s["image"].as_str().unwrap()).unwrap();
            let worst = stored.iter().zip(&made[i * 784..(i + 1) * 784]).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            // The sweep sampled from the f16 weights it wrote, so they make the same images.
            assert_eq!(worst, 0, "K = {}, sample {i}: largest pixel difference {worst}", r.k);
        }
    }
    let o = out.join("x.npy");
    let o_s = o.to_str().unwrap();
    fails_with(&["sample", "--weights", "/nonexistent/w.safetensors", "--out", o_s], "cannot read");
    let junk = out.join("junk.safetensors");
    std::fs::write(&junk, b"not a weights file at all").unwrap();
    fails_with(&["sample", "--weights", junk.to_str().unwrap(), "--out", o_s], "junk.safetensors");
    let w2 = b.join("weights-k2.safetensors");
    fails_with(&["sample", "--weights", w2.to_str().unwrap(), "--n", "0", "--out", o_s], "--n");
    fails_with(&["sample", "--weights", w2.to_str().unwrap(), "--sampler-steps", "5000", "--out", o_s], "--sampler-steps");
    fails_with(&["sweep", "--dataset", "mnist", "--ks", "2", "--mult", "1,0,2", "--data-dir", &data, "--out", o_s], "--mult");
    fails_with(&["sweep", "--dataset", "mnist", "--ks", "2", "--epochs-per-k", "inf", "--data-dir", &data, "--out", o_s], "--epochs-per-k");
    std::fs::remove_dir_all(&out).unwrap();
}

/// `--preset` sets every default a flag does not give, and the manifest records the preset's
/// values: the tab's preset is what the page runs (batch 8, Adam 2e-3 cosine after 50 steps, the
/// shipped network, the fused engine, DDIM 20).
#[test]
fn a_preset_sets_the_defaults_that_flags_do_not_give() {
    let data = data_dir();
    let out = tmpdir("preset");
    let o = out.to_str().unwrap();
    ok_json(&[
        "sweep",
        "--preset",
        "tab",
        "--dataset",
        "mnist",
        "--ks",
        "2",
        "--steps",
        "3",
        "--eval",
        "4",
        "--bootstrap",
        "10",
        "--data-dir",
        &data,
        "--out",
        o,
    ]);
    let m: Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let model = &m["sweep"]["model"];
    assert_eq!(model["kind"], "unet");
    assert_eq!(model["engine"]["name"], "fused");
    let t = &model["training"];
    assert_eq!((t["steps"].as_u64(), t["batch"].as_u64(), t["lr"].as_f64()), (Some(3), Some(8), Some(2e-3)), "{t}");
    assert_eq!(t["lr_schedule"]["kind"], "cosine");
    assert_eq!(t["lr_schedule"]["warmup"], 3, "a warm-up longer than the run is the run");
    assert_eq!(t["net"]["mult"], serde_json::json!([1, 2, 4]));
    assert_eq!((m["sweep"]["sampler"]["kind"].as_str(), m["sweep"]["sampler"]["steps"].as_u64()), (Some("ddim"), Some(20)));
    assert_eq!(m["n_eval"].as_u64().or(m["spec"]["n_eval"].as_u64()), Some(4), "the flag overrides the preset's 32");
    let _ = std::fs::remove_dir_all(&out);
}

/// `memgen upgrade` rewrites a format 2 manifest in this format: the shipped bundle's manifest
/// as it was before it was upgraded becomes the shipped one, byte for byte; a second run changes
/// nothing.
#[test]
fn upgrade_turns_the_version_2_shipped_manifest_into_the_shipped_one() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/bundles/mnist");
    let out = tmpdir("upgrade");
    for e in std::fs::read_dir(&shipped).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("gallery-") || name == "fractions.csv" {
            std::fs::copy(&p, out.join(&name)).unwrap();
        }
    }
    let v2 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../memgen-models/tests/data/manifest-v2.json");
    std::fs::copy(&v2, out.join("manifest.json")).unwrap();
    let v = ok_json(&["upgrade", out.to_str().unwrap()]);
    assert_eq!(v["upgraded"][0]["from_version"], 2, "{v}");
    assert_eq!(v["upgraded"][0]["to_version"], 3, "{v}");
    let want = std::fs::read(shipped.join("manifest.json")).unwrap();
    assert!(std::fs::read(out.join("manifest.json")).unwrap() == want, "the upgraded manifest is not the shipped one");
    let again = ok_json(&["upgrade", out.to_str().unwrap()]);
    assert_eq!(again["upgraded"][0]["from_version"], 3);
    assert!(std::fs::read(out.join("manifest.json")).unwrap() == want);
    let _ = std::fs::remove_dir_all(&out);
}
