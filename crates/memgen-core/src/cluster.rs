//! Ward hierarchical clustering with a distance threshold (docs/SCIENCE.md §4), via `kodama`.
//!
//! Semantics match scipy `fcluster(linkage(X, 'ward'), t, 'distance')` and scikit-learn
//! `AgglomerativeClustering(distance_threshold=t, linkage='ward')`: Ward merge heights are
//! on scipy's scale (`kodama` runs the Lance–Williams update on squared Euclidean distances
//! and returns their square roots, as scipy/fastcluster do), and two points share a cluster
//! iff they are joined by merges of height `≤ t` (scipy's criterion; sklearn cuts at `< t`,
//! which differs only when a merge height equals `t` exactly).
//! Labels are numbered `0, 1, …` in order of each cluster's first point; centroid `c` is
//! the mean of the points labelled `c`.
//!
//! Memory: the condensed distance matrix holds `n(n−1)/2` `f64` values (10k points: 400 MB);
//! subsample large sets first.
use crate::error::CoreError;
use crate::matrix::{squared_distance, Matrix};
use serde::{Deserialize, Serialize};

/// Flat Ward clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clustering {
    /// Cluster of each point (indexes `centroids`).
    pub labels: Vec<usize>,
    /// Cluster means, row `c` for cluster `c`.
    pub centroids: Matrix,
    /// Ward merge heights of the full dendrogram, ascending (scipy's `Z[:, 2]`).
    pub merge_heights: Vec<f64>,
}

/// Ward clustering of `points` cut at distance `threshold`.
/// Errors: empty set, NaN/∞, `threshold` negative or non-finite.
pub fn ward_clusters(points: &Matrix, threshold: f64) -> Result<Clustering, CoreError> {
    points.validate("point set")?;
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(CoreError::invalid("threshold", threshold, "must be finite and ≥ 0"));
    }
    let n = points.rows();
    let mut parent: Vec<usize> = (0..2 * n).collect();
    let mut heights = Vec::new();
    if n > 1 {
        let mut condensed = Vec::with_capacity(n * (n - 1) / 2);
        for i in 0..n {
            for j in i + 1..n {
                condensed.push(squared_distance(points.row(i), points.row(j)).sqrt());
            }
        }
        let dend = kodama::linkage(&mut condensed, n, kodama::Method::Ward);
        // Step s creates cluster n + s from cluster1 and cluster2.
        for (s, step) in dend.steps().iter().enumerate() {
            heights.push(step.dissimilarity);
            if step.dissimilarity <= threshold {
                parent[step.cluster1] = n + s;
                parent[step.cluster2] = n + s;
            }
        }
    }
    fn root(parent: &[usize], mut i: usize) -> usize {
        while parent[i] != i {
            i = parent[i];
        }
        i
    }
    let mut ids = std::collections::HashMap::new();
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let r = root(&parent, i);
        let next = ids.len();
        labels.push(*ids.entry(r).or_insert(next));
    }
    let k = ids.len();
    let d = points.cols();
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        counts[l] += 1;
        for (s, v) in sums[l * d..(l + 1) * d].iter_mut().zip(points.row(i)) {
            *s += *v as f64;
        }
    }
    let cent: Vec<f32> = sums.iter().enumerate().map(|(i, s)| (s / counts[i / d] as f64) as f32).collect();
    Ok(Clustering { labels, centroids: Matrix::new(cent, k, d)?, merge_heights: heights })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_obvious_blobs() {
        let pts = Matrix::from_rows(&[vec![0.0, 0.0], vec![0.1, 0.0], vec![5.0, 5.0], vec![5.0, 5.1], vec![0.0, 0.1]]).unwrap();
        let c = ward_clusters(&pts, 1.0).unwrap();
        assert_eq!(c.labels, vec![0, 0, 1, 1, 0]);
        assert!((c.centroids.row(1)[1] - 5.05).abs() < 1e-6);
        let one = ward_clusters(&pts, 1e3).unwrap();
        assert_eq!(one.centroids.rows(), 1);
        let all = ward_clusters(&pts, 0.0).unwrap();
        assert_eq!(all.centroids.rows(), 5);
    }

    #[test]
    fn ward_height_of_two_points_is_their_distance() {
        // scipy: linkage([[0,0],[3,4]], 'ward')[0, 2] == 5
        let pts = Matrix::from_rows(&[vec![0.0, 0.0], vec![3.0, 4.0]]).unwrap();
        let c = ward_clusters(&pts, 4.9).unwrap();
        assert!((c.merge_heights[0] - 5.0).abs() < 1e-12);
        assert_eq!(c.labels, vec![0, 1]);
    }
}
