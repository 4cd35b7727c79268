//! The image sweep's experiment point, once, for every front end: `memgen sweep` runs it for
//! each K of a shard, the page runs it in a tab (a point, a K schedule, a bundle's point again).
//! Front ends only build a [`SweepConfig`], hand [`run_point`] the training images and a
//! [`Progress`] handle (progress bars or signals, pause, cancel), and show or write the
//! [`PointOutput`].
//!
//! For one point K (docs/SCIENCE.md §1–2):
//! 1. train the UNet on `S_K` (the engine of the config; or take a model trained elsewhere, or
//!    the ideal empirical denoiser);
//! 2. sample `S_eval` (stream [`STREAM_UNET_EVAL`]) and `S′` (stream [`STREAM_UNET_SYNTHETIC`])
//!    of the point's seed, quantized to u8 like the training images;
//! 3. exact kNN in pixel space `p/255` against `S` and `S′`, labels (Eqs. 4–6), fractions and a
//!    seeded bootstrap, and the gallery.
//!
//! Every random choice of the point comes from its seed ([`memgen_core::spec::sweep_point_seed`]
//! of the sweep's seed and K), except `S_K`, which is nested in K and drawn from the sweep's seed:
//! a point's result does not depend on which shard or front end ran it.

use base64::Engine as _;
use burn::tensor::Device;
use memgen_core::experiment::{ExperimentSpec, SPEC_VERSION};
use memgen_core::gallery::{gallery_neighbours, GALLERY_NEIGHBOURS};
use memgen_core::metrics::{bootstrap, classify_distances, fractions, Dataset, Label, Rule, SampleDistances};
use memgen_core::spec::{sweep_point_seed, NoiseStream};
use serde::{Deserialize, Serialize};

use crate::bundle::{self, Gallery, GallerySample, Identity, IndexedImage, LossSummary, Manifest, PointRecord, SweepSettings, TimePoint, Timing};
use crate::experiment::{ExperimentError, Progress};
use crate::model::{Engine, ModelSpec, UNetSpec};
use crate::point::PointConfig;
use crate::unet::fused::FusedUNetTraining;
use crate::unet::snapshot::WeightsDtype;
use crate::unet::{
    quantize_u8, to_model, to_packed, EpsilonModel, IdealDenoiser, ImageSampling, SamplerConfig, UNet, UNetTraining, STREAM_UNET_EVAL, STREAM_UNET_SYNTHETIC,
};

/// The dataset a sweep trains on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepData {
    /// The lab's dataset name (`mnist`, `fashion-mnist`, `emoji`).
    pub name: String,
    /// The paper's dataset whose `δ_s` applies (emoji, a colour set, takes CIFAR-10's).
    pub paper: Dataset,
    /// The packed training split's file name.
    pub file: String,
    /// Its checksum.
    pub sha256: String,
    /// `[h, w, c]` of its images.
    pub hwc: [usize; 3],
}

/// Every setting of an image sweep (`memgen sweep`'s flags; the page's in-tab runs). Saved in
/// every bundle it made, as the manifest's `spec` and `sweep` ([`SweepConfig::identity`]) and per
/// point ([`PointConfig`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepConfig {
    /// The training set.
    pub data: SweepData,
    /// Training-set sizes, ascending.
    pub ks: Vec<usize>,
    /// Seed of `S_K` and (through [`sweep_point_seed`]) of every random choice of each point.
    pub seed: u64,
    /// The model and everything that decides it ([`crate::presets`] holds the defaults).
    pub model: ModelSpec,
    /// The sampler of `S_eval` and `S′`.
    pub sampler: SamplerConfig,
    /// Images per sampling batch (results depend on it). Default 256.
    pub sample_batch: usize,
    /// `|S_eval|`. Default 1000 (paper: 10,000).
    pub n_eval: usize,
    /// `|S′| / K`. Default 4 for grey sets, 16 for colour (paper).
    pub sprime_mult: usize,
    /// The labelling rule. Default: the paper's ratio rule, `δ_m = 1/3`, the dataset's `δ_s`.
    pub rule: Rule,
    /// Bootstrap resamples. Default 10,000 (paper).
    pub bootstrap: usize,
    /// Samples of `S_eval` per gallery file (≤ `n_eval`).
    pub gallery_samples: usize,
    /// Whether `S_eval` and `S′` are saved as .npy beside the bundle.
    pub save_samples: bool,
    /// How the trained EMA weights are kept (and so sampled from): f32, or rounded to f16.
    #[serde(default, skip_serializing_if = "WeightsDtype::is_f32")]
    pub weights: WeightsDtype,
}

