//! Basins of attraction and curvature (docs/SCIENCE.md §5–6; paper Figs. 4B, 5A).
//!
//! For a sample `x0` and an increasing grid of noise levels `t`: run trials
//! `x_t = forward-noise(x0, t)` → reverse process → `x̂0`; a trial recovers if
//! `d(x̂0, x0) ≤ δ`. `P(t)` = share recovered. Critical time `t_c` = largest `t` with
//! `P(t) ≥ 0.9`, scanning up the grid and stopping at the first failure.
//! Radius `r = ‖x_{t_c} − x0‖`; log-volume of a `d`-ball `log V = (d/2) log(π r²) − lgamma(d/2 + 1)`.
use crate::error::CoreError;
use crate::matrix::Matrix;
use serde::{Deserialize, Serialize};

/// Trials per noise level in the paper's code.
pub const TRIALS: usize = 10;
/// Recovery probability that counts as "inside the basin".
pub const RECOVERY_THRESHOLD: f64 = 0.9;

/// `P = (#recovered) / (#trials)`; 0 for no trials.
pub fn recovery_probability(recovered: &[bool]) -> f64 {
    if recovered.is_empty() {
        return 0.0;
    }
    recovered.iter().filter(|r| **r).count() as f64 / recovered.len() as f64
}

/// Result of the critical-time scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalTime {
    /// Largest grid `t` with `P(t) ≥ threshold` before the first failure; `None` if the
    /// first grid point already fails.
    pub t_c: Option<f64>,
    /// `(t, P(t))` for every grid point evaluated (the scan stops at the first failure).
    pub probabilities: Vec<(f64, f64)>,
}

/// Scans `grid` (must be strictly increasing, finite) upwards; at each `t` runs
/// `oracle(t, trial)` for `trial in 0..trials` (true = recovered). Stops at the first
/// `t` with `P(t) < threshold`.
pub fn critical_time(grid: &[f64], trials: usize, threshold: f64, mut oracle: impl FnMut(f64, usize) -> bool) -> Result<CriticalTime, CoreError> {
    if grid.is_empty() {
        return Err(CoreError::Empty { what: "noise-level grid".into() });
    }
    if grid.iter().any(|t| !t.is_finite()) || grid.windows(2).any(|w| w[1] <= w[0]) {
        return Err(CoreError::invalid("grid", "…", "must be finite and strictly increasing"));
    }
    if trials == 0 {
        return Err(CoreError::invalid("trials", 0, "must be at least 1"));
    }
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(CoreError::invalid("threshold", threshold, "must lie in (0, 1]"));
    }
    let mut t_c = None;
    let mut probabilities = Vec::new();
    for &t in grid {
        let rec: Vec<bool> = (0..trials).map(|k| oracle(t, k)).collect();
        let p = recovery_probability(&rec);
        probabilities.push((t, p));
        if p >= threshold {
            t_c = Some(t);
        } else {
            break;
        }
    }
    Ok(CriticalTime { t_c, probabilities })
}

/// How a critical time is searched for over a grid of noise levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    /// Up the grid until the first `P < threshold` (the authors' scan).
    Linear,
    /// Bisection over the grid: about `log₂(levels)` of them; the linear scan's answer when
    /// `P(t)` falls through the threshold once.
    Bisection,
}

/// A critical-time search over a grid of `n` levels (indices `0..n`), driven one level at a
/// time so that a caller may pause between levels (a browser tab, a progress bar): ask
/// [`next`](Self::next) which level to measure, give its `P` to [`record`](Self::record), until
/// `next` says `None`; then [`t_c`](Self::t_c) is the index of the critical level. Both searches
/// read the same `P(level)`, so with one `P` per level (shared trial noise) they agree when
/// `P` crosses the threshold once.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSearch {
    search: Search,
    n: usize,
    threshold: f64,
    /// `(index, P)` of every level measured, in the order measured.
    measured: Vec<(usize, f64)>,
    /// Largest index known to pass (bisection: `lo`; linear: the last passing level).
    pass: Option<usize>,
    /// Smallest index known to fail (`n`: none yet).
    fail: usize,
}

impl GridSearch {
    /// A search over `n ≥ 1` levels with recovery threshold `threshold`.
    pub fn new(search: Search, n: usize, threshold: f64) -> GridSearch {
        GridSearch { search, n, threshold, measured: Vec::new(), pass: None, fail: n }
    }

    /// Levels it measures at most: `n` (linear) or `⌈log₂ n⌉ + 1` (bisection).
    pub fn most(&self) -> usize {
        match self.search {
            Search::Linear => self.n,
            Search::Bisection => (self.n.max(1) as f64).log2().ceil() as usize + 1,
        }
    }

    /// The level to measure next, or `None` when the search is over.
    pub fn next(&self) -> Option<usize> {
        if self.n == 0 {
            return None;
        }
        match (self.search, self.pass) {
            // The first level decides whether there is a basin at all.
            (_, None) if self.measured.is_empty() => Some(0),
            (_, None) => None,
            (Search::Linear, Some(p)) => (p + 1 < self.fail).then_some(p + 1),
            (Search::Bisection, Some(lo)) => (self.fail - lo > 1).then_some((lo + self.fail) / 2),
        }
    }

    /// Records `P` at level `index` (the one [`next`](Self::next) named).
    pub fn record(&mut self, index: usize, p: f64) {
        self.measured.push((index, p));
        if p >= self.threshold {
            self.pass = Some(self.pass.map_or(index, |q| q.max(index)));
        } else {
            self.fail = self.fail.min(index);
        }
    }

