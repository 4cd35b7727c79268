//! `memgen sweep`: the paper's main measurement (Fig. 2 fractions, Figs. 1, 3–5 galleries) over a
//! list of training-set sizes `K`, natively, written as a result bundle; `memgen merge` (see
//! [`crate::bundle`]) joins the bundles of shards.
//!
//! For each `K` of the shard:
//! 1. `S_K`: the first `K` of the seeded permutation of the full training split
//!    (memgen-core `subset_indices(n, K, seed)`, nested in `K`; = `memgen export`).
//! 2. Model: the UNet trained on `S_K` (EMA weights), or the ideal empirical denoiser.
//! 3. `S_eval` (`--eval`) and `S'` (`--sprime-mult · K`), drawn independently (different noise
//!    streams) with the chosen sampler, quantized to u8 like the training images.
//! 4. Labels (Eqs. 4–6) from exact kNN in pixel space `p/255` (L2; the paper's LPIPS for colour
//!    sets is not available, see SCIENCE.md §1), fractions and a seeded bootstrap.
//!
//! Every random choice of point `K` comes from the per-`K` seed [`point_seed`]`(seed, K)`
//! (except `S_K`, which must be nested and uses `seed`), so a point's result does not depend
//! on which shard ran it or on the other `K` of the run: merged shards equal one run.

use crate::bundle::{self, Bundle, PointResult};
use crate::data::{self, ExportDataset};
use crate::CliError;
use base64::Engine;
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use memgen_core::gallery::gallery_neighbours;
use memgen_core::metrics::{
    self, bootstrap, classify_distances, fractions, Dataset, Label, Rule, SampleDistances,
};
use memgen_core::spec::{ExperimentSpec, NoiseStream, SPEC_VERSION};
use memgen_data::{DatasetId, PackedDataset};
use memgen_models::unet::fused::FusedUNetTraining;
use memgen_models::unet::{
    quantize_u8, sample_images, EpsilonModel, IdealDenoiser, SamplerConfig, SamplerKind,
    UNetConfig, UNetTrainConfig, UNetTraining, STREAM_UNET_EVAL, STREAM_UNET_SYNTHETIC,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;

pub use memgen_core::gallery::GALLERY_NEIGHBOURS;

/// Which model generates the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelArg {
    /// The small UNet DDPM, trained on S_K
    Unet,
    /// The ideal empirical denoiser of S_K (training-free; memorizes by construction)
    Ideal,
}

/// Sampler choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SamplerArg {
    /// DDPM ancestral (respaced when --sampler-steps < 1000)
    Ddpm,
    /// DDIM, η = 0
    Ddim,
}

/// Native backend for the sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceArg {
    /// burn's flex CPU backend (multi-threaded, pure Rust)
    Cpu,
    /// burn's wgpu backend (a GPU; lavapipe where there is none)
    Wgpu,
}

/// How the UNet is trained and sampled on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineArg {
    /// burn's autodiff and modules on --device
    Burn,
    /// the fused CPU trainer and forward pass (memgen-models unet::fused): the same network,
    /// batches, clipping, Adam and EMA, about 5× faster than burn on a CPU; --device cpu only
    Fused,
}

/// Shards of a batch in the fused trainer (its results depend on this, not on the cores).
pub const FUSED_SHARDS: usize = memgen_models::unet::fused::DEFAULT_SHARDS;

/// Everything `memgen sweep` was asked to do.
pub struct SweepArgs {
    pub engine: EngineArg,
    pub dataset: ExportDataset,
    pub ks: Vec<usize>,
    pub shard: Option<String>,
    pub model: ModelArg,
    pub steps: Option<usize>,
    pub batch: usize,
    pub lr: f64,
    pub base_channels: usize,
    pub eval: usize,
    pub sprime_mult: Option<usize>,
    pub sampler: SamplerArg,
    pub sampler_steps: Option<usize>,
    pub no_clip: bool,
    pub sample_batch: usize,
    pub bootstrap: usize,
    pub delta_m: Option<f64>,
    pub delta_s: Option<f64>,
    pub gallery: usize,
    pub save_samples: bool,
    pub seed: u64,
    pub out: PathBuf,
    pub device: DeviceArg,
    pub data_dir: PathBuf,
}

fn input(msg: impl Into<String>) -> CliError {
    CliError::Input(msg.into())
}

