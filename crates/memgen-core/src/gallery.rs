//! The nearest-neighbour gallery of a point of a sweep (paper Figs. 1, 3–5): for each generated
//! sample of `S_eval`, its nearest training images in `S` and its nearest samples in `S'` under
//! the paper's L2 distance on pixels `p/255`, and which images those lists refer to. The CLI
//! (`memgen sweep`) writes it into a bundle; the page builds the same from a point run in the tab.

use std::collections::BTreeSet;

use crate::error::CoreError;
use crate::knn::{knn, Neighbours};
use crate::matrix::Matrix;

/// Neighbours shown per sample (top row from `S`, bottom row from `S'`).
pub const GALLERY_NEIGHBOURS: usize = 5;

/// u8 images (`n × d` values) as the metric's matrix: pixels scaled to `[0, 1]`.
pub fn metric_matrix(pixels: &[u8], d: usize) -> Result<Matrix, CoreError> {
    Matrix::new(pixels.iter().map(|p| *p as f32 / 255.0).collect(), pixels.len() / d.max(1), d)
}

/// The neighbour lists of every sample and the images they refer to.
#[derive(Debug, Clone)]
pub struct GalleryNeighbours {
    /// Nearest training images of each sample (up to [`GALLERY_NEIGHBOURS`], at least 2 for Eq. 4).
    pub train: Neighbours,
    /// Nearest samples of `S'` of each sample.
    pub synthetic: Neighbours,
    /// Training images referred to by the first `shown` samples' lists, ascending.
    pub train_refs: Vec<usize>,
    /// Samples of `S'` referred to by the first `shown` samples' lists, ascending.
    pub synthetic_refs: Vec<usize>,
}

/// Exact kNN of the `S_eval` images against `S` and `S'` (u8 pixels, `d` values per image);
/// `shown` samples (from the first) have their referenced images collected.
pub fn gallery_neighbours(train: &[u8], eval: &[u8], synthetic: &[u8], d: usize, shown: usize) -> Result<GalleryNeighbours, CoreError> {
    let (train_m, eval_m, synth_m) = (metric_matrix(train, d)?, metric_matrix(eval, d)?, metric_matrix(synthetic, d)?);
    let nt = knn(&eval_m, &train_m, GALLERY_NEIGHBOURS.min(train_m.rows()), false)?;
    let ns = knn(&eval_m, &synth_m, GALLERY_NEIGHBOURS.min(synth_m.rows()), false)?;
    let (mut tr, mut sr) = (BTreeSet::new(), BTreeSet::new());
    for i in 0..shown.min(eval_m.rows()) {
        tr.extend(nt.indices_of(i).iter().copied());
        sr.extend(ns.indices_of(i).iter().copied());
    }
    Ok(GalleryNeighbours { train: nt, synthetic: ns, train_refs: tr.into_iter().collect(), synthetic_refs: sr.into_iter().collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_and_references_match_brute_force() {
        let d = 3;
        let train: Vec<u8> = vec![0, 0, 0, 255, 255, 255, 100, 100, 100, 30, 0, 0];
        let eval: Vec<u8> = vec![10, 0, 0, 250, 250, 250];
        let synth: Vec<u8> = vec![12, 0, 0, 0, 0, 9, 240, 255, 255];
        let g = gallery_neighbours(&train, &eval, &synth, d, 1).unwrap();
        // Brute force: every distance, sorted.
        let dist = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| ((*x as f64 - *y as f64) / 255.0).powi(2)).sum::<f64>().sqrt();
        let brute = |q: &[u8], set: &[u8]| {
            let mut v: Vec<(f64, usize)> = set.chunks(d).enumerate().map(|(j, x)| (dist(q, x), j)).collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v
        };
        for (i, q) in eval.chunks(d).enumerate() {
            for (nb, set) in [(&g.train, &train), (&g.synthetic, &synth)] {
                let b = brute(q, set);
                assert_eq!(nb.indices_of(i), b.iter().map(|x| x.1).collect::<Vec<_>>().as_slice());
                for (got, want) in nb.distances_of(i).iter().zip(&b) {
                    assert!((got - want.0).abs() < 1e-6, "{got} vs {}", want.0);
                }
            }
        }
        // Sample 0 = (10,0,0)/255: nearest training images 0 (black), then 3 (30,0,0).
        assert_eq!(&g.train.indices_of(0)[..2], &[0, 3]);
        // Only the first sample is shown: its lists are the references.
        assert_eq!(g.train_refs, vec![0, 1, 2, 3]);
        assert_eq!(g.synthetic_refs, vec![0, 1, 2]);
        assert!(gallery_neighbours(&train, &eval, &[], d, 1).is_err());
    }
}
