//! Speed of the UNet natively: training steps/s at a batch size and sampling images/s
//! (DDIM), on the chosen backend. Used by `scripts/bench-unet.sh`; prints one JSON line.
//!
//! `cargo run --profile native-test -p memgen-models --example bench_unet -- [cpu|ndarray|wgpu|fused|fused1]
//!  [batch] [train_steps] [sample_batch] [sample_steps] [base_channels]`
//! (`fused`: the fused CPU trainer and forward pass on rayon's threads; `fused1` is the same,
//! labelled for a run under `RAYON_NUM_THREADS=1`).
use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::spec::NoiseStream;
use memgen_models::unet::fused::FusedUNetTraining;
use memgen_models::unet::{EpsilonModel, UNetConfig, UNetTrainConfig, UNetTraining};
use std::time::Instant;

enum Model {
    Burn(memgen_models::unet::UNet),
    Fused(memgen_models::unet::fused::FusedUNet),
}

impl EpsilonModel for Model {
    fn epsilon(&self, x: Tensor<4>, t: usize) -> Tensor<4> {
        match self {
            Model::Burn(m) => m.epsilon(x, t),
            Model::Fused(m) => m.epsilon(x, t),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let backend = args.get(1).cloned().unwrap_or_else(|| "cpu".into());
    let (batch, steps, sbatch, ssteps, base) = (arg(2, 64), arg(3, 20), arg(4, 256), arg(5, 10), arg(6, 16));
    #[allow(deprecated)]
    let device = match backend.as_str() {
        "cpu" | "flex" | "fused" | "fused1" => Device::flex(),
        #[cfg(feature = "ndarray")]
        "ndarray" => Device::ndarray(),
        #[cfg(not(feature = "ndarray"))]
        "ndarray" => panic!("built without the ndarray backend: cargo run --features memgen-models/ndarray …"),
        "wgpu" => memgen_models::device::wgpu_device().unwrap_or_else(|e| panic!("{e}")),
        other => panic!("unknown backend {other}"),
    };
    let net = UNetConfig { base_channels: base, ..UNetConfig::grey() };
    let cfg = UNetTrainConfig { batch, steps: steps + 2, ..memgen_models::presets::Preset::Quick.defaults().training(net) };
    let mut rng = NoiseStream::new(1, 9);
    let mut images = vec![0f32; 64 * net.image_len()];
    rng.fill_normal_f32(&mut images);
    // fused: the hand-written trainer and forward pass (4 shards of the batch on rayon's
    // threads: RAYON_NUM_THREADS=1 for one core), as `memgen sweep --engine fused`.
    let (losses, train_s, model, params) = if backend.starts_with("fused") {
        let mut run = FusedUNetTraining::new(cfg, &images, 0, 4).unwrap();
        run.run_steps(2); // warm-up
        let t0 = Instant::now();
        let losses = run.run_steps(steps);
        let train_s = t0.elapsed().as_secs_f64();
        (losses, train_s, Model::Fused(run.ema_fused()), run.num_params())
    } else {
        let mut run = UNetTraining::new(cfg, &images, 0, &device).unwrap();
        pollster::block_on(run.run_steps(2)).unwrap(); // warm-up
        let t0 = Instant::now();
        let losses = pollster::block_on(run.run_steps(steps)).unwrap();
        let train_s = t0.elapsed().as_secs_f64();
        (losses, train_s, Model::Burn(run.ema_model()), run.num_params())
    };
    let plain = device.clone();
    let mut x = vec![0f32; sbatch * net.image_len()];
    rng.fill_normal_f32(&mut x);
    let xt = Tensor::<4>::from_data(TensorData::new(x, [sbatch, 1, 28, 28]), &plain);
    let _ = pollster::block_on(model.epsilon(xt.clone(), 10).into_data_async());
    let t0 = Instant::now();
    let mut y = xt;
    for i in 0..ssteps {
        y = model.epsilon(y, 999 - i) * 0.5;
    }
    let _ = pollster::block_on(y.into_data_async());
    let sample_s = t0.elapsed().as_secs_f64();
    println!(
        "{{\"backend\":\"{backend}\",\"params\":{},\"batch\":{batch},\"train_steps_per_s\":{},\"sample_batch\":{sbatch},\"sample_evals\":{ssteps},\"network_evals_images_per_s\":{},\"loss_last\":{}}}",
        params,
        steps as f64 / train_s,
        (sbatch * ssteps) as f64 / sample_s,
        losses.last().copied().unwrap_or(f32::NAN)
    );
}
