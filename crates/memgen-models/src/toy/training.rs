//! The toy's training loop: VE-SDE denoising score matching, Adam, an EMA of the weights,
//! stepped in chunks so a browser tab can pause, resume and cancel between them.
//!
//! Every random choice comes from the seed: the `K` training points from stream
//! [`STREAM_TOY_DATA`](super::STREAM_TOY_DATA), the initial weights, the Fourier frequencies,
//! the batch order, `z` and `t` from stream [`STREAM_TOY_TRAIN`](super::STREAM_TOY_TRAIN).
//! Same seed and config ⇒ same batches on every platform (the floating-point results of
//! different backends still differ in the last bits).

use super::{adam_like_torch, ToyBatch, ToyNetConfig, ToyScoreNet, ToyTrainer, STREAM_TOY_DATA, STREAM_TOY_TRAIN};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use memgen_core::spec::NoiseStream;

use crate::epoch::EpochOrder;

/// Named hyper-parameter sets of the toy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToyPreset {
    /// The authors' `toy_example.py`: Adam lr 1e-4, batch `min(500, K)`, 500k steps.
    Paper,
    /// Fast preset for a browser (and the CLI default): Adam lr 1e-3, batch 512, 4,000 steps,
    /// EMA 0.999. See [`ToyTrainConfig::browser`] for what it reproduces.
    Browser,
}

impl ToyPreset {
    /// Parses `"paper"` / `"browser"`.
    pub fn parse(s: &str) -> Option<ToyPreset> {
        match s.to_ascii_lowercase().as_str() {
            "paper" => Some(ToyPreset::Paper),
            "browser" | "fast" => Some(ToyPreset::Browser),
            _ => None,
        }
    }
}

/// Hyper-parameters of a toy training run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ToyTrainConfig {
    /// The score network.
    pub net: ToyNetConfig,
    /// Adam learning rate (β = (0.9, 0.999), ε = 1e-8 as in PyTorch).
    pub lr: f64,
    /// Examples per step. Batches walk through the `K` points in reshuffled epochs (without
    /// replacement inside an epoch, as PyTorch's shuffled `DataLoader` does); when the batch is
    /// larger than `K` an epoch boundary falls inside the batch and points repeat.
    pub batch: usize,
    /// Total number of steps of the run.
    pub steps: usize,
    /// EMA decay of the weights (0 = the EMA is the current weights).
    pub ema_decay: f64,
    /// Warm the EMA up: the decay used at step `n` is `min(ema_decay, (1 + n)/(10 + n))`, so a
    /// short run is not dominated by the random initial weights.
    pub ema_warmup: bool,
    /// Optional gradient clipping (burn's per-parameter norm clipping). `None` in both presets.
    pub grad_clip: Option<f32>,
}

impl ToyTrainConfig {
    /// The authors' toy: lr 1e-4, batch `min(500, K)` (their `DataLoader(batch_size=min(500, K))`),
    /// 500,000 steps (they train 500k–800k), EMA 0.9999 (their toy code samples with the raw
    /// weights; the paper's image models use EMA 0.9999). Hours on a CPU.
    pub fn paper(k: usize) -> ToyTrainConfig {
        ToyTrainConfig { net: ToyNetConfig::default(), lr: 1e-4, batch: k.clamp(1, 500), steps: 500_000, ema_decay: 0.9999, ema_warmup: true, grad_clip: None }
    }

    /// The browser preset (also the CLI default): lr 1e-3, batch 512, 4,000 steps, EMA 0.999
    /// with warm-up. Measured natively on CPU (burn ndarray, 2 cores; see the crate's tests):
    /// K = 2 puts almost all samples within 0.1 of the two points, K = 1000 spreads them over
    /// the whole circle. The network and loss are the paper's; only lr, batch and the number of
    /// steps differ (10× the lr, 125× fewer steps).
    pub fn browser() -> ToyTrainConfig {
        ToyTrainConfig { net: ToyNetConfig::default(), lr: 1e-3, batch: 512, steps: 4_000, ema_decay: 0.999, ema_warmup: true, grad_clip: None }
    }

    /// The preset's config for `K` training points.
    pub fn preset(preset: ToyPreset, k: usize) -> ToyTrainConfig {
        match preset {
            ToyPreset::Paper => ToyTrainConfig::paper(k),
            ToyPreset::Browser => ToyTrainConfig::browser(),
        }
    }
}

