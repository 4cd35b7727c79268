//! Exact k nearest neighbours in Euclidean distance (docs/SCIENCE.md §1: `x1, x2, x1'`).
//!
//! Fast path ([`knn`]): brute force as a blocked matrix product,
//! `‖x − y‖² = ‖x‖² − 2 x·y + ‖y‖²`, with the `x·y` block computed by an `f32` GEMM
//! (`matrixmultiply`), query blocks spread over threads natively (rayon) and run on one
//! thread on wasm32. Candidates are ranked by `‖y‖² − 2 x·y` (the `‖x‖²` term is constant
//! per query); the best `k + 8` are then re-scored with the exact `Σ (x_i − y_i)²` in `f64`
//! (clamped ≥ 0, square root at the end), so the returned distances are
//! exact to `f64` rounding of the `f32` inputs, and near-ties lost to cancellation in the GEMM form are re-ranked.
//! Ties are broken by the smaller data index. [`knn_naive`] is the brute-force reference.
use crate::error::CoreError;
use crate::matrix::{squared_distance, Matrix};

/// Extra candidates kept beyond `k` before exact re-ranking.
const RERANK_MARGIN: usize = 8;
/// Query rows per block (one GEMM `A` panel).
const QUERY_BLOCK: usize = 256;
/// Data rows per block (one GEMM `B` panel); the block of `x·y` is `QUERY_BLOCK × DATA_BLOCK`.
const DATA_BLOCK: usize = 2048;

/// The `k` nearest data points of each query, nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbours {
    /// Neighbours per query.
    pub k: usize,
    /// Row-major `n_query × k` data indices.
    pub indices: Vec<usize>,
    /// Row-major `n_query × k` Euclidean distances (not squared), ascending per row, in `f64`
    /// (exact re-scoring: ratios of Eqs. 4–5 are then decided by `ε`, not by `f32` rounding).
    pub distances: Vec<f64>,
}

impl Neighbours {
    /// Number of queries.
    pub fn n_queries(&self) -> usize {
        self.indices.len().checked_div(self.k).unwrap_or(0)
    }
    /// Indices of the neighbours of query `i`, nearest first.
    pub fn indices_of(&self, i: usize) -> &[usize] {
        &self.indices[i * self.k..(i + 1) * self.k]
    }
    /// Distances of the neighbours of query `i`, ascending.
    pub fn distances_of(&self, i: usize) -> &[f64] {
        &self.distances[i * self.k..(i + 1) * self.k]
    }
}

fn validate(query: &Matrix, data: &Matrix, k: usize, exclude_self: bool) -> Result<(), CoreError> {
    query.validate("query set")?;
    data.validate("data set")?;
    if query.cols() != data.cols() {
        return Err(CoreError::DimensionMismatch { what: "query set".into(), expected: data.cols(), found: query.cols() });
    }
    if exclude_self && query.rows() != data.rows() {
        return Err(CoreError::invalid("exclude_self", true, "query and data must be the same set (same number of rows)"));
    }
    if k == 0 {
        return Err(CoreError::invalid("k", k, "must be at least 1"));
    }
    let available = data.rows() - usize::from(exclude_self);
    if k > available {
        return Err(CoreError::TooFewPoints { what: "data set".into(), need: k, found: available });
    }
    Ok(())
}

/// Exact k-NN of every row of `query` among the rows of `data` (Euclidean).
///
/// `exclude_self`: `query` and `data` are the same set and query `i` must not return data
/// row `i` (used for `x1'` when `S_eval ⊂ S'`). Errors: empty sets, NaN/∞, mismatched
/// dimensions, `k = 0` or `k` larger than the available points.
pub fn knn(query: &Matrix, data: &Matrix, k: usize, exclude_self: bool) -> Result<Neighbours, CoreError> {
    validate(query, data, k, exclude_self)?;
    let d = data.cols();
    let n_q = query.rows();
    let available = data.rows() - usize::from(exclude_self);
    let pool = (k + RERANK_MARGIN).min(available);
    let data_norms: Vec<f32> = data.iter_rows().map(|r| norm2(r) as f32).collect();

    let mut indices = vec![0usize; n_q * k];
    let mut distances = vec![0f64; n_q * k];
    let blocks: Vec<(usize, &mut [usize], &mut [f64])> =
        indices.chunks_mut(QUERY_BLOCK * k).zip(distances.chunks_mut(QUERY_BLOCK * k)).enumerate().map(|(b, (i, dd))| (b * QUERY_BLOCK, i, dd)).collect();
    let work = |(q0, idx_out, dist_out): (usize, &mut [usize], &mut [f64])| {
        let nq = idx_out.len() / k;
        query_block(query, data, &data_norms, q0, nq, k, pool, exclude_self, d, idx_out, dist_out);
    };
    {
        use crate::par::*;
        blocks.into_par_iter().for_each(work);
    }
    Ok(Neighbours { k, indices, distances })
}

