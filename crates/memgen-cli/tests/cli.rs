//! Integration tests of the `memgen` binary: outputs against the numpy/scipy fixtures and
//! every documented error case (one stderr line, non-zero exit, no panic).
use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::{fails_with, ok_json, run};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("memgen-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Writes a C-order .npy (format 1.0) with dtype `descr` and raw little-endian `data`.
fn write_npy(path: &Path, descr: &str, shape: &[usize], data: &[u8]) {
    let shape_s = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_s}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    std::fs::write(path, out).unwrap();
}

fn f32_npy(name: &str, shape: &[usize], v: &[f32]) -> PathBuf {
    let p = tmp(name);
    write_npy(&p, "<f4", shape, &v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>());
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn classify_matches_numpy_fixture() {
    let f = fixtures();
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(f.join("metrics.json")).unwrap()).unwrap();
    let (t, sy, e) = (f.join("classify_train.npy"), f.join("classify_synthetic.npy"), f.join("classify_eval.npy"));
    let v = ok_json(&["classify", "--train", s(&t), "--synthetic", s(&sy), "--eval", s(&e), "--bootstrap", "500", "--seed", "3"]);
    assert_eq!(v["labels"], fx["labels_ratio"]);
    assert_eq!(v["n_eval"], 120);
    let fr = &v["fractions"];
    let sum = fr["memorized"].as_f64().unwrap() + fr["spurious"].as_f64().unwrap() + fr["generalized"].as_f64().unwrap();
    assert!((sum - 1.0).abs() < 1e-12);
    for l in ["memorized", "spurious", "generalized"] {
        let b = &v["bootstrap"][l];
        assert!(b["lo"].as_f64().unwrap() <= b["mean"].as_f64().unwrap() && b["mean"].as_f64().unwrap() <= b["hi"].as_f64().unwrap());
        assert!(b["std"].as_f64().unwrap() > 0.0);
    }
    let v = ok_json(&[
        "classify",
        "--train",
        s(&t),
        "--synthetic",
        s(&sy),
        "--eval",
        s(&e),
        "--rule",
        "absolute",
        "--delta-m",
        "1.0",
        "--delta-s",
        "3.0",
        "--bootstrap",
        "0",
    ]);
    assert_eq!(v["labels"], fx["labels_absolute"]);
    // eval = synthetic file: x1' excludes the sample itself
    let v = ok_json(&["classify", "--train", s(&t), "--synthetic", s(&sy), "--eval", s(&sy), "--bootstrap", "10"]);
    assert_eq!(v["eval_is_synthetic"], true);
    assert_eq!(v["labels"], fx["labels_self_ratio"]);
}

#[test]
fn knn_matches_sklearn_fixture() {
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("knn.json")).unwrap()).unwrap();
    let floats = |v: &Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect::<Vec<_>>();
    let q = f32_npy("q.npy", &[30, 8], &floats(&fx["query"]));
    // data as [300, 2, 4]: each sample is flattened
    let x = f32_npy("x.npy", &[300, 2, 4], &floats(&fx["data"]));
    let v = ok_json(&["knn", "--query", s(&q), "--data", s(&x), "-k", "3"]);
    assert_eq!(v["indices"], fx["indices"]);
    for (a, b) in v["distances"].as_array().unwrap().iter().zip(fx["distances"].as_array().unwrap()) {
        for (a, b) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() <= 1e-5 * b);
        }
    }
    let v = ok_json(&["knn", "--query", s(&x), "--data", s(&x), "-k", "2", "--exclude-self"]);
    assert_eq!(v["indices"], fx["self_indices"]);
}

#[test]
fn circle_energy_matches_scipy() {
    let v = ok_json(&["circle-energy", "--beta", "20", "--radius", "0,0.7,1.0,1.5"]);
    // scipy: r²+1 − (log i0e(2βr) + 2βr)/β
    let want = [1.0, 0.21902468193874225, 0.13801065693238224, 0.39820049051724293];
    for (a, b) in v["energies"].as_array().unwrap().iter().zip(want) {
        assert!((a.as_f64().unwrap() - b).abs() <= 1e-5 * b, "{a} vs {b}");
    }
    let v = ok_json(&["circle-energy", "--beta", "10000", "--radius", "1"]);
    assert!(v["energies"][0].as_f64().unwrap().is_finite());
}

#[test]
fn cluster_matches_scipy_fixture() {
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(fixtures().join("ward.json")).unwrap()).unwrap();
    let pts: Vec<f32> = fx["points"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    let p = f32_npy("ward.npy", &[pts.len() / 2, 2], &pts);
    for c in fx["cases"].as_array().unwrap() {
        let t = c["threshold"].as_f64().unwrap().to_string();
        let v = ok_json(&["cluster", "--points", s(&p), "--threshold", &t]);
        let scipy: Vec<usize> = serde_json::from_value(c["labels"].clone()).unwrap();
        let ours: Vec<usize> = serde_json::from_value(v["labels"].clone()).unwrap();
        // same partition: a bijection between label sets
        let mut map = std::collections::HashMap::new();
        for (a, b) in ours.iter().zip(&scipy) {
            assert_eq!(*map.entry(*a).or_insert(*b), *b);
        }
        assert_eq!(v["centroids"].as_array().unwrap().len(), c["centroids"].as_array().unwrap().len());
    }
}

