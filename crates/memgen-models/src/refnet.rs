//! The reference classifier of sample quality (docs/SCIENCE.md §7): a small CNN trained by the
//! lab on a dataset's training split, whose penultimate features are the space in which
//! [`memgen_core::quality`] measures improved precision, recall and the Fréchet distance of
//! generated images against the dataset's test split.
//!
//! The network (channels-last, one image at a time per thread, like the fused UNet trainer and
//! with its im2col convolutions):
//!
//! ```text
//! x [H, W, C] → conv3×3 (C→w₀) ReLU → conv3×3 stride 2 (w₀→w₁) ReLU → conv3×3 stride 2 (w₁→w₂) ReLU
//!   → flatten → linear (→ F) ReLU = the features → linear (→ classes) = logits
//! ```
//!
//! Trained with softmax cross-entropy, Adam and a cosine learning rate over whole epochs of the
//! training split in a reshuffled order drawn from the seed. A batch is split into a fixed
//! number of shards whose gradients are summed in order, so the weights are the same bits on
//! any number of cores (as for the fused UNet): a cached classifier is reproducible from its
//! config, and its file's SHA-256 checks it.
//!
//! [`QualityReference`] holds a trained classifier with the feature manifold and Gaussian of
//! the test split's first images (the reference), and the rest of the test split as real
//! images that never enter the reference (the baseline: what real digits score).

use crate::epoch::EpochOrder;
use crate::unet::fused::{col2im, conv_backward, conv_forward, im2col, out_size, Conv};
use memgen_core::matrix::Matrix;
use memgen_core::par::*;
use memgen_core::quality::{frechet_of, Gaussian, Manifold, SampleQuality, DEFAULT_K};
use memgen_core::spec::NoiseStream;
use serde::{Deserialize, Serialize};

/// Format tag in a classifier file's metadata.
pub const REFNET_FORMAT: &str = "memgen-refnet/1";
/// The seeded stream of the classifier's initial weights and batch order.
pub const STREAM_REFNET: u64 = 7;

/// The classifier's shape and training schedule (saved with the weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefNetConfig {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Image channels.
    pub channels: usize,
    /// Number of classes.
    pub classes: usize,
    /// Channels of the three convolutions.
    pub widths: [usize; 3],
    /// Width of the penultimate layer: the feature space of the quality measures.
    pub features: usize,
    /// Whole passes over the training split.
    pub epochs: usize,
    /// Images per step.
    pub batch: usize,
    /// Peak learning rate (cosine decay to zero over the run).
    pub lr: f64,
    /// Shards of a batch (the result depends on it, not on the cores).
    pub shards: usize,
    /// Seed of the initial weights and the batch order.
    pub seed: u64,
}

impl RefNetConfig {
    /// The lab's classifier of 28×28 grey images with 10 classes (MNIST, Fashion-MNIST).
    pub fn mnist() -> RefNetConfig {
        RefNetConfig {
            height: 28,
            width: 28,
            channels: 1,
            classes: 10,
            widths: [16, 32, 64],
            features: 128,
            epochs: 3,
            batch: 64,
            lr: 2e-3,
            shards: 4,
            seed: 0,
        }
    }

    /// Values per image.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    fn check(&self) -> Result<(), String> {
        if self.height < 4 || self.width < 4 || self.channels == 0 || self.classes < 2 || self.features == 0 || self.widths.contains(&0) {
            return Err(format!("classifier: degenerate shape {self:?}"));
        }
        if self.batch == 0 || self.shards == 0 || !(self.lr.is_finite() && self.lr > 0.0) {
            return Err("classifier: batch, shards and lr must be positive".into());
        }
        Ok(())
    }
}

/// A linear layer: weight `[i, o]` row-major at `w`, bias `[o]` at `b`.
#[derive(Debug, Clone, Copy)]
struct Lin {
    w: usize,
    b: usize,
    i: usize,
    o: usize,
}

/// Where each parameter lives in the flat buffer, and the spatial sizes of the three levels.
#[derive(Debug, Clone)]
struct Layout {
    convs: [Conv; 3],
    /// `(h, w)` of the input and of each convolution's output.
    sizes: [(usize, usize); 4],
    fc1: Lin,
    fc2: Lin,
    total: usize,
}