/// [`knn`] of `data` against itself with each row's own index excluded, for the rows `rows`
/// only: the neighbours the whole call gives those rows (the same scoring and exact `f64`
/// re-ranking of a candidate pool), so a page can find them a few rows at a time between
/// frames.
pub fn knn_self_rows(data: &Matrix, rows: std::ops::Range<usize>, k: usize) -> Result<Neighbours, CoreError> {
    knn_self_rows_with(data, &row_norms(data), rows, k)
}

/// Each row's squared norm, as [`knn_self_rows_with`] takes them (computed once for a caller
/// that asks for a set's rows a few at a time).
pub fn row_norms(data: &Matrix) -> Vec<f32> {
    data.iter_rows().map(|r| norm2(r) as f32).collect()
}

/// [`knn_self_rows`] with the set's [`row_norms`] given.
pub fn knn_self_rows_with(data: &Matrix, data_norms: &[f32], rows: std::ops::Range<usize>, k: usize) -> Result<Neighbours, CoreError> {
    validate(data, data, k, true)?;
    if rows.start > rows.end || rows.end > data.rows() {
        return Err(CoreError::invalid("rows", format!("{rows:?}"), &format!("must lie within the set's {} rows", data.rows())));
    }
    if data_norms.len() != data.rows() {
        return Err(CoreError::invalid("norms", data_norms.len(), &format!("must be one a row ({})", data.rows())));
    }
    let d = data.cols();
    let pool = (k + RERANK_MARGIN).min(data.rows() - 1);
    let n = rows.len();
    let mut indices = vec![0usize; n * k];
    let mut distances = vec![0f64; n * k];
    // Blocks end where the whole call's do (multiples of QUERY_BLOCK).
    let mut blocks: Vec<(usize, &mut [usize], &mut [f64])> = Vec::new();
    let (mut idx_rest, mut dist_rest) = (&mut indices[..], &mut distances[..]);
    let mut q0 = rows.start;
    while q0 < rows.end {
        let nq = ((q0 / QUERY_BLOCK + 1) * QUERY_BLOCK).min(rows.end) - q0;
        let (i, ir) = idx_rest.split_at_mut(nq * k);
        let (dd, dr) = dist_rest.split_at_mut(nq * k);
        blocks.push((q0, i, dd));
        (idx_rest, dist_rest) = (ir, dr);
        q0 += nq;
    }
    {
        use crate::par::*;
        blocks.into_par_iter().for_each(|(q0, idx_out, dist_out)| {
            let nq = idx_out.len() / k;
            query_block(data, data, data_norms, q0, nq, k, pool, true, d, idx_out, dist_out);
        });
    }
    Ok(Neighbours { k, indices, distances })
}

fn norm2(r: &[f32]) -> f64 {
    r.iter().map(|v| (*v as f64) * (*v as f64)).sum()
}

