//! The UNet ε-network: two or three resolutions, GroupNorm + SiLU residual blocks, a
//! sinusoidal time embedding, weights drawn from the seed.
//!
//! Layout (base width `b`, time width `4b`, image `C × H × W` with `H`, `W` even):
//! ```text
//! t ─ sinusoid(b) ─ Linear(b,4b) ─ SiLU ─ Linear(4b,4b) = temb
//! x ─ conv3×3(C→b) ─ Res(b→b) ─────────────────────────────┐ h1   (H × W)
//!                       └ conv3×3 stride 2 (b→b)            │      (H/2 × W/2)
//!                          ─ Res(b→2b) ──────────────────┐  │ h2
//!                          ─ Res(2b→2b)   (middle)       │  │
//!                          ─ Res(cat h2: 4b→2b) ─────────┘  │
//!                          ─ nearest ×2 upsample            │      (H × W)
//!                       ─ Res(cat h1: 3b→b) ────────────────┘
//!                       ─ GroupNorm ─ SiLU ─ conv3×3(b→C) = ε̂
//! Res(a→o): h = conv3×3(SiLU(GN(x))); h += Linear(4b,o)(SiLU(temb)); h = conv3×3(SiLU(GN(h)));
//!           out = h + (a = o ? x : conv1×1(x))
//! ```
//! That is the default two-level network (`mult = [1, 2, 0]`). With `mult = [m0, m1, m2]` each
//! level `l` has `b·m_l` channels; a third level (`H/4 × W/4`, 7×7 for MNIST) repeats the
//! pattern: stride-2 conv, `Res(b·m1 → b·m2)`, the middle block there, and on the way up
//! `Res(cat skip)` then ×2 upsampling per level.
//!
//! This is the paper's PixelCNN++-style UNet (docs/SCIENCE.md §2) cut down for a browser: one
//! residual block per level instead of two, two resolutions instead of three, no attention,
//! base 16 channels instead of 128. `tests/reference/unet_torch.py` builds the same network
//! in PyTorch for the benchmark.

use super::{NoiseSource, UNetConfig};
use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, GroupNormConfig, Linear, PaddingConfig2d};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor, TensorData};

/// Uniform `U(−k, k)` values, `k = 1/√fan_in` (PyTorch's default for `nn.Linear` and `nn.Conv2d`).
fn draw(n: usize, fan_in: usize, noise: &mut impl NoiseSource) -> Vec<f32> {
    let k = 1.0 / (fan_in as f64).sqrt();
    (0..n).map(|_| ((2.0 * noise.uniform() - 1.0) * k) as f32).collect()
}

fn seeded_linear(d_in: usize, d_out: usize, device: &Device, noise: &mut impl NoiseSource) -> Linear {
    let w = draw(d_in * d_out, d_in, noise);
    let b = draw(d_out, d_in, noise);
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [d_in, d_out]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(b, [d_out]), device))),
    }
}

/// A `kernel × kernel` convolution with "same"-style padding `kernel / 2`.
fn seeded_conv(c_in: usize, c_out: usize, kernel: usize, stride: usize, device: &Device, noise: &mut impl NoiseSource) -> Conv2d {
    let fan_in = c_in * kernel * kernel;
    let w = draw(c_out * fan_in, fan_in, noise);
    let b = draw(c_out, fan_in, noise);
    let p = kernel / 2;
    Conv2d {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [c_out, c_in, kernel, kernel]), device)),
        bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(b, [c_out]), device))),
        stride: [stride, stride],
        kernel_size: [kernel, kernel],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Explicit(p, p, p, p),
    }
}

fn group_norm(groups: usize, channels: usize, device: &Device) -> GroupNorm {
    GroupNormConfig::new(groups, channels).init(device)
}

/// Residual block with a time-embedding shift (DDPM's `ResnetBlock`, no dropout).
#[derive(Module, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    time: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

impl ResBlock {
    fn new(c_in: usize, c_out: usize, temb: usize, groups: usize, device: &Device, noise: &mut impl NoiseSource) -> ResBlock {
        let norm1 = group_norm(groups, c_in, device);
        let conv1 = seeded_conv(c_in, c_out, 3, 1, device, noise);
        let time = seeded_linear(temb, c_out, device, noise);
        let norm2 = group_norm(groups, c_out, device);
        let conv2 = seeded_conv(c_out, c_out, 3, 1, device, noise);
        let skip = (c_in != c_out).then(|| seeded_conv(c_in, c_out, 1, 1, device, noise));
        ResBlock { norm1, conv1, time, norm2, conv2, skip }
    }

    fn forward(&self, x: Tensor<4>, temb: Tensor<2>) -> Tensor<4> {
        let h = self.conv1.forward(silu(self.norm1.forward(x.clone())));
        let [b, c] = [h.dims()[0], h.dims()[1]];
        let h = h + self.time.forward(silu(temb)).reshape([b, c, 1, 1]);
        let h = self.conv2.forward(silu(self.norm2.forward(h)));
        let x = match &self.skip {
            Some(s) => s.forward(x),
            None => x,
        };
        x + h
    }
}

