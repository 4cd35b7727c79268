//! memgen-core against numpy / scipy / scikit-learn fixtures written by
//! `tests/reference/make_fixtures.py` (labels equal; floats within 1e-5 relative).
use memgen_core::circle::{circle_energy, circle_energy_derivative};
use memgen_core::cluster::ward_clusters;
use memgen_core::knn::knn;
use memgen_core::metrics::{classify, Label, Rule};
use memgen_core::Matrix;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/");
    serde_json::from_str(&std::fs::read_to_string(format!("{p}{name}")).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn matrix(v: &Value, d: usize) -> Matrix {
    let f: Vec<f32> = floats(v).into_iter().map(|x| x as f32).collect();
    let n = f.len() / d;
    Matrix::new(f, n, d).unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-3), "{what}: {a} vs {b}");
}

#[test]
fn knn_matches_sklearn() {
    let f = fixture("knn.json");
    let d = f["d"].as_u64().unwrap() as usize;
    let k = f["k"].as_u64().unwrap() as usize;
    let q = matrix(&f["query"], d);
    let x = matrix(&f["data"], d);
    let nb = knn(&q, &x, k, false).unwrap();
    for i in 0..q.rows() {
        let idx: Vec<usize> = f["indices"][i].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(nb.indices_of(i), &idx[..], "query {i}");
        for (a, b) in nb.distances_of(i).iter().zip(floats(&f["distances"][i])) {
            close(*a, b, "distance");
        }
    }
    let s = knn(&x, &x, 2, true).unwrap();
    for i in 0..x.rows() {
        let idx: Vec<usize> = f["self_indices"][i].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        assert_eq!(s.indices_of(i), &idx[..]);
        for (a, b) in s.distances_of(i).iter().zip(floats(&f["self_distances"][i])) {
            close(*a, b, "self distance");
        }
    }
}

fn labels(v: &Value) -> Vec<Label> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn metrics_match_numpy() {
    let f = fixture("metrics.json");
    let d = f["d"].as_u64().unwrap() as usize;
    let (train, syn, ev) = (matrix(&f["train"], d), matrix(&f["synthetic"], d), matrix(&f["eval"], d));
    let ratio = Rule::Ratio { delta_m: f["delta_m"].as_f64().unwrap(), delta_s: f["delta_s"].as_f64().unwrap() };
    let c = classify(&train, &syn, &ev, false, &ratio).unwrap();
    let got: Vec<Label> = c.iter().map(|c| c.label).collect();
    assert_eq!(got, labels(&f["labels_ratio"]));
    let (d1, d2, d1s) = (floats(&f["d1"]), floats(&f["d2"]), floats(&f["d1_synthetic"]));
    for (i, ci) in c.iter().enumerate() {
        close(ci.memorization_ratio, d1[i] / (d2[i] + 1e-6), "Eq. 4 ratio");
        close(ci.spurious_ratio, d1s[i] / (d1[i] + d1s[i] + 1e-6), "Eq. 5 ratio");
    }
    let abs = Rule::Absolute { delta_m: f["abs_delta_m"].as_f64().unwrap(), delta_s: f["abs_delta_s"].as_f64().unwrap() };
    let got: Vec<Label> = classify(&train, &syn, &ev, false, &abs).unwrap().iter().map(|c| c.label).collect();
    assert_eq!(got, labels(&f["labels_absolute"]));
    // S_eval = S': x1' excludes the sample itself
    let got: Vec<Label> = classify(&train, &syn, &syn, true, &ratio).unwrap().iter().map(|c| c.label).collect();
    assert_eq!(got, labels(&f["labels_self_ratio"]));
}

