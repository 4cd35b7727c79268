//! The ideal denoiser / exact score of a finite training set (docs/SCIENCE.md §3).
//!
//! For training points `y_j` and noise std `σ`, the noised empirical distribution
//! `p_σ(x) = (1/K) Σ_j N(x; y_j, σ² I)` has
//! `w_j(x) = softmax_j(−‖x − y_j‖² / (2σ²))`, denoiser `D(x) = Σ_j w_j y_j` (= `E[y | x]`),
//! and score `∇log p_σ(x) = Σ_j w_j (y_j − x)/σ² = (D(x) − x)/σ²`.
//! This is a DenseAM with `β = 1/σ²` and memorizes perfectly. The softmax is evaluated
//! with the log-sum-exp shift (subtract the largest logit), in `f64`, so it is finite for any
//! σ > 0 and any distance. Rows are processed in parallel natively.
use crate::error::CoreError;
use crate::matrix::{squared_distance, Matrix};

fn check(x: &Matrix, train: &Matrix, sigma: f64) -> Result<(), CoreError> {
    x.validate("query set")?;
    train.validate("training set")?;
    if x.cols() != train.cols() {
        return Err(CoreError::DimensionMismatch { what: "query set".into(), expected: train.cols(), found: x.cols() });
    }
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(CoreError::invalid("sigma", sigma, "must be finite and > 0"));
    }
    Ok(())
}

/// Posterior weights `w_j(x) = softmax_j(−‖x − y_j‖²/(2σ²))` of one point (sum to 1).
pub fn posterior_weights(x: &[f32], train: &Matrix, sigma: f64) -> Vec<f64> {
    let inv = 1.0 / (2.0 * sigma * sigma);
    let mut w: Vec<f64> = train.iter_rows().map(|y| -squared_distance(x, y) * inv).collect();
    let m = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut z = 0.0;
    for v in &mut w {
        *v = (*v - m).exp();
        z += *v;
    }
    for v in &mut w {
        *v /= z;
    }
    w
}

