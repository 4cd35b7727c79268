//! "Under the hood": checks anyone can run in their own browser — the WGSL energy
//! against the Rust core, a burn training step on this page's device, the toy's fused CPU
//! trainer against burn's on this tab's CPU, and the frame time of the GPU path against the
//! CPU path.

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::dense_am::{DenseAm, EnergyForm};
use memgen_core::spec::{NoiseStream, STREAM_NOISE};
use memgen_models::toy::{circle_points, ToyBatch, ToyNetConfig, ToyTrainConfig, ToyTrainer, ToyTraining};

use crate::compute::{self, Path};
use crate::state::Preset;
use crate::widgets::PanelFrame;

/// Largest |gpu − core| / max(|core|, 0.01) over the grid points of two configurations.
async fn shader_check() -> Result<(f64, usize), String> {
    let be = compute::backend().ok_or("backend not ready")?;
    if be.kernels.is_none() {
        return Err("no WebGPU here: the shader cannot run (the CPU fallback uses the core directly)".into());
    }
    let cases = [
        (Preset::CircleEven.memories(9, 1), 10.0, EnergyForm::Dot, [0.0, 0.0, 1.5]),
        (Preset::SquareRandom.memories(1000, 3), 50.0, EnergyForm::Distance, [0.1, -0.2, 1.2]),
        (Preset::CircleRandom.memories(64, 2), 2.0, EnergyForm::Dot, [0.0, 0.0, 2.0]),
    ];
    let mut worst = 0.0f64;
    let mut points = 0;
    for (mems, beta, form, view) in cases {
        let n = 64u32;
        let f = compute::energy_frame(&mems, beta, form, view, n, Path::Auto, true, &|| false).await?;
        let gpu = f.energies.ok_or("the shader returned no energies")?;
        let flat = compute::flat(&mems);
        let am = DenseAm::new(&flat, 2, beta, form);
        let reference = memgen_core::dense_am::energy_grid(&am, view, n as usize, n as usize);
        for (g, c) in gpu.iter().zip(&reference) {
            worst = worst.max((*g as f64 - c).abs() / c.abs().max(0.01));
            points += 1;
        }
    }
    Ok((worst, points))
}

/// Trains the toy score network for `steps` Adam steps on one fixed seeded batch.
async fn train_probe(steps: usize) -> Result<(Vec<f32>, &'static str, f64), String> {
    let be = compute::backend().ok_or("backend not ready")?;
    let device = be.lab.device.clone();
    let mut noise = NoiseStream::new(7, STREAM_NOISE);
    let mut trainer = ToyTrainer::new(&ToyNetConfig::default(), 3e-3, &device, &mut noise);
    let batch = ToyBatch::sample(&[1.0, 0.0, -1.0, 0.0], 256, &mut noise);
    let mut losses = Vec::with_capacity(steps);
    let t0 = crate::browser::now_ms();
    for _ in 0..steps {
        losses.push(trainer.step(&batch).await?);
        crate::browser::yield_now().await;
    }
    let secs = (crate::browser::now_ms() - t0) / 1000.0;
    Ok((losses, if be.kernels.is_some() { "webgpu" } else { "cpu" }, steps as f64 / secs.max(1e-9)))
}

/// The toy's two CPU trainers in this tab, same seed and settings (K = 9, batch 512, browser
/// preset): burn's autodiff on its CPU backend and the fused trainer the toy panel uses,
/// stepped in alternating 2-step chunks. Returns (burn steps/s, fused steps/s, largest
/// relative loss difference, steps).
async fn toy_cpu_compare(steps: usize) -> Result<(f64, f64, f32, usize), String> {
    let device = memgen_models::device::LabDevice::cpu().device;
    let pts = circle_points(9, 0);
    let mut config = ToyTrainConfig::browser();
    config.steps = steps;
    let mut burn = ToyTraining::new(config, &pts, 0, &device);
    let mut fused = ToyTraining::new_fused(config, &pts, 0, 1, &device);
    let (mut tb, mut tf) = (0.0, 0.0);
    let (mut lb, mut lf) = (Vec::new(), Vec::new());
    while !burn.finished() {
        let t0 = crate::browser::now_ms();
        lb.extend(burn.run_steps(2).await?);
        tb += crate::browser::now_ms() - t0;
        crate::browser::yield_now().await;
        let t0 = crate::browser::now_ms();
        lf.extend(fused.run_steps(2).await?);
        tf += crate::browser::now_ms() - t0;
        crate::browser::yield_now().await;
    }
    let worst = lb.iter().zip(&lf).map(|(a, b)| (a - b).abs() / a.abs().max(1e-3)).fold(0.0f32, f32::max);
    Ok((steps as f64 / (tb / 1000.0).max(1e-9), steps as f64 / (tf / 1000.0).max(1e-9), worst, lb.len().min(lf.len())))
}

