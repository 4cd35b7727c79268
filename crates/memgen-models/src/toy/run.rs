//! One-call native entry point for the CLI (`memgen toy`): train, sample, return everything.

use super::{circle_points, train, ToyPreset, ToyTrainConfig, ToyTraining};
use burn::tensor::Device;

/// Which native backend [`toy_run_with`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NativeBackend {
    /// burn's flex CPU backend (default; 1.2–1.6× ndarray's steps/s on the toy, same losses:
    /// `scripts/bench-toy.sh`).
    #[default]
    Cpu,
    /// burn's wgpu backend (a GPU, or lavapipe's software Vulkan); an error if no adapter is
    /// found or the build lacks the `gpu` feature.
    Wgpu,
    /// The fused CPU trainer ([`super::fused`]: the same network, batches, Adam and EMA
    /// without burn's graph, all cores); sampling and the energy then run on burn flex.
    Fused,
}

/// Everything a `memgen toy` run produces.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyRunOutput {
    /// The `K` training points (uniform on the unit circle, from the seed).
    pub train: Vec<[f32; 2]>,
    /// Samples of the EMA model (Euler–Maruyama, 1000 steps, t = 1 → 1e-3).
    pub samples: Vec<[f32; 2]>,
    /// Training loss of every step.
    pub losses: Vec<f32>,
}

/// Trains the toy on `k` circle points with `preset` (`steps = 0`: the preset's number of
/// steps), then draws `samples` samples from the EMA weights, on the CPU (burn flex).
/// Deterministic for a given `(k, seed, steps, samples, preset)`.
pub fn toy_run(k: usize, seed: u64, steps: usize, samples: usize, preset: ToyPreset) -> Result<ToyRunOutput, String> {
    toy_run_with(k, seed, steps, samples, ToyTrainConfig::preset(preset, k), NativeBackend::Cpu)
}

/// [`toy_run`] with an explicit config (its `steps` replaced by `steps` unless 0) and backend.
pub fn toy_run_with(k: usize, seed: u64, steps: usize, samples: usize, config: ToyTrainConfig, backend: NativeBackend) -> Result<ToyRunOutput, String> {
    toy_run_model(k, seed, steps, samples, config, backend).map(|(out, _, _)| out)
}

/// [`toy_run_with`], also returning the EMA network and the device it lives on.
pub fn toy_run_model(
    k: usize,
    seed: u64,
    steps: usize,
    samples: usize,
    mut config: ToyTrainConfig,
    backend: NativeBackend,
) -> Result<(ToyRunOutput, super::ToyScoreNet, Device), String> {
    if k == 0 {
        return Err("k must be at least 1".into());
    }
    if samples == 0 {
        return Err("samples must be at least 1".into());
    }
    if steps > 0 {
        config.steps = steps;
    }
    let device = match backend {
        #[allow(deprecated)]
        NativeBackend::Cpu | NativeBackend::Fused => Device::flex(),
        NativeBackend::Wgpu => crate::device::wgpu_device()?,
    };
    let train_pts = circle_points(k, seed);
    let (run, losses) = if backend == NativeBackend::Fused {
        pollster::block_on(super::training::train_to_end(ToyTraining::new_fused(config, &train_pts, seed, 0, &device)))?
    } else {
        pollster::block_on(train(config, &train_pts, seed, &device))?
    };
    let model = run.ema_model();
    let mut sampling = super::sampler::toy_sampling(model.clone(), samples, seed, &device.clone().inner());
    sampling.run_steps(usize::MAX);
    let out = pollster::block_on(sampling.samples())?;
    Ok((ToyRunOutput { train: train_pts, samples: out, losses }, model, device))
}

/// Grid of the learned energy stored in a checkpoint: `n × n` points over `[−1.5, 1.5]²`.
pub const CHECKPOINT_GRID: usize = 32;

/// Trains like [`toy_run`] and returns the run and a checkpoint (see [`super::checkpoint`])
/// holding the EMA weights, the training points, the samples, and the learned energy
/// (probability-flow ODE, 100 RK4 steps) on a [`CHECKPOINT_GRID`]² grid at time `t`;
/// `command` is recorded in the metadata.
pub fn toy_run_checkpoint(
    k: usize,
    seed: u64,
    steps: usize,
    samples: usize,
    preset: ToyPreset,
    t: f64,
    backend: NativeBackend,
    command: &str,
) -> Result<(ToyRunOutput, Vec<u8>), String> {
    let config = ToyTrainConfig::preset(preset, k);
    let (out, model, device) = toy_run_model(k, seed, steps, samples, config, backend)?;
    let n = CHECKPOINT_GRID;
    let grid = super::grid_points(n, -1.5, 1.5);
    let energy = pollster::block_on(super::ode_energy(&model, &grid, t, &super::OdeConfig::with_train(&out.train), &device.clone().inner()))?;
    let mut meta = std::collections::BTreeMap::new();
    let tail = out.losses.len().saturating_sub(100);
    let final_loss = out.losses[tail..].iter().sum::<f32>() / (out.losses.len() - tail).max(1) as f32;
    for (key, v) in [
        ("command", command.to_string()),
        ("k", k.to_string()),
        ("seed", seed.to_string()),
        ("steps", if steps > 0 { steps } else { config.steps }.to_string()),
        ("preset", format!("{preset:?}").to_lowercase()),
        ("engine", format!("{backend:?}").to_lowercase()),
        ("lr", config.lr.to_string()),
        // The whole training config as JSON (the fields above stay for earlier readers).
        ("config", serde_json::to_string(&ToyTrainConfig { steps: if steps > 0 { steps } else { config.steps }, ..config }).map_err(|e| e.to_string())?),
        ("batch", config.batch.to_string()),
        ("ema_decay", config.ema_decay.to_string()),
        ("final_loss_mean_last_100", format!("{final_loss:.5}")),
        ("energy_t", t.to_string()),
        ("energy_grid", format!("{n}x{n} over [-1.5, 1.5]^2, row-major, y increasing with the row")),
        ("sampler", "Euler-Maruyama, 1000 steps, t = 1 -> 1e-3".to_string()),
        ("version", env!("CARGO_PKG_VERSION").to_string()),
    ] {
        meta.insert(key.to_string(), v);
    }
    let flat = |v: &[[f32; 2]]| v.iter().flatten().copied().collect::<Vec<f32>>();
    let bytes = super::checkpoint::encode(
        &model,
        &config.net,
        &[("train", vec![out.train.len(), 2], flat(&out.train)), ("samples", vec![out.samples.len(), 2], flat(&out.samples)), ("energy", vec![n, n], energy)],
        &meta,
    )?;
    Ok((out, bytes))
}