impl SweepConfig {
    /// Checks every setting, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.ks.is_empty() {
            return Err("ks: give at least one K".into());
        }
        if self.ks.windows(2).any(|w| w[0] >= w[1]) {
            return Err("ks: K values must be ascending without repeats".into());
        }
        if self.ks[0] < 2 {
            return Err(format!("ks: K = {} is too small; the labels need at least 2 training images", self.ks[0]));
        }
        if self.n_eval == 0 || self.sprime_mult == 0 || self.sample_batch == 0 {
            return Err("n_eval, sprime_mult and sample_batch must be at least 1".into());
        }
        if !(1..=1000).contains(&self.sampler.steps) {
            return Err(format!("sampler steps {}: must lie in 1..=1000", self.sampler.steps));
        }
        self.rule.validate().map_err(|e| e.to_string())?;
        self.model.validate(self.data.hwc)
    }

    /// The settings of point `k` (any `k`, not only the sweep's: a re-run takes other K too).
    pub fn point(&self, k: usize) -> PointConfig {
        PointConfig {
            k,
            seed: sweep_point_seed(self.seed, k),
            model: self.model.for_k(k),
            sampler: self.sampler,
            sample_batch: self.sample_batch,
            n_eval: self.n_eval,
            n_synthetic: self.sprime_mult * k,
            rule: self.rule,
            bootstrap: self.bootstrap.max(1),
            gallery_samples: self.gallery_shown(),
            weights: self.weights,
        }
    }

    /// Samples of `S_eval` each gallery shows: `gallery_samples`, at most `n_eval` (0: all).
    pub fn gallery_shown(&self) -> usize {
        if self.gallery_samples == 0 {
            self.n_eval
        } else {
            self.gallery_samples.min(self.n_eval)
        }
    }

    /// The bundle identity of this sweep (what must agree for bundles to be merged).
    pub fn identity(&self) -> Identity {
        Identity {
            format: bundle::FORMAT.into(),
            format_version: bundle::FORMAT_VERSION,
            spec: ExperimentSpec {
                version: SPEC_VERSION,
                dataset: self.data.paper,
                k_values: self.ks.clone(),
                seed: self.seed,
                synthetic_per_train: self.sprime_mult,
                n_eval: self.n_eval,
                rule: self.rule,
                bootstrap: self.bootstrap.max(1),
            },
            sweep: SweepSettings {
                dataset: self.data.name.clone(),
                paper_dataset_for_delta_s: self.data.paper,
                data_file: self.data.file.clone(),
                data_sha256: self.data.sha256.clone(),
                image_hwc: self.data.hwc,
                subset: "memgen-core subset_indices(n, K, seed): first K of the seeded permutation of the full training split".into(),
                point_seed: "first u64 of NoiseStream(seed, 2^32 + K); streams 1 (weights, batches), 4 (S_eval), 5 (S')".into(),
                model: self.model,
                sampler: self.sampler,
                sample_batch: self.sample_batch,
                pixels: "model space p/127.5 - 1; samples quantized to u8 by round((x+1)*127.5), clamped".into(),
                distance: "L2 on u8 pixels / 255 (the paper uses LPIPS for colour sets; not available here)".into(),
                gallery_samples: self.gallery_shown(),
                gallery_neighbours: GALLERY_NEIGHBOURS,
                saved_samples: self.save_samples,
                weights: self.weights,
            },
            model_parameters: self.model.parameters(),
            versions: bundle::versions(),
        }
    }

    /// The sweep a bundle's identity records (the inverse of [`identity`](Self::identity)).
    pub fn from_identity(id: &Identity) -> SweepConfig {
        let (s, w) = (&id.spec, &id.sweep);
        SweepConfig {
            data: SweepData {
                name: w.dataset.clone(),
                paper: w.paper_dataset_for_delta_s,
                file: w.data_file.clone(),
                sha256: w.data_sha256.clone(),
                hwc: w.image_hwc,
            },
            ks: s.k_values.clone(),
            seed: s.seed,
            model: w.model,
            sampler: w.sampler,
            sample_batch: w.sample_batch,
            n_eval: s.n_eval,
            sprime_mult: s.synthetic_per_train,
            rule: s.rule,
            bootstrap: s.bootstrap,
            gallery_samples: w.gallery_samples,
            save_samples: w.saved_samples,
            weights: w.weights,
        }
    }
}