/// `K` training points uniform on the unit circle, angles `2π u` with `u` from stream
/// [`STREAM_TOY_DATA`] of `seed`. Prefixes are nested: the first `K` points of a seed are the
/// same for every larger `K'`.
pub fn circle_points(k: usize, seed: u64) -> Vec<[f32; 2]> {
    let mut rng = NoiseStream::new(seed, STREAM_TOY_DATA);
    (0..k)
        .map(|_| {
            let a = 2.0 * std::f64::consts::PI * rng.uniform();
            [a.cos() as f32, a.sin() as f32]
        })
        .collect()
}

/// What does the arithmetic of a run.
enum Engine {
    /// burn's autodiff on any device; the EMA lives on the plain device.
    Burn { trainer: ToyTrainer, ema: ToyScoreNet },
    /// The fused CPU trainer ([`super::fused`]); `plain` is where [`ToyTraining::ema_model`]
    /// puts the weights.
    Fused { trainer: Box<super::fused::FusedTrainer>, plain: Device },
}

/// A training run in progress: weights, optimizer state, EMA, seeded stream, step counter.
/// Step it with [`run_steps`](ToyTraining::run_steps); between chunks the caller may pause,
/// resume (call again) or cancel (drop it).
pub struct ToyTraining {
    /// The run's configuration.
    pub config: ToyTrainConfig,
    engine: Engine,
    points: Vec<f32>,
    rng: NoiseStream,
    order: EpochOrder,
    step: usize,
}

impl ToyTraining {
    /// A fresh run on `device` (made an autodiff device if it is not one) for `points`,
    /// seeded by `seed`.
    pub fn new(config: ToyTrainConfig, points: &[[f32; 2]], seed: u64, device: &Device) -> ToyTraining {
        assert!(!points.is_empty(), "the toy needs at least one training point");
        let device = device.clone().autodiff();
        let mut rng = NoiseStream::new(seed, STREAM_TOY_TRAIN);
        let mut adam = adam_like_torch();
        if let Some(c) = config.grad_clip {
            adam = adam.with_grad_clipping(Some(GradientClippingConfig::Norm(c)));
        }
        let trainer = ToyTrainer::with_optimizer(&config.net, config.lr, &adam, &device, &mut rng);
        let ema = trainer.model.valid();
        ToyTraining {
            config,
            engine: Engine::Burn { trainer, ema },
            points: points.iter().flatten().copied().collect(),
            rng,
            order: EpochOrder::new(points.len()),
            step: 0,
        }
    }

    /// A fresh run on the fused CPU trainer ([`super::fused`]): the same initial
    /// weights, batches, loss, Adam and EMA as [`new`](Self::new) for the same seed, without
    /// burn's graph. `shards` blocks per batch (0: [`super::fused::DEFAULT_TOY_SHARDS`]; results
    /// depend on it, not on the cores). [`ema_model`](Self::ema_model) puts the weights on
    /// `device`'s plain (non-autodiff) device.
    pub fn new_fused(config: ToyTrainConfig, points: &[[f32; 2]], seed: u64, shards: usize, device: &Device) -> ToyTraining {
        assert!(!points.is_empty(), "the toy needs at least one training point");
        let mut rng = NoiseStream::new(seed, STREAM_TOY_TRAIN);
        let trainer = super::fused::FusedTrainer::new(&config.net, config.lr, config.grad_clip, shards, &mut rng);
        ToyTraining {
            config,
            engine: Engine::Fused { trainer: Box::new(trainer), plain: device.clone().inner() },
            points: points.iter().flatten().copied().collect(),
            rng,
            order: EpochOrder::new(points.len()),
            step: 0,
        }
    }