/// One resolution level on the way down: a stride-2 convolution (every level but the first),
/// then a residual block whose output is the level's skip.
#[derive(Module, Debug)]
pub struct DownLevel {
    downsample: Option<Conv2d>,
    res: ResBlock,
}

/// The ε-prediction UNet (see the module docs for the layout and parameter counts in
/// [`UNetConfig`]).
#[derive(Module, Debug)]
pub struct UNet {
    time1: Linear,
    time2: Linear,
    conv_in: Conv2d,
    down: Vec<DownLevel>,
    mid: ResBlock,
    /// Deepest level first.
    up: Vec<ResBlock>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
    /// Width of the sinusoidal embedding (= base channels).
    emb_dim: usize,
}

impl UNetConfig {
    /// Builds the network; every initial weight comes from `noise`, layer by layer in the
    /// order of the forward pass (GroupNorm scales start at 1, shifts at 0).
    pub fn init(&self, device: &Device, noise: &mut impl NoiseSource) -> UNet {
        self.validate().expect("valid UNet config");
        let (c, b, g) = (self.channels, self.base_channels, self.groups);
        let ch = self.level_channels();
        let levels = ch.len();
        let t = 4 * b;
        let time1 = seeded_linear(b, t, device, noise);
        let time2 = seeded_linear(t, t, device, noise);
        let conv_in = seeded_conv(c, ch[0], 3, 1, device, noise);
        let down = (0..levels)
            .map(|l| {
                let cin = if l == 0 { ch[0] } else { ch[l - 1] };
                let downsample = (l > 0).then(|| seeded_conv(cin, cin, 3, 2, device, noise));
                DownLevel { downsample, res: ResBlock::new(cin, ch[l], t, g, device, noise) }
            })
            .collect();
        let mid = ResBlock::new(ch[levels - 1], ch[levels - 1], t, g, device, noise);
        let up = (0..levels).rev().map(|l| ResBlock::new(self.up_input(l) + ch[l], ch[l], t, g, device, noise)).collect();
        let norm_out = group_norm(g, ch[0], device);
        let conv_out = seeded_conv(ch[0], c, 3, 1, device, noise);
        UNet { time1, time2, conv_in, down, mid, up, norm_out, conv_out, emb_dim: b }
    }
}

/// DDPM's sinusoidal embedding of integer steps: `[sin(t f_i), cos(t f_i)]`,
/// `f_i = exp(−ln(10⁴) i/(half − 1))`, `i < half = dim/2`. Row-major `[steps.len(), dim]`.
pub fn timestep_embedding(steps: &[usize], dim: usize) -> Vec<f32> {
    let half = dim / 2;
    let scale = (10_000f64).ln() / (half.max(2) - 1) as f64;
    let mut out = Vec::with_capacity(steps.len() * dim);
    for &t in steps {
        let row_start = out.len();
        for i in 0..half {
            out.push((t as f64 * (-scale * i as f64).exp()).sin() as f32);
        }
        for i in 0..half {
            out.push((t as f64 * (-scale * i as f64).exp()).cos() as f32);
        }
        out.resize(row_start + dim, 0.0);
    }
    out
}

/// Nearest-neighbour ×2 upsampling by broadcasting (works the same on every backend and
/// under autodiff).
fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h, 1, w, 1]).expand([b, c, h, 2, w, 2]).reshape([b, c, 2 * h, 2 * w])
}

impl UNet {
    /// `ε̂(x_t, t)` for `x: [B, C, H, W]` and one integer step per image (`steps.len() = B`).
    pub fn forward(&self, x: Tensor<4>, steps: &[usize]) -> Tensor<4> {
        let device = x.device();
        let emb = timestep_embedding(steps, self.emb_dim);
        let emb = Tensor::<2>::from_data(TensorData::new(emb, [steps.len(), self.emb_dim]), &device);
        self.forward_embedded(x, emb)
    }

    /// [`forward`](Self::forward) with the sinusoidal embedding `[B, base]` already on the device.
    pub fn forward_embedded(&self, x: Tensor<4>, emb: Tensor<2>) -> Tensor<4> {
        let temb = self.time2.forward(silu(self.time1.forward(emb)));
        let mut h = self.conv_in.forward(x);
        let mut skips = Vec::with_capacity(self.down.len());
        for level in &self.down {
            if let Some(ds) = &level.downsample {
                h = ds.forward(h);
            }
            h = level.res.forward(h, temb.clone());
            skips.push(h.clone());
        }
        h = self.mid.forward(h, temb.clone());
        for (up, l) in self.up.iter().zip((0..skips.len()).rev()) {
            h = up.forward(Tensor::cat(vec![h, skips[l].clone()], 1), temb.clone());
            if l > 0 {
                h = upsample2(h);
            }
        }
        self.conv_out.forward(silu(self.norm_out.forward(h)))
    }

    /// Width of the sinusoidal time embedding.
    pub fn emb_dim(&self) -> usize {
        self.emb_dim
    }
}