/// Median frame time (ms) of a 512×512 grid with K = 1000 on the GPU path and one CPU frame.
async fn frame_bench() -> Result<(Option<f64>, f64), String> {
    let be = compute::backend().ok_or("backend not ready")?;
    let mems = Preset::CircleEven.memories(1000, 1);
    let view = [0.0, 0.0, 1.5];
    let draw = |rgba: &[u8]| {
        if let Some(c) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("[data-testid=bench-canvas]").ok().flatten())
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlCanvasElement>(e).ok())
        {
            crate::render::put_pixels(&c, rgba, 512, 512);
        }
    };
    let gpu_ms = if be.kernels.is_some() {
        // One warm-up frame compiles the pipelines' first use.
        let f = compute::energy_frame(&mems, 10.0, EnergyForm::Dot, view, 512, Path::Auto, false, &|| false).await?;
        draw(&f.rgba);
        let mut times = Vec::new();
        for _ in 0..3 {
            let t0 = crate::browser::now_ms();
            let f = compute::energy_frame(&mems, 10.0, EnergyForm::Dot, view, 512, Path::Auto, false, &|| false).await?;
            draw(&f.rgba);
            times.push(crate::browser::now_ms() - t0);
        }
        times.sort_by(f64::total_cmp);
        Some(times[1])
    } else {
        None
    };
    let t0 = crate::browser::now_ms();
    let f = compute::energy_frame(&mems, 10.0, EnergyForm::Dot, view, 512, Path::Cpu, false, &|| false).await?;
    draw(&f.rgba);
    Ok((gpu_ms, crate::browser::now_ms() - t0))
}

