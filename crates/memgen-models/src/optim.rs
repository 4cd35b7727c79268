//! Adam (PyTorch's and burn's constants) and the weights' EMA with its warm-up, once for the
//! lab's trainers: the warm-up rule for all four (burn and fused, toy and UNet), the
//! flat-buffer update for the two fused ones.

use memgen_core::par::*;

/// Adam's `β₁`.
pub const BETA1: f32 = 0.9;
/// Adam's `β₂`.
pub const BETA2: f32 = 0.999;
/// Adam's `ε`.
pub const EPS: f32 = 1e-8;
/// Elements per parallel block of [`adam_ema`] (the update is elementwise: any block size gives
/// the same bits).
const BLOCK: usize = 8192;

/// The EMA's decay after step `step` (0-based): `decay`, or with warm-up
/// `min(decay, (1 + step)/(10 + step))`, so the first steps are not averaged with the random
/// initial weights.
pub fn ema_decay(decay: f64, warmup: bool, step: usize) -> f64 {
    if warmup {
        decay.min((1.0 + step as f64) / (10.0 + step as f64))
    } else {
        decay
    }
}

/// The constants of one Adam step on one buffer.
#[derive(Debug, Clone, Copy)]
pub struct AdamStep {
    /// `1 − β₁ᵗ`.
    c1: f32,
    /// `1 − β₂ᵗ`.
    c2: f32,
    lr: f32,
    /// Factor on the gradient (clipping).
    scale: f32,
    /// The EMA's `(decay, 1 − decay)`, when it is updated in the same pass.
    ema: Option<(f32, f32)>,
}

impl AdamStep {
    /// Step `t` (1-based) at learning rate `lr`; the EMA with `ema_decay` in the same pass.
    pub fn new(lr: f64, t: i32, ema_decay: Option<f64>) -> AdamStep {
        AdamStep { c1: 1.0 - BETA1.powi(t), c2: 1.0 - BETA2.powi(t), lr: lr as f32, scale: 1.0, ema: ema_decay.map(|d| (d as f32, (1.0 - d) as f32)) }
    }

    /// The same step with the gradient scaled by `scale`.
    pub fn scaled(self, scale: f32) -> AdamStep {
        AdamStep { scale, ..self }
    }
}

/// Adam on `p` with gradient `g · scale` (moments `m`, `v`), then the EMA `e` of the new `p`:
/// `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − lr·(m/c₁)/(√(v/c₂) + ε)`,
/// `e ← d·e + (1−d)·p`. Elementwise, in parallel blocks natively.
pub fn adam_ema(p: &mut [f32], e: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: AdamStep) {
    let work = |((((p, e), m), v), g): ((((&mut [f32], &mut [f32]), &mut [f32]), &mut [f32]), &[f32])| {
        for i in 0..p.len() {
            let gi = g[i] * k.scale;
            m[i] = m[i] * BETA1 + gi * (1.0 - BETA1);
            v[i] = v[i] * BETA2 + gi * gi * (1.0 - BETA2);
            p[i] -= k.lr * ((m[i] / k.c1) / ((v[i] / k.c2).sqrt() + EPS));
            if let Some((d, r)) = k.ema {
                e[i] = e[i] * d + p[i] * r;
            }
        }
    };
    if p.len() <= BLOCK {
        // One block: no thread pool.
        return work(((((p, e), m), v), g));
    }
    p.par_chunks_mut(BLOCK).zip(e.par_chunks_mut(BLOCK)).zip(m.par_chunks_mut(BLOCK)).zip(v.par_chunks_mut(BLOCK)).zip(g.par_chunks(BLOCK)).for_each(work);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_and_one_step_by_hand() {
        assert_eq!(ema_decay(0.999, false, 0), 0.999);
        assert_eq!(ema_decay(0.999, true, 0), 0.1);
        assert_eq!(ema_decay(0.999, true, 10_000), 0.999);
        // Step 1: m̂ = g, v̂ = g², so p moves by lr·g/(|g| + ε) = lr·sign(g).
        let n = 3 * BLOCK + 5;
        let (mut p, mut e) = (vec![1.0f32; n], vec![0.0f32; n]);
        let (mut m, mut v) = (vec![0.0f32; n], vec![0.0f32; n]);
        let g: Vec<f32> = (0..n).map(|i| if i % 2 == 0 { 0.5 } else { -2.0 }).collect();
        adam_ema(&mut p, &mut e, &mut m, &mut v, &g, AdamStep::new(0.01, 1, Some(0.75)).scaled(2.0));
        for i in 0..n {
            let want = if i % 2 == 0 { 0.99 } else { 1.01 };
            assert!((p[i] - want).abs() < 1e-6, "{i}: {}", p[i]);
            assert!((e[i] - 0.25 * p[i]).abs() < 1e-7);
            assert!((m[i] - 0.1 * 2.0 * g[i]).abs() < 1e-6);
        }
    }
}