impl Layout {
    fn new(c: &RefNetConfig) -> Layout {
        let mut at = 0;
        let mut take = |n: usize| {
            at += n;
            at - n
        };
        let mut convs = [Conv { w: 0, b: 0, ci: 0, co: 0, k: 3, stride: 1 }; 3];
        let mut sizes = [(c.height, c.width); 4];
        let mut ci = c.channels;
        for (j, (&co, stride)) in c.widths.iter().zip([1, 2, 2]).enumerate() {
            let w = take(9 * ci * co);
            convs[j] = Conv { w, b: take(co), ci, co, k: 3, stride };
            sizes[j + 1] = (out_size(sizes[j].0, 3, stride), out_size(sizes[j].1, 3, stride));
            ci = co;
        }
        let flat = sizes[3].0 * sizes[3].1 * c.widths[2];
        let fc1 = Lin { w: take(flat * c.features), b: take(c.features), i: flat, o: c.features };
        let fc2 = Lin { w: take(c.features * c.classes), b: take(c.classes), i: c.features, o: c.classes };
        Layout { convs, sizes, fc1, fc2, total: at }
    }

    fn rows(&self, j: usize) -> usize {
        self.sizes[j].0 * self.sizes[j].1
    }

    /// He-uniform weights (`U(±√(6/fan_in))`, for ReLU) and zero biases, from `noise`.
    fn init(&self, noise: &mut NoiseStream) -> Vec<f32> {
        let mut p = vec![0.0f32; self.total];
        let mut fill = |w: usize, n: usize, fan_in: usize| {
            let k = (6.0 / fan_in as f64).sqrt();
            for v in &mut p[w..w + n] {
                *v = ((2.0 * noise.uniform() - 1.0) * k) as f32;
            }
        };
        for cv in &self.convs {
            fill(cv.w, 9 * cv.ci * cv.co, 9 * cv.ci);
        }
        for l in [self.fc1, self.fc2] {
            fill(l.w, l.i * l.o, l.i);
        }
        p
    }
}

/// One thread's buffers: the forward's activations (kept for backward) and its gradients.
#[derive(Default)]
struct Work {
    x: Vec<f32>,
    cols: [Vec<f32>; 3],
    acts: [Vec<f32>; 3],
    hidden: Vec<f32>,
    logits: Vec<f32>,
    d_acts: [Vec<f32>; 3],
    dcol: Vec<f32>,
    d_hidden: Vec<f32>,
    grads: Vec<f32>,
}

fn relu(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = x.max(0.0));
}

/// `y = b + x · W` for a linear layer (rows of `W` skipped where `x` is zero, as after a ReLU).
fn linear(p: &[f32], l: &Lin, x: &[f32], y: &mut Vec<f32>) {
    y.clear();
    y.extend_from_slice(&p[l.b..l.b + l.o]);
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0.0 {
            for (a, w) in y.iter_mut().zip(&p[l.w + i * l.o..l.w + (i + 1) * l.o]) {
                *a += xi * w;
            }
        }
    }
}

/// Gradients of a linear layer for `dy`, and `dx = W · dy` when `dx` is given.
fn linear_back(p: &[f32], g: &mut [f32], l: &Lin, x: &[f32], dy: &[f32], dx: Option<&mut Vec<f32>>) {
    for (gb, d) in g[l.b..l.b + l.o].iter_mut().zip(dy) {
        *gb += d;
    }
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0.0 {
            for (a, d) in g[l.w + i * l.o..l.w + (i + 1) * l.o].iter_mut().zip(dy) {
                *a += xi * d;
            }
        }
    }
    if let Some(dx) = dx {
        dx.clear();
        dx.extend((0..l.i).map(|i| p[l.w + i * l.o..l.w + (i + 1) * l.o].iter().zip(dy).map(|(w, d)| w * d).sum::<f32>()));
    }
}

impl Work {
    /// After [`forward`](Self::forward): appends the quality features, the penultimate layer
    /// scaled to unit length.
    fn quality_features(&self, out: &mut Vec<f32>) {
        let norm = self.hidden.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>().sqrt().max(1e-12);
        out.extend(self.hidden.iter().map(|x| (*x as f64 / norm) as f32));
    }

