//! One-call native entry point for the CLI (`memgen toy`): train, sample, return everything.

use super::{circle_points, sample, train, EulerMaruyama, ToyPreset, ToyTrainConfig, STREAM_TOY_SAMPLE};
use burn::tensor::Device;
use memgen_core::spec::NoiseStream;

/// Which native backend [`toy_run_with`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NativeBackend {
    /// burn's ndarray CPU backend (default).
    #[default]
    Cpu,
    /// burn's wgpu backend (a GPU, or lavapipe's software Vulkan); falls back to an error if
    /// no adapter is found.
    Wgpu,
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
/// steps), then draws `samples` samples from the EMA weights, on the CPU (burn ndarray).
/// Deterministic for a given `(k, seed, steps, samples, preset)`.
pub fn toy_run(k: usize, seed: u64, steps: usize, samples: usize, preset: ToyPreset) -> Result<ToyRunOutput, String> {
    toy_run_with(k, seed, steps, samples, ToyTrainConfig::preset(preset, k), NativeBackend::Cpu)
}

/// [`toy_run`] with an explicit config (its `steps` replaced by `steps` unless 0) and backend.
pub fn toy_run_with(k: usize, seed: u64, steps: usize, samples: usize, mut config: ToyTrainConfig, backend: NativeBackend) -> Result<ToyRunOutput, String> {
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
        NativeBackend::Cpu => Device::ndarray(),
        NativeBackend::Wgpu => Device::wgpu_options().init().map_err(|e| format!("no wgpu adapter: {e:?}"))?,
    };
    let train_pts = circle_points(k, seed);
    let (run, losses) = pollster::block_on(train(config, &train_pts, seed, &device))?;
    let em = EulerMaruyama { count: samples, ..EulerMaruyama::default() };
    let out = pollster::block_on(sample(run.ema_model(), em, &device.clone().inner(), NoiseStream::new(seed, STREAM_TOY_SAMPLE)))?;
    Ok(ToyRunOutput { train: train_pts, samples: out, losses })
}
