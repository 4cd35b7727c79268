//! `memgen sample`: images from a UNet weights file (a bundle's `weights-k<K>.safetensors`, or
//! your own in that format), with a chosen sampler, as uint8 .npy. For auditing a bundle's
//! model, for `memgen quality`, and for choosing a sampler by measurement.

use crate::sweep::SamplerArg;
use crate::CliError;
use memgen_core::spec::NoiseStream;
use memgen_models::unet::fused::FusedUNet;
use memgen_models::unet::{quantize_u8, sample_images, to_packed, STREAM_UNET_EVAL};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// A UNet weights file (memgen-unet-weights safetensors, as the bundles carry)
    #[arg(long)]
    pub weights: PathBuf,
    /// Number of images
    #[arg(long, default_value_t = 1000)]
    pub n: usize,
    /// Sampler
    #[arg(long, value_enum, default_value = "ddim")]
    pub sampler: SamplerArg,
    /// Sampler steps, 1..=1000 [default: 20 for ddim, 1000 for ddpm]
    #[arg(long)]
    pub sampler_steps: Option<usize>,
    /// Do not clamp x̂_0 to [−1, 1] at each step
    #[arg(long)]
    pub no_clip: bool,
    /// Seed of the sampler noise (stream 4, as a sweep's S_eval: seed = a point's seed gives
    /// its S_eval again)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Images per batch (the result depends on it for DDPM)
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Output .npy (uint8, [n, H, W] grey or [n, H, W, C])
    #[arg(long)]
    pub out: PathBuf,
}

pub fn sample(a: &SampleArgs) -> Result<Value, CliError> {
    let input = |m: String| CliError::Input(m);
    if a.n == 0 || a.n > 1_000_000 || a.batch == 0 {
        return Err(input("--n must lie in 1..=1000000 and --batch be at least 1".into()));
    }
    let config = crate::sweep::sampler_config(a.sampler, a.sampler_steps, a.no_clip, 20)?;
    let bytes = std::fs::read(&a.weights).map_err(|e| input(format!("cannot read {}: {e}", a.weights.display())))?;
    let device = memgen_models::device::LabDevice::cpu().device.inner();
    let (model, net) = memgen_models::unet::snapshot::decode_weights(&bytes, &device).map_err(|e| input(format!("{}: {e}", a.weights.display())))?;
    let fused = FusedUNet::from_unet(&model, net).map_err(|e| input(format!("{}: {e}", a.weights.display())))?;
    let chw = [net.channels, net.height, net.width];
    let mut noise = NoiseStream::new(a.seed, STREAM_UNET_EVAL);
    let bar = crate::sweep::bar(a.n as u64, "sampling".into());
    let started = std::time::Instant::now();
    let x = pollster::block_on(sample_images(&fused, config, a.n, a.batch, chw, &device, &mut noise, |done| bar.set_position(done as u64))).map_err(input)?;
    bar.finish_and_clear();
    let px = to_packed(&quantize_u8(&x), net.height, net.width, net.channels);
    let shape = if net.channels == 1 { vec![a.n, net.height, net.width] } else { vec![a.n, net.height, net.width, net.channels] };
    let npy = memgen_data::npy::encode_u8(&shape, &px).map_err(|e| input(e.to_string()))?;
    std::fs::write(&a.out, &npy).map_err(|e| input(format!("cannot write {}: {e}", a.out.display())))?;
    Ok(json!({
        "out": a.out.display().to_string(),
        "n": a.n,
        "shape": shape,
        "net": net,
        "sampler": config,
        "seed": a.seed,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}
