//! The 2D toy's exact `K → ∞` energy (docs/SCIENCE.md §4; paper Fig. 2).
//!
//! Data uniform on the unit circle, noised with std `σ_t`: `p(x) ∝ exp(−β(R² + 1)) I₀(2βR)`,
//! `R = ‖x‖`, `β = 1/(2σ_t²)`, so
//! `E(R; β) = R² + 1 − β⁻¹ log I₀(2βR)`, and `dE/dR = 2R − 2 I₁(2βR)/I₀(2βR)`.
//! With `log I₀(z) = log I0e(z) + z` (`I0e(z) = e^{−z} I₀(z)`), the energy is evaluated as
//! `E = (R − 1)² − β⁻¹ log I0e(2βR)`, which has no cancellation and stays finite and
//! accurate for β up to 1e4 and beyond; `E → (R − 1)²` as β → ∞.
//!
//! Bessel functions: power series `I_ν(z) = Σ (z/2)^{2k+ν} / (k! (k+ν)!)` (all terms
//! positive) for `z < 25`, and the asymptotic expansion
//! `I_ν(z) ≈ e^z/√(2πz) Σ_k (−1)^k Π_{j≤k}(4ν² − (2j−1)²) / (k! (8z)^k)` beyond,
//! summed until its terms stop shrinking (its error there is far below `f64` rounding).
use crate::error::CoreError;

const SWITCH: f64 = 25.0;

fn series_scaled(nu: u32, z: f64) -> f64 {
    // e^{-z} Σ (z/2)^{2k+ν}/(k!(k+ν)!), terms built by recurrence.
    let q = z * z / 4.0;
    let mut term = if nu == 0 { 1.0 } else { z / 2.0 };
    let mut sum = term;
    let mut k = 0.0f64;
    loop {
        k += 1.0;
        term *= q / (k * (k + nu as f64));
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
    }
    sum * (-z).exp()
}

/// `Σ_k (−1)^k Π_{j≤k}(4ν² − (2j−1)²) / (k! (8z)^k)`: the asymptotic factor, `z ≥ 25`.
fn asymptotic_factor(nu: u32, z: f64) -> f64 {
    let mu = 4.0 * (nu * nu) as f64;
    let mut term = 1.0f64;
    let mut sum = 1.0f64;
    for j in 1..200 {
        let jf = j as f64;
        let next = -term * (mu - (2.0 * jf - 1.0).powi(2)) / (jf * 8.0 * z);
        if next.abs() >= term.abs() || next == 0.0 {
            break;
        }
        term = next;
        sum += term;
        if term.abs() < 1e-17 * sum.abs() {
            break;
        }
    }
    sum
}

/// Exponentially scaled modified Bessel function `I0e(z) = e^{−|z|} I₀(z)` (scipy `i0e`).
pub fn i0e(z: f64) -> f64 {
    let z = z.abs();
    if z < SWITCH {
        series_scaled(0, z)
    } else {
        asymptotic_factor(0, z) / (2.0 * std::f64::consts::PI * z).sqrt()
    }
}

/// `I1e(z) = e^{−|z|} I₁(z)` (odd in `z`; scipy `i1e`).
pub fn i1e(z: f64) -> f64 {
    let a = z.abs();
    let v = if a < SWITCH { series_scaled(1, a) } else { asymptotic_factor(1, a) / (2.0 * std::f64::consts::PI * a).sqrt() };
    v.copysign(z)
}

/// `log I₀(z) = log I0e(z) + |z|`, finite for every finite `z`.
pub fn log_i0(z: f64) -> f64 {
    i0e(z).ln() + z.abs()
}

/// `I₁(z)/I₀(z)`, computed from the scaled functions (no overflow).
pub fn bessel_ratio_i1_i0(z: f64) -> f64 {
    i1e(z) / i0e(z)
}

fn check(beta: f64, r: f64) -> Result<(), CoreError> {
    if !(beta.is_finite() && beta > 0.0) {
        return Err(CoreError::invalid("beta", beta, "must be finite and > 0"));
    }
    if !(r.is_finite() && r >= 0.0) {
        return Err(CoreError::invalid("radius", r, "must be finite and ≥ 0"));
    }
    Ok(())
}

/// `E(R; β) = R² + 1 − β⁻¹ log I₀(2βR)`, evaluated as `(R − 1)² − β⁻¹ log I0e(2βR)`.
/// Errors: `β ≤ 0`, `R < 0`, non-finite inputs.
pub fn circle_energy(radius: f64, beta: f64) -> Result<f64, CoreError> {
    check(beta, radius)?;
    Ok((radius - 1.0).powi(2) - i0e(2.0 * beta * radius).ln() / beta)
}

/// `dE/dR = 2R − 2 I₁(2βR)/I₀(2βR)`.
pub fn circle_energy_derivative(radius: f64, beta: f64) -> Result<f64, CoreError> {
    check(beta, radius)?;
    Ok(2.0 * radius - 2.0 * bessel_ratio_i1_i0(2.0 * beta * radius))
}

/// `∇ₓE = dE/dR · x/R` for `x ∈ R²` (0 at the origin, where `dE/dR = 0`).
pub fn circle_energy_gradient(x: [f64; 2], beta: f64) -> Result<[f64; 2], CoreError> {
    let r = x[0].hypot(x[1]);
    let g = circle_energy_derivative(r, beta)?;
    if r == 0.0 {
        return Ok([0.0, 0.0]);
    }
    Ok([g * x[0] / r, g * x[1] / r])
}

/// `β = 1/(2σ_t²)` for the VE toy at noise std `σ_t`.
pub fn beta_from_std(std: f64) -> f64 {
    1.0 / (2.0 * std * std)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bessel_known_values() {
        // scipy.special.i0e / i1e
        let cases = [
            (0.0, 1.0, 0.0),
            (1.0, 0.46575960759364043, 0.2079104153497085),
            (10.0, 0.1278333371634286, 0.1212626813844555),
            (24.9, 0.0803593326115322, 0.07872879488210313),
            (25.1, 0.08003519725429624, 0.07842431517836843),
            (1000.0, 0.012617240455891257, 0.01261093025692863),
            (2e4, 0.0028209655491591625, 0.002820895024138838),
        ];
        for (z, a, b) in cases {
            assert!((i0e(z) - a).abs() <= 1e-13 * a.max(1e-300), "i0e({z}) = {}", i0e(z));
            assert!((i1e(z) - b).abs() <= 1e-13 * b.max(1e-300), "i1e({z}) = {}", i1e(z));
        }
    }

    #[test]
    fn derivative_matches_finite_difference() {
        for &beta in &[0.5, 20.0, 1e4] {
            for &r in &[0.1, 0.7, 1.0, 1.3] {
                let h = 1e-6;
                let fd = (circle_energy(r + h, beta).unwrap() - circle_energy(r - h, beta).unwrap()) / (2.0 * h);
                let g = circle_energy_derivative(r, beta).unwrap();
                assert!((fd - g).abs() < 1e-5 * (1.0 + g.abs()), "β={beta} R={r}: {fd} vs {g}");
            }
        }
    }

    #[test]
    fn large_beta_tends_to_ring() {
        for &r in &[0.0, 0.5, 1.0, 1.5] {
            let e = circle_energy(r, 1e4).unwrap();
            assert!(e.is_finite());
            assert!((e - (r - 1.0f64).powi(2)).abs() < 1e-3);
        }
        assert!(circle_energy(-1.0, 1.0).is_err());
        assert!(circle_energy(1.0, 0.0).is_err());
    }
}