#[allow(clippy::too_many_arguments)]
fn query_block(
    query: &Matrix,
    data: &Matrix,
    data_norms: &[f32],
    q0: usize,
    nq: usize,
    k: usize,
    pool: usize,
    exclude_self: bool,
    d: usize,
    idx_out: &mut [usize],
    dist_out: &mut [f64],
) {
    let n_d = data.rows();
    // Per query: the `pool` best scores `‖y‖² − 2x·y`, ascending, and their indices.
    let mut best_s = vec![f32::INFINITY; nq * pool];
    let mut best_j = vec![usize::MAX; nq * pool];
    let mut gram = vec![0f32; nq * DATA_BLOCK.min(n_d)];
    let a = query.data()[q0 * d..(q0 + nq) * d].as_ptr();
    let mut j0 = 0;
    while j0 < n_d {
        let nd = DATA_BLOCK.min(n_d - j0);
        let b = data.data()[j0 * d..(j0 + nd) * d].as_ptr();
        // SAFETY: A is nq×d row-major (rsa = d, csa = 1); B = (data block)ᵀ is d×nd read
        // from the row-major nd×d block (rsb = 1, csb = d); C is nq×nd row-major with
        // stride nd, and `gram` holds at least nq*nd values. All pointers are in bounds.
        unsafe {
            matrixmultiply::sgemm(nq, d, nd, 1.0, a, d as isize, 1, b, 1, d as isize, 0.0, gram.as_mut_ptr(), nd as isize, 1);
        }
        for i in 0..nq {
            let qi = q0 + i;
            let row = &gram[i * nd..(i + 1) * nd];
            let bs = &mut best_s[i * pool..(i + 1) * pool];
            let bj = &mut best_j[i * pool..(i + 1) * pool];
            let mut worst = bs[pool - 1];
            for (jj, &dot) in row.iter().enumerate() {
                let s = data_norms[j0 + jj] - 2.0 * dot;
                if s < worst {
                    let j = j0 + jj;
                    if exclude_self && j == qi {
                        continue;
                    }
                    // insertion into the sorted pool
                    let mut p = pool - 1;
                    while p > 0 && bs[p - 1] > s {
                        bs[p] = bs[p - 1];
                        bj[p] = bj[p - 1];
                        p -= 1;
                    }
                    bs[p] = s;
                    bj[p] = j;
                    worst = bs[pool - 1];
                }
            }
        }
        j0 += nd;
    }
    // Exact re-ranking of the pool.
    let mut cand: Vec<(f64, usize)> = Vec::with_capacity(pool);
    for i in 0..nq {
        let x = query.row(q0 + i);
        cand.clear();
        for &j in &best_j[i * pool..(i + 1) * pool] {
            if j != usize::MAX {
                cand.push((squared_distance(x, data.row(j)), j));
            }
        }
        cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (t, &(s, j)) in cand.iter().take(k).enumerate() {
            idx_out[i * k + t] = j;
            dist_out[i * k + t] = s.max(0.0).sqrt();
        }
    }
}

/// Brute-force reference: every distance `√Σ(x_i − y_i)²` in `f64`, full sort.
/// Same contract and tie-breaking as [`knn`]; `O(n_q · n_d · d)`, single thread.
pub fn knn_naive(query: &Matrix, data: &Matrix, k: usize, exclude_self: bool) -> Result<Neighbours, CoreError> {
    validate(query, data, k, exclude_self)?;
    let mut indices = Vec::with_capacity(query.rows() * k);
    let mut distances = Vec::with_capacity(query.rows() * k);
    for (i, x) in query.iter_rows().enumerate() {
        let mut all: Vec<(f64, usize)> =
            data.iter_rows().enumerate().filter(|(j, _)| !(exclude_self && *j == i)).map(|(j, y)| (squared_distance(x, y), j)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(s, j) in all.iter().take(k) {
            indices.push(j);
            distances.push(s.sqrt());
        }
    }
    Ok(Neighbours { k, indices, distances })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::NoiseStream;

    fn random(n: usize, d: usize, seed: u64) -> Matrix {
        let mut s = NoiseStream::new(seed, 0);
        let mut v = vec![0f32; n * d];
        s.fill_normal_f32(&mut v);
        Matrix::new(v, n, d).unwrap()
    }

    #[test]
    fn blocked_matches_naive() {
        for &(nq, nd, d, k) in &[(300, 2500, 17, 3), (5, 7, 3, 7), (260, 2049, 64, 1)] {
            let q = random(nq, d, 1);
            let x = random(nd, d, 2);
            let a = knn(&q, &x, k, false).unwrap();
            let b = knn_naive(&q, &x, k, false).unwrap();
            assert_eq!(a.indices, b.indices);
            for (u, v) in a.distances.iter().zip(&b.distances) {
                assert!((u - v).abs() <= 1e-5 * v.max(1.0));
            }
        }
    }

    #[test]
    fn exclude_self_never_returns_self() {
        let x = random(500, 8, 3);
        let a = knn(&x, &x, 2, true).unwrap();
        let b = knn_naive(&x, &x, 2, true).unwrap();
        assert_eq!(a.indices, b.indices);
        for i in 0..500 {
            assert!(!a.indices_of(i).contains(&i));
        }
        let c = knn(&x, &x, 1, false).unwrap();
        for i in 0..500 {
            assert_eq!(c.indices_of(i)[0], i);
            assert_eq!(c.distances_of(i)[0], 0.0);
        }
    }

    #[test]
    fn errors() {
        let x = random(3, 2, 1);
        let y = random(3, 3, 1);
        assert!(matches!(knn(&x, &y, 1, false), Err(CoreError::DimensionMismatch { .. })));
        assert!(matches!(knn(&x, &x, 3, true), Err(CoreError::TooFewPoints { .. })));
        assert!(knn(&x, &x, 0, false).is_err());
        let mut bad = x.clone();
        bad.data_mut()[4] = f32::NAN;
        assert!(matches!(knn(&bad, &x, 1, false), Err(CoreError::NonFinite { row: 2, col: 0, .. })));
    }
}
