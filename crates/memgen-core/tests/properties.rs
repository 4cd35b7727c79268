//! Property tests (proptest) of the metrics' invariants (issue 3). Native only.
#![cfg(not(target_arch = "wasm32"))]
use memgen_core::metrics::{classify, classify_distances, fractions, Label, Rule, SampleDistances, DELTA_M};
use memgen_core::Matrix;
use proptest::prelude::*;

/// A set of `n` points in `d` dimensions on an integer grid (exact distances, ties allowed).
fn set(n: std::ops::Range<usize>, d: usize) -> impl Strategy<Value = Vec<Vec<i8>>> {
    prop::collection::vec(prop::collection::vec(-5i8..=5, d), n)
}

fn to_matrix(rows: &[Vec<i8>], scale: f32) -> Matrix {
    let r: Vec<Vec<f32>> = rows.iter().map(|v| v.iter().map(|x| *x as f32 * scale).collect()).collect();
    Matrix::from_rows(&r).unwrap()
}

/// Integer-grid points, one row each.
type Set = Vec<Vec<i8>>;

fn sets() -> impl Strategy<Value = (Set, Set, Set)> {
    (1usize..5).prop_flat_map(|d| (set(2..12, d), set(1..16, d), set(1..10, d)))
}

fn labels(t: &Matrix, s: &Matrix, e: &Matrix, rule: &Rule) -> Vec<Label> {
    classify(t, s, e, false, rule).unwrap().iter().map(|c| c.label).collect()
}

const RULE: Rule = Rule::Ratio { delta_m: DELTA_M, delta_s: 0.28 };

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fractions_sum_to_one(l in prop::collection::vec(0u8..3, 1..500)) {
        let l: Vec<Label> = l.iter().map(|i| [Label::Memorized, Label::Spurious, Label::Generalized][*i as usize]).collect();
        let f = fractions(&l);
        prop_assert!((f.memorized + f.spurious + f.generalized - 1.0).abs() < 1e-12);
    }

    #[test]
    fn labels_invariant_under_permuting_train_or_synthetic(
        (t, s, e) in sets(), seed in any::<u64>()
    ) {
        let base = labels(&to_matrix(&t, 1.0), &to_matrix(&s, 1.0), &to_matrix(&e, 1.0), &RULE);
        let mut tp = t.clone();
        let mut sp = s.clone();
        // deterministic shuffles from the seed
        let p1 = memgen_core::spec::permutation(tp.len(), seed);
        let p2 = memgen_core::spec::permutation(sp.len(), seed ^ 1);
        tp = p1.iter().map(|i| t[*i].clone()).collect();
        sp = p2.iter().map(|i| s[*i].clone()).collect();
        prop_assert_eq!(&base, &labels(&to_matrix(&tp, 1.0), &to_matrix(&s, 1.0), &to_matrix(&e, 1.0), &RULE));
        prop_assert_eq!(&base, &labels(&to_matrix(&t, 1.0), &to_matrix(&sp, 1.0), &to_matrix(&e, 1.0), &RULE));
    }

    /// Scaling all data by a power of two scales every distance exactly; on an integer grid
    /// the ratios stay far (≫ ε = 1e-6) from the thresholds unless exactly on them, where the
    /// `≤` and the ε shift act the same at both scales.
    #[test]
    fn ratio_rule_invariant_under_global_scaling((t, s, e) in sets(), k in 0usize..3) {
        let c = [0.25f32, 4.0, 16.0][k];
        let base = labels(&to_matrix(&t, 1.0), &to_matrix(&s, 1.0), &to_matrix(&e, 1.0), &RULE);
        let scaled = labels(&to_matrix(&t, c), &to_matrix(&s, c), &to_matrix(&e, c), &RULE);
        prop_assert_eq!(base, scaled);
    }

    #[test]
    fn memorized_is_never_spurious(d1 in 0.0f64..10.0, gap in 0.0f64..10.0, d1s in 0.0f64..10.0, dm in 0.01f64..1.0, ds in 0.01f64..0.49) {
        let sd = SampleDistances { d1, d2: d1 + gap, d1_synthetic: d1s };
        for rule in [Rule::Ratio { delta_m: dm, delta_s: ds }, Rule::Absolute { delta_m: dm, delta_s: ds }] {
            let c = classify_distances(sd, &rule);
            let m = match rule {
                Rule::Ratio { delta_m, .. } => d1 / (d1 + gap + 1e-6) <= delta_m,
                Rule::Absolute { delta_m, .. } => d1 <= delta_m,
            };
            // exactly one label, and memorized wins over spurious
            prop_assert_eq!(m, c.label == Label::Memorized);
            if m { prop_assert!(c.label != Label::Spurious); }
        }
    }
}