impl Manifest {
    /// The settings of point `k` (recorded in format 2 and later; derived from the identity
    /// for format 1).
    pub fn point_config(&self, k: usize) -> Option<PointConfig> {
        self.results.iter().find(|r| r.k == k).and_then(|r| r.config).or_else(|| Some(SweepConfig::from_identity(&self.identity).point(k)))
    }
}

/// Where a point's model comes from.
pub enum PointModel {
    /// Train it here with the config's engine (fused: resumed from `resume` when given and
    /// valid; otherwise from the start, after [`Progress::resume_refused`]).
    Train {
        /// A fused run to go on from.
        resume: Option<Resume>,
    },
    /// A UNet trained elsewhere with the config's settings (the page's WebGPU worker), and the
    /// losses of its run.
    Trained {
        /// Its EMA weights.
        ema: Box<UNet>,
        /// Its losses.
        losses: Vec<f32>,
    },
}

/// A fused training run kept by a front end (the page keeps one in browser storage).
pub struct Resume {
    /// [`FusedUNetTraining::snapshot`] of the run.
    pub snapshot: Vec<u8>,
    /// The losses of its steps so far.
    pub losses: Vec<f32>,
}

/// The training images of a point: `S_K` as packed u8 `[K, h, w, c]` and its dataset indices.
pub struct PointData<'a> {
    /// `S_K`'s pixels.
    pub pixels: &'a [u8],
    /// Their indices in the dataset, in `S_K`'s order.
    pub indices: &'a [usize],
    /// `[h, w, c]`.
    pub hwc: [usize; 3],
}

/// What a point produced.
pub struct PointOutput {
    /// Its row of the manifest.
    pub record: PointRecord,
    /// Its wall times (`backend` left for the front end to name).
    pub timing: Timing,
    /// Its gallery.
    pub gallery: Gallery,
    /// `S_eval`, packed u8.
    pub eval: Vec<u8>,
    /// `S′`, packed u8.
    pub synthetic: Vec<u8>,
    /// Every training loss (empty for the ideal denoiser).
    pub losses: Vec<f32>,
    /// The step a resumed fused run went on from (0 for a fresh run).
    pub resumed_at: usize,
    /// The EMA weights the samples came from, in burn's parameter order (none for the ideal
    /// denoiser).
    pub ema: Option<Vec<Vec<f32>>>,
}