#[test]
fn reads_f64_and_u8() {
    let p64 = tmp("a64.npy");
    let vals = [0.0f64, 0.0, 1.0, 0.0, 0.0, 3.0];
    write_npy(&p64, "<f8", &[3, 2], &vals.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>());
    let p8 = tmp("a8.npy");
    write_npy(&p8, "|u1", &[3, 2], &[0, 0, 1, 0, 0, 3]);
    for p in [&p64, &p8] {
        let v = ok_json(&["knn", "--query", s(p), "--data", s(p), "-k", "1", "--exclude-self"]);
        assert_eq!(v["indices"], serde_json::json!([[1], [0], [0]]));
    }
}

#[test]
fn error_cases() {
    let good = f32_npy("good.npy", &[4, 3], &[0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 2.0, 2.0, 0.0, 1.0, 1.0, 1.0]);
    let other_dim = f32_npy("dim.npy", &[2, 2], &[0.0, 1.0, 2.0, 3.0]);
    let nan = f32_npy("nan.npy", &[2, 3], &[0.0, 1.0, f32::NAN, 1.0, 0.0, 2.0]);
    let inf = f32_npy("inf.npy", &[2, 3], &[0.0, 1.0, 2.0, f32::INFINITY, 0.0, 2.0]);
    let empty = f32_npy("empty.npy", &[0, 3], &[]);
    let one = f32_npy("one.npy", &[1, 3], &[0.0, 1.0, 2.0]);
    let corrupt = tmp("corrupt.npy");
    std::fs::write(&corrupt, b"this is not numpy").unwrap();
    let truncated = tmp("trunc.npy");
    write_npy(&truncated, "<f4", &[4, 3], &[0u8; 10]);
    let ints = tmp("ints.npy");
    write_npy(&ints, "<i8", &[1, 1], &[0u8; 8]);
    let g = s(&good);
    let classify = |t: &Path, sy: &Path, e: &Path| -> Vec<String> {
        ["classify", "--train", s(t), "--synthetic", s(sy), "--eval", s(e), "--bootstrap", "10"].iter().map(|x| x.to_string()).collect()
    };
    let c = |v: Vec<String>, needle: &str| fails_with(&v.iter().map(|x| x.as_str()).collect::<Vec<_>>(), needle);
    c(classify(&good, &other_dim, &good), "dimension mismatch");
    c(classify(&good, &good, &other_dim), "dimension mismatch");
    c(classify(&nan, &good, &good), "non-finite");
    c(classify(&good, &inf, &good), "non-finite");
    c(classify(&empty, &good, &good), "empty");
    c(classify(&good, &good, &empty), "empty");
    c(classify(&one, &good, &good), "at least 2");
    c(classify(&corrupt, &good, &good), "invalid .npy");
    c(classify(&truncated, &good, &good), "truncated");
    c(classify(&ints, &good, &good), "unsupported dtype");
    c(classify(Path::new("/nonexistent/x.npy"), &good, &good), "cannot read");
    fails_with(&["classify", "--train", g, "--synthetic", g, "--eval", g, "--delta-s", "0.7"], "delta_s");
    fails_with(&["knn", "--query", g, "--data", s(&other_dim), "-k", "1"], "dimension mismatch");
    fails_with(&["knn", "--query", g, "--data", g, "-k", "9"], "at least 9");
    fails_with(&["knn", "--query", s(&nan), "--data", g, "-k", "1"], "non-finite");
    fails_with(&["circle-energy", "--beta", "-1", "--radius", "1"], "beta");
    fails_with(&["circle-energy", "--beta", "1", "--radius", "-1"], "radius");
    fails_with(&["cluster", "--points", s(&empty), "--threshold", "1"], "empty");
    fails_with(&["cluster", "--points", g, "--threshold", "-1"], "threshold");
}

#[test]
fn help_shows_paper_defaults() {
    let h = |args: &[&str]| String::from_utf8(run(args).stdout).unwrap();
    let c = h(&["classify", "--help"]);
    for s in ["1/3", "0.28", "0.175", "10000", "ratio"] {
        assert!(c.contains(s), "classify --help lacks {s}");
    }
    assert!(h(&["circle-energy", "--help"]).contains("20"));
    assert!(h(&["cluster", "--help"]).contains("0.45"));
    assert!(h(&["knn", "--help"]).contains("exclude-self"));
    assert!(h(&["--help"]).contains("classify"));
}