    /// Index of the critical level (`None`: the first level fails, or nothing measured yet).
    pub fn t_c(&self) -> Option<usize> {
        self.pass
    }

    /// `(index, P)` of every level measured, ascending index.
    pub fn levels(&self) -> Vec<(usize, f64)> {
        let mut v = self.measured.clone();
        v.sort_by_key(|l| l.0);
        v
    }
}

/// `log V_d(r) = (d/2) log(π r²) − lgamma(d/2 + 1)`: log-volume of a `d`-ball of radius `r`
/// (`−∞` for `r = 0`). Errors: `d = 0`, `r < 0` or non-finite.
pub fn log_ball_volume(d: usize, r: f64) -> Result<f64, CoreError> {
    if d == 0 {
        return Err(CoreError::invalid("d", 0, "must be at least 1"));
    }
    if !(r.is_finite() && r >= 0.0) {
        return Err(CoreError::invalid("r", r, "must be finite and ≥ 0"));
    }
    let h = d as f64 / 2.0;
    Ok(h * (std::f64::consts::PI * r * r).ln() - libm::lgamma(h + 1.0))
}

/// Singular values of a dense matrix, descending (nalgebra SVD, computed in `f64`).
/// Used on the score Jacobian `∇ₓ s_θ(x, t)` (Fig. 5A). Errors: empty or non-finite.
pub fn singular_values(m: &Matrix) -> Result<Vec<f64>, CoreError> {
    m.validate("matrix")?;
    let a = nalgebra::DMatrix::from_row_iterator(m.rows(), m.cols(), m.data().iter().map(|v| *v as f64));
    let mut s: Vec<f64> = a.singular_values().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_stops_at_first_failure() {
        let grid = [0.1, 0.2, 0.3, 0.4, 0.5];
        // recovers fully up to 0.2, 80% at 0.3, then fully again (ignored: scan stopped)
        let ct = critical_time(&grid, 10, RECOVERY_THRESHOLD, |t, k| !(0.25..=0.35).contains(&t) || k < 8).unwrap();
        assert_eq!(ct.t_c, Some(0.2));
        assert_eq!(ct.probabilities.len(), 3);
        assert_eq!(ct.probabilities[2].1, 0.8);
        let none = critical_time(&grid, 10, 0.9, |_, _| false).unwrap();
        assert_eq!(none.t_c, None);
        assert!(critical_time(&[0.2, 0.1], 10, 0.9, |_, _| true).is_err());
    }

    /// Both searches driven through every monotone and some non-monotone `P` on small grids.
    #[test]
    fn grid_search_matches_the_linear_scan() {
        let run = |search: Search, p: &dyn Fn(usize) -> f64, n: usize| {
            let mut g = GridSearch::new(search, n, 0.9);
            let mut steps = 0;
            while let Some(i) = g.next() {
                g.record(i, p(i));
                steps += 1;
                assert!(steps <= g.most(), "{search:?} measured more than {} levels", g.most());
            }
            (g.t_c(), g.levels())
        };
        for n in 1..40 {
            for edge in 0..=n {
                // Passes below `edge`, fails from it: t_c = edge − 1.
                let p = |i: usize| if i < edge { 1.0 } else { 0.5 };
                let (lin, lin_levels) = run(Search::Linear, &p, n);
                let (bis, _) = run(Search::Bisection, &p, n);
                assert_eq!(lin, edge.checked_sub(1), "n = {n}, edge = {edge}");
                assert_eq!(bis, lin, "n = {n}, edge = {edge}");
                assert_eq!(lin_levels.len(), (edge + 1).min(n));
            }
        }
        // A second dip past the first failure: the linear scan stops at the first; bisection
        // may find another crossing, so only the linear one is the authors' answer.
        let p = |i: usize| if i == 3 { 0.0 } else { 1.0 };
        assert_eq!(run(Search::Linear, &p, 10).0, Some(2));
        assert_eq!(run(Search::Bisection, &p, 10).0, Some(9));
        assert_eq!(run(Search::Bisection, &p, 0).0, None);
        // It agrees with `critical_time` on the same oracle.
        let grid: Vec<f64> = (0..25).map(|i| i as f64).collect();
        let ct = critical_time(&grid, 10, 0.9, |t, k| t < 17.0 || k < 5).unwrap();
        assert_eq!(ct.t_c, Some(16.0));
        assert_eq!(run(Search::Bisection, &|i| if i < 17 { 1.0 } else { 0.5 }, 25).0, Some(16));
    }

    #[test]
    fn ball_volumes() {
        // V_2 = π r², V_3 = 4/3 π r³
        assert!((log_ball_volume(2, 2.0).unwrap() - (std::f64::consts::PI * 4.0).ln()).abs() < 1e-12);
        assert!((log_ball_volume(3, 1.5).unwrap() - (4.0 / 3.0 * std::f64::consts::PI * 1.5f64.powi(3)).ln()).abs() < 1e-12);
        assert!(log_ball_volume(784, 10.0).unwrap().is_finite());
    }

    #[test]
    fn svd_of_known_matrix() {
        // diag(3, −2) rotated: singular values 3, 2
        let m = Matrix::from_rows(&[vec![0.0, 3.0], vec![-2.0, 0.0], vec![0.0, 0.0]]).unwrap();
        let s = singular_values(&m).unwrap();
        assert!((s[0] - 3.0).abs() < 1e-12 && (s[1] - 2.0).abs() < 1e-12);
    }
}