impl PointOutput {
    /// The point's weights file (the EMA weights its samples came from, kept as its config
    /// says), named in its record with its checksum: the same file for `memgen sweep` and for a
    /// bundle made in a tab, so either's points can be regenerated and probed. `None` for a
    /// training-free model.
    pub fn weights_file(&mut self) -> Result<Option<(String, Vec<u8>)>, ExperimentError> {
        let (Some(ema), Some(config)) = (&self.ema, self.record.config) else { return Ok(None) };
        let Some(t) = config.model.training() else { return Ok(None) };
        let bytes = crate::unet::snapshot::encode_weights_as(ema, &t.net, config.weights)?;
        let name = bundle::weights_file(config.k);
        self.record.attach("weights", &name, &bytes);
        Ok(Some((name, bytes)))
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Runs one point: train (or take) the model, sample `S_eval` and `S′`, label, gallery.
/// `device` holds the sampler's tensors (and burn's training, for the burn engine).
pub async fn run_point<P: Progress>(
    config: &PointConfig,
    data: PointData<'_>,
    model: PointModel,
    device: &Device,
    progress: &mut P,
) -> Result<PointOutput, ExperimentError> {
    let [h, w, c] = data.hwc;
    let d = h * w * c;
    let k = config.k;
    if data.pixels.len() != k * d || data.indices.len() != k {
        return Err(ExperimentError::Failed(format!(
            "S_K holds {} images of {h}×{w}×{c} and {} indices, not K = {k}",
            data.pixels.len() / d.max(1),
            data.indices.len()
        )));
    }
    if k < 2 {
        return Err(ExperimentError::Failed("S_K needs at least 2 images for the labels".into()));
    }
    let images = to_model(data.pixels, h, w, c);
    let t0 = progress.now_s();
    let (sets, losses, resumed_at, t1, ema) = match (config.model, model) {
        (ModelSpec::Ideal, _) => {
            let ideal = IdealDenoiser::new(&images, d, device)?;
            let t1 = progress.now_s();
            (sample_sets(&ideal, config, data.hwc, device, progress).await?, Vec::new(), 0, t1, None)
        }
        (ModelSpec::Unet(spec), PointModel::Trained { ema, losses }) => {
            let t1 = progress.now_s();
            let net = spec.training.net;
            let (weights, rounded) = kept_weights(&net, crate::unet::snapshot::flat_tensors(&ema), config.weights, device)?;
            let fused = crate::unet::fused::FusedUNet::from_unet(rounded.as_ref().unwrap_or(&ema), net)?;
            (sample_sets(&fused, config, data.hwc, device, progress).await?, losses, 0, t1, Some(weights))
        }
        (ModelSpec::Unet(UNetSpec { training: tc, engine }), PointModel::Train { resume }) => {
            let mut losses = Vec::with_capacity(tc.steps);
            match engine {
                Engine::Fused { shards } => {
                    let resumed = resume.map(|r| {
                        let run = FusedUNetTraining::resume(tc, &images, config.seed, shards, &r.snapshot)?;
                        if run.steps_done() != r.losses.len() {
                            return Err(format!("it holds {} steps but {} losses", run.steps_done(), r.losses.len()));
                        }
                        Ok((run, r.losses))
                    });
                    let mut run = match resumed {
                        Some(Ok((run, kept))) => {
                            losses = kept;
                            run
                        }
                        Some(Err(why)) => {
                            progress.resume_refused(&why);
                            FusedUNetTraining::new(tc, &images, config.seed, shards)?
                        }
                        None => FusedUNetTraining::new(tc, &images, config.seed, shards)?,
                    };
                    let resumed_at = run.steps_done();
                    while !run.finished() {
                        progress.checkpoint().await?;
                        let mut chunk = run.run_steps(1);
                        while !run.finished() && !progress.chunk_done(chunk.len()) {
                            chunk.extend(run.run_steps(1));
                        }
                        check_losses(k, &chunk)?;
                        progress.training(run.steps_done(), tc.steps, &chunk);
                        losses.extend(chunk);
                        progress.fused_run(&run, &losses);
                    }
                    let t1 = progress.now_s();
                    let (weights, rounded) = kept_weights(&tc.net, run.ema_tensors(), config.weights, device)?;
                    let fused = match rounded {
                        None => run.ema_fused(),
                        Some(ema) => crate::unet::fused::FusedUNet::from_unet(&ema, tc.net).map_err(ExperimentError::Failed)?,
                    };
                    (sample_sets(&fused, config, data.hwc, device, progress).await?, losses, resumed_at, t1, Some(weights))
                }
                Engine::Burn => {
                    let mut run = UNetTraining::new(tc, &images, config.seed, device)?;
                    while !run.finished() {
                        progress.checkpoint().await?;
                        let chunk = run.run_steps(25).await?;
                        check_losses(k, &chunk)?;
                        progress.training(run.steps_done(), tc.steps, &chunk);
                        losses.extend(chunk);
                    }
                    let t1 = progress.now_s();
                    let ema = run.ema_model();
                    let (weights, rounded) = kept_weights(&tc.net, crate::unet::snapshot::flat_tensors(&ema), config.weights, device)?;
                    let ema = rounded.unwrap_or(ema);
                    (sample_sets(&ema, config, data.hwc, device, progress).await?, losses, 0, t1, Some(weights))
                }
            }
        }
    };
    let t2 = progress.now_s();
    progress.labelling();
    progress.checkpoint().await?;
    let (record, gallery) = label_point(config, &data, &sets.0, &sets.1)?;
    let record = PointRecord { loss: (!losses.is_empty()).then(|| LossSummary::of(&losses)), ..record };
    let timing = Timing { k, train_s: t1 - t0, sample_s: t2 - t1, label_s: progress.now_s() - t2, backend: String::new(), source: None };
    Ok(PointOutput { record, timing, gallery, eval: sets.0, synthetic: sets.1, losses, resumed_at, ema })
}

/// `weights` as the point keeps them (`dtype`), and the network rebuilt from them when they
/// were rounded (`None` for f32: the network as trained), so the samples come from the kept file.
fn kept_weights(
    net: &crate::unet::UNetConfig,
    weights: Vec<Vec<f32>>,
    dtype: WeightsDtype,
    device: &Device,
) -> Result<(Vec<Vec<f32>>, Option<crate::unet::UNet>), ExperimentError> {
    if dtype.is_f32() {
        return Ok((weights, None));
    }
    let weights = dtype.round(weights);
    let ema = crate::unet::snapshot::unet_from_tensors(net, weights.clone(), device).map_err(ExperimentError::Failed)?;
    Ok((weights, Some(ema)))
}

fn check_losses(k: usize, losses: &[f32]) -> Result<(), ExperimentError> {
    if losses.iter().any(|l| !l.is_finite()) {
        return Err(ExperimentError::Failed(format!("K = {k}: training diverged (non-finite loss); lower the learning rate")));
    }
    Ok(())
}

/// `S_eval` and `S′` of a point (independent streams of its seed), packed u8, one sampler step
/// between checkpoints. Noise is drawn batch after batch of `sample_batch` images.
pub async fn sample_sets<M: EpsilonModel, P: Progress>(
    model: &M,
    config: &PointConfig,
    [h, w, c]: [usize; 3],
    device: &Device,
    progress: &mut P,
) -> Result<(Vec<u8>, Vec<u8>), ExperimentError> {
    let total = (config.n_eval + config.n_synthetic) * config.sampler.steps;
    let mut done_evals = 0;
    let mut sets = Vec::with_capacity(2);
    for (count, stream) in [(config.n_eval, STREAM_UNET_EVAL), (config.n_synthetic, STREAM_UNET_SYNTHETIC)] {
        let mut noise = NoiseStream::new(config.seed, stream);
        let mut out = Vec::with_capacity(count * h * w * c);
        let mut done = 0;
        while done < count {
            let b = config.sample_batch.max(1).min(count - done);
            let mut s = ImageSampling::new(model, config.sampler, [b, c, h, w], device, &mut noise);
            while !s.finished() {
                progress.checkpoint().await?;
                s.run_steps_synced(1).await?;
                done_evals += b;
                progress.sampling(done_evals, total);
            }
            out.extend(s.samples().await?);
            done += b;
        }
        sets.push(to_packed(&quantize_u8(&out), h, w, c));
    }
    let synthetic = sets.pop().expect("two sets");
    Ok((sets.pop().expect("two sets"), synthetic))
}

/// Sample `index` of point `config`'s `S_eval`, made again from `model` (the point's EMA
/// weights): its starting noise is the `index`-th image's worth of the point's `S_eval` stream,
/// and the DDIM sampler treats every image of a batch alone, so this is the sample the point's
/// batch made. Packed u8 pixels. DDPM draws fresh noise at every step for the whole batch, so
/// there a sample cannot be made alone: an error says so.
pub async fn regenerate_eval_sample<M: EpsilonModel>(
    model: &M,
    config: &PointConfig,
    hwc: [usize; 3],
    index: usize,
    device: &Device,
) -> Result<Vec<u8>, ExperimentError> {
    if config.sampler.kind != crate::unet::SamplerKind::Ddim {
        return Err(ExperimentError::Failed("only DDIM samples can be made one at a time (DDPM's noise at each step is drawn for the whole batch)".into()));
    }
    if index >= config.n_eval {
        return Err(ExperimentError::Failed(format!("sample {index} is not in S_eval (|S_eval| = {})", config.n_eval)));
    }
    let [h, w, c] = hwc;
    let d = h * w * c;
    let mut noise = NoiseStream::new(config.seed, STREAM_UNET_EVAL);
    for _ in 0..index * d {
        noise.normal();
    }
    let mut s = ImageSampling::new(model, config.sampler, [1, c, h, w], device, &mut noise);
    let total = s.total_steps();
    s.run_steps_synced(total).await?;
    let x = s.samples().await?;
    Ok(to_packed(&quantize_u8(&x), h, w, c))
}

/// Point `config` measured at `steps` of training with `model` (its EMA weights then): the
/// first `n_eval` samples of its `S_eval` noise and `n_synthetic` of its `S′` noise, labelled
/// against `S_K` with 200 bootstrap resamples. Returns the time point (no quality: the caller
/// measures the returned `S_eval` pixels when it has a classifier) and those pixels.
#[allow(clippy::too_many_arguments)]
pub async fn time_point<M: EpsilonModel, P: Progress>(
    config: &PointConfig,
    data: &PointData<'_>,
    model: &M,
    steps: usize,
    n_eval: usize,
    n_synthetic: usize,
    device: &Device,
    progress: &mut P,
) -> Result<(TimePoint, Vec<u8>), ExperimentError> {
    let small = PointConfig {
        n_eval: n_eval.min(config.n_eval).max(1),
        n_synthetic: n_synthetic.min(config.n_synthetic).max(2),
        bootstrap: 200,
        gallery_samples: 0,
        ..*config
    };
    let (eval, synthetic) = sample_sets(model, &small, data.hwc, device, progress).await?;
    let (record, _) = label_point(&small, data, &eval, &synthetic)?;
    let batch = config.model.training().map(|t| t.batch).unwrap_or(0);
    let tp = TimePoint { steps, images_seen: steps * batch, n_eval: small.n_eval, n_synthetic: small.n_synthetic, fractions: record.fractions, quality: None };
    Ok((tp, eval))
}

/// Labels of a point and its gallery, from its sets (exact kNN, Eqs. 4–6, bootstrap).
pub fn label_point(config: &PointConfig, data: &PointData<'_>, eval: &[u8], synthetic: &[u8]) -> Result<(PointRecord, Gallery), ExperimentError> {
    let labelling = LabelConfig { rule: config.rule, bootstrap: config.bootstrap, seed: config.seed, gallery_samples: config.gallery_samples };
    let (record, gallery) = label_sets(&labelling, config.k, config.n_eval, data, eval, synthetic)?;
    Ok((PointRecord { config: Some(*config), ..record }, gallery))
}

/// How samples made elsewhere are labelled ([`label_samples`]): the rule, the bootstrap and
/// its seed, and how many samples the gallery shows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelConfig {
    /// The labelling rule and its thresholds.
    pub rule: Rule,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Samples the gallery shows, from the first (0: none).
    pub gallery_samples: usize,
}

/// Labels samples made elsewhere (an audit of one's own model, `memgen classify`'s question):
/// `eval` against the training set `data` and the synthetic set `synthetic`, all packed u8
/// of `data.hwc`, with the same neighbours, labels, bootstrap and gallery as a sweep point.
/// The record carries no point config (no model of the lab made the samples).
pub fn label_samples(config: &LabelConfig, data: &PointData<'_>, eval: &[u8], synthetic: &[u8]) -> Result<(PointRecord, Gallery), ExperimentError> {
    let d = data.hwc.iter().product::<usize>().max(1);
    let k = data.pixels.len() / d;
    for (what, px) in [("the training set", data.pixels), ("the samples", eval), ("the synthetic set", synthetic)] {
        if px.is_empty() || !px.len().is_multiple_of(d) {
            return Err(ExperimentError::Failed(format!("{what}: {} bytes is not a whole number of {:?} images", px.len(), data.hwc)));
        }
    }
    if k < 2 || data.indices.len() != k {
        return Err(ExperimentError::Failed(format!(
            "the training set needs at least 2 images and one index each ({k} images, {} indices)",
            data.indices.len()
        )));
    }
    label_sets(config, k, eval.len() / d, data, eval, synthetic)
}

/// The labels, fractions, bootstrap and gallery of `n_eval` samples (the one body of
/// [`label_point`] and [`label_samples`]).
fn label_sets(
    config: &LabelConfig,
    k: usize,
    n_eval: usize,
    data: &PointData<'_>,
    eval: &[u8],
    synthetic: &[u8],
) -> Result<(PointRecord, Gallery), ExperimentError> {
    let d = data.hwc.iter().product::<usize>();
    let shown = config.gallery_samples.min(n_eval);
    let g = gallery_neighbours(data.pixels, eval, synthetic, d, shown)?;
    let (nt, ns) = (&g.train, &g.synthetic);
    let classified: Vec<_> = (0..n_eval)
        .map(|i| {
            classify_distances(SampleDistances { d1: nt.distances_of(i)[0], d2: nt.distances_of(i)[1], d1_synthetic: ns.distances_of(i)[0] }, &config.rule)
        })
        .collect();
    let labels: Vec<Label> = classified.iter().map(|c| c.label).collect();
    let boot = bootstrap(&labels, config.bootstrap.max(1), config.seed)?;
    let image = |px: &[u8], j: usize| b64(&px[j * d..(j + 1) * d]);
    let gallery = Gallery {
        k,
        shape: data.hwc,
        encoding: bundle::IMAGE_ENCODING.into(),
        distance: bundle::DISTANCE.into(),
        rule: config.rule,
        n_eval,
        n_synthetic: synthetic.len() / d,
        train_dataset_indices: data.indices.to_vec(),
        samples: (0..shown)
            .map(|i| GallerySample {
                index: i,
                image: image(eval, i),
                label: classified[i].label,
                memorization_ratio: classified[i].memorization_ratio,
                spurious_ratio: classified[i].spurious_ratio,
                train_neighbours: nt.indices_of(i).to_vec(),
                train_distances: nt.distances_of(i).to_vec(),
                synthetic_neighbours: ns.indices_of(i).to_vec(),
                synthetic_distances: ns.distances_of(i).to_vec(),
            })
            .collect(),
        train_images: g.train_refs.iter().map(|&j| IndexedImage { index: j, image: image(data.pixels, j) }).collect(),
        synthetic_images: g.synthetic_refs.iter().map(|&j| IndexedImage { index: j, image: image(synthetic, j) }).collect(),
    };
    let record = PointRecord {
        k,
        fractions: fractions(&labels),
        bootstrap: boot,
        gallery: bundle::gallery_file(k),
        loss: None,
        config: None,
        files: Default::default(),
        checksums: Default::default(),
        quality: None,
        timeline: Vec::new(),
    };
    Ok((record, gallery))
}
