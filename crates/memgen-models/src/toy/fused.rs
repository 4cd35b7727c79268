//! A fused CPU trainer of the toy's score network: the same network, loss, Adam, EMA and
//! seeded batches as [`ToyTraining`](super::ToyTraining) on burn, with the forward and backward
//! passes written out by hand over flat `f32` buffers. Natively every matrix product is done by
//! the `gemm` crate (the kernel burn's flex backend itself calls) and a batch is split over the
//! cores (rayon); in WebAssembly by `matrixmultiply` (the kernel of burn's ndarray backend,
//! already in the page), on the page's one thread.
//!
//! Why: a toy step is ~20 small matrix products (batch 512 × width 128) plus ~40 element-wise
//! ops; burn's autodiff graph and per-op allocations cost about as much as the arithmetic
//! there (`scripts/bench-toy.sh`). This path does the arithmetic once, in place, in
//! pre-allocated buffers. It is checked against the burn implementation (same initial weights
//! from the same seed, losses and weights after several Adam steps) in this module's tests.
//!
//! The network is [`ToyScoreNet`](super::ToyScoreNet)'s: Fourier features `[sin, cos](2π t W)`
//! → time1 → SiLU → time2 → SiLU, concatenated with `x` → input (no activation) → 3 × (hidden
//! + SiLU) → output, divided by `√t`; loss `mean_b ‖ s √t + z ‖²`.

use super::{draw_fourier, draw_linear, NoiseSource, ToyBatch, ToyNetConfig, ToyScoreNet, SIGMA};
use burn::tensor::Device;

/// One dense layer, `y = x W + b` with `W: [d_in, d_out]` row-major (burn's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// Weights, `[d_in, d_out]` row-major.
    pub w: Vec<f32>,
    /// Bias, `[d_out]`.
    pub b: Vec<f32>,
}

/// The toy network's weights as flat buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedToyNet {
    /// Frozen Fourier frequencies, `[F/2]`.
    pub fourier_w: Vec<f32>,
    /// time1, time2, input, hidden × 3, output (forward order).
    pub layers: Vec<Dense>,
}

impl FusedToyNet {
    /// Draws the initial weights exactly as [`ToyNetConfig::init`] does (same order, same
    /// values), so a fused run and a burn run of one seed start from the same network and go on
    /// drawing the same batches.
    pub fn init(config: &ToyNetConfig, noise: &mut impl NoiseSource) -> FusedToyNet {
        let half = config.fourier_features / 2;
        let fourier_w = draw_fourier(half, config.fourier_scale, noise);
        let h = config.hidden;
        let mut dense = |d_in: usize, d_out: usize| {
            let (w, b) = draw_linear(d_in, d_out, noise);
            Dense { d_in, d_out, w, b }
        };
        let mut layers = vec![dense(2 * half, h), dense(h, h), dense(h + 2, h)];
        for _ in 0..3 {
            layers.push(dense(h, h));
        }
        layers.push(dense(h, 2));
        FusedToyNet { fourier_w, layers }
    }

    /// The same weights as a burn [`ToyScoreNet`] on `device` (to sample, draw and integrate
    /// the energy with the burn code).
    pub fn to_burn(&self, device: &Device) -> ToyScoreNet {
        use burn::module::Param;
        use burn::nn::Linear;
        use burn::tensor::{Tensor, TensorData};
        let lin = |d: &Dense| Linear {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(d.w.clone(), [d.d_in, d.d_out]), device)),
            bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(d.b.clone(), [d.d_out]), device))),
        };
        let fw = TensorData::new(self.fourier_w.clone(), [1, self.fourier_w.len()]);
        ToyScoreNet {
            fourier_w: Param::from_tensor(Tensor::from_data(fw, device)).set_require_grad(false),
            time1: lin(&self.layers[0]),
            time2: lin(&self.layers[1]),
            input: lin(&self.layers[2]),
            hidden: self.layers[3..6].iter().map(lin).collect(),
            output: lin(&self.layers[6]),
        }
    }

    /// The weights of a burn [`ToyScoreNet`] (on any device, read back asynchronously, so a
    /// WebGPU run in a browser can be kept), in this layout; `config` gives the shapes.
    pub async fn from_burn(model: &ToyScoreNet, config: &ToyNetConfig) -> Result<FusedToyNet, String> {
        let mut net = FusedToyNet::init(config, &mut memgen_core::spec::NoiseStream::new(0, 0));
        let read = |t: burn::tensor::Tensor<2>| async move {
            let d = t.into_data_async().await.map_err(|e| format!("{e:?}"))?;
            d.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
        };
        let read1 = |t: burn::tensor::Tensor<1>| async move {
            let d = t.into_data_async().await.map_err(|e| format!("{e:?}"))?;
            d.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
        };
        net.fourier_w = read(model.fourier_w.val()).await?;
        for (d, l) in net.layers.iter_mut().zip(model.linears()) {
            let (w, b) = (read(l.weight.val()).await?, read1(l.bias.as_ref().ok_or("a layer without bias")?.val()).await?);
            if w.len() != d.w.len() || b.len() != d.b.len() {
                return Err(format!("a {}×{} layer has {} weights and {} biases", d.d_in, d.d_out, w.len(), b.len()));
            }
            (d.w, d.b) = (w, b);
        }
        Ok(net)
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.layers.iter_mut().flat_map(|d| [&mut d.w, &mut d.b])
    }
}