/// Parses `i/n` (0-based shard `i` of `n`).
pub fn parse_shard(s: &str) -> Result<(usize, usize), CliError> {
    let bad = || {
        input(format!(
            "--shard {s:?}: expected i/n with 0 ≤ i < n (0-based shard index i of n shards)"
        ))
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The K values shard `i` of `n` runs: every `n`-th of the sorted list starting at `i`
/// (round-robin, so each shard gets small and large K alike).
pub fn shard_ks(sorted: &[usize], shard: Option<(usize, usize)>) -> Vec<usize> {
    match shard {
        None => sorted.to_vec(),
        Some((i, n)) => sorted
            .iter()
            .enumerate()
            .filter(|(j, _)| j % n == i)
            .map(|(_, k)| *k)
            .collect(),
    }
}

/// Seed of every random choice of sweep point `K` except its training subset
/// ([`memgen_core::spec::sweep_point_seed`], which the page's re-run uses too).
pub fn point_seed(seed: u64, k: usize) -> u64 {
    memgen_core::spec::sweep_point_seed(seed, k)
}

/// The paper's dataset whose `δ_s` applies (emoji, a colour set, takes CIFAR-10's 0.175).
fn paper_dataset(d: ExportDataset) -> Dataset {
    match d {
        ExportDataset::Mnist => Dataset::Mnist,
        ExportDataset::FashionMnist => Dataset::FashionMnist,
        ExportDataset::Emoji => Dataset::Cifar10,
    }
}

fn bar(len: u64, msg: String) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>22} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}

/// What a point needs that does not change with `K`.
struct Setup {
    ds: PackedDataset,
    hwc: [usize; 3],
    sampler: SamplerConfig,
    train: Option<UNetTrainConfig>,
    rule: Rule,
    device: Device,
    sprime_mult: usize,
}

#[allow(clippy::too_many_arguments)]
fn generate<M: EpsilonModel>(
    model: &M,
    s: &Setup,
    a: &SweepArgs,
    count: usize,
    seed: u64,
    stream: u64,
    what: &str,
) -> Result<Vec<u8>, CliError> {
    let [h, w, c] = s.hwc;
    let pb = bar(count as u64, what.to_string());
    let mut noise = NoiseStream::new(seed, stream);
    let x = pollster::block_on(sample_images(
        model,
        s.sampler,
        count,
        a.sample_batch,
        [c, h, w],
        &s.device,
        &mut noise,
        |done| pb.set_position(done as u64),
    ))
    .map_err(input)?;
    pb.finish_and_clear();
    Ok(memgen_models::unet::to_packed(&quantize_u8(&x), h, w, c))
}