    /// Runs up to `n` more steps (never past `config.steps`) and returns their losses (the loss
    /// of each batch before its update). Losses are read back once per call, so a chunk keeps
    /// a GPU queue full; choose chunks of 10–100 steps in a browser for a responsive tab.
    pub async fn run_steps(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let n = n.min(self.config.steps.saturating_sub(self.step));
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut losses: Vec<Tensor<1>> = Vec::with_capacity(n);
        let mut fused_losses: Vec<f32> = Vec::new();
        for _ in 0..n {
            let idx: Vec<usize> = (0..self.config.batch).map(|_| self.order.next(&mut self.rng)).collect();
            let batch = ToyBatch::from_indices(&self.points, &idx, &mut self.rng);
            let decay = crate::optim::ema_decay(self.config.ema_decay, self.config.ema_warmup, self.step);
            match &mut self.engine {
                Engine::Burn { trainer, ema } => {
                    losses.push(trainer.step_deferred(&batch));
                    let old = std::mem::replace(ema, trainer.model.valid());
                    *ema = old.ema_update(&trainer.model, decay);
                }
                Engine::Fused { trainer, .. } => {
                    fused_losses.push(trainer.step_with_ema(&batch, decay));
                }
            }
            self.step += 1;
        }
        if losses.is_empty() {
            return Ok(fused_losses);
        }
        let data = Tensor::cat(losses, 0).into_data_async().await.map_err(|e| format!("{e:?}"))?;
        data.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))
    }

    /// Steps done so far.
    pub fn steps_done(&self) -> usize {
        self.step
    }

    /// Whether `config.steps` steps are done.
    pub fn finished(&self) -> bool {
        self.step >= self.config.steps
    }

    /// The EMA weights on the plain (non-autodiff) device: the model to sample with.
    pub fn ema_model(&self) -> ToyScoreNet {
        match &self.engine {
            Engine::Burn { ema, .. } => ema.clone(),
            Engine::Fused { trainer, plain } => trainer.ema.to_burn(plain),
        }
    }

    /// The current (raw) weights on the plain device.
    pub fn model(&self) -> ToyScoreNet {
        match &self.engine {
            Engine::Burn { trainer, .. } => trainer.model.valid(),
            Engine::Fused { trainer, plain } => trainer.net.to_burn(plain),
        }
    }

    /// The training points.
    pub fn train_points(&self) -> Vec<[f32; 2]> {
        self.points.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
    }

    /// The Adam learning rate; may be changed between chunks.
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
        match &mut self.engine {
            Engine::Burn { trainer, .. } => trainer.lr = lr,
            Engine::Fused { trainer, .. } => trainer.lr = lr,
        }
    }
}

/// Format tag of a toy training snapshot ([`ToyTraining::snapshot`]).
pub const TOY_SNAPSHOT_FORMAT: &str = "memgen-toy-run/1";

/// Metadata `adam` of a snapshot without Adam's moments ([`ToyTraining::snapshot_async`]).
pub const ADAM_RESET: &str = "reset";

impl ToyTraining {
    /// The state of a fused run as bytes, so a run stopped part way (a reload of the page)
    /// goes on where it stopped and ends where the uninterrupted run would have: one
    /// safetensors file with the weights, the EMA and Adam's moments (f32, the buffers
    /// [`FusedTrainer::state_buffers`](super::fused::FusedTrainer::state_buffers) names) and
    /// metadata `format`, `step`, `seed`, `shards`, `points` (a hash of the training points)
    /// and `config`. The seeded stream is not stored: [`resume_fused`](Self::resume_fused)
    /// replays its draws. Burn runs (the WebGPU worker) have [`snapshot_async`](Self::snapshot_async).
    pub fn snapshot(&self, seed: u64) -> Result<Vec<u8>, String> {
        let Engine::Fused { trainer, .. } = &self.engine else { return Err("only a fused (CPU) run has a snapshot".into()) };
        self.snapshot_of(trainer.state_buffers(), Some(trainer.shards()), seed)
    }

    /// The snapshot of any run: a fused run's as [`snapshot`](Self::snapshot); a burn run's (on
    /// WebGPU, read back without blocking) holds its weights and EMA, with metadata
    /// `adam = "reset"` and no `shards`: burn's optimizer gives its moments only by a
    /// blocking read, which a browser's GPU device cannot do, so a run resumed from it
    /// ([`resume_fused`](Self::resume_fused), on the CPU) starts Adam's moments and bias
    /// correction again from zero at that step. It goes on from the same weights, EMA, step and
    /// batches, and is not bit for bit the uninterrupted run.
    pub async fn snapshot_async(&self, seed: u64) -> Result<Vec<u8>, String> {
        match &self.engine {
            Engine::Fused { .. } => self.snapshot(seed),
            Engine::Burn { trainer, ema } => {
                let net = super::fused::FusedToyNet::from_burn(&trainer.model.valid(), &self.config.net).await?;
                let ema = super::fused::FusedToyNet::from_burn(ema, &self.config.net).await?;
                let mut bufs: Vec<(String, &[f32])> = Vec::new();
                for (name, n) in [("net", &net), ("ema", &ema)] {
                    for (l, d) in n.layers.iter().enumerate() {
                        bufs.push((format!("{name}.{l}.w"), &d.w));
                        bufs.push((format!("{name}.{l}.b"), &d.b));
                    }
                }
                self.snapshot_of(bufs, None, seed)
            }
        }
    }