/// `c (+)= a · b` for row-major-or-strided `a: [m, k]`, `b: [k, n]`, `c: [m, n]` row-major.
/// Strides are `(row, column)` in elements.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul(m: usize, n: usize, k: usize, a: &[f32], a_rs: usize, a_cs: usize, b: &[f32], b_rs: usize, b_cs: usize, c: &mut [f32], accumulate: bool) {
    assert!(m == 0 || k == 0 || (m - 1) * a_rs + (k - 1) * a_cs < a.len());
    assert!(k == 0 || n == 0 || (k - 1) * b_rs + (n - 1) * b_cs < b.len());
    assert!(c.len() >= m * n);
    // SAFETY (both kernels): the asserts above bound every index the strides can reach; the
    // three buffers are distinct borrows (one of them mutable), so they do not alias.
    #[cfg(not(target_arch = "wasm32"))]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
    #[cfg(target_arch = "wasm32")]
    unsafe {
        let beta = if accumulate { 1.0 } else { 0.0 };
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a_rs as isize,
            a_cs as isize,
            b.as_ptr(),
            b_rs as isize,
            b_cs as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

fn sigmoid(a: f32) -> f32 {
    1.0 / (1.0 + (-a).exp())
}

/// Adam state of one parameter buffer.
#[derive(Debug, Clone)]
struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
}

/// One shard's rows of a batch.
#[derive(Clone, Copy)]
struct Rows<'a> {
    x0: &'a [f32],
    z: &'a [f32],
    t: &'a [f32],
}

/// Work buffers of one shard (a contiguous block of a batch's rows) and its gradients.
#[derive(Debug)]
struct Work {
    rows: usize,
    /// Inputs of every layer, `[rows, d_in]` (layer 0's is the Fourier features, layer 2's is
    /// `[e2, x_t]`).
    inp: Vec<Vec<f32>>,
    /// Pre-activations of every layer, `[rows, d_out]`.
    pre: Vec<Vec<f32>>,
    /// `σ(pre)` of the SiLU layers (kept for backward).
    sig: Vec<Vec<f32>>,
    /// Residuals `r = s √t σ + z`, `[rows, 2]`.
    res: Vec<f32>,
    g: Vec<f32>,
    g_in: Vec<f32>,
    /// This shard's gradients (summed into shard 0's before Adam).
    grads: Vec<Dense>,
}

/// Layers followed by SiLU: all but `input` (2) and `output` (last).
fn has_silu(l: usize, n_layers: usize) -> bool {
    l != 2 && l + 1 != n_layers
}

impl Work {
    fn new(net: &FusedToyNet) -> Work {
        let grads = net.layers.iter().map(|d| Dense { w: vec![0.0; d.w.len()], b: vec![0.0; d.b.len()], ..*d }).collect();
        Work { rows: 0, inp: Vec::new(), pre: Vec::new(), sig: Vec::new(), res: Vec::new(), g: Vec::new(), g_in: Vec::new(), grads }
    }