/// The self-check panel.
#[component]
pub fn SystemPanel() -> impl IntoView {
    let check = RwSignal::new(None::<Result<(f64, usize), String>>);
    let check_running = RwSignal::new(false);
    let probe = RwSignal::new(None::<Result<(Vec<f32>, &'static str, f64), String>>);
    let probe_running = RwSignal::new(false);
    let cpu_cmp = RwSignal::new(None::<Result<(f64, f64, f32, usize), String>>);
    let cpu_cmp_running = RwSignal::new(false);
    let bench = RwSignal::new(None::<Result<(Option<f64>, f64), String>>);
    let bench_running = RwSignal::new(false);

    let state_of = |running: bool, done: bool, ok: bool| match (running, done, ok) {
        (true, _, _) => "running",
        (false, true, true) => "done",
        (false, true, false) => "error",
        _ => "idle",
    };

    view! {
        <PanelFrame testid="panel-system" title="Under the hood: check this page yourself">
            <p class="explain">"These run in your browser, on the backend shown at the top. Nothing here is precomputed."</p>
            <div class="check">
                <button data-testid="run-shader-check" disabled=move || check_running.get() on:click=move |_| {
                    check_running.set(true);
                    spawn_local(async move {
                        let r = shader_check().await;
                        check.set(Some(r));
                        check_running.set(false);
                    });
                }>"Compare the WGSL energy shader with the Rust core"</button>
                <span data-testid="shader-check"
                    data-state=move || state_of(check_running.get(), check.with(|c| c.is_some()), check.with(|c| matches!(c, Some(Ok(_)))))
                    data-max-rel-err=move || check.with(|c| match c { Some(Ok((e, _))) => format!("{e:e}"), _ => String::new() })>
                    {move || match check.get() {
                        None if check_running.get() => "running…".to_string(),
                        None => String::new(),
                        Some(Ok((e, n))) => format!("max relative error {e:.2e} over {n} grid points (|gpu − core| / max(|core|, 0.01); f32 shader vs f64 core)"),
                        Some(Err(e)) => e,
                    }}
                </span>
            </div>
            <div class="check">
                <button data-testid="run-train-probe" disabled=move || probe_running.get() on:click=move |_| {
                    probe_running.set(true);
                    spawn_local(async move {
                        // End the click's task first: the first step compiles burn's kernels on
                        // this thread for seconds, and "training…" should show before that.
                        crate::browser::yield_now().await;
                        let r = train_probe(12).await;
                        probe.set(Some(r));
                        probe_running.set(false);
                    });
                }>"Train the toy score network for 12 steps (burn, Adam)"</button>
                <span data-testid="train-probe"
                    data-state=move || state_of(probe_running.get(), probe.with(|c| c.is_some()), probe.with(|c| matches!(c, Some(Ok(_)))))
                    data-device=move || probe.with(|p| match p { Some(Ok((_, d, _))) => d.to_string(), _ => String::new() })
                    data-losses=move || probe.with(|p| match p { Some(Ok((l, _, _))) => serde_json::to_string(l).unwrap_or_default(), _ => String::new() })>
                    {move || match probe.get() {
                        None if probe_running.get() => "training… (the first step compiles GPU kernels)".to_string(),
                        None => String::new(),
                        Some(Ok((l, d, sps))) => format!(
                            "on {d}: loss {:.4} → {:.4} over {} steps ({sps:.1} steps/s, batch 256, fixed seeded batch)",
                            l.first().copied().unwrap_or(f32::NAN), l.last().copied().unwrap_or(f32::NAN), l.len()
                        ),
                        Some(Err(e)) => format!("training failed: {e}"),
                    }}
                </span>
            </div>
            <div class="check">
                <button data-testid="run-toy-cpu" disabled=move || cpu_cmp_running.get() on:click=move |_| {
                    cpu_cmp_running.set(true);
                    spawn_local(async move {
                        let r = toy_cpu_compare(20).await;
                        cpu_cmp.set(Some(r));
                        cpu_cmp_running.set(false);
                    });
                }>"Train the toy 20 steps on this tab's CPU twice: burn's autodiff vs the fused trainer (same seed)"</button>
                <span data-testid="toy-cpu"
                    data-state=move || state_of(cpu_cmp_running.get(), cpu_cmp.with(|c| c.is_some()), cpu_cmp.with(|c| matches!(c, Some(Ok(_)))))
                    data-burn-rate=move || cpu_cmp.with(|c| match c { Some(Ok((b, _, _, _))) => format!("{b:.3}"), _ => String::new() })
                    data-fused-rate=move || cpu_cmp.with(|c| match c { Some(Ok((_, f, _, _))) => format!("{f:.3}"), _ => String::new() })
                    data-max-rel-diff=move || cpu_cmp.with(|c| match c { Some(Ok((_, _, d, _))) => format!("{d:e}"), _ => String::new() })
                    data-steps=move || cpu_cmp.with(|c| match c { Some(Ok((_, _, _, n))) => n.to_string(), _ => String::new() })>
                    {move || match cpu_cmp.get() {
                        None if cpu_cmp_running.get() => "training both… (a few seconds)".to_string(),
                        None => String::new(),
                        Some(Ok((b, f, d, n))) => format!(
                            "burn {b:.1} steps/s, fused {f:.1} steps/s ({}), batch 512; the {n} losses agree within {d:.1e} (relative)",
                            speed_ratio("the fused trainer", "burn", f / b.max(1e-9))
                        ),
                        Some(Err(e)) => format!("training failed: {e}"),
                    }}
                </span>
            </div>
            <div class="check">
                <button data-testid="run-frame-bench" disabled=move || bench_running.get() on:click=move |_| {
                    bench_running.set(true);
                    spawn_local(async move {
                        let r = frame_bench().await;
                        bench.set(Some(r));
                        bench_running.set(false);
                    });
                }>"Time a 512×512 energy frame with K = 1000: GPU path vs CPU path"</button>
                <span data-testid="frame-bench"
                    data-state=move || state_of(bench_running.get(), bench.with(|c| c.is_some()), bench.with(|c| matches!(c, Some(Ok(_)))))
                    data-gpu-ms=move || bench.with(|b| match b { Some(Ok((Some(g), _))) => format!("{g:.1}"), _ => String::new() })
                    data-cpu-ms=move || bench.with(|b| match b { Some(Ok((_, c))) => format!("{c:.1}"), _ => String::new() })>
                    {move || match bench.get() {
                        None if bench_running.get() => "timing… (the CPU frame takes a few seconds; the page stays responsive)".to_string(),
                        None => String::new(),
                        Some(Ok((Some(g), c))) => format!("GPU {g:.0} ms, CPU {c:.0} ms per frame: {}", speed_ratio("GPU", "CPU", c / g)),
                        Some(Ok((None, c))) => format!("CPU {c:.0} ms per frame (no WebGPU here)"),
                        Some(Err(e)) => e,
                    }}
                </span>
                <canvas data-testid="bench-canvas" width="512" height="512" class="bench" role="img" aria-label="The benchmark's energy frame, drawn off screen to time the GPU against the CPU."></canvas>
            </div>
        </PanelFrame>
    }
}

/// "A is 2.3× faster than B", or "A is 1.4× slower than B": never "0.9× faster".
fn speed_ratio(a: &str, b: &str, ratio: f64) -> String {
    if !(ratio.is_finite() && ratio > 0.0) {
        format!("{a} and {b} could not be compared")
    } else if ratio >= 1.0 {
        format!("{a} is {ratio:.1}× faster than {b}")
    } else {
        format!("{a} is {:.1}× slower than {b}", 1.0 / ratio)
    }
}
