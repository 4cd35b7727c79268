//! `memgen`: the paper's measurements on your own samples, from .npy files, as JSON.
//!
//! Inputs are .npy arrays of float32, float64 or uint8 (uint8 values are used as they are,
//! 0–255: the ratio rule is scale-free), shape `[n, …]`; each sample is flattened to one row.
//! Results go to stdout as JSON; errors are one line on stderr and a non-zero exit.
//!
//! Datasets: `memgen datasets` lists the packed sets of `www/data` (built by
//! `bash scripts/datasets.sh`), `memgen export` writes a training subset S_K as uint8 .npy,
//! and `memgen import` turns your own PNG / JPEG files, zip archives or .npy arrays into one.
//!
//! Sweeps: `memgen sweep` trains the image UNet (or takes the ideal denoiser) for each K of a
//! list, samples, labels and writes a result bundle (`fractions.csv`, galleries, manifest);
//! `--shard i/n` runs every n-th K, and `memgen merge` joins the shards' bundles.
use clap::{Parser, Subcommand, ValueEnum};
use memgen_core::circle::{circle_energy, circle_energy_derivative};
use memgen_core::cluster::ward_clusters;
use memgen_core::knn::knn;
use memgen_core::metrics::{self, bootstrap, classify, fractions, Dataset, Label, Rule};
use memgen_core::{CoreError, Matrix};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bundle;
mod data;
mod npy;
mod probe;
mod quality;
mod sample;
mod sweep;

#[derive(Parser)]
#[command(name = "memgen", version, about = "Memorization → Generalization Lab: the paper's measurements (Pham et al.) on .npy samples; JSON on stdout")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which code trains `memgen toy`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ToyEngine {
    /// burn's autodiff on the flex CPU backend (the code the browser runs)
    Burn,
    /// the fused CPU trainer: same network, batches, Adam and EMA, hand-written, all cores
    Fused,
}

#[derive(Clone, Copy, ValueEnum)]
enum RuleArg {
    /// Paper's Eqs. 4–6: d1/(d2+ε) ≤ δ_m; d1'/(d1+d1'+ε) ≤ δ_s (ε = 1e-6)
    Ratio,
    /// Authors' code: d1 ≤ δ_m; d1' ≤ δ_s (defaults 0.33 / 0.33)
    Absolute,
}

#[derive(Clone, Copy, ValueEnum)]
enum DatasetArg {
    /// δ_s = 0.28
    Mnist,
    /// δ_s = 0.30
    FashionMnist,
    /// δ_s = 0.175
    Cifar10,
    /// δ_s = 0.25
    LsunChurch,
}