    /// Forward of one image `x_chw` (`[C, H, W]`); leaves features in `hidden`, logits in `logits`.
    fn forward(&mut self, l: &Layout, p: &[f32], c: usize, x_chw: &[f32]) {
        let hw = l.rows(0);
        self.x.resize(hw * c, 0.0);
        for ch in 0..c {
            for i in 0..hw {
                self.x[i * c + ch] = x_chw[ch * hw + i];
            }
        }
        for j in 0..3 {
            let cv = &l.convs[j];
            let (h, w) = l.sizes[j];
            let rows = l.rows(j + 1);
            self.cols[j].resize(rows * 9 * cv.ci, 0.0);
            self.acts[j].resize(rows * cv.co, 0.0);
            let input = if j == 0 { &self.x } else { &self.acts[j - 1] };
            im2col(input, h, w, cv, &mut self.cols[j]);
            conv_forward(p, cv, &self.cols[j], rows, &mut self.acts[j]);
            relu(&mut self.acts[j]);
        }
        linear(p, &l.fc1, &self.acts[2], &mut self.hidden);
        relu(&mut self.hidden);
        linear(p, &l.fc2, &self.hidden, &mut self.logits);
    }

    /// Forward and backward of one image with label `y`; gradients (scaled by `scale`) are
    /// added to `grads`. Returns the image's cross-entropy.
    fn image(&mut self, l: &Layout, p: &[f32], c: usize, x_chw: &[f32], y: usize, scale: f32) -> f64 {
        self.forward(l, p, c, x_chw);
        let m = self.logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let z: f64 = self.logits.iter().map(|&v| ((v - m) as f64).exp()).sum();
        let loss = z.ln() - (self.logits[y] - m) as f64;
        let mut dz: Vec<f32> = self.logits.iter().map(|&v| ((((v - m) as f64).exp() / z) as f32) * scale).collect();
        dz[y] -= scale;
        let mut grads = std::mem::take(&mut self.grads);
        linear_back(p, &mut grads, &l.fc2, &self.hidden, &dz, Some(&mut self.d_hidden));
        for (d, h) in self.d_hidden.iter_mut().zip(&self.hidden) {
            if *h <= 0.0 {
                *d = 0.0;
            }
        }
        let mut d3 = std::mem::take(&mut self.d_acts[2]);
        linear_back(p, &mut grads, &l.fc1, &self.acts[2], &self.d_hidden, Some(&mut d3));
        self.d_acts[2] = d3;
        for j in (0..3).rev() {
            let cv = l.convs[j];
            let rows = l.rows(j + 1);
            let mut d = std::mem::take(&mut self.d_acts[j]);
            for (dv, a) in d.iter_mut().zip(&self.acts[j]) {
                if *a <= 0.0 {
                    *dv = 0.0;
                }
            }
            if j == 0 {
                conv_backward(p, &mut grads, &cv, &self.cols[0], &d, rows, None);
            } else {
                self.dcol.resize(rows * 9 * cv.ci, 0.0);
                conv_backward(p, &mut grads, &cv, &self.cols[j], &d, rows, Some(&mut self.dcol));
                let (h, w) = l.sizes[j];
                let prev = &mut self.d_acts[j - 1];
                prev.clear();
                prev.resize(h * w * cv.ci, 0.0);
                col2im(&self.dcol, h, w, &cv, prev);
            }
            self.d_acts[j] = d;
        }
        self.grads = grads;
        loss
    }
}

/// A trained (or training) reference classifier.
#[derive(Debug, Clone)]
pub struct RefNet {
    /// Shape and schedule.
    pub config: RefNetConfig,
    layout: Layout,
    params: Vec<f32>,
}

/// What a classifier file records besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefNetInfo {
    /// [`REFNET_FORMAT`].
    pub format: String,
    /// Shape and schedule.
    pub config: RefNetConfig,
    /// Dataset id (`mnist`, `fashion-mnist`).
    pub dataset: String,
    /// SHA-256 of the packed training split it was trained on.
    pub train_sha256: String,
    /// Accuracy on the whole test split.
    pub test_accuracy: f64,
    /// Trainable parameters.
    pub params: usize,
}

impl RefNet {
    /// Fresh weights from the config's seed.
    pub fn init(config: RefNetConfig) -> Result<RefNet, String> {
        config.check()?;
        let layout = Layout::new(&config);
        let params = layout.init(&mut NoiseStream::new(config.seed, STREAM_REFNET));
        Ok(RefNet { config, layout, params })
    }

