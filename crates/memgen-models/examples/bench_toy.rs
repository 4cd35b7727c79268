//! Training steps/s of the toy network natively (benchmark, not a test).
//! `cargo run --release -p memgen-models --example bench_toy -- [cpu|flex|fused|fused1|wgpu] [steps] [batch]`
//! (`cpu` = burn ndarray, `flex` = burn flex, `fused` = the fused CPU trainer on all cores,
//! `fused1` = on one thread)
//! Prints one JSON line. Each step = batch draw + forward + backward + Adam + EMA update,
//! as in `tests/reference/toy_torch.py`. Losses are read back once per 50-step chunk.

use burn::tensor::Device;
use memgen_models::toy::{circle_points, ToyTrainConfig, ToyTraining};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).map(String::as_str).unwrap_or("cpu").to_string();
    let steps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    let batch: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(512);
    let device = match backend.as_str() {
        "wgpu" => match memgen_models::device::wgpu_device() {
            Ok(d) => d,
            Err(e) => {
                println!("{{\"impl\": \"burn-wgpu\", \"error\": {}}}", serde_json::to_string(&e).unwrap());
                return;
            }
        },
        #[allow(deprecated)]
        "flex" | "fused" | "fused1" => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        _ => Device::ndarray(),
        #[cfg(not(feature = "ndarray"))]
        _ => {
            println!("{{\"impl\": \"burn-ndarray\", \"error\": \"built without --features ndarray\"}}");
            return;
        }
    };
    let pts = circle_points(1000, 0);
    let mut config = ToyTrainConfig::browser();
    config.batch = batch;
    let warmup = 30;
    config.steps = warmup + steps;
    let mut run = match backend.as_str() {
        "fused" => ToyTraining::new_fused(config, &pts, 0, 0, &device),
        "fused1" => ToyTraining::new_fused(config, &pts, 0, 1, &device),
        _ => ToyTraining::new(config, &pts, 0, &device),
    };
    pollster::block_on(run.run_steps(warmup)).unwrap();
    let t0 = Instant::now();
    let mut last = 0.0;
    while !run.finished() {
        last = *pollster::block_on(run.run_steps(50)).unwrap().last().unwrap();
    }
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{{\"impl\": \"burn-{backend}\", \"batch\": {batch}, \"steps\": {steps}, \"steps_per_s\": {:.2}, \"ms_per_step\": {:.3}, \"final_loss\": {last:.4}}}",
        steps as f64 / dt,
        1e3 * dt / steps as f64
    );
}