impl From<DatasetArg> for Dataset {
    fn from(d: DatasetArg) -> Self {
        match d {
            DatasetArg::Mnist => Dataset::Mnist,
            DatasetArg::FashionMnist => Dataset::FashionMnist,
            DatasetArg::Cifar10 => Dataset::Cifar10,
            DatasetArg::LsunChurch => Dataset::LsunChurch,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Label every eval sample memorized / spurious / generalized (paper Eqs. 4–6), with
    /// fractions and bootstrap error bars. x1, x2 = nearest training points, x1' = nearest
    /// synthetic sample (the sample itself excluded when --eval is the --synthetic file).
    Classify {
        /// Training set S (.npy, [n, …])
        #[arg(long)]
        train: PathBuf,
        /// Synthetic set S' (.npy), paper: |S'| = 4K (grey) or 16K (colour)
        #[arg(long)]
        synthetic: PathBuf,
        /// Evaluation set S_eval (.npy), paper: 10,000 samples drawn independently of S'
        #[arg(long)]
        eval: PathBuf,
        /// δ_m [default: 1/3 (ratio rule), 0.33 (absolute rule)]
        #[arg(long)]
        delta_m: Option<f64>,
        /// δ_s [default: the dataset's value (ratio rule: mnist 0.28, fashion-mnist 0.30,
        /// cifar10 0.175, lsun-church 0.25), 0.33 (absolute rule)]
        #[arg(long)]
        delta_s: Option<f64>,
        /// Dataset whose paper δ_s is the default
        #[arg(long, value_enum, default_value = "mnist")]
        dataset: DatasetArg,
        /// Labelling rule
        #[arg(long, value_enum, default_value = "ratio")]
        rule: RuleArg,
        /// Bootstrap resamples (paper: 10,000; 0 = none)
        #[arg(long, default_value_t = metrics::BOOTSTRAP_RESAMPLES)]
        bootstrap: usize,
        /// Seed of the bootstrap resampling
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Exact k nearest neighbours, Euclidean distances (not squared), nearest first.
    Knn {
        /// Query points (.npy)
        #[arg(long)]
        query: PathBuf,
        /// Data points (.npy)
        #[arg(long)]
        data: PathBuf,
        /// Neighbours per query
        #[arg(short, long, default_value_t = 1)]
        k: usize,
        /// Query and data are the same set: never return a point as its own neighbour
        #[arg(long)]
        exclude_self: bool,
    },
    /// Exact K→∞ energy of the 2D toy: E(R; β) = R² + 1 − β⁻¹ log I₀(2βR), β = 1/(2σ_t²).
    CircleEnergy {
        /// β (paper's plot: 20)
        #[arg(long, default_value_t = 20.0, allow_hyphen_values = true)]
        beta: f64,
        /// Radii R = ‖x‖, comma separated
        #[arg(long, value_delimiter = ',', num_args = 1.., required = true, allow_hyphen_values = true)]
        radius: Vec<f64>,
    },
    /// Ward clustering cut at a distance threshold (scipy fcluster 'distance' semantics);
    /// paper's toy thresholds: 3.0 (K=2), 2.0 (K=9), 0.45 (K=1000).
    Cluster {
        /// Points (.npy)
        #[arg(long)]
        points: PathBuf,
        /// Distance threshold t
        #[arg(long, allow_hyphen_values = true)]
        threshold: f64,
    },
    /// List the datasets of the manifest (datasets.json, built by `bash scripts/datasets.sh`):
    /// splits with counts, shapes [h, w, c], files, SHA-256, licence, attribution, web subsample.
    Datasets {
        /// Folder holding datasets.json and the packed .mgds files
        #[arg(long, default_value = "www/data")]
        data_dir: PathBuf,
    },
    /// Write the training subset S_K as uint8 .npy, shape [K, H, W] (grey) or [K, H, W, C]:
    /// the first K of the seeded permutation (nested in K; the app's subsets), drawn from the
    /// FULL split (not the web subsample). JSON summary with the file's SHA-256 on stdout.
    Export {
        /// Dataset
        #[arg(long, value_enum)]
        dataset: data::ExportDataset,
        /// Subset size K (1 ≤ K ≤ n)
        #[arg(long)]
        k: usize,
        /// Seed of the permutation
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output .npy
        #[arg(long)]
        out: PathBuf,
        /// Split to draw from (emoji has one set, `train`)
        #[arg(long, value_enum, default_value = "train")]
        split: data::SplitArg,
        /// Class-balanced: round-robin over classes in class order, each class in the order
        /// of the same seeded permutation (still nested in K)
        #[arg(long)]
        balanced: bool,
        /// Also write the labels of S_K (uint8 .npy, shape [K])
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Folder holding datasets.json and the packed .mgds files
        #[arg(long, default_value = "www/data")]
        data_dir: PathBuf,
    },
    /// Bring your own data: a folder or zip of PNG / JPEG files, an .npy array ([n, h, w] or
    /// [n, h, w, c]) or one image, resized to SIZE×SIZE, grey or RGB, written as uint8 .npy.
    /// Limits: 100,000 images, 20 MB a file, 2 GB in all.
    Import {
        /// Folder, .zip, .npy, .png or .jpg
        #[arg(long)]
        input: PathBuf,
        /// Output side in pixels (1 to 1024)
        #[arg(long, default_value_t = 28)]
        size: u32,
        /// RGB output [n, size, size, 3] instead of grey [n, size, size]
        #[arg(long, alias = "color")]
        colour: bool,
        /// Output .npy
        #[arg(long)]
        out: PathBuf,
    },
    /// The 2-D diffusion toy (paper Fig. 2): train the score network on K points of the unit
    /// circle (burn, CPU), sample it with Euler–Maruyama (1000 steps, t = 1 → 1e-3) from the
    /// EMA weights, and write the samples and the training points as float32 .npy [n, 2].
    /// Preset "browser": Adam lr 1e-3, batch 512, 4,000 steps, EMA 0.999; "paper": lr 1e-4,
    /// batch min(500, K), 500,000 steps, EMA 0.9999.
    Toy {
        /// Number of training points K (paper presets: 2, 9, 1000)
        #[arg(long)]
        k: usize,
        /// Seed of the points, the weights, the batches and the sampler
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Training steps (0 = the preset's)
        #[arg(long, default_value_t = 0)]
        steps: usize,
        /// Number of samples
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        /// Hyper-parameter preset: browser or paper
        #[arg(long, default_value = "browser")]
        preset: String,
        /// Adam's learning rate [default: the preset's] (the page's `tlr`)
        #[arg(long)]
        lr: Option<f64>,
        /// Output .npy of the samples
        #[arg(long)]
        out_samples: PathBuf,
        /// Output .npy of the K training points
        #[arg(long)]
        out_train: PathBuf,
        /// Also write a checkpoint (safetensors: EMA weights in f16, the training points, the
        /// samples, and the learned energy on a 32×32 grid at --energy-t), as the lab's
        /// pretrained three-regimes view loads it
        #[arg(long)]
        out_checkpoint: Option<PathBuf>,
        /// Time of the checkpoint's energy grid (paper: 0.25 for K = 2, 0.15 otherwise)
        #[arg(long)]
        energy_t: Option<f64>,
        /// Training engine: burn (burn's autodiff on its flex CPU backend, the code the browser
        /// runs) or fused (the same network, batches, Adam and EMA as one hand-written CPU pass
        /// on all cores, checked against burn; faster, see scripts/bench-toy.sh)
        #[arg(long, value_enum, default_value = "burn")]
        engine: ToyEngine,
    },
    /// The paper's Fig. 2 measurement over K on a dataset: for each K of the shard, S_K (the
    /// seeded nested subset, as `memgen export`), train the small UNet (or take the ideal
    /// denoiser), generate S_eval and S' (--sprime-mult·K), label them (Eqs. 4–6, L2 on p/255),
    /// bootstrap; writes DIR/fractions.csv, DIR/gallery-k<K>.json, DIR/manifest.json.
    /// Progress bars on stderr (a terminal only), a JSON summary on stdout.
    Sweep(sweep::SweepArgs),
    /// Train the reference classifier of sample quality on a dataset's training split (a small
    /// CNN; its penultimate features are the space of `memgen quality`), report its test
    /// accuracy, and write it as safetensors with its SHA-256 on stdout.
    Refnet(quality::RefnetArgs),
    /// Sample quality (docs/SCIENCE.md §7): improved precision and recall (k = 5) and the
    /// Fréchet distance of your samples to the test split, in the reference classifier's
    /// features, beside the same figures for as many held-out real test images; the classes
    /// the classifier sees. --samples FILE.npy, or --bundle DIR for each point of a sweep.
    Quality(quality::QualityArgs),
    /// Images from a UNet weights file (a bundle's weights-k<K>.safetensors) with a chosen
    /// sampler, as uint8 .npy: to audit a bundle's model, to measure it with `memgen quality`,
    /// or to choose a sampler by measurement.
    Sample(sample::SampleArgs),
    /// Basins of attraction and energy curvature (paper Figs. 4B, 5A; docs/SCIENCE.md §5–6) of
    /// every gallery sample of a bundle, from each K's weights: P(t), t_c, radius, log-volume
    /// and the singular values of the score Jacobian; the mean spectrum of each K's first
    /// training points. One probe-k<K>.json per K (resumable); --write names them in the manifest.
    Probe(probe::ProbeArgs),
    /// Join sweep bundles (e.g. the shards of one sweep) into one: errors when their specs
    /// differ or when a K they share has different results.
    Merge {
        /// Bundle folders
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
        /// Output folder
        #[arg(long)]
        out: PathBuf,
        /// How to make the merged bundle again, when a script ran the shards (recorded in the
        /// manifest; the page shows it)
        #[arg(long)]
        reproduce: Option<String>,
    },
    /// Rewrite an older bundle's manifest.json (format 1 or 2) in this build's format, in
    /// place; every other file is left as it is. A bundle already in this format is unchanged.
    Upgrade {
        /// Bundle folders
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
    },
}

/// Writes `[n, 2]` points as float32 .npy.
fn write_points(path: &Path, points: &[[f32; 2]]) -> Result<(), CliError> {
    let flat: Vec<f32> = points.iter().flatten().copied().collect();
    let bytes = memgen_data::npy::encode_f32(&[points.len(), 2], &flat).map_err(|e| CliError::Input(e.to_string()))?;
    std::fs::write(path, bytes).map_err(|e| CliError::Input(format!("cannot write {}: {e}", path.display())))
}

/// A CLI failure: one line for stderr.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Input(String),
}

fn load(path: &Path, what: &str) -> Result<Matrix, CliError> {
    npy::read_matrix(path).map_err(|e| CliError::Input(format!("{what} file {}: {e}", path.display())))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn summary(s: &metrics::Summary) -> Value {
    json!({"mean": s.mean, "std": s.std, "lo": s.lo, "hi": s.hi})
}

fn run(cli: Cli) -> Result<Value, CliError> {
    match cli.command {
        Command::Classify { train, synthetic, eval, delta_m, delta_s, dataset, rule, bootstrap: n_boot, seed } => {
            let rule = match rule {
                RuleArg::Ratio => Rule::Ratio { delta_m: delta_m.unwrap_or(metrics::DELTA_M), delta_s: delta_s.unwrap_or(Dataset::from(dataset).delta_s()) },
                RuleArg::Absolute => Rule::Absolute { delta_m: delta_m.unwrap_or(0.33), delta_s: delta_s.unwrap_or(0.33) },
            };
            rule.validate()?;
            let t = load(&train, "training")?;
            let s = load(&synthetic, "synthetic")?;
            let eval_is_synthetic = same_file(&synthetic, &eval);
            let e = if eval_is_synthetic { s.clone() } else { load(&eval, "evaluation")? };
            let c = classify(&t, &s, &e, eval_is_synthetic, &rule)?;
            let labels: Vec<Label> = c.iter().map(|c| c.label).collect();
            let f = fractions(&labels);
            let boot = if n_boot > 0 {
                let b = bootstrap(&labels, n_boot, seed)?;
                json!({"memorized": summary(&b.memorized), "spurious": summary(&b.spurious),
                       "generalized": summary(&b.generalized), "resamples": n_boot, "seed": seed})
            } else {
                Value::Null
            };
            Ok(json!({
                "n_eval": labels.len(),
                "eval_is_synthetic": eval_is_synthetic,
                "rule": rule,
                "fractions": {"memorized": f.memorized, "spurious": f.spurious, "generalized": f.generalized},
                "bootstrap": boot,
                "labels": labels,
            }))
        }
        Command::Knn { query, data, k, exclude_self } => {
            let q = load(&query, "query")?;
            let d = if same_file(&query, &data) { q.clone() } else { load(&data, "data")? };
            let nb = knn(&q, &d, k, exclude_self)?;
            let n = nb.n_queries();
            let indices: Vec<&[usize]> = (0..n).map(|i| nb.indices_of(i)).collect();
            let distances: Vec<&[f64]> = (0..n).map(|i| nb.distances_of(i)).collect();
            Ok(json!({"indices": indices, "distances": distances}))
        }
        Command::CircleEnergy { beta, radius } => {
            let energies = radius.iter().map(|r| circle_energy(*r, beta)).collect::<Result<Vec<_>, _>>()?;
            let derivatives = radius.iter().map(|r| circle_energy_derivative(*r, beta)).collect::<Result<Vec<_>, _>>()?;
            Ok(json!({"beta": beta, "radius": radius, "energies": energies, "derivatives": derivatives}))
        }
        Command::Cluster { points, threshold } => {
            let p = load(&points, "points")?;
            let c = ward_clusters(&p, threshold)?;
            let centroids: Vec<&[f32]> = c.centroids.iter_rows().collect();
            Ok(json!({"labels": c.labels, "centroids": centroids}))
        }
        Command::Datasets { data_dir } => data::datasets(&data_dir),
        Command::Export { dataset, k, seed, out, split, balanced, labels, data_dir } => {
            data::export(&data::ExportArgs { dataset, k, seed, out, split, balanced, labels, data_dir })
        }
        Command::Import { input, size, colour, out } => data::import(&input, size, colour, &out),
        Command::Refnet(args) => quality::refnet(&args),
        Command::Quality(args) => quality::quality(&args),
        Command::Sample(args) => sample::sample(&args),
        Command::Probe(args) => probe::probe(&args),
        Command::Sweep(args) => sweep::sweep(args, std::env::args().collect()),
        Command::Merge { dirs, out, reproduce } => bundle::merge(&dirs, &out, std::env::args().collect(), reproduce),
        Command::Upgrade { dirs } => bundle::upgrade(&dirs),
        Command::Toy { k, seed, steps, samples, preset, lr, out_samples, out_train, out_checkpoint, energy_t, engine } => {
            let backend = match engine {
                ToyEngine::Burn => memgen_models::toy::NativeBackend::Cpu,
                ToyEngine::Fused => memgen_models::toy::NativeBackend::Fused,
            };
            let engine_flag = if engine == ToyEngine::Fused { " --engine fused" } else { "" };
            let preset =
                memgen_models::toy::ToyPreset::parse(&preset).ok_or_else(|| CliError::Input(format!("unknown preset {preset:?}: use browser or paper")))?;
            if k == 0 || samples == 0 {
                return Err(CliError::Input("--k and --samples must be at least 1".into()));
            }
            let t = energy_t.unwrap_or(if k <= 4 { 0.25 } else { 0.15 });
            if !(t.is_finite() && t > 0.0 && t <= 1.0) {
                return Err(CliError::Input(format!("--energy-t must be in (0, 1], not {t}")));
            }
            if let Some(lr) = lr {
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(CliError::Input(format!("--lr must be finite and > 0, not {lr}")));
                }
                if out_checkpoint.is_some() {
                    return Err(CliError::Input("--lr with --out-checkpoint: checkpoints are made with the preset's learning rate; leave --lr out".into()));
                }
            }
            let out = match &out_checkpoint {
                Some(path) => {
                    // The command that remakes this file (steps 0 = the preset's, left out).
                    let steps_flag = if steps == 0 { String::new() } else { format!(" --steps {steps}") };
                    let command = format!(
                        "memgen toy --k {k} --seed {seed}{steps_flag} --samples {samples} --preset {} --energy-t {t}{engine_flag} --out-checkpoint toy-k{k}.safetensors",
                        format!("{preset:?}").to_lowercase()
                    );
                    let (out, bytes) =
                        memgen_models::toy::run::toy_run_checkpoint(k, seed, steps, samples, preset, t, backend, &command).map_err(CliError::Input)?;
                    std::fs::write(path, bytes).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
                    out
                }
                None => {
                    let mut config = memgen_models::toy::ToyTrainConfig::preset(preset, k);
                    config.lr = lr.unwrap_or(config.lr);
                    memgen_models::toy::run::toy_run_with(k, seed, steps, samples, config, backend).map_err(CliError::Input)?
                }
            };
            write_points(&out_samples, &out.samples)?;
            write_points(&out_train, &out.train)?;
            let n = out.losses.len();
            let mean = |l: &[f32]| l.iter().map(|v| *v as f64).sum::<f64>() / l.len().max(1) as f64;
            Ok(json!({
                "k": k, "seed": seed, "steps": n, "samples": out.samples.len(),
                "loss_first_100": mean(&out.losses[..n.min(100)]),
                "loss_last_100": mean(&out.losses[n.saturating_sub(100)..]),
                "out_samples": out_samples, "out_train": out_train, "out_checkpoint": out_checkpoint,
            }))
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            // Usage errors on one line too (clap's own message is several).
            let text = e.render().to_string();
            let parts: Vec<&str> =
                text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")).collect();
            let msg = parts.join("; ");
            eprintln!("memgen: {}", msg.strip_prefix("error: ").map(|m| format!("error: {m}")).unwrap_or(msg));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(v) => {
            let mut out = std::io::stdout().lock();
            // A closed pipe is not worth a panic.
            let _ = serde_json::to_writer(&mut out, &v).and_then(|_| writeln!(out).map_err(serde_json::Error::io));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("memgen: error: {e}");
            ExitCode::from(2)
        }
    }
}