    fn size(&mut self, net: &FusedToyNet, rows: usize) {
        if self.rows == rows && !self.pre.is_empty() {
            return;
        }
        self.rows = rows;
        self.inp = net.layers.iter().map(|d| vec![0.0; rows * d.d_in]).collect();
        self.pre = net.layers.iter().map(|d| vec![0.0; rows * d.d_out]).collect();
        self.sig = net.layers.iter().map(|d| vec![0.0; rows * d.d_out]).collect();
        self.res = vec![0.0; rows * 2];
        let widest = net.layers.iter().map(|d| d.d_in.max(d.d_out)).max().unwrap_or(0);
        self.g = vec![0.0; rows * widest];
        self.g_in = vec![0.0; rows * widest];
    }

    /// Forward pass on `rows`, keeping what backward needs; returns the shard's sum of
    /// `‖r‖²`.
    fn forward(&mut self, net: &FusedToyNet, x: Rows<'_>) -> f64 {
        let b = x.t.len();
        self.size(net, b);
        let sigma = SIGMA as f32;
        // Fourier features [sin, cos](2π t W), as burn computes them (t·W first, then × 2π).
        let half = net.fourier_w.len();
        for (i, &t) in x.t.iter().enumerate() {
            let row = &mut self.inp[0][i * 2 * half..(i + 1) * 2 * half];
            for (j, &fw) in net.fourier_w.iter().enumerate() {
                let p = (t * fw) * (2.0 * std::f64::consts::PI) as f32;
                row[j] = p.sin();
                row[half + j] = p.cos();
            }
        }
        let n_layers = net.layers.len();
        for l in 0..n_layers {
            let d = &net.layers[l];
            let pre = &mut self.pre[l];
            for row in pre.chunks_exact_mut(d.d_out) {
                row.copy_from_slice(&d.b);
            }
            matmul(b, d.d_out, d.d_in, &self.inp[l], d.d_in, 1, &d.w, d.d_out, 1, pre, true);
            if l + 1 == n_layers {
                break;
            }
            // The next layer's input: SiLU of this one (none after `input`); after time2
            // (layer 1) the input layer takes [e2, x_t].
            let next_in = d.d_out + if l == 1 { 2 } else { 0 };
            let silu = has_silu(l, n_layers);
            for i in 0..b {
                let src = &self.pre[l][i * d.d_out..(i + 1) * d.d_out];
                let next = &mut self.inp[l + 1][i * next_in..(i + 1) * next_in];
                if silu {
                    let sig = &mut self.sig[l][i * d.d_out..(i + 1) * d.d_out];
                    for ((o, sg), &a) in next.iter_mut().zip(sig.iter_mut()).zip(src) {
                        *sg = sigmoid(a);
                        *o = a * *sg;
                    }
                } else {
                    next[..d.d_out].copy_from_slice(src);
                }
                if l == 1 {
                    let std = x.t[i].sqrt() * sigma;
                    next[d.d_out] = x.x0[2 * i] + x.z[2 * i] * std;
                    next[d.d_out + 1] = x.x0[2 * i + 1] + x.z[2 * i + 1] * std;
                }
            }
        }
        // s = out/√t; r = s·√t·σ + z; loss = mean_b Σ r².
        let out = &self.pre[n_layers - 1];
        let mut sum = 0.0f64;
        for i in 0..b {
            let st = x.t[i].sqrt();
            for c in 0..2 {
                let r = out[2 * i + c] / st * (st * sigma) + x.z[2 * i + c];
                self.res[2 * i + c] = r;
                sum += (r * r) as f64;
            }
        }
        sum
    }