fn denoise_row(x: &[f32], train: &Matrix, sigma: f64, out: &mut [f32]) {
    let w = posterior_weights(x, train, sigma);
    let mut acc = vec![0f64; x.len()];
    for (wj, y) in w.iter().zip(train.iter_rows()) {
        if *wj < 1e-300 {
            continue;
        }
        for (a, v) in acc.iter_mut().zip(y) {
            *a += wj * *v as f64;
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a as f32;
    }
}

fn map_rows(x: &Matrix, f: impl Fn(&[f32], &mut [f32]) + Sync + Send) -> Matrix {
    let mut out = Matrix::zeros(x.rows(), x.cols());
    let d = x.cols();
    {
        use crate::par::*;
        out.data_mut().par_chunks_mut(d).enumerate().for_each(|(i, o)| f(x.row(i), o));
    }
    out
}

/// Ideal denoiser `D(x) = Σ_j w_j y_j` for every row of `x`.
/// Errors: empty sets, NaN/∞, mismatched dimensions, `σ ≤ 0`.
pub fn ideal_denoiser(x: &Matrix, train: &Matrix, sigma: f64) -> Result<Matrix, CoreError> {
    check(x, train, sigma)?;
    Ok(map_rows(x, |xi, o| denoise_row(xi, train, sigma, o)))
}

/// Exact score `∇log p_σ(x) = Σ_j w_j (y_j − x)/σ² = (D(x) − x)/σ²` for every row of `x`.
pub fn ideal_score(x: &Matrix, train: &Matrix, sigma: f64) -> Result<Matrix, CoreError> {
    check(x, train, sigma)?;
    let inv = 1.0 / (sigma * sigma);
    Ok(map_rows(x, |xi, o| {
        denoise_row(xi, train, sigma, o);
        for (v, xv) in o.iter_mut().zip(xi) {
            *v = ((*v as f64 - *xv as f64) * inv) as f32;
        }
    }))
}

/// The ideal noise prediction for DDPM at step with `ᾱ`: `x_t = √ᾱ x_0 + √(1−ᾱ) ε` gives
/// `ε̂(x_t) = (x_t − √ᾱ D(x_t/√ᾱ; σ))/√(1−ᾱ)` with `σ = √((1−ᾱ)/ᾱ)`
/// (the posterior mean of `x_0` under the empirical data distribution).
pub fn ideal_epsilon(x_t: &Matrix, train: &Matrix, alpha_bar: f64) -> Result<Matrix, CoreError> {
    if !(alpha_bar > 0.0 && alpha_bar < 1.0) {
        return Err(CoreError::invalid("alpha_bar", alpha_bar, "must lie in (0, 1)"));
    }
    let sa = alpha_bar.sqrt();
    let sigma = ((1.0 - alpha_bar) / alpha_bar).sqrt();
    check(x_t, train, sigma)?;
    let sb = (1.0 - alpha_bar).sqrt();
    Ok(map_rows(x_t, |xi, o| {
        let scaled: Vec<f32> = xi.iter().map(|v| (*v as f64 / sa) as f32).collect();
        denoise_row(&scaled, train, sigma, o);
        for (v, xv) in o.iter_mut().zip(xi) {
            *v = ((*xv as f64 - sa * *v as f64) / sb) as f32;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_score(x: &[f32], ys: &[Vec<f32>], sigma: f64) -> Vec<f64> {
        // direct (unshifted) formula, fine at moderate σ
        let p: Vec<f64> = ys.iter().map(|y| (-squared_distance(x, y) / (2.0 * sigma * sigma)).exp()).collect();
        let z: f64 = p.iter().sum();
        (0..x.len()).map(|k| ys.iter().zip(&p).map(|(y, pj)| pj / z * (y[k] as f64 - x[k] as f64)).sum::<f64>() / (sigma * sigma)).collect()
    }

    #[test]
    fn matches_direct_formula_and_finite_difference() {
        let ys = vec![vec![1.0f32, 0.0], vec![-0.5, 0.8], vec![0.1, -1.2]];
        let train = Matrix::from_rows(&ys).unwrap();
        let x = Matrix::from_rows(&[vec![0.2f32, 0.3], vec![-1.0, 2.0]]).unwrap();
        let sigma = 0.7;
        let s = ideal_score(&x, &train, sigma).unwrap();
        for i in 0..2 {
            let want = naive_score(x.row(i), &ys, sigma);
            for (got, w) in s.row(i).iter().zip(&want) {
                assert!((*got as f64 - w).abs() < 1e-5);
            }
            // score = ∇ log p, by central differences of log Σ exp(−‖x−y‖²/2σ²)
            let logp = |p: [f64; 2]| {
                ys.iter().map(|y| (-((p[0] - y[0] as f64).powi(2) + (p[1] - y[1] as f64).powi(2)) / (2.0 * sigma * sigma)).exp()).sum::<f64>().ln()
            };
            let p = [x.row(i)[0] as f64, x.row(i)[1] as f64];
            let h = 1e-5;
            let g0 = (logp([p[0] + h, p[1]]) - logp([p[0] - h, p[1]])) / (2.0 * h);
            assert!((g0 - s.row(i)[0] as f64).abs() < 1e-4);
        }
    }

    #[test]
    fn tiny_sigma_is_stable_and_snaps_to_nearest() {
        let train = Matrix::from_rows(&[vec![1.0f32, 0.0], vec![0.0, 1.0]]).unwrap();
        let x = Matrix::from_rows(&[vec![0.9f32, 0.2]]).unwrap();
        let d = ideal_denoiser(&x, &train, 1e-4).unwrap();
        assert_eq!(d.row(0), &[1.0, 0.0]);
        let s = ideal_score(&x, &train, 1e-4).unwrap();
        assert!(s.data().iter().all(|v| v.is_finite()));
        assert!(ideal_score(&x, &train, 0.0).is_err());
    }

    #[test]
    fn ideal_epsilon_inverts_forward_noise_near_a_memory() {
        let train = Matrix::from_rows(&[vec![1.0f32, 0.0], vec![-1.0, 0.0]]).unwrap();
        let ab = 0.99f64;
        let eps = [0.3f32, -0.2];
        let xt: Vec<f32> = (0..2).map(|k| (ab.sqrt() * train.row(0)[k] as f64 + (1.0 - ab).sqrt() * eps[k] as f64) as f32).collect();
        let e = ideal_epsilon(&Matrix::new(xt, 1, 2).unwrap(), &train, ab).unwrap();
        assert!((e.row(0)[0] - 0.3).abs() < 1e-3 && (e.row(0)[1] + 0.2).abs() < 1e-3);
    }
}
