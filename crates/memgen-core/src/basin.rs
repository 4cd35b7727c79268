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