    /// Trainable parameters.
    pub fn num_params(&self) -> usize {
        self.layout.total
    }

    /// Trains on `images` (`[n, C·H·W]` in `[−1, 1]`) with `labels`, calling `progress(step,
    /// steps, mean loss of the last steps)` every 50 steps. Starts from the config's seeded
    /// weights.
    pub fn train(config: RefNetConfig, images: &[f32], labels: &[u8], mut progress: impl FnMut(usize, usize, f64)) -> Result<RefNet, String> {
        let mut net = RefNet::init(config)?;
        let c = &net.config;
        let d = c.image_len();
        if images.len() != labels.len() * d || labels.is_empty() {
            return Err(format!("classifier: {} values for {} labels of {d} values", images.len(), labels.len()));
        }
        if let Some(bad) = labels.iter().find(|&&y| y as usize >= c.classes) {
            return Err(format!("classifier: label {bad} out of range 0..{}", c.classes));
        }
        let mut noise = NoiseStream::new(c.seed, STREAM_REFNET + 1);
        let mut order = EpochOrder::new(labels.len());
        let steps = (c.epochs * labels.len()).div_ceil(c.batch);
        let n = net.layout.total;
        let (mut m, mut v, mut scratch) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]);
        let mut works: Vec<Work> = (0..c.shards).map(|_| Work { grads: vec![0.0; n], ..Work::default() }).collect();
        let (mut window, mut seen) = (0.0f64, 0usize);
        for step in 0..steps {
            let idx: Vec<usize> = (0..c.batch).map(|_| order.next(&mut noise)).collect();
            let per = c.batch.div_ceil(c.shards);
            let scale = 1.0 / c.batch as f32;
            let (l, p, ch) = (&net.layout, &net.params, c.channels);
            let losses: Vec<f64> = works
                .par_iter_mut()
                .enumerate()
                .map(|(s, w)| {
                    w.grads.fill(0.0);
                    idx.iter().skip(s * per).take(per).map(|&i| w.image(l, p, ch, &images[i * d..(i + 1) * d], labels[i] as usize, scale)).sum::<f64>()
                })
                .collect();
            let (first, rest) = works.split_at_mut(1);
            let g = &mut first[0].grads;
            for o in rest.iter() {
                g.par_chunks_mut(8192).zip(o.grads.par_chunks(8192)).for_each(|(a, b)| a.iter_mut().zip(b).for_each(|(x, y)| *x += y));
            }
            let lr = c.lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / steps as f64).cos());
            crate::optim::adam_ema(&mut net.params, &mut scratch, &mut m, &mut v, g, crate::optim::AdamStep::new(lr, (step + 1) as i32, None));
            window += losses.iter().sum::<f64>() / c.batch as f64;
            seen += 1;
            if (step + 1) % 50 == 0 || step + 1 == steps {
                progress(step + 1, steps, window / seen as f64);
                (window, seen) = (0.0, 0);
            }
        }
        Ok(net)
    }

    /// The quality measures' features and predicted classes of `images` (`[n, C·H·W]` in
    /// `[−1, 1]`): the penultimate layer, each row scaled to unit length (see
    /// [`QualityReference`] for why).
    pub fn features_and_classes(&self, images: &[f32]) -> Result<(Matrix, Vec<u8>), String> {
        let d = self.config.image_len();
        if images.is_empty() || !images.len().is_multiple_of(d) {
            return Err(format!("classifier: {} values is not a whole number of {d}-value images", images.len()));
        }
        if let Some(bad) = images.iter().find(|v| !v.is_finite()) {
            return Err(format!("classifier: image values must be finite (found {bad})"));
        }
        let f = self.feature_len();
        const CHUNK: usize = 64;
        let parts: Vec<(Vec<f32>, Vec<u8>)> = images
            .par_chunks(d * CHUNK)
            .map(|block| {
                let mut w = Work::default();
                let mut feats = Vec::with_capacity(block.len() / d * f);
                let mut classes = Vec::with_capacity(block.len() / d);
                for x in block.chunks(d) {
                    w.forward(&self.layout, &self.params, self.config.channels, x);
                    w.quality_features(&mut feats);
                    let best = w.logits.iter().enumerate().fold((0, f32::NEG_INFINITY), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
                    classes.push(best.0 as u8);
                }
                (feats, classes)
            })
            .collect();
        let (mut feats, mut classes) = (Vec::with_capacity(images.len() / d * f), Vec::new());
        for (a, b) in parts {
            feats.extend(a);
            classes.extend(b);
        }
        let rows = classes.len();
        Ok((Matrix::new(feats, rows, f).map_err(|e| e.to_string())?, classes))
    }

    /// Packed u8 images (`[n, H, W, C]`, as bundles and samplers give them) as the network's
    /// input: `[n, C, H, W]` in `[−1, 1]` ([`crate::unet::to_model`]).
    pub fn packed_input(&self, pixels: &[u8]) -> Vec<f32> {
        crate::unet::to_model(pixels, self.config.height, self.config.width, self.config.channels)
    }

    /// Length of a quality feature vector (the penultimate layer's width).
    pub fn feature_len(&self) -> usize {
        self.config.features
    }

    /// The logits of one image (tests, and a sample's class scores).
    pub fn logits(&self, image: &[f32]) -> Vec<f32> {
        let mut w = Work::default();
        w.forward(&self.layout, &self.params, self.config.channels, image);
        w.logits
    }

    /// Share of `images` classified as their `labels`.
    pub fn accuracy(&self, images: &[f32], labels: &[u8]) -> Result<f64, String> {
        let (_, classes) = self.features_and_classes(images)?;
        if classes.len() != labels.len() {
            return Err(format!("classifier: {} images for {} labels", classes.len(), labels.len()));
        }
        Ok(classes.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 / labels.len() as f64)
    }

    /// The weights and `info` as one safetensors file (tensor `params`, f32; metadata `info`).
    pub fn to_bytes(&self, info: &RefNetInfo) -> Result<Vec<u8>, String> {
        use safetensors::tensor::{Dtype, TensorView};
        let bytes: Vec<u8> = self.params.iter().flat_map(|x| x.to_le_bytes()).collect();
        let view = TensorView::new(Dtype::F32, vec![self.params.len()], &bytes).map_err(|e| e.to_string())?;
        let meta = std::collections::HashMap::from([("info".to_string(), serde_json::to_string(info).map_err(|e| e.to_string())?)]);
        safetensors::serialize([("params", view)], Some(meta)).map_err(|e| e.to_string())
    }

    /// Reads [`to_bytes`](Self::to_bytes)' file; checks its format and that the weights fit
    /// the config's shape and are finite.
    pub fn from_bytes(bytes: &[u8]) -> Result<(RefNet, RefNetInfo), String> {
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| format!("classifier file: {e}"))?;
        let info = meta.metadata().as_ref().and_then(|m| m.get("info")).ok_or("classifier file: no `info` metadata")?;
        let info: RefNetInfo = serde_json::from_str(info).map_err(|e| format!("classifier file: bad `info`: {e}"))?;
        if info.format != REFNET_FORMAT {
            return Err(format!("classifier file: format {:?}, expected {REFNET_FORMAT:?}", info.format));
        }
        let mut net = RefNet::init(info.config.clone())?;
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format!("classifier file: {e}"))?;
        let t = st.tensor("params").map_err(|e| format!("classifier file: {e}"))?;
        if t.dtype() != safetensors::Dtype::F32 || t.shape() != [net.layout.total] {
            return Err(format!("classifier file: params {:?} {:?}, expected F32 [{}]", t.dtype(), t.shape(), net.layout.total));
        }
        net.params = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if net.params.iter().any(|v| !v.is_finite()) {
            return Err("classifier file: non-finite weights".into());
        }
        Ok((net, info))
    }
}