    /// Backward pass after [`forward`](Self::forward) into this shard's gradients; `total` is
    /// the whole batch's size (the loss is a mean over all of it).
    fn backward(&mut self, net: &FusedToyNet, x: Rows<'_>, total: usize) {
        let b = x.t.len();
        let n_layers = net.layers.len();
        // d loss / d out = 2 r / B · (σ√t/√t).
        for i in 0..b {
            let st = x.t[i].sqrt();
            let f = 2.0 / total as f32 * ((st * SIGMA as f32) / st);
            self.g[2 * i] = self.res[2 * i] * f;
            self.g[2 * i + 1] = self.res[2 * i + 1] * f;
        }
        for l in (0..n_layers).rev() {
            let d = &net.layers[l];
            let g = &mut self.grads[l];
            // self.g holds d loss / d pre[l], [b, d_out].
            matmul(d.d_in, d.d_out, b, &self.inp[l], 1, d.d_in, &self.g, d.d_out, 1, &mut g.w, false);
            g.b.iter_mut().for_each(|v| *v = 0.0);
            for row in self.g[..b * d.d_out].chunks_exact(d.d_out) {
                for (gb, &v) in g.b.iter_mut().zip(row) {
                    *gb += v;
                }
            }
            if l == 0 {
                break;
            }
            // d loss / d inp[l] = g Wᵀ, [b, d_in].
            matmul(b, d.d_in, d.d_out, &self.g, d.d_out, 1, &d.w, 1, d.d_out, &mut self.g_in, false);
            // Through the previous layer's activation into d loss / d pre[l − 1].
            let pw = net.layers[l - 1].d_out;
            let silu = has_silu(l - 1, n_layers);
            for i in 0..b {
                let src = &self.g_in[i * d.d_in..i * d.d_in + pw];
                let dst = &mut self.g[i * pw..(i + 1) * pw];
                if silu {
                    let pre = &self.pre[l - 1][i * pw..(i + 1) * pw];
                    let sig = &self.sig[l - 1][i * pw..(i + 1) * pw];
                    for (((o, &gv), &a), &s) in dst.iter_mut().zip(src).zip(pre).zip(sig) {
                        *o = gv * (s * (1.0 + a * (1.0 - s)));
                    }
                } else {
                    dst.copy_from_slice(src);
                }
            }
        }
    }
}

/// A fused training state: weights, Adam moments, EMA, step count, per-shard work buffers.
#[derive(Debug)]
pub struct FusedTrainer {
    /// Current weights.
    pub net: FusedToyNet,
    /// EMA of the weights.
    pub ema: FusedToyNet,
    moments: Vec<(Moments, Moments)>,
    /// Adam learning rate.
    pub lr: f64,
    adam_steps: i32,
    /// Optional per-parameter gradient-norm clipping (burn's `GradientClipping::Norm`).
    pub grad_clip: Option<f32>,
    shards: Vec<Work>,
}

/// Shards of a batch when none are asked for (the CLI and the page both use it).
pub const DEFAULT_TOY_SHARDS: usize = 4;

impl FusedTrainer {
    /// A fresh trainer. A step splits its batch into `shards` blocks of rows (0:
    /// [`DEFAULT_TOY_SHARDS`]) that run in parallel natively and one after the other in wasm
    /// (data parallel, gradients summed in order): results depend on `shards`, not on the
    /// number of cores, so the tab and `memgen toy` run the same steps.
    pub fn new(config: &ToyNetConfig, lr: f64, grad_clip: Option<f32>, shards: usize, noise: &mut impl NoiseSource) -> FusedTrainer {
        let net = FusedToyNet::init(config, noise);
        let zeros = |n: usize| Moments { m: vec![0.0; n], v: vec![0.0; n] };
        let moments = net.layers.iter().map(|d| (zeros(d.w.len()), zeros(d.b.len()))).collect();
        let shards = if shards == 0 { DEFAULT_TOY_SHARDS } else { shards };
        let shards = (0..shards).map(|_| Work::new(&net)).collect();
        FusedTrainer { ema: net.clone(), net, moments, lr, adam_steps: 0, grad_clip, shards }
    }