/// `S_eval` and `S′` of point `k` (independent noise streams of the point's seed `ks`).
fn generate_sets<M: EpsilonModel>(model: &M, s: &Setup, a: &SweepArgs, k: usize, ks: u64) -> Result<(Vec<u8>, Vec<u8>), CliError> {
    let e = generate(model, s, a, a.eval, ks, STREAM_UNET_EVAL, &format!("K={k} S_eval"))?;
    let sp = generate(model, s, a, s.sprime_mult * k, ks, STREAM_UNET_SYNTHETIC, &format!("K={k} S'"))?;
    Ok((e, sp))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Runs one point `K`: returns its result row, its gallery JSON and its timings.
fn run_point(k: usize, s: &Setup, a: &SweepArgs) -> Result<(PointResult, Value, Value), CliError> {
    let [h, w, c] = s.hwc;
    let d = h * w * c;
    let ks = point_seed(a.seed, k);
    let idx = memgen_data::subset(s.ds.len(), k, a.seed).map_err(|e| input(e.to_string()))?;
    let train_u8 = s.ds.images_u8(&idx).map_err(|e| input(e.to_string()))?;
    let train_model = memgen_models::unet::to_model(&train_u8, h, w, c);

    let t0 = Instant::now();
    let mut loss_summary = Value::Null;
    let (eval_u8, synth_u8, t1) = match a.model {
        ModelArg::Ideal => {
            let ideal = IdealDenoiser::new(&train_model, d, &s.device).map_err(input)?;
            let t1 = Instant::now();
            let (e, sp) = generate_sets(&ideal, s, a, k, ks)?;
            (e, sp, t1)
        }
        ModelArg::Unet => {
            let cfg = s.train.expect("unet config");
            let pb = bar(cfg.steps as u64, format!("K={k} train"));
            let mut losses = Vec::with_capacity(cfg.steps);
            enum Trained {
                Burn(UNetTraining),
                Fused(FusedUNetTraining),
            }
            let run = match a.engine {
                EngineArg::Burn => {
                    let mut run = UNetTraining::new(cfg, &train_model, ks, &s.device).map_err(input)?;
                    while !run.finished() {
                        losses.extend(pollster::block_on(run.run_steps(25)).map_err(input)?);
                        pb.set_position(run.steps_done() as u64);
                    }
                    Trained::Burn(run)
                }
                EngineArg::Fused => {
                    let mut run = FusedUNetTraining::new(cfg, &train_model, ks, FUSED_SHARDS).map_err(input)?;
                    while !run.finished() {
                        losses.extend(run.run_steps(25));
                        pb.set_position(run.steps_done() as u64);
                    }
                    Trained::Fused(run)
                }
            };
            pb.finish_and_clear();
            let mean = |l: &[f32]| l.iter().map(|v| *v as f64).sum::<f64>() / l.len().max(1) as f64;
            let n = losses.len();
            if losses.iter().any(|l| !l.is_finite()) {
                return Err(input(format!(
                    "K={k}: training diverged (non-finite loss); lower --lr"
                )));
            }
            loss_summary = json!({
                "first_100": mean(&losses[..n.min(100)]),
                "last_100": mean(&losses[n.saturating_sub(100)..]),
                // Mean loss of consecutive blocks of 1% of the run, for a loss curve.
                "curve": losses.chunks((n / 100).max(1)).map(mean).collect::<Vec<f64>>(),
            });
            let t1 = Instant::now();
            let (e, sp) = match run {
                Trained::Burn(run) => generate_sets(&run.ema_model(), s, a, k, ks)?,
                Trained::Fused(run) => generate_sets(&run.ema_fused(), s, a, k, ks)?,
            };
            (e, sp, t1)
        }
    };
    let train_s = t1.duration_since(t0).as_secs_f64();
    let sample_s = t0.elapsed().as_secs_f64() - train_s;

    if a.save_samples {
        let shape = |n: usize| {
            if c == 1 {
                vec![n, h, w]
            } else {
                vec![n, h, w, c]
            }
        };
        for (set, px) in [("eval", &eval_u8), ("synthetic", &synth_u8)] {
            let npy = memgen_data::npy::encode_u8(&shape(px.len() / d), px)
                .map_err(|e| input(e.to_string()))?;
            let p = a.out.join(bundle::samples_file(k, set));
            std::fs::write(&p, npy)
                .map_err(|e| input(format!("cannot write {}: {e}", p.display())))?;
        }
    }

    let t2 = Instant::now();
    let shown = if a.gallery == 0 {
        a.eval
    } else {
        a.gallery.min(a.eval)
    };
    let g = gallery_neighbours(&train_u8, &eval_u8, &synth_u8, d, shown)?;
    let (nt, ns) = (&g.train, &g.synthetic);
    let classified: Vec<metrics::Classified> = (0..a.eval)
        .map(|i| {
            let sd = SampleDistances {
                d1: nt.distances_of(i)[0],
                d2: nt.distances_of(i)[1],
                d1_synthetic: ns.distances_of(i)[0],
            };
            classify_distances(sd, &s.rule)
        })
        .collect();
    let labels: Vec<Label> = classified.iter().map(|c| c.label).collect();
    let f = fractions(&labels);
    let boot = bootstrap(&labels, a.bootstrap.max(1), ks)?;
    let label_s = t2.elapsed().as_secs_f64();

    let samples: Vec<Value> = (0..shown)
        .map(|i| {
            json!({
                "index": i,
                "image": b64(&eval_u8[i * d..(i + 1) * d]),
                "label": classified[i].label,
                "memorization_ratio": classified[i].memorization_ratio,
                "spurious_ratio": classified[i].spurious_ratio,
                "train_neighbours": nt.indices_of(i),
                "train_distances": nt.distances_of(i),
                "synthetic_neighbours": ns.indices_of(i),
                "synthetic_distances": ns.distances_of(i),
            })
        })
        .collect();
    let gallery = json!({
        "k": k,
        "shape": [h, w, c],
        "encoding": "base64 of u8 pixels, row-major [h, w, c] per image",
        "distance": "L2 on pixels p/255",
        "rule": s.rule,
        "n_eval": a.eval,
        "n_synthetic": synth_u8.len() / d,
        "train_dataset_indices": idx,
        "samples": samples,
        "train_images": g.train_refs.iter().map(|&j| json!({"index": j, "image": b64(&train_u8[j * d..(j + 1) * d])})).collect::<Vec<_>>(),
        "synthetic_images": g.synthetic_refs.iter().map(|&j| json!({"index": j, "image": b64(&synth_u8[j * d..(j + 1) * d])})).collect::<Vec<_>>(),
    });
    let result = PointResult {
        k,
        fractions: f,
        bootstrap: boot,
        gallery: bundle::gallery_file(k),
        loss: loss_summary,
    };
    let timing = json!({"k": k, "train_s": train_s, "sample_s": sample_s, "label_s": label_s});
    Ok((result, gallery, timing))
}

/// `memgen sweep`.
pub fn sweep(a: SweepArgs, command_line: Vec<String>) -> Result<Value, CliError> {
    let started = Instant::now();
    let mut sorted = a.ks.clone();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return Err(input("--ks: give at least one K"));
    }
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(input(format!("--ks: K = {} appears twice", w[0])));
    }
    if sorted[0] < 2 {
        return Err(input(format!(
            "--ks: K = {} is too small; the labels need at least 2 training images",
            sorted[0]
        )));
    }
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    if a.engine == EngineArg::Fused && a.device != DeviceArg::Cpu {
        return Err(input("--engine fused runs on the CPU: use it with --device cpu"));
    }
    if a.eval == 0 {
        return Err(input("--eval must be at least 1"));
    }
    let colour = matches!(a.dataset, ExportDataset::Emoji);
    let sprime_mult = a.sprime_mult.unwrap_or(if colour { 16 } else { 4 });
    if sprime_mult == 0 {
        return Err(input("--sprime-mult must be at least 1"));
    }
    let sampler = match a.sampler {
        SamplerArg::Ddpm => SamplerConfig {
            kind: SamplerKind::Ddpm,
            steps: a.sampler_steps.unwrap_or(1000),
            clip: !a.no_clip,
        },
        SamplerArg::Ddim => SamplerConfig {
            kind: SamplerKind::Ddim,
            steps: a.sampler_steps.unwrap_or(100),
            clip: !a.no_clip,
        },
    };
    if !(1..=1000).contains(&sampler.steps) {
        return Err(input(format!(
            "--sampler-steps {}: must lie in 1..=1000",
            sampler.steps
        )));
    }
    let dataset = paper_dataset(a.dataset);
    let rule = Rule::Ratio {
        delta_m: a.delta_m.unwrap_or(metrics::DELTA_M),
        delta_s: a.delta_s.unwrap_or(dataset.delta_s()),
    };
    rule.validate()?;

    let id = DatasetId::from(a.dataset);
    let m = data::manifest(&a.data_dir)?;
    let entry = m.full_train(id).ok_or_else(|| {
        input(format!(
            "dataset {id} has no training split in {}",
            a.data_dir.display()
        ))
    })?;
    let ds = data::load_entry(&a.data_dir, entry)?;
    if let Some(k) = sorted.iter().find(|k| **k > ds.len()) {
        return Err(input(format!(
            "--ks: K = {k} is larger than the {} images of {}",
            ds.len(),
            entry.file
        )));
    }
    let hwc = [ds.height(), ds.width(), ds.channels()];
    let net = UNetConfig {
        channels: hwc[2],
        height: hwc[0],
        width: hwc[1],
        base_channels: a.base_channels,
        groups: 8,
    };
    let train = match a.model {
        ModelArg::Unet => {
            net.validate()?;
            let mut cfg = UNetTrainConfig::browser(net);
            cfg.steps = a.steps.unwrap_or(cfg.steps);
            cfg.batch = a.batch;
            cfg.lr = a.lr;
            if cfg.steps == 0 || cfg.batch == 0 || !(cfg.lr > 0.0 && cfg.lr.is_finite()) {
                return Err(input(
                    "--steps and --batch must be at least 1 and --lr finite and > 0",
                ));
            }
            Some(cfg)
        }
        ModelArg::Ideal => None,
    };
    #[allow(deprecated)]
    let device = match a.device {
        DeviceArg::Cpu => Device::flex(),
        DeviceArg::Wgpu => Device::wgpu_options()
            .init()
            .map_err(|e| input(format!("no wgpu adapter: {e:?}")))?,
    };
    let backend = match (a.device, a.engine, a.model) {
        (DeviceArg::Cpu, EngineArg::Fused, ModelArg::Unet) => "cpu (fused trainer and forward pass)",
        (DeviceArg::Cpu, _, _) => "cpu (burn flex)",
        (DeviceArg::Wgpu, _, _) => "wgpu",
    };
    let params = match train {
        Some(cfg) => {
            use burn::module::Module;
            cfg.net
                .init(&device, &mut NoiseStream::new(0, 0))
                .num_params()
        }
        None => 0,
    };

    let spec = ExperimentSpec {
        version: SPEC_VERSION,
        dataset,
        k_values: sorted.clone(),
        seed: a.seed,
        synthetic_per_train: sprime_mult,
        n_eval: a.eval,
        rule,
        bootstrap: a.bootstrap.max(1),
    };
    let sweep_info = json!({
        "dataset": id.as_str(),
        "paper_dataset_for_delta_s": dataset,
        "data_file": entry.file,
        "data_sha256": entry.sha256,
        "image_hwc": hwc,
        "subset": "memgen-core subset_indices(n, K, seed): first K of the seeded permutation of the full training split",
        "point_seed": "first u64 of NoiseStream(seed, 2^32 + K); streams 1 (weights, batches), 4 (S_eval), 5 (S')",
        "model": a.model,
        "unet": train.map(|c| c.net),
        "training": train,
        // Fused and burn runs of one seed agree step for step at first (a test checks 6 steps
        // to 1e-5), then drift apart in float order: a bundle names its engine.
        "engine": match (a.model, a.engine) {
            (ModelArg::Unet, EngineArg::Fused) => json!({"name": "fused", "shards": FUSED_SHARDS}),
            (ModelArg::Unet, EngineArg::Burn) => json!({"name": "burn"}),
            (ModelArg::Ideal, _) => Value::Null,
        },
        "sampler": sampler,
        "sample_batch": a.sample_batch.max(1),
        "pixels": "model space p/127.5 - 1; samples quantized to u8 by round((x+1)*127.5), clamped",
        "distance": "L2 on u8 pixels / 255 (the paper uses LPIPS for colour sets; not available here)",
        "gallery_samples": if a.gallery == 0 { a.eval } else { a.gallery.min(a.eval) },
        "gallery_neighbours": GALLERY_NEIGHBOURS,
        "saved_samples": a.save_samples,
    });

    let setup = Setup {
        ds,
        hwc,
        sampler,
        train,
        rule,
        device,
        sprime_mult,
    };
    let mine = shard_ks(&sorted, shard);
    std::fs::create_dir_all(&a.out)
        .map_err(|e| input(format!("cannot create {}: {e}", a.out.display())))?;
    let overall = bar(mine.len() as u64, "K values".into());
    let mut results = Vec::new();
    let mut galleries = Vec::new();
    let mut timings = Vec::new();
    for &k in &mine {
        overall.set_message(format!("K={k}"));
        let (r, g, mut t) = run_point(k, &setup, &a)?;
        t["backend"] = json!(backend);
        results.push(r);
        galleries.push(g);
        timings.push(t);
        overall.inc(1);
    }
    overall.finish_and_clear();
    let b = Bundle {
        identity: bundle::Identity {
            format: bundle::FORMAT.into(),
            format_version: bundle::FORMAT_VERSION,
            spec,
            sweep: sweep_info,
            model_parameters: params,
            versions: bundle::versions(),
        },
        results,
        galleries: galleries
            .into_iter()
            .map(|g| serde_json::to_vec(&g).expect("json"))
            .collect(),
        shard: shard.map(|(i, n)| json!({"index": i, "count": n})),
        timings,
        total_s: started.elapsed().as_secs_f64(),
        command_line,
        merged_from: Vec::new(),
        merged_command_lines: Vec::new(),
        reproduce: None,
    };
    bundle::write(&b, &a.out)?;
    Ok(json!({
        "out": a.out.display().to_string(),
        "k": mine,
        "model_parameters": params,
        "fractions": b.results.iter().map(|r| json!({"k": r.k, "memorized": r.fractions.memorized, "spurious": r.fractions.spurious, "generalized": r.fractions.generalized})).collect::<Vec<_>>(),
        "seconds": b.total_s,
    }))
}