/// A classifier with the test split's feature manifold: measures generated images.
///
/// The features are unit-length penultimate activations. Unscaled, the manifold's few outliers
/// (test digits far from the others, with 5-NN radii twice the median) cover the small-norm
/// features that the network gives images unlike any digit: uniform noise scored 0.37–0.54
/// precision against 0.95 for real digits. On the unit sphere the same noise scores about 0.01
/// and real digits the same 0.94–0.95 (measured on MNIST's test split, 5,000 reference images).
/// Adding the channel means of the last two convolutions (tried) made blurred and locally
/// shuffled digits score 0.23 and 0.04 (0.77 and 0.42 without), too harsh to be useful, and
/// left Fashion-MNIST's noise at 0.55.
///
/// Fashion-MNIST's classifier puts uniform noise in class 8 (bag) and on the bags' manifold:
/// noise scores about 0.64 precision there (real images 0.94). Its recall (0) and Fréchet
/// distance (about 30× real images') still tell noise apart, so read the three together.
#[derive(Debug, Clone)]
pub struct QualityReference {
    net: RefNet,
    /// What the classifier's file records.
    pub info: RefNetInfo,
    reference: Matrix,
    manifold: Manifold,
    gaussian: Gaussian,
    /// Features of the held-out real test images (never in the reference).
    held_out: Matrix,
}