    /// Forward and backward over the shards (in parallel), each into its own gradients;
    /// returns the loss and the number of shards used.
    fn forward_backward(&mut self, batch: &ToyBatch) -> (f32, usize) {
        let total = batch.t.len();
        // Shards of `per` rows; the last may be shorter, none is empty.
        let per = total.div_ceil(self.shards.len()).max(1);
        let n = total.div_ceil(per).max(1);
        let net = &self.net;
        let rows = |i: usize| {
            let (a, b) = ((i * per).min(total), ((i + 1) * per).min(total));
            Rows { x0: &batch.x0[2 * a..2 * b], z: &batch.z[2 * a..2 * b], t: &batch.t[a..b] }
        };
        let run = |w: &mut Work, x: Rows<'_>| {
            let sum = w.forward(net, x);
            w.backward(net, x, total);
            sum
        };
        let sums: Vec<f64> = {
            use memgen_core::par::*;
            self.shards[..n].par_iter_mut().enumerate().map(|(i, w)| run(w, rows(i))).collect()
        };
        let sum: f64 = sums.into_iter().sum();
        ((sum / total as f64) as f32, n)
    }

    /// Adam (burn's / PyTorch's, β = (0.9, 0.999), ε = 1e-8) on every parameter, with the
    /// optional per-parameter norm clipping first, then the EMA (`decay`, or none). One pass
    /// over each parameter, in parallel blocks; the shards' gradients are summed on the way.
    fn update(&mut self, n_shards: usize, decay: Option<f64>) {
        self.adam_steps += 1;
        let k = crate::optim::AdamStep::new(self.lr, self.adam_steps, decay);
        let (first, rest) = self.shards[..n_shards].split_at_mut(1);
        let others: Vec<&Work> = rest.iter().collect();
        let layers = self.net.layers.iter_mut().zip(self.ema.layers.iter_mut()).zip(self.moments.iter_mut()).zip(first[0].grads.iter_mut());
        for (l, (((p, e), (mw, mb)), g)) in layers.enumerate() {
            let ow: Vec<&[f32]> = others.iter().map(|w| w.grads[l].w.as_slice()).collect();
            let ob: Vec<&[f32]> = others.iter().map(|w| w.grads[l].b.as_slice()).collect();
            for (p, e, mo, g, o) in [(&mut p.w, &mut e.w, mw, &mut g.w, ow), (&mut p.b, &mut e.b, mb, &mut g.b, ob)] {
                // The shards' gradients summed in order, then burn's clip_by_norm if asked:
                // g · min(1, c / (‖g‖ + f32::MIN_POSITIVE)).
                sum_into(g, &o);
                let scale = match self.grad_clip {
                    Some(c) => (c / (g.iter().map(|v| v * v).sum::<f32>().sqrt() + f32::MIN_POSITIVE)).min(1.0),
                    None => 1.0,
                };
                crate::optim::adam_ema(p, e, &mut mo.m, &mut mo.v, g, k.scaled(scale));
            }
        }
    }

    /// Every buffer of the training state, named, in a fixed order: the weights (`net.<l>.w`,
    /// `net.<l>.b`), the EMA (`ema.…`) and Adam's two moments (`adam_m.…`, `adam_v.…`).
    pub fn state_buffers(&self) -> Vec<(String, &[f32])> {
        let mut out: Vec<(String, &[f32])> = Vec::new();
        for (name, net) in [("net", &self.net), ("ema", &self.ema)] {
            for (l, d) in net.layers.iter().enumerate() {
                out.push((format!("{name}.{l}.w"), &d.w));
                out.push((format!("{name}.{l}.b"), &d.b));
            }
        }
        for (l, (mw, mb)) in self.moments.iter().enumerate() {
            out.extend([(format!("adam_m.{l}.w"), &mw.m[..]), (format!("adam_v.{l}.w"), &mw.v[..])]);
            out.extend([(format!("adam_m.{l}.b"), &mb.m[..]), (format!("adam_v.{l}.b"), &mb.v[..])]);
        }
        out
    }

    /// Restores the buffers [`state_buffers`](Self::state_buffers) names (each of its length)
    /// and Adam's step count; an error names a missing or misshapen buffer.
    pub fn restore(&mut self, mut get: impl FnMut(&str, usize) -> Result<Vec<f32>, String>, adam_steps: usize) -> Result<(), String> {
        self.restore_weights(&mut get)?;
        for (l, (mw, mb)) in self.moments.iter_mut().enumerate() {
            mw.m = get(&format!("adam_m.{l}.w"), mw.m.len())?;
            mw.v = get(&format!("adam_v.{l}.w"), mw.v.len())?;
            mb.m = get(&format!("adam_m.{l}.b"), mb.m.len())?;
            mb.v = get(&format!("adam_v.{l}.b"), mb.v.len())?;
        }
        self.adam_steps = i32::try_from(adam_steps).map_err(|_| format!("step {adam_steps} is out of range"))?;
        Ok(())
    }

    /// Restores the weights and the EMA only (`net.…`, `ema.…`); Adam's moments and step
    /// count stay as they are (zero in a fresh trainer).
    pub fn restore_weights(&mut self, mut get: impl FnMut(&str, usize) -> Result<Vec<f32>, String>) -> Result<(), String> {
        for (name, net) in [("net", &mut self.net), ("ema", &mut self.ema)] {
            for (l, d) in net.layers.iter_mut().enumerate() {
                d.w = get(&format!("{name}.{l}.w"), d.w.len())?;
                d.b = get(&format!("{name}.{l}.b"), d.b.len())?;
            }
        }
        Ok(())
    }

    /// Blocks per batch.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// One step on `batch` (forward, backward, Adam); returns the loss before the update.
    pub fn step(&mut self, batch: &ToyBatch) -> f32 {
        let (loss, n) = self.forward_backward(batch);
        self.update(n, None);
        loss
    }

    /// [`step`](Self::step), then the EMA with `decay`, in the same pass over the weights.
    pub fn step_with_ema(&mut self, batch: &ToyBatch, decay: f64) -> f32 {
        let (loss, n) = self.forward_backward(batch);
        self.update(n, Some(decay));
        loss
    }

    /// `ema ← decay·ema + (1 − decay)·net`.
    pub fn ema_update(&mut self, decay: f64) {
        let (d, e) = (decay as f32, (1.0 - decay) as f32);
        let src = self.net.layers.iter().flat_map(|l| [&l.w, &l.b]);
        for (dst, src) in self.ema.params_mut().zip(src) {
            for (a, &b) in dst.iter_mut().zip(src) {
                *a = *a * d + b * e;
            }
        }
    }
}

