//! Labelling the Ward-cluster centroids of the toy's samples (docs/SCIENCE.md §4, issue 5 item 4).
//!
//! Cluster the samples with `memgen_core::cluster::ward_clusters` (paper thresholds 3.0 for
//! K = 2, 2.0 for K = 9, 0.45 for K = 1000), then label each centroid:
//! - **generalized**: the cluster is *spread*: the RMS distance of its samples to their
//!   centroid exceeds `compact` (default 0.1) — samples strung along the circle, not a well;
//! - **memorized**: a compact cluster whose centroid lies within `near` (default 0.1) of a
//!   training point *and* whose samples sit at that one point: at least `concentration`
//!   (default 0.5) of them have it as their nearest training point. A compact cluster whose
//!   samples spread over several training points (at K = 1000 neighbours are 0.006 apart, so
//!   every short arc Ward cuts is "near a training point") is generalized;
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
    /// A memorized cluster has at least this share of its samples nearest to the centroid's
    /// nearest training point (default 0.5).
    pub concentration: f64,
}

impl Default for CentroidThresholds {
    fn default() -> Self {
        CentroidThresholds { near: 0.1, compact: 0.1, concentration: 0.5 }
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
    /// Share of the cluster's samples whose own nearest training point is `nearest_index`.
    pub concentration: f64,
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f64 {
    let dx = a[0] as f64 - b[0] as f64;
    let dy = a[1] as f64 - b[1] as f64;
    (dx * dx + dy * dy).sqrt()
}

/// Index of and distance to the training point nearest to `p` (`(0, ∞)` without any).
fn nearest(p: [f32; 2], train: &[[f32; 2]]) -> (usize, f64) {
    train.iter().enumerate().map(|(j, &y)| (j, dist(p, y))).fold((0, f64::INFINITY), |a, b| if b.1 < a.1 { b } else { a })
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
    // Per cluster, how many of its samples have each training point as their nearest.
    let mut at_nearest: Vec<std::collections::HashMap<usize, usize>> = vec![Default::default(); c];
    for (p, &l) in samples.iter().zip(labels) {
        if l < c {
            sq[l] += dist(*p, centroids[l]).powi(2);
            count[l] += 1;
            let j = nearest(*p, train).0;
            *at_nearest[l].entry(j).or_default() += 1;
        }
    }
    centroids
        .iter()
        .enumerate()
        .map(|(i, &cen)| {
            let spread = if count[i] > 0 { (sq[i] / count[i] as f64).sqrt() } else { 0.0 };
            let (nearest_index, nearest_train) = nearest(cen, train);
            let concentration = if count[i] > 0 { at_nearest[i].get(&nearest_index).copied().unwrap_or(0) as f64 / count[i] as f64 } else { 0.0 };
            let kind = if spread > thresholds.compact {
                CentroidKind::Generalized
            } else if nearest_train <= thresholds.near {
                if concentration >= thresholds.concentration {
                    CentroidKind::Memorized
                } else {
                    CentroidKind::Generalized
                }
            } else {
                CentroidKind::Spurious
            };
            CentroidStats { kind, count: count[i], spread, nearest_train, nearest_index, concentration }
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

    #[test]
    fn a_short_arc_over_dense_training_points_is_generalized() {
        // K = 1000 points on the circle; a compact arc of 40 samples over ~10 of them.
        let train: Vec<[f32; 2]> = (0..1000)
            .map(|i| {
                let a = i as f32 * std::f32::consts::TAU / 1000.0;
                [a.cos(), a.sin()]
            })
            .collect();
        let samples: Vec<[f32; 2]> = (0..40)
            .map(|i| {
                let a = i as f32 * 0.0015;
                [a.cos(), a.sin()]
            })
            .collect();
        let labels = vec![0; samples.len()];
        let n = samples.len() as f32;
        let cen = [[samples.iter().map(|p| p[0]).sum::<f32>() / n, samples.iter().map(|p| p[1]).sum::<f32>() / n]];
        let st = classify_centroids_detailed(&cen, &train, &samples, &labels, &CentroidThresholds::default());
        assert!(st[0].spread < 0.1 && st[0].nearest_train < 0.1, "{:?}", st[0]);
        assert!(st[0].concentration < 0.2, "{:?}", st[0]);
        assert_eq!(st[0].kind, CentroidKind::Generalized);
        // The same samples at a K = 2 point: memorized.
        let st2 = classify_centroids_detailed(&cen, &[[1.0, 0.0], [-1.0, 0.0]], &samples, &labels, &CentroidThresholds::default());
        assert_eq!((st2[0].kind, st2[0].concentration), (CentroidKind::Memorized, 1.0));
    }
}