impl QualityReference {
    /// The reference of `net`: the first `n_reference` images of the test split (`test`,
    /// `[n, C·H·W]` in `[−1, 1]`) make the manifold and the Gaussian; the rest are held out as
    /// real images to score ([`baseline`](Self::baseline)).
    pub fn new(net: RefNet, info: RefNetInfo, test: &[f32], n_reference: usize) -> Result<QualityReference, String> {
        let (all, _) = net.features_and_classes(test)?;
        QualityReference::from_features(net, info, all, n_reference)
    }

    /// [`new`](Self::new) from the test images' features, computed by the caller (the page
    /// computes them a slice at a time between frames).
    pub fn from_features(net: RefNet, info: RefNetInfo, all: Matrix, n_reference: usize) -> Result<QualityReference, String> {
        let (reference, held_out) = Self::split(&net, &all, n_reference)?;
        let manifold = Manifold::new(&reference, DEFAULT_K).map_err(|e| e.to_string())?;
        Self::from_manifold(net, info, reference, held_out, manifold)
    }

    /// The reference (the first `n_reference` rows of `all`, the test split's features) and the
    /// held-out rest, checked against the classifier's feature width: what
    /// [`from_features`](Self::from_features) builds on, for a caller that finds the
    /// reference's manifold in steps ([`memgen_core::quality::ManifoldBuilder`]).
    pub fn split(net: &RefNet, all: &Matrix, n_reference: usize) -> Result<(Matrix, Matrix), String> {
        if all.cols() != net.feature_len() {
            return Err(format!("quality: features of width {}, the classifier's are {}", all.cols(), net.feature_len()));
        }
        let n = all.rows();
        if n_reference <= DEFAULT_K || n_reference > n {
            return Err(format!("quality: a reference of {n_reference} images out of {n} (need more than {DEFAULT_K})"));
        }
        Ok((all.select_rows(&(0..n_reference).collect::<Vec<_>>()), all.select_rows(&(n_reference..n).collect::<Vec<_>>())))
    }

    /// The reference from [`split`](Self::split)'s parts and the reference's manifold.
    pub fn from_manifold(net: RefNet, info: RefNetInfo, reference: Matrix, held_out: Matrix, manifold: Manifold) -> Result<QualityReference, String> {
        let gaussian = Gaussian::fit(&reference).map_err(|e| e.to_string())?;
        Ok(QualityReference { net, info, reference, manifold, gaussian, held_out })
    }

    /// The classifier.
    pub fn net(&self) -> &RefNet {
        &self.net
    }

    /// Images in the reference.
    pub fn reference_len(&self) -> usize {
        self.reference.rows()
    }

    /// Held-out real images available to [`baseline`](Self::baseline).
    pub fn held_out_len(&self) -> usize {
        self.held_out.rows()
    }

    /// The quality of `images` (`[n, C·H·W]` in `[−1, 1]`). Recall needs more than `k` images,
    /// the Fréchet distance at least 2; below that they are `None`.
    pub fn measure(&self, images: &[f32]) -> Result<SampleQuality, String> {
        let (f, classes) = self.net.features_and_classes(images)?;
        self.measure_features(&f, &classes)
    }

    /// The same measures for the first `n` held-out real test images: what real data scores
    /// with as many images.
    pub fn baseline(&self, n: usize) -> Result<SampleQuality, String> {
        let n = n.min(self.held_out.rows());
        let f = self.held_out.select_rows(&(0..n).collect::<Vec<_>>());
        // No class histogram: the held-out images' classes are the test split's own.
        self.measure_features(&f, &[])
    }