#[test]
fn circle_energy_matches_scipy() {
    let f = fixture("circle.json");
    for c in f["cases"].as_array().unwrap() {
        let (b, r) = (c["beta"].as_f64().unwrap(), c["radius"].as_f64().unwrap());
        let e = circle_energy(r, b).unwrap();
        let g = circle_energy_derivative(r, b).unwrap();
        // absolute floor 1e-9: scipy's R² + 1 − (log I0e + z)/β form itself cancels at large β
        assert!((e - c["energy"].as_f64().unwrap()).abs() <= 1e-5 * e.abs() + 1e-9, "E({r}; {b}) = {e} vs {}", c["energy"]);
        assert!((g - c["derivative"].as_f64().unwrap()).abs() <= 1e-5 * g.abs() + 1e-9, "dE({r}; {b}) = {g} vs {}", c["derivative"]);
    }
}

/// Relabels a partition by order of first appearance (scipy numbers clusters differently).
fn canonical(l: &[usize]) -> Vec<usize> {
    let mut map = std::collections::HashMap::new();
    l.iter()
        .map(|x| {
            let n = map.len();
            *map.entry(*x).or_insert(n)
        })
        .collect()
}

#[test]
fn ward_matches_scipy_and_sklearn() {
    let f = fixture("ward.json");
    let x = matrix(&f["points"], 2);
    let heights = floats(&f["heights"]);
    for c in f["cases"].as_array().unwrap() {
        let t = c["threshold"].as_f64().unwrap();
        let cl = ward_clusters(&x, t).unwrap();
        for (a, b) in cl.merge_heights.iter().zip(&heights) {
            close(*a, *b, "Ward merge height");
        }
        let scipy: Vec<usize> = serde_json::from_value(c["labels"].clone()).unwrap();
        let sk: Vec<usize> = serde_json::from_value(c["sklearn_labels"].clone()).unwrap();
        assert_eq!(cl.labels, canonical(&scipy), "t = {t}");
        assert_eq!(cl.labels, canonical(&sk), "t = {t} (sklearn)");
        // centroids: scipy cluster c ↔ ours canonical(c)
        let cent = c["centroids"].as_array().unwrap();
        for (i, &s) in scipy.iter().enumerate() {
            let ours = cl.centroids.row(cl.labels[i]);
            for (a, b) in ours.iter().zip(floats(&cent[s])) {
                close(*a as f64, b, "centroid");
            }
        }
    }
}

#[test]
fn quality_matches_numpy_and_scipy() {
    use memgen_core::quality::{frechet_distance, precision_recall};
    let f = fixture("quality.json");
    for c in f["cases"].as_array().unwrap() {
        let d = c["d"].as_u64().unwrap() as usize;
        let k = c["k"].as_u64().unwrap() as usize;
        let (real, generated) = (matrix(&c["real"], d), matrix(&c["generated"], d));
        let name = c["name"].as_str().unwrap();
        let pr = precision_recall(&real, &generated, k).unwrap();
        // Shares of whole counts: equal, not close.
        assert_eq!(pr.precision, c["precision"].as_f64().unwrap(), "{name}: precision");
        assert_eq!(pr.recall, c["recall"].as_f64().unwrap(), "{name}: recall");
        close(frechet_distance(&real, &generated).unwrap(), c["frechet"].as_f64().unwrap(), &format!("{name}: Fréchet distance"));
    }
}

#[test]
fn log_volume_matches_scipy_gammaln() {
    use memgen_core::basin::log_ball_volume;
    let f = fixture("basin.json");
    let cases = f["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 72);
    for c in cases {
        let (d, r) = (c["d"].as_u64().unwrap() as usize, c["r"].as_f64().unwrap());
        let got = log_ball_volume(d, r).unwrap();
        let want = c["log_volume"].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-10 * want.abs().max(1.0), "d = {d}, r = {r}: {got} vs scipy's {want}");
        if let Some(v) = c.get("volume").and_then(Value::as_f64) {
            assert!((got.exp() - v).abs() <= 1e-10 * v, "d = {d}, r = {r}: volume {} vs {v}", got.exp());
        }
    }
}
