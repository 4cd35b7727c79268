//! The lab's one seeded random scheme.
//!
//! Every random number in the lab (training subsets, noise, bootstrap resamples) comes
//! from a [`NoiseStream`]: ChaCha8 seeded with `ChaCha8Rng::seed_from_u64(seed)` and a
//! stream number chosen by purpose ([`STREAM_SUBSET`], [`STREAM_NOISE`], [`STREAM_BOOTSTRAP`]).
//! Bounded integers use rejection (Lemire) on `u64` draws, uniforms take the top 53 bits,
//! and normals are Box–Muller with the pure-Rust `libm` (never the platform's `ln`/`cos`),
//! so the same `(seed, stream)` gives the same bytes natively and on wasm32.
use crate::error::CoreError;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Stream for dataset subsets ([`subset_indices`]).
pub const STREAM_SUBSET: u64 = 0;
/// Stream for diffusion / retrieval noise.
pub const STREAM_NOISE: u64 = 1;
/// Stream for bootstrap resamples ([`crate::metrics::bootstrap`]).
pub const STREAM_BOOTSTRAP: u64 = 2;

/// Seed of every random choice of sweep point `K` except its training subset (the weights,
/// batches, `S_eval` and `S′` of `memgen sweep` and of the page's re-run of a bundle's point):
/// the first word of stream `2³² + K` of `seed`.
pub fn sweep_point_seed(seed: u64, k: usize) -> u64 {
    NoiseStream::new(seed, (1u64 << 32) + k as u64).next_u64()
}

/// A seeded, platform-independent random stream (ChaCha8, 64-bit seed, 64-bit stream id).
#[derive(Debug, Clone)]
pub struct NoiseStream {
    rng: ChaCha8Rng,
    spare_normal: Option<f64>,
}

impl NoiseStream {
    /// Stream `stream` of seed `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        NoiseStream { rng, spare_normal: None }
    }
    /// Next raw 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
    /// Uniform integer in `0..n` (`n ≥ 1`), unbiased (Lemire's multiply-and-reject).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
    /// Uniform in `[0, 1)`: `(u64 >> 11) · 2⁻⁵³`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// Standard normal by Box–Muller: `√(−2 ln u₁) (cos 2πu₂, sin 2πu₂)`, `u₁ ∈ (0, 1]`;
    /// the second value of each pair is returned by the next call.
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = libm::sqrt(-2.0 * libm::log(u1));
        let th = 2.0 * std::f64::consts::PI * u2;
        self.spare_normal = Some(r * libm::sin(th));
        r * libm::cos(th)
    }
    /// Fills `out` with standard normals (computed in `f64`, rounded to `f32`).
    pub fn fill_normal_f32(&mut self, out: &mut [f32]) {
        for v in out {
            *v = self.normal() as f32;
        }
    }
    /// Fills `out` with uniforms in `[0, 1)` (rounded to `f32`; may round up to 1.0 never:
    /// values ≥ 1 − 2⁻²⁵ are clamped to the largest `f32` below 1).
    pub fn fill_uniform_f32(&mut self, out: &mut [f32]) {
        let below_one = f32::from_bits(0x3f7f_ffff);
        for v in out {
            *v = (self.uniform() as f32).min(below_one);
        }
    }
}

/// A seeded permutation of `0..n` (Fisher–Yates, drawing from [`STREAM_SUBSET`]).
pub fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = NoiseStream::new(seed, STREAM_SUBSET);
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        p.swap(i, j);
    }
    p
}

/// The training subset `S_K`: the first `k` entries of [`permutation`]`(n, seed)`, so
/// subsets of one seed are nested (`S_K ⊂ S_K'` for `K < K'`), as in the paper.
pub fn subset_indices(n: usize, k: usize, seed: u64) -> Result<Vec<usize>, CoreError> {
    if k > n {
        return Err(CoreError::invalid("k", k, &format!("larger than the dataset size {n}")));
    }
    let mut p = permutation(n, seed);
    p.truncate(k);
    Ok(p)
}

/// `n` standard normals from stream `stream` of `seed`.
pub fn normals(n: usize, seed: u64, stream: u64) -> Vec<f32> {
    let mut v = vec![0f32; n];
    NoiseStream::new(seed, stream).fill_normal_f32(&mut v);
    v
}

/// `n` uniforms in `[0, 1)` from stream `stream` of `seed`.
pub fn uniforms(n: usize, seed: u64, stream: u64) -> Vec<f32> {
    let mut v = vec![0f32; n];
    NoiseStream::new(seed, stream).fill_uniform_f32(&mut v);
    v
}

/// FNV-1a 64-bit hash of a byte string: a tiny, dependency-free fingerprint for pinning
/// random outputs across platforms.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Literal values pinned: these must hold on every platform (native and wasm32).
    #[test]
    fn pinned_values() {
        let s = subset_indices(100, 10, 42).unwrap();
        let u = uniforms(4, 7, STREAM_NOISE);
        let z = normals(4, 7, STREAM_NOISE);
        let bytes: Vec<u8> = normals(1000, 123, STREAM_NOISE).iter().flat_map(|v| v.to_le_bytes()).collect();
        let h = fnv1a64(&bytes);
        assert_eq!(s, PINNED_SUBSET);
        assert_eq!(u, PINNED_UNIFORM);
        assert_eq!(z, PINNED_NORMAL);
        assert_eq!(h, PINNED_HASH);
    }
    const PINNED_SUBSET: [usize; 10] = [26, 10, 57, 58, 61, 23, 78, 44, 67, 73];
    const PINNED_UNIFORM: [f32; 4] = [0.99210876, 0.0090514105, 0.72161174, 0.52810574];
    const PINNED_NORMAL: [f32; 4] = [3.1068826, 0.17688441, -1.5743401, -0.28094497];
    const PINNED_HASH: u64 = 0x9859_0476_2b52_3f47;

    #[test]
    fn subsets_are_nested_and_distinct() {
        let a = subset_indices(1000, 50, 9).unwrap();
        let b = subset_indices(1000, 500, 9).unwrap();
        assert_eq!(&b[..50], &a[..]);
        let mut c = b.clone();
        c.sort();
        c.dedup();
        assert_eq!(c.len(), 500);
        assert!(subset_indices(10, 11, 0).is_err());
    }

    #[test]
    fn normals_have_unit_moments() {
        let z = normals(200_000, 1, 5);
        let m: f64 = z.iter().map(|v| *v as f64).sum::<f64>() / z.len() as f64;
        let v: f64 = z.iter().map(|v| (*v as f64 - m).powi(2)).sum::<f64>() / z.len() as f64;
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.01, "{m} {v}");
    }
}