    /// The snapshot file of these buffers; `shards: None` marks one without Adam's moments.
    fn snapshot_of(&self, bufs: Vec<(String, &[f32])>, shards: Option<usize>, seed: u64) -> Result<Vec<u8>, String> {
        use safetensors::tensor::{Dtype, TensorView};
        let bufs: Vec<(String, Vec<u8>)> = bufs.into_iter().map(|(n, v)| (n, v.iter().flat_map(|x| x.to_le_bytes()).collect())).collect();
        let views = bufs
            .iter()
            .map(|(n, b)| TensorView::new(Dtype::F32, vec![b.len() / 4], b).map(|v| (n.clone(), v)).map_err(|e| format!("{n}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut meta: std::collections::HashMap<String, String> = [
            ("format", TOY_SNAPSHOT_FORMAT.to_string()),
            ("step", self.step.to_string()),
            ("seed", seed.to_string()),
            ("points", format!("{:016x}", points_hash(&self.points))),
            ("config", serde_json::to_string(&self.config).map_err(|e| e.to_string())?),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        match shards {
            Some(s) => meta.insert("shards".into(), s.to_string()),
            None => meta.insert("adam".into(), ADAM_RESET.into()),
        };
        safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())
    }

    /// A fused run that goes on from [`snapshot`](Self::snapshot)'s bytes: the same
    /// configuration, points, seed and shards, or an error that says which differs (or what
    /// in the file is wrong). It ends exactly where the uninterrupted run would have.
    pub fn resume_fused(
        config: ToyTrainConfig,
        points: &[[f32; 2]],
        seed: u64,
        shards: usize,
        device: &Device,
        snapshot: &[u8],
    ) -> Result<ToyTraining, String> {
        let st = safetensors::SafeTensors::deserialize(snapshot).map_err(|e| format!("not a toy training snapshot: {e}"))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(snapshot).map_err(|e| format!("not a toy training snapshot: {e}"))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let field = |k: &str| meta.get(k).cloned().ok_or_else(|| format!("the snapshot has no {k}"));
        if field("format")? != TOY_SNAPSHOT_FORMAT {
            return Err(format!("format {:?}, not {TOY_SNAPSHOT_FORMAT}", field("format")?));
        }
        let mut run = ToyTraining::new_fused(config, points, seed, shards, device);
        let stored: ToyTrainConfig = serde_json::from_str(&field("config")?).map_err(|e| format!("config: {e}"))?;
        if stored != config {
            return Err("it was trained with other settings".into());
        }
        if field("seed")? != seed.to_string() {
            return Err(format!("it was trained with seed {}, not {seed}", field("seed")?));
        }
        if field("points")? != format!("{:016x}", points_hash(&run.points)) {
            return Err("it was trained on other points".into());
        }
        let step: usize = field("step")?.parse().map_err(|_| "step: not a whole number".to_string())?;
        if step > config.steps {
            return Err(format!("step {step} is past the run's {} steps", config.steps));
        }
        let Engine::Fused { trainer, .. } = &mut run.engine else { unreachable!("new_fused makes a fused run") };
        let get = |name: &str, len| crate::run_state::finite_f32s(&st, name, len);
        match meta.get("adam").map(String::as_str) {
            // A burn run's ([`snapshot_async`](Self::snapshot_async)): weights and EMA; Adam
            // starts again.
            Some(ADAM_RESET) => trainer.restore_weights(get)?,
            Some(other) => return Err(format!("adam: {other:?}, not {ADAM_RESET:?}")),
            None => {
                if field("shards")? != trainer.shards().to_string() {
                    return Err(format!("it was trained in {} shards, not {}", field("shards")?, trainer.shards()));
                }
                trainer.restore(get, step)?;
            }
        }
        // The stream's draws of the steps done, replayed (cheap next to a step).
        for _ in 0..step {
            let idx: Vec<usize> = (0..run.config.batch).map(|_| run.order.next(&mut run.rng)).collect();
            ToyBatch::from_indices(&run.points, &idx, &mut run.rng);
        }
        run.step = step;
        Ok(run)
    }
}

/// FNV-1a of the training points' bytes: a snapshot says which points it was trained on.
fn points_hash(points: &[f32]) -> u64 {
    let bytes: Vec<u8> = points.iter().flat_map(|x| x.to_le_bytes()).collect();
    memgen_core::spec::fnv1a64(&bytes)
}

/// Trains for `config.steps` steps in one go; returns the run (for [`ToyTraining::ema_model`])
/// and all losses.
pub async fn train(config: ToyTrainConfig, points: &[[f32; 2]], seed: u64, device: &Device) -> Result<(ToyTraining, Vec<f32>), String> {
    train_to_end(ToyTraining::new(config, points, seed, device)).await
}

/// Runs `run` (burn or fused) to `config.steps`; returns it and the losses of the steps run.
pub async fn train_to_end(mut run: ToyTraining) -> Result<(ToyTraining, Vec<f32>), String> {
    let mut losses = Vec::with_capacity(run.config.steps.saturating_sub(run.steps_done()));
    while !run.finished() {
        losses.extend(run.run_steps(500).await?);
    }
    Ok((run, losses))
}
