//! The app and the CLI draw training subsets through the same functions
//! (`subset` / `balanced_subset`, then `PackedDataset::to_npy` or `select`); these tests
//! pin the indices so that a change of the RNG scheme (memgen-core) or of the balanced
//! order is caught. crates/memgen-cli/tests/data.rs checks `memgen export` against the
//! same pins.
#![cfg(feature = "core")]

use memgen_data::npy::{decode, NpyData};
use memgen_data::{balanced_subset, subset, DatasetInfo, PackedDataset};

/// S_10 of an MNIST-sized set (n = 60,000), seed 0.
const PIN_MNIST_K10_SEED0: [usize; 10] = [20133, 47685, 55158, 49747, 18664, 14332, 245, 683, 41622, 28900];
/// Balanced S_12 of 60,000 images labelled `i % 10`, seed 0.
const PIN_BALANCED_K12_SEED0: [usize; 12] = [28900, 53591, 14332, 20133, 18664, 47685, 36956, 49747, 55158, 38419, 31100, 54961];

fn info() -> DatasetInfo {
    DatasetInfo {
        name: "index-coded".into(),
        class_names: (0..10).map(|c| c.to_string()).collect(),
        licence: "MIT".into(),
        attribution: "synthetic".into(),
        source: "synthetic".into(),
        source_sha256: "00".repeat(32),
        subsample: None,
        notes: String::new(),
    }
}

/// `n` 2×1 grey images whose two pixels are the image's index (big-endian), label `i % 10`.
fn index_coded(n: usize) -> PackedDataset {
    let px: Vec<u8> = (0..n).flat_map(|i| [(i >> 8) as u8, i as u8]).collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    PackedDataset::new(info(), 2, 1, 1, px, Some(labels)).unwrap()
}

fn decode_indices(px: &[u8]) -> Vec<usize> {
    px.chunks_exact(2).map(|c| ((c[0] as usize) << 8) | c[1] as usize).collect()
}

#[test]
fn pinned_mnist_sized_subset() {
    assert_eq!(subset(60_000, 10, 0).unwrap(), PIN_MNIST_K10_SEED0);
}

#[test]
fn training_subset_equals_export_path() {
    let d = index_coded(60_000);
    // The app's path: training_subset → pixels.
    let app = d.training_subset(10, 0).unwrap();
    assert_eq!(decode_indices(app.pixels()), PIN_MNIST_K10_SEED0);
    // The CLI's path (`memgen export`): subset → to_npy.
    let idx = subset(d.len(), 10, 0).unwrap();
    let npy = decode(&d.to_npy(&idx).unwrap()).unwrap();
    assert_eq!(npy.shape, vec![10, 2, 1]);
    let NpyData::U8(px) = npy.data else { panic!("not u8") };
    assert_eq!(px, app.pixels());
    assert_eq!(app.labels().unwrap(), idx.iter().map(|i| (i % 10) as u8).collect::<Vec<_>>());
}

#[test]
fn subsets_are_nested() {
    let big = subset(1000, 500, 7).unwrap();
    for k in [0, 1, 17, 250, 499] {
        assert_eq!(subset(1000, k, 7).unwrap(), big[..k]);
    }
    assert!(subset(10, 11, 0).is_err());
}

#[test]
fn balanced_pinned_and_matches_dataset_method() {
    let d = index_coded(60_000);
    let labels = d.labels().unwrap().to_vec();
    assert_eq!(balanced_subset(&labels, 12, 0).unwrap(), PIN_BALANCED_K12_SEED0);
    let b = d.balanced_training_subset(12, 0).unwrap();
    assert_eq!(decode_indices(b.pixels()), PIN_BALANCED_K12_SEED0);
}

#[test]
fn balanced_round_robin_in_class_order_and_permutation_order() {
    // Unequal classes: 0 → 5 items, 1 → 2 items, 3 → 3 items (label 2 absent).
    let labels: Vec<u8> = vec![0, 1, 0, 3, 0, 3, 1, 0, 3, 0];
    let n = labels.len();
    let all = balanced_subset(&labels, n, 4).unwrap();
    // A permutation of everything.
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    // Class order of the sequence: rounds over classes 0, 1, 3 until each runs out.
    let classes: Vec<u8> = all.iter().map(|&i| labels[i]).collect();
    assert_eq!(classes, vec![0, 1, 3, 0, 1, 3, 0, 3, 0, 0]);
    // Within a class, the order of the seeded permutation.
    let perm = subset(n, n, 4).unwrap();
    for c in [0u8, 1, 3] {
        let in_perm: Vec<usize> = perm.iter().copied().filter(|&i| labels[i] == c).collect();
        let in_bal: Vec<usize> = all.iter().copied().filter(|&i| labels[i] == c).collect();
        assert_eq!(in_bal, in_perm, "class {c}");
    }
    // Nested in k.
    for k in 0..=n {
        assert_eq!(balanced_subset(&labels, k, 4).unwrap(), all[..k]);
    }
    assert!(balanced_subset(&labels, n + 1, 4).is_err());
}

#[test]
fn balanced_counts_differ_by_at_most_one() {
    let labels: Vec<u8> = (0..5000u32).map(|i| ((i * 7919) % 10) as u8).collect();
    for k in [1, 9, 10, 11, 95, 1000] {
        let idx = balanced_subset(&labels, k, 11).unwrap();
        let mut counts = [0usize; 10];
        for i in idx {
            counts[labels[i] as usize] += 1;
        }
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(hi - lo <= 1, "k={k}: {counts:?}");
        // The lower labels get the extra items.
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "k={k}: {counts:?}");
    }
}

#[test]
fn balanced_needs_labels() {
    let d = PackedDataset::new(info(), 1, 1, 1, vec![1, 2, 3], None).unwrap();
    let e = d.balanced_training_subset(2, 0).unwrap_err().to_string();
    assert!(e.contains("no labels"), "{e}");
}