    /// [`measure`](Self::measure) from the samples' features and predicted classes
    /// ([`RefNet::features_and_classes`]); no class histogram when `classes` is empty.
    pub fn measure_features(&self, f: &Matrix, classes: &[u8]) -> Result<SampleQuality, String> {
        if f.cols() != self.reference.cols() {
            return Err(format!("quality: features of width {}, the reference's are {}", f.cols(), self.reference.cols()));
        }
        let precision = self.manifold.coverage(f).map_err(|e| e.to_string())?;
        let recall = if f.rows() > DEFAULT_K {
            Some(Manifold::new(f, DEFAULT_K).map_err(|e| e.to_string())?.coverage(&self.reference).map_err(|e| e.to_string())?)
        } else {
            None
        };
        let frechet = if f.rows() >= 2 { Some(frechet_of(&Gaussian::fit(f).map_err(|e| e.to_string())?, &self.gaussian)) } else { None };
        let mut hist = vec![0usize; if classes.is_empty() { 0 } else { self.net.config.classes }];
        for &c in classes {
            hist[c as usize] += 1;
        }
        Ok(SampleQuality {
            precision,
            recall,
            frechet,
            k: DEFAULT_K,
            samples: f.rows(),
            reference: self.reference.rows(),
            classes: hist,
            classifier_accuracy: self.info.test_accuracy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> RefNetConfig {
        RefNetConfig { height: 6, width: 5, channels: 2, classes: 3, widths: [3, 4, 2], features: 5, epochs: 1, batch: 6, lr: 1e-2, shards: 2, seed: 3 }
    }

    fn images(c: &RefNetConfig, n: usize, seed: u64) -> Vec<f32> {
        memgen_core::spec::uniforms(n * c.image_len(), seed, 9).into_iter().map(|u| 2.0 * u - 1.0).collect()
    }

    /// A direct (loop) convolution with zero padding: `x [H, W, ci]` → `[Ho, Wo, co]`.
    fn direct_conv(p: &[f32], cv: &Conv, x: &[f32], h: usize, w: usize) -> Vec<f32> {
        let (ho, wo) = (out_size(h, 3, cv.stride), out_size(w, 3, cv.stride));
        let mut y = vec![0.0f32; ho * wo * cv.co];
        for oy in 0..ho {
            for ox in 0..wo {
                for o in 0..cv.co {
                    let mut s = p[cv.b + o] as f64;
                    for ky in 0..3 {
                        for kx in 0..3 {
                            let (iy, ix) = ((oy * cv.stride + ky) as isize - 1, (ox * cv.stride + kx) as isize - 1);
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            for c in 0..cv.ci {
                                s += x[(iy as usize * w + ix as usize) * cv.ci + c] as f64 * p[cv.w + ((ky * 3 + kx) * cv.ci + c) * cv.co + o] as f64;
                            }
                        }
                    }
                    y[(oy * wo + ox) * cv.co + o] = s as f32;
                }
            }
        }
        y
    }

    /// The whole network by loops, in f64 where it sums.
    fn direct_logits(net: &RefNet, x_chw: &[f32]) -> Vec<f32> {
        let (l, p, c) = (&net.layout, &net.params, &net.config);
        let hw = l.rows(0);
        let mut a: Vec<f32> = (0..hw * c.channels).map(|i| x_chw[(i % c.channels) * hw + i / c.channels]).collect();
        for j in 0..3 {
            a = direct_conv(p, &l.convs[j], &a, l.sizes[j].0, l.sizes[j].1).into_iter().map(|v| v.max(0.0)).collect();
        }
        let lin = |lin: &Lin, x: &[f32]| {
            (0..lin.o)
                .map(|o| (p[lin.b + o] as f64 + (0..lin.i).map(|i| x[i] as f64 * p[lin.w + i * lin.o + o] as f64).sum::<f64>()) as f32)
                .collect::<Vec<f32>>()
        };
        let h: Vec<f32> = lin(&l.fc1, &a).into_iter().map(|v| v.max(0.0)).collect();
        lin(&l.fc2, &h)
    }

    #[test]
    fn forward_equals_direct_loops() {
        let net = RefNet::init(tiny()).unwrap();
        let x = images(&net.config, 3, 1);
        for img in x.chunks(net.config.image_len()) {
            let (a, b) = (net.logits(img), direct_logits(&net, img));
            for (u, v) in a.iter().zip(&b) {
                assert!((u - v).abs() < 1e-5, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn gradients_equal_finite_differences() {
        let mut net = RefNet::init(tiny()).unwrap();
        let c = net.config.clone();
        let x = images(&c, 1, 2);
        let y = 1;
        let loss_of = |net: &RefNet| {
            let z = direct_logits(net, &x);
            let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            z.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln() - (z[y] as f64 - m)
        };
        let mut w = Work { grads: vec![0.0; net.layout.total], ..Work::default() };
        let loss = w.image(&net.layout, &net.params, c.channels, &x, y, 1.0);
        assert!((loss - loss_of(&net)).abs() < 1e-5);
        let (mut checked, mut bad) = (0, Vec::new());
        for i in (0..net.layout.total).step_by(7) {
            let h = 1e-3f32;
            let p0 = net.params[i];
            net.params[i] = p0 + h;
            let up = loss_of(&net);
            net.params[i] = p0 - h;
            let down = loss_of(&net);
            net.params[i] = p0;
            let fd = (up - down) / (2.0 * h as f64);
            let g = w.grads[i] as f64;
            // ReLU kinks make a few differences one-sided; they are rare at this step.
            if (fd - g).abs() > 1e-4 + 2e-3 * fd.abs().max(g.abs()) {
                bad.push((i, fd, g));
            }
            checked += usize::from(g != 0.0);
        }
        // A ReLU kink inside ±h makes a difference one-sided: allow one in twenty.
        assert!(checked > 25 && bad.len() * 20 <= checked, "{checked} nonzero gradients checked; mismatches {bad:?}");
    }

    #[test]
    fn training_learns_a_separable_task_with_the_same_bits_on_any_threads() {
        let c = RefNetConfig { epochs: 30, batch: 8, lr: 5e-3, ..tiny() };
        let n = 24;
        // Class = which third of the image is brightest.
        let mut x = vec![-1.0f32; n * c.image_len()];
        let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        let plane = c.height * c.width;
        for (i, &y) in labels.iter().enumerate() {
            for ch in 0..c.channels {
                for r in 0..c.height {
                    for col in (y as usize * 2)..(y as usize * 2 + 1).min(c.width) {
                        x[i * c.image_len() + ch * plane + r * c.width + col] = 1.0;
                    }
                }
            }
        }
        let net = RefNet::train(c.clone(), &x, &labels, |_, _, _| {}).unwrap();
        assert_eq!(net.accuracy(&x, &labels).unwrap(), 1.0);
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let again = one.install(|| RefNet::train(c.clone(), &x, &labels, |_, _, _| {}).unwrap());
        assert_eq!(net.params, again.params);
    }

    #[test]
    fn file_round_trip_and_corrupt_files() {
        let net = RefNet::init(tiny()).unwrap();
        let info = RefNetInfo {
            format: REFNET_FORMAT.into(),
            config: tiny(),
            dataset: "t".into(),
            train_sha256: "x".into(),
            test_accuracy: 0.5,
            params: net.num_params(),
        };
        let bytes = net.to_bytes(&info).unwrap();
        let (back, info2) = RefNet::from_bytes(&bytes).unwrap();
        assert_eq!(back.params, net.params);
        assert_eq!(info2, info);
        assert!(RefNet::from_bytes(&bytes[..bytes.len() / 2]).is_err());
        assert!(RefNet::from_bytes(b"not a file").is_err());
        let bad = RefNetInfo { format: "other/1".into(), ..info.clone() };
        assert!(RefNet::from_bytes(&net.to_bytes(&bad).unwrap()).unwrap_err().contains("format"));
        let wrong_shape = RefNetInfo { config: RefNetConfig { features: 6, ..tiny() }, ..info };
        assert!(RefNet::from_bytes(&net.to_bytes(&wrong_shape).unwrap()).unwrap_err().contains("expected F32"));
        assert!(net.features_and_classes(&[0.0; 7]).is_err());
        assert!(net.features_and_classes(&vec![f32::NAN; tiny().image_len()]).is_err());
    }
}
