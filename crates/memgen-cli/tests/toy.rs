//! `memgen toy`: a short run writes [n, 2] float32 samples and the K training points.

use std::process::Command;

fn npy_shape(bytes: &[u8]) -> String {
    let header = String::from_utf8_lossy(&bytes[10..bytes.len().min(128)]).to_string();
    let start = header.find("'shape': (").expect("shape in header") + 10;
    let end = header[start..].find(')').unwrap() + start;
    header[start..end].replace(' ', "")
}

/// Runs `memgen toy ARGS --out-samples S --out-train T`; returns its JSON summary.
fn run_toy(args: &[&str], s: &std::path::Path, t: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_memgen")).arg("toy").args(args).arg("--out-samples").arg(s).arg("--out-train").arg(t).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn toy_writes_samples_and_training_points() {
    let dir = std::env::temp_dir().join(format!("memgen-toy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (s, t) = (dir.join("s.npy"), dir.join("t.npy"));
    let v = run_toy(&["--k", "2", "--seed", "3", "--steps", "60", "--samples", "200"], &s, &t);
    assert_eq!(v["steps"], 60);
    assert_eq!(v["samples"], 200);
    assert!(v["loss_last_100"].as_f64().unwrap().is_finite());
    assert_eq!(npy_shape(&std::fs::read(&s).unwrap()), "200,2");
    assert_eq!(npy_shape(&std::fs::read(&t).unwrap()), "2,2");
    // The training points lie on the unit circle.
    let tb = std::fs::read(&t).unwrap();
    let data = &tb[tb.len() - 16..];
    let f: Vec<f32> = data.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    for p in f.chunks(2) {
        assert!(((p[0] * p[0] + p[1] * p[1]).sqrt() - 1.0).abs() < 1e-5);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn toy_rejects_a_bad_preset_in_one_line() {
    let out = Command::new(env!("CARGO_BIN_EXE_memgen"))
        .args(["toy", "--k", "2", "--preset", "nope", "--out-samples", "/nonexistent/s.npy", "--out-train", "/nonexistent/t.npy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("preset"), "{err}");
}

/// `--engine fused` trains the same run as the default burn engine: the same training points,
/// and first and last 100-step mean losses within 1%.
#[test]
fn toy_fused_engine_matches_the_burn_engine() {
    let dir = std::env::temp_dir().join(format!("memgen-toy-fused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |engine: &str| {
        let (s, t) = (dir.join(format!("s-{engine}.npy")), dir.join(format!("t-{engine}.npy")));
        let v = run_toy(&["--k", "9", "--seed", "1", "--steps", "200", "--samples", "100", "--engine", engine], &s, &t);
        (v["loss_first_100"].as_f64().unwrap(), v["loss_last_100"].as_f64().unwrap(), std::fs::read(&t).unwrap())
    };
    let (bf, bl, bt) = run("burn");
    let (ff, fl, ft) = run("fused");
    assert_eq!(bt, ft, "training points differ");
    assert!(((bf - ff) / bf).abs() < 0.01, "first-100 mean loss: burn {bf}, fused {ff}");
    assert!(((bl - fl) / bl).abs() < 0.01, "last-100 mean loss: burn {bl}, fused {fl}");
    assert!(bl < bf, "the loss did not go down: {bf} -> {bl}");
    std::fs::remove_dir_all(&dir).ok();
}