/// `memgen args…` under a 4 GB address-space limit (`prlimit`, util-linux): a file that claims a
/// huge array must be refused, not allocated. Asserts a clean one-line failure that names
/// `file` and contains `needle`.
fn refuses_bounded(args: &[&str], file: &Path, needle: &str) {
    let o = std::process::Command::new("prlimit").arg("--as=4294967296").arg(common::BIN).args(args).output().expect("prlimit (util-linux) runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: not one line: {err}");
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(err.contains(&*name), "{args:?}: {err:?} does not name {name}");
    assert!(err.to_lowercase().contains(&needle.to_lowercase()), "{args:?}: {err:?} lacks {needle:?}");
}

#[test]
fn hostile_files_of_every_kind_are_refused_in_bounded_memory() {
    // .npy: a header that claims 10¹² × 784 floats over 12 bytes of data; a PNG named .npy; a
    // header cut short.
    let huge = tmp("huge.npy");
    write_npy(&huge, "<f4", &[1_000_000_000_000, 784], &[0u8; 12]);
    let good = f32_npy("good-h.npy", &[4, 3], &[0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 2.0, 2.0, 0.0, 1.0, 1.0, 1.0]);
    let png_npy = tmp("picture.npy");
    std::fs::write(&png_npy, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let cut = tmp("cut.npy");
    std::fs::write(&cut, b"\x93NUMPY\x01\x00\xff\xff{'descr'").unwrap();
    for (f, needle) in [(&huge, "truncated"), (&png_npy, "invalid .npy"), (&cut, "npy")] {
        refuses_bounded(&["classify", "--train", s(f), "--synthetic", s(&good), "--eval", s(&good)], f, needle);
        refuses_bounded(&["import", "--input", s(f), "--size", "8", "--out", s(&tmp("o.npy"))], f, "");
    }
    // Weights: a safetensors header length of 2⁶⁴ − 1; a weights file cut in half; JSON.
    let wdir = tmp("w");
    std::fs::create_dir_all(&wdir).unwrap();
    let giant = wdir.join("giant.safetensors");
    std::fs::write(&giant, [u64::MAX.to_le_bytes().to_vec(), b"{}".to_vec()].concat()).unwrap();
    let json = wdir.join("weights.json.safetensors");
    std::fs::write(&json, br#"{"format": "memgen-sweep-bundle"}"#).unwrap();
    for f in [&giant, &json] {
        refuses_bounded(&["sample", "--weights", s(f), "--n", "1", "--out", s(&tmp("x.npy"))], f, "weights");
    }
    // Images: a truncated PNG, a zip whose entries are not images and one whose name climbs out.
    let trunc = tmp("trunc.png");
    let mut png = Vec::new();
    image::GrayImage::from_pixel(16, 16, image::Luma([9u8])).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    std::fs::write(&trunc, &png[..png.len() / 2]).unwrap();
    refuses_bounded(&["import", "--input", s(&trunc), "--size", "8", "--out", s(&tmp("o.npy"))], &trunc, "");
    let zipped = tmp("sneaky.zip");
    {
        use std::io::Write;
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
        let o = zip::write::FileOptions::default();
        z.start_file("../../etc/evil.txt", o).unwrap();
        z.write_all(b"text").unwrap();
        z.start_file("notes.md", o).unwrap();
        z.write_all(b"more text").unwrap();
        z.finish().unwrap();
    }
    refuses_bounded(&["import", "--input", s(&zipped), "--size", "8", "--out", s(&tmp("o.npy"))], &zipped, "no png or jpeg");
    // Packed datasets: the real manifest over a training file cut to its first 4 KB.
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/data");
    let ddir = tmp("data");
    std::fs::create_dir_all(&ddir).unwrap();
    std::fs::copy(real.join("datasets.json"), ddir.join("datasets.json")).expect("the data sets are built (bash scripts/datasets.sh)");
    let train = ddir.join("mnist-train.mgds");
    std::fs::write(&train, &std::fs::read(real.join("mnist-train.mgds")).unwrap()[..4096]).unwrap();
    refuses_bounded(&["export", "--data-dir", s(&ddir), "--dataset", "mnist", "--k", "10", "--out", s(&tmp("e.npy"))], &train, "");
    // Bundles: a manifest nested 100,000 deep, a truncated one, one of another format.
    for (name, body) in [
        ("deep", "[".repeat(100_000)),
        ("cut", r#"{"format": "memgen-sweep-bundle", "format_version": 2, "identity": {"#.to_string()),
        ("other", r#"{"format": "something-else", "format_version": 2}"#.to_string()),
    ] {
        let dir = tmp(&format!("bundle-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("manifest.json"), body).unwrap();
        std::fs::write(dir.join("fractions.csv"), "k,memorized\n").unwrap();
        let m = dir.join("manifest.json");
        refuses_bounded(&["quality", "--bundle", s(&dir)], &m, "manifest.json");
        refuses_bounded(&["probe", "--bundle", s(&dir)], &m, "manifest.json");
    }
}