/// `g += Σ others`.
fn sum_into(g: &mut [f32], others: &[&[f32]]) {
    for o in others {
        g.iter_mut().zip(o.iter()).for_each(|(a, b)| *a += b);
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::super::{adam_like_torch, ToyTrainer};
    use super::*;
    use burn::module::Module;
    use memgen_core::spec::NoiseStream;

    fn flat(net: &ToyScoreNet) -> Vec<f32> {
        let mut v = Vec::new();
        let mut lin = |l: &burn::nn::Linear| {
            v.extend(l.weight.val().into_data().try_to_vec::<f32>().unwrap());
            v.extend(l.bias.as_ref().unwrap().val().into_data().try_to_vec::<f32>().unwrap());
        };
        lin(&net.time1);
        lin(&net.time2);
        lin(&net.input);
        net.hidden.iter().for_each(&mut lin);
        lin(&net.output);
        v
    }

    fn fused_flat(net: &FusedToyNet) -> Vec<f32> {
        net.layers.iter().flat_map(|d| d.w.iter().chain(&d.b).copied()).collect()
    }

    /// Same seed ⇒ the same initial network as burn's, bit for bit, and the same stream after.
    #[test]
    fn init_equals_burn_init() {
        let device = crate::device::LabDevice::cpu().device;
        let (mut a, mut b) = (NoiseStream::new(5, 1), NoiseStream::new(5, 1));
        let burn_net = ToyNetConfig::default().init(&device, &mut a);
        let fused = FusedToyNet::init(&ToyNetConfig::default(), &mut b);
        assert_eq!(flat(&burn_net), fused_flat(&fused));
        assert_eq!(burn_net.fourier_w.val().into_data().try_to_vec::<f32>().unwrap(), fused.fourier_w);
        assert_eq!(a.uniform(), b.uniform());
        assert_eq!(flat(&fused.to_burn(&device)), fused_flat(&fused));
    }

    /// Forward, backward and Adam against burn's autodiff and optimizer: 6 steps on fresh
    /// batches, the losses within 1e-5 relative and every weight within 1e-5 absolute.
    #[test]
    fn steps_equal_burn_steps() {
        for (threads, clip) in [(1, None), (2, None), (3, Some(0.5f32))] {
            let device = crate::device::LabDevice::cpu().device.autodiff();
            let (mut na, mut nb) = (NoiseStream::new(11, 2), NoiseStream::new(11, 2));
            let mut adam = adam_like_torch();
            if let Some(c) = clip {
                adam = adam.with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(c)));
            }
            let mut reference = ToyTrainer::with_optimizer(&ToyNetConfig::default(), 3e-3, &adam, &device, &mut na);
            let mut fused = FusedTrainer::new(&ToyNetConfig::default(), 3e-3, clip, threads, &mut nb);
            let pts = [1.0f32, 0.0, -0.6, 0.8, 0.0, -1.0];
            for step in 0..6 {
                let batch = ToyBatch::sample(&pts, 64 + step, &mut na);
                let same = ToyBatch::sample(&pts, 64 + step, &mut nb);
                assert_eq!(batch, same);
                let want = pollster::block_on(reference.step(&batch)).unwrap();
                let got = fused.step(&batch);
                assert!((want - got).abs() <= 1e-5 * want.abs().max(1.0), "step {step} threads {threads} clip {clip:?}: burn {want}, fused {got}");
            }
            let (w, f) = (flat(&reference.model.valid()), fused_flat(&fused.net));
            let worst = w.iter().zip(&f).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "threads {threads} clip {clip:?}: largest weight difference {worst}");
            // And the step really moved the weights (the comparison is not vacuous).
            let mut nc = NoiseStream::new(11, 2);
            let start = fused_flat(&FusedToyNet::init(&ToyNetConfig::default(), &mut nc));
            let moved = start.iter().zip(&f).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(moved > 1e-3, "weights did not move: {moved}");
        }
    }

    /// A whole run (`ToyTraining`: epoch-ordered batches, warm-up EMA) on the fused trainer
    /// follows the burn run of the same seed: 40 steps' losses and the EMA weights agree.
    #[test]
    fn fused_run_follows_burn_run() {
        use super::super::{circle_points, ToyTrainConfig, ToyTraining};
        let device = crate::device::LabDevice::cpu().device;
        let pts = circle_points(9, 4);
        let mut config = ToyTrainConfig::browser();
        config.batch = 96;
        config.steps = 40;
        let mut burn_run = ToyTraining::new(config, &pts, 4, &device);
        let mut fused_run = ToyTraining::new_fused(config, &pts, 4, 2, &device);
        let a = pollster::block_on(burn_run.run_steps(40)).unwrap();
        let b = pollster::block_on(fused_run.run_steps(40)).unwrap();
        assert_eq!((a.len(), b.len()), (40, 40));
        let rel = a.iter().zip(&b).map(|(x, y)| (x - y).abs() / x.abs().max(1e-3)).fold(0.0f32, f32::max);
        assert!(rel < 1e-3, "largest relative loss difference {rel}: {a:?} vs {b:?}");
        assert!(a[30..].iter().sum::<f32>() < a[..10].iter().sum::<f32>(), "the loss did not go down: {a:?}");
        let (ea, eb) = (flat(&burn_run.ema_model()), flat(&fused_run.ema_model()));
        let worst = ea.iter().zip(&eb).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "largest EMA weight difference {worst}");
        assert!(fused_run.finished());
    }

    /// The one-pass Adam + EMA equals Adam, then the EMA.
    #[test]
    fn step_with_ema_equals_step_then_ema() {
        let pts = [1.0f32, 0.0, -1.0, 0.0];
        let (mut na, mut nb) = (NoiseStream::new(3, 2), NoiseStream::new(3, 2));
        let mut a = FusedTrainer::new(&ToyNetConfig::default(), 1e-3, None, 2, &mut na);
        let mut b = FusedTrainer::new(&ToyNetConfig::default(), 1e-3, None, 2, &mut nb);
        for _ in 0..3 {
            let batch = ToyBatch::sample(&pts, 33, &mut na);
            let _ = ToyBatch::sample(&pts, 33, &mut nb);
            let la = a.step_with_ema(&batch, 0.9);
            let lb = b.step(&batch);
            b.ema_update(0.9);
            assert_eq!(la, lb);
        }
        assert_eq!(fused_flat(&a.net), fused_flat(&b.net));
        assert_eq!(fused_flat(&a.ema), fused_flat(&b.ema));
        assert_ne!(fused_flat(&a.ema), fused_flat(&a.net));
    }

    #[test]
    fn ema_update_mixes() {
        let mut n = NoiseStream::new(1, 1);
        let mut t = FusedTrainer::new(&ToyNetConfig::default(), 1e-3, None, 1, &mut n);
        let before = t.ema.layers[0].w[0];
        t.net.layers[0].w[0] = before + 1.0;
        t.ema_update(0.75);
        assert!((t.ema.layers[0].w[0] - (before + 0.25)).abs() < 1e-6);
    }
}
