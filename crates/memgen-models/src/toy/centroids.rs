//! Labelling the Ward-cluster centroids of the toy's samples (SCIENCE.md §4, issue 5 item 4).
//!
//! Cluster the samples with `memgen_core::cluster::ward_clusters` (paper thresholds 3.0 for
//! K = 2, 2.0 for K = 9, 0.45 for K = 1000), then label each centroid:
//! - **generalized**: the cluster is *spread*: the RMS distance of its samples to their
//!   centroid exceeds `compact` (default 0.1) — samples strung along the circle, not a well;
//! - **memorized**: a compact cluster whose centroid lies within `near` (default 0.1) of a
//!   training point;
//! - **spurious**: a compact cluster whose centroid is near no training point (a well the
//!   data did not put there, e.g. between two neighbouring points at K = 9).
//!
//! Why these defaults: a memorized well of the trained toy holds its samples within a few
//! hundredths of the point (the K = 2 test asserts ≥ 90% within 0.1), while the arcs Ward
//! cuts from a generalizing K = 1000 model at threshold 0.45 have RMS spreads of several
//! tenths. 0.1 is also the "near a training point" radius.

use memgen_core::Matrix;

/// What a cluster centroid is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CentroidKind {
    /// A compact cluster at a training point.
    Memorized,
    /// A compact cluster away from every training point.
    Spurious,
    /// Samples spread along the data manifold.
    Generalized,
}

/// Thresholds of [`classify_centroids`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentroidThresholds {
    /// A centroid is near a training point within this distance (default 0.1).
    pub near: f64,
    /// A cluster is compact when the RMS distance of its samples to the centroid is at most
    /// this (default 0.1).
    pub compact: f64,
}

impl Default for CentroidThresholds {
    fn default() -> Self {
        CentroidThresholds { near: 0.1, compact: 0.1 }
    }
}

/// Per-centroid measurements behind the label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CentroidStats {
    /// The label.
    pub kind: CentroidKind,
    /// Samples in the cluster.
    pub count: usize,
    /// RMS distance of the cluster's samples to its centroid.
    pub spread: f64,
    /// Distance of the centroid to its nearest training point.
    pub nearest_train: f64,
    /// Index of that training point.
    pub nearest_index: usize,
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f64 {
    let dx = a[0] as f64 - b[0] as f64;
    let dy = a[1] as f64 - b[1] as f64;
    (dx * dx + dy * dy).sqrt()
}

/// Rows of a 2-column matrix (e.g. `Clustering::centroids`) as points.
pub fn centroids_from_matrix(m: &Matrix) -> Vec<[f32; 2]> {
    m.iter_rows().map(|r| [r[0], r[1]]).collect()
}

/// Labels and measurements of each centroid; `labels[i]` is the cluster of `samples[i]`.
pub fn classify_centroids_detailed(
    centroids: &[[f32; 2]],
    train: &[[f32; 2]],
    samples: &[[f32; 2]],
    labels: &[usize],
    thresholds: &CentroidThresholds,
) -> Vec<CentroidStats> {
    assert_eq!(samples.len(), labels.len(), "one label per sample");
    let c = centroids.len();
    let mut sq = vec![0f64; c];
    let mut count = vec![0usize; c];
    for (p, &l) in samples.iter().zip(labels) {
        if l < c {
            sq[l] += dist(*p, centroids[l]).powi(2);
            count[l] += 1;
        }
    }
    centroids
        .iter()
        .enumerate()
        .map(|(i, &cen)| {
            let spread = if count[i] > 0 { (sq[i] / count[i] as f64).sqrt() } else { 0.0 };
            let (nearest_index, nearest_train) =
                train.iter().enumerate().map(|(j, &y)| (j, dist(cen, y))).fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
            let kind = if spread > thresholds.compact {
                CentroidKind::Generalized
            } else if nearest_train <= thresholds.near {
                CentroidKind::Memorized
            } else {
                CentroidKind::Spurious
            };
            CentroidStats { kind, count: count[i], spread, nearest_train, nearest_index }
        })
        .collect()
}

/// Label of each centroid with the default [`CentroidThresholds`].
pub fn classify_centroids(centroids: &[[f32; 2]], train: &[[f32; 2]], samples: &[[f32; 2]], labels: &[usize]) -> Vec<CentroidKind> {
    classify_centroids_detailed(centroids, train, samples, labels, &CentroidThresholds::default()).into_iter().map(|s| s.kind).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_kinds() {
        let train = [[1.0f32, 0.0], [-1.0, 0.0]];
        // cluster 0: tight at (1,0); cluster 1: tight at (0,1) (no training point); cluster 2: an arc
        let mut samples = vec![];
        let mut labels = vec![];
        for i in 0..20 {
            let e = (i as f32 - 10.0) * 0.002;
            samples.push([1.0 + e, e]);
            labels.push(0);
            samples.push([e, 1.0 - e]);
            labels.push(1);
            let a = std::f32::consts::PI + (i as f32 - 10.0) * 0.08;
            samples.push([a.cos(), a.sin()]);
            labels.push(2);
        }
        let mut cen = vec![[0f32; 2]; 3];
        let mut n = [0f32; 3];
        for (p, &l) in samples.iter().zip(&labels) {
            cen[l][0] += p[0];
            cen[l][1] += p[1];
            n[l] += 1.0;
        }
        for (c, k) in cen.iter_mut().zip(n) {
            c[0] /= k;
            c[1] /= k;
        }
        let kinds = classify_centroids(&cen, &train, &samples, &labels);
        assert_eq!(kinds, vec![CentroidKind::Memorized, CentroidKind::Spurious, CentroidKind::Generalized]);
    }
}
