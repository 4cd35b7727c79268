//! Labelling samples made elsewhere (`sweep::label_samples`, the audit's experiment) against a
//! brute-force reference: naive kNN over every pair, Eqs. 4–6 by hand, and the same answer as
//! a sweep point's labelling (`label_point`) of the same sets.

use memgen_core::metrics::{classify_distances, Dataset, Label, Rule, SampleDistances};
use memgen_models::sweep::{label_samples, LabelConfig, PointData};

/// Seeded u8 images: `n` images of `d` pixels; some are near-copies of `copy_of`.
fn images(n: usize, d: usize, seed: u64, copy_of: Option<&[u8]>) -> Vec<u8> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    let mut out = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            let v = match copy_of {
                // Every third sample copies training image i % k with a little noise.
                Some(train) if i % 3 == 0 => {
                    let k = train.len() / d;
                    (train[(i % k) * d + j] as i32 + (next() % 5) as i32 - 2).clamp(0, 255) as u8
                }
                _ => (next() % 256) as u8,
            };
            out.push(v);
        }
    }
    out
}

fn dist(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((*x as f64 - *y as f64) / 255.0).powi(2)).sum::<f64>().sqrt()
}

#[test]
fn audit_labels_are_the_brute_force_labels() {
    let (h, w, c) = (6, 5, 1);
    let d = h * w * c;
    let train = images(9, d, 1, None);
    let eval = images(30, d, 2, Some(&train));
    let synthetic = images(20, d, 3, Some(&train));
    let indices: Vec<usize> = (0..9).map(|i| 100 + i).collect();
    let data = PointData { pixels: &train, indices: &indices, hwc: [h, w, c] };
    let config = LabelConfig { rule: Rule::paper(Dataset::Mnist), bootstrap: 50, seed: 7, gallery_samples: 12 };
    let (record, gallery) = label_samples(&config, &data, &eval, &synthetic).unwrap();
    assert_eq!(record.k, 9);
    assert!(record.config.is_none());
    assert_eq!(gallery.samples.len(), 12);
    assert_eq!(gallery.n_eval, 30);
    let mut want = Vec::new();
    for i in 0..30 {
        let x = &eval[i * d..(i + 1) * d];
        let mut dt: Vec<f64> = train.chunks_exact(d).map(|t| dist(x, t)).collect();
        dt.sort_by(f64::total_cmp);
        let ds = synthetic.chunks_exact(d).map(|t| dist(x, t)).fold(f64::INFINITY, f64::min);
        want.push(classify_distances(SampleDistances { d1: dt[0], d2: dt[1], d1_synthetic: ds }, &config.rule));
    }
    for s in &gallery.samples {
        let w = want[s.index];
        assert_eq!(s.label, w.label, "sample {}", s.index);
        // The library's kNN computes distances in f32: ratios agree to its precision.
        assert!((s.memorization_ratio - w.memorization_ratio).abs() < 1e-5, "sample {}: {} vs {}", s.index, s.memorization_ratio, w.memorization_ratio);
        assert!((s.spurious_ratio - w.spurious_ratio).abs() < 1e-5, "sample {}: {} vs {}", s.index, s.spurious_ratio, w.spurious_ratio);
    }
    let n = |l: Label| want.iter().filter(|c| c.label == l).count() as f64 / 30.0;
    assert_eq!(record.fractions.memorized, n(Label::Memorized));
    assert_eq!(record.fractions.spurious, n(Label::Spurious));
    assert_eq!(record.fractions.generalized, n(Label::Generalized));
    assert!(record.fractions.memorized >= 0.3, "the near-copies are memorized: {:?}", record.fractions);
    assert_eq!(gallery.train_dataset_indices, indices);
    // Bad input is refused with a message, not a panic.
    assert!(label_samples(&config, &data, &eval[..d + 1], &synthetic).is_err());
    let one = PointData { pixels: &train[..d], indices: &indices[..1], hwc: [h, w, c] };
    assert!(label_samples(&config, &one, &eval, &synthetic).unwrap_err().to_string().contains("at least 2"));
}
