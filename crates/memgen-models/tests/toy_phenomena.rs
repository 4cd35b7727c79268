//! The toy's phenomena, natively on the CPU: trained with the fused trainer (the tab's CPU
//! trainer; it follows burn's steps, which `toy::fused`'s tests check), sampled with burn flex.
//! Run in release mode: `cargo test --release -p memgen-models` (debug builds are ~30× slower).
//!
//! - trained K = 2 (browser preset) → ≥ 90% of samples within 0.1 of a training point;
//! - trained K = 1000 → samples near R = 1, every one of 36 angle bins ≥ 50% of uniform;
//! - the probability-flow-ODE energy of the ideal score matches its closed form.

use burn::tensor::Device;
use memgen_core::spec::NoiseStream;
use memgen_models::toy::*;
use std::time::Instant;

fn cpu() -> Device {
    Device::flex()
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn train_and_sample(k: usize, seed: u64, samples: usize) -> (Vec<[f32; 2]>, Vec<[f32; 2]>, Vec<f32>) {
    let t0 = Instant::now();
    let train_pts = circle_points(k, seed);
    let config = ToyTrainConfig::browser();
    // One thread: the tests run in parallel.
    let (run, losses) = pollster::block_on(memgen_models::toy::training::train_to_end(ToyTraining::new_fused(config, &train_pts, seed, 1, &cpu()))).unwrap();
    let t1 = Instant::now();
    let em = EulerMaruyama { count: samples, ..EulerMaruyama::default() };
    let out = pollster::block_on(sample(run.ema_model(), em, &cpu(), NoiseStream::new(seed, STREAM_TOY_SAMPLE))).unwrap();
    let n = losses.len();
    let head: f32 = losses[..100].iter().sum::<f32>() / 100.0;
    let tail: f32 = losses[n - 100..].iter().sum::<f32>() / 100.0;
    eprintln!(
        "K={k}: {} steps in {:.1} s ({:.0} steps/s), loss {head:.3} → {tail:.3}; {samples} samples in {:.1} s",
        n,
        (t1 - t0).as_secs_f64(),
        n as f64 / (t1 - t0).as_secs_f64(),
        t1.elapsed().as_secs_f64()
    );
    assert!(tail < head, "loss did not go down: {head} → {tail}");
    (train_pts, out, losses)
}

#[test]
fn trained_k2_memorizes_the_two_points() {
    let (train_pts, samples, _) = train_and_sample(2, 7, 1000);
    let near = samples.iter().filter(|s| train_pts.iter().any(|y| dist(**s, *y) <= 0.1)).count();
    let frac = near as f64 / samples.len() as f64;
    eprintln!("K=2: {:.1}% of samples within 0.1 of a training point", 100.0 * frac);
    assert!(frac >= 0.9, "only {:.1}% of samples within 0.1 of a training point", 100.0 * frac);
    // both points are visited
    for y in &train_pts {
        let n = samples.iter().filter(|s| dist(**s, *y) <= 0.1).count();
        assert!(n as f64 >= 0.2 * samples.len() as f64, "point {y:?} got only {n} samples");
    }
}

#[test]
fn trained_k1000_covers_the_circle() {
    let (_, samples, _) = train_and_sample(1000, 11, 3000);
    let n = samples.len() as f64;
    let radii: Vec<f32> = samples.iter().map(|s| dist(*s, [0.0, 0.0])).collect();
    let near_ring = radii.iter().filter(|r| (**r - 1.0).abs() <= 0.1).count() as f64 / n;
    let mut sorted: Vec<f32> = radii.iter().map(|r| (r - 1.0).abs()).collect();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median_dev = sorted[sorted.len() / 2];
    let mut bins = [0usize; 36];
    for s in &samples {
        let a = (s[1].atan2(s[0]) as f64).rem_euclid(std::f64::consts::TAU);
        bins[((a / std::f64::consts::TAU * 36.0) as usize).min(35)] += 1;
    }
    let min_bin = *bins.iter().min().unwrap() as f64;
    eprintln!(
        "K=1000: {:.1}% with |R−1| ≤ 0.1, median |R−1| = {median_dev:.3}, smallest angle bin {:.0}% of uniform",
        100.0 * near_ring,
        100.0 * min_bin / (n / 36.0)
    );
    assert!(near_ring >= 0.9, "only {:.1}% of samples with |R−1| ≤ 0.1", 100.0 * near_ring);
    assert!(median_dev <= 0.05, "median |R−1| = {median_dev}");
    assert!(min_bin >= 0.5 * n / 36.0, "angle bins {bins:?}");
}

#[test]
fn ode_energy_of_the_ideal_score_matches_its_closed_form() {
    let grid = grid_points(13, -1.5, 1.5);
    for (k, t) in [(2usize, 0.25f64), (9, 0.15)] {
        let train_pts = circle_points(k, 3);
        let ideal = IdealScore::new(&train_pts, &cpu());
        let t0 = Instant::now();
        let ode = pollster::block_on(ode_energy(&ideal, &grid, t, &OdeConfig::with_train(&train_pts), &cpu())).unwrap();
        let exact = ideal_energy(&train_pts, &grid, t);
        let max_err = ode.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let range = exact.iter().copied().fold(0f32, f32::max);
        eprintln!("K={k}, t={t}: max |E_ode − E_exact| = {max_err:.2e} over an energy range of {range:.2} ({:.1} s)", t0.elapsed().as_secs_f64());
        assert!(max_err <= 0.01 * range.max(1.0), "max error {max_err} (range {range})");
    }
}

#[test]
fn ideal_score_tensor_matches_core() {
    let train_pts = circle_points(5, 1);
    let x = [[0.2f32, 0.3], [-1.0, 0.5], [0.9, -0.1], [0.0, 0.0]];
    for t in [1e-3f64, 0.05, 0.7] {
        let ideal = IdealScore::new(&train_pts, &cpu());
        let xt = burn::tensor::Tensor::<2>::from_data(burn::tensor::TensorData::new(x.iter().flatten().copied().collect::<Vec<f32>>(), [4, 2]), &cpu());
        let tt = burn::tensor::Tensor::<2>::full([4, 1], t as f32, &cpu());
        let got = ideal.score(xt, tt).into_data().try_to_vec::<f32>().unwrap();
        let tm = memgen_core::Matrix::new(train_pts.iter().flatten().copied().collect(), 5, 2).unwrap();
        let xm = memgen_core::Matrix::new(x.iter().flatten().copied().collect(), 4, 2).unwrap();
        let want = memgen_core::ideal_score::ideal_score(&xm, &tm, t.sqrt()).unwrap();
        for (g, w) in got.iter().zip(want.data()) {
            assert!((g - w).abs() <= 1e-3 * (1.0 + w.abs()), "t={t}: {g} vs {w}");
        }
    }
}

#[test]
fn ideal_score_sampler_lands_on_the_points() {
    let train_pts = circle_points(3, 5);
    let ideal = IdealScore::new(&train_pts, &cpu());
    let em = EulerMaruyama { count: 500, ..EulerMaruyama::default() };
    let samples = pollster::block_on(sample(ideal, em, &cpu(), NoiseStream::new(5, STREAM_TOY_SAMPLE))).unwrap();
    let near = samples.iter().filter(|s| train_pts.iter().any(|y| dist(**s, *y) <= 0.1)).count();
    assert!(near as f64 >= 0.98 * samples.len() as f64, "{near} of {}", samples.len());
}

#[test]
fn sampling_in_slices_of_rows_gives_the_whole_steps_bits() {
    // The page samples a few hundred rows at a time to keep each slice of work short; the
    // samples must be the ones `memgen toy` makes in whole steps. A trained network (rows
    // through matmuls) and the ideal score (a softmax over the training points per row).
    let pts = circle_points(5, 3);
    let mut config = ToyTrainConfig::browser();
    config.steps = 50;
    let (run, _) = pollster::block_on(train(config, &pts, 3, &cpu())).unwrap();
    let em = EulerMaruyama { steps: 40, count: 1000, ..EulerMaruyama::default() };
    let noise = || NoiseStream::new(3, STREAM_TOY_SAMPLE);
    let whole = pollster::block_on(sample(run.ema_model(), em, &cpu(), noise())).unwrap();
    let mut parts = Sampling::new(run.ema_model(), em, &cpu(), noise());
    // Uneven slices (333 does not divide 1000), a step finished by run_steps in the middle.
    for _ in 0..7 {
        parts.run_rows(333);
    }
    // 333, 666, 999, then 1 row ends step 1; 333, 666, 999 of step 2.
    assert_eq!(parts.rows_done(), 1999);
    // run_steps finishes the step begun in rows, and counts it.
    assert_eq!(parts.run_steps(1), 2);
    assert_eq!(parts.rows_done(), 2000);
    while !parts.finished() {
        parts.run_rows(333);
    }
    assert_eq!(parts.rows_done(), parts.rows_total());
    let sliced = pollster::block_on(parts.samples()).unwrap();
    assert_eq!(whole, sliced, "slices of rows changed the trained model's samples");
    let ideal = IdealScore::new(&pts, &cpu());
    let whole = pollster::block_on(sample(&ideal, em, &cpu(), noise())).unwrap();
    let mut parts = Sampling::new(&ideal, em, &cpu(), noise());
    while !parts.finished() {
        parts.run_rows(77);
    }
    assert_eq!(whole, pollster::block_on(parts.samples()).unwrap(), "slices of rows changed the ideal score's samples");
}

#[test]
fn a_fused_toy_run_resumed_from_its_snapshot_ends_where_the_uninterrupted_run_does() {
    let pts = circle_points(7, 4);
    let mut config = ToyTrainConfig::browser();
    config.steps = 40;
    let mut whole = ToyTraining::new_fused(config, &pts, 4, 2, &cpu());
    let all = pollster::block_on(whole.run_steps(40)).unwrap();
    let mut first = ToyTraining::new_fused(config, &pts, 4, 2, &cpu());
    let head = pollster::block_on(first.run_steps(17)).unwrap();
    let bytes = first.snapshot(4).unwrap();
    drop(first);
    let mut resumed = ToyTraining::resume_fused(config, &pts, 4, 2, &cpu(), &bytes).unwrap();
    assert_eq!(resumed.steps_done(), 17);
    let tail = pollster::block_on(resumed.run_steps(100)).unwrap();
    assert_eq!([head, tail].concat(), all, "the resumed run's losses differ");
    // Every buffer of the state (weights, EMA, Adam's moments), bit for bit.
    let tensors = |b: &[u8]| {
        let st = safetensors::SafeTensors::deserialize(b).unwrap();
        let mut v: Vec<(String, Vec<u8>)> = st.tensors().into_iter().map(|(n, t)| (n, t.data().to_vec())).collect();
        v.sort();
        v
    };
    let (a, b) = (tensors(&resumed.snapshot(4).unwrap()), tensors(&whole.snapshot(4).unwrap()));
    assert_eq!(a.len(), 4 * 2 * 7);
    assert!(a == b, "the resumed run's state differs");
    // A snapshot of other settings, points, seed or shards is refused with the reason.
    let refused = |r: Result<ToyTraining, String>| r.err().expect("refused");
    let mut other = config;
    other.lr *= 2.0;
    assert!(refused(ToyTraining::resume_fused(other, &pts, 4, 2, &cpu(), &bytes)).contains("other settings"));
    assert!(refused(ToyTraining::resume_fused(config, &circle_points(7, 5), 4, 2, &cpu(), &bytes)).contains("other points"));
    assert!(refused(ToyTraining::resume_fused(config, &pts, 5, 2, &cpu(), &bytes)).contains("seed 4"));
    assert!(refused(ToyTraining::resume_fused(config, &pts, 4, 3, &cpu(), &bytes)).contains("shards"));
    assert!(refused(ToyTraining::resume_fused(config, &pts, 4, 2, &cpu(), &bytes[..bytes.len() / 2])).contains("snapshot"));
}

#[test]
fn a_burn_toy_run_goes_on_on_the_cpu_from_its_snapshot_with_the_same_weights_step_and_batches() {
    // The WebGPU worker's run is a burn run: its snapshot (weights and EMA, read back without
    // blocking; Adam's moments are not readable there) resumes on the fused CPU trainer when the
    // device is lost. Here burn runs on flex; the WebGPU case is the browser test's.
    let pts = circle_points(5, 3);
    let mut config = ToyTrainConfig::browser();
    config.steps = 30;
    let mut whole = ToyTraining::new(config, &pts, 3, &cpu());
    let all = pollster::block_on(whole.run_steps(30)).unwrap();
    let mut first = ToyTraining::new(config, &pts, 3, &cpu());
    let head = pollster::block_on(first.run_steps(12)).unwrap();
    assert_eq!(head, all[..12], "burn runs of one seed differ");
    let bytes = pollster::block_on(first.snapshot_async(3)).unwrap();
    assert!(first.snapshot(3).is_err(), "a burn run has only the async snapshot");
    let mut resumed = ToyTraining::resume_fused(config, &pts, 3, 0, &cpu(), &bytes).unwrap();
    assert_eq!(resumed.steps_done(), 12);
    // The weights and the EMA, bit for bit.
    let buffers = |b: &[u8], prefix: &str| {
        let st = safetensors::SafeTensors::deserialize(b).unwrap();
        let mut v: Vec<(String, Vec<u8>)> = st.tensors().into_iter().filter(|(n, _)| n.starts_with(prefix)).map(|(n, t)| (n, t.data().to_vec())).collect();
        v.sort();
        v
    };
    let again = resumed.snapshot(3).unwrap();
    for prefix in ["net.", "ema.", "adam_"] {
        assert_eq!(buffers(&again, prefix).len(), if prefix == "adam_" { 4 * 7 } else { 2 * 7 });
    }
    assert!(buffers(&again, "net.") == buffers(&bytes, "net.") && buffers(&again, "ema.") == buffers(&bytes, "ema."), "the weights changed on the way");
    assert!(buffers(&bytes, "adam_").is_empty());
    // Step 13's loss is taken before its update, from the same weights on the same batch: equal
    // to the uninterrupted run's up to the two engines' rounding. Later steps differ because
    // Adam started again.
    let tail = pollster::block_on(resumed.run_steps(100)).unwrap();
    assert_eq!(tail.len(), 18);
    let gap = (tail[0] - all[12]).abs() / all[12].abs();
    assert!(gap < 1e-4, "step 13 after the resume: loss {} against {} uninterrupted", tail[0], all[12]);
    assert!(tail.iter().all(|l| l.is_finite()));
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (a, b) = (mean(&tail[12..]), mean(&all[24..]));
    println!("burn → fused resume at step 12: step 13 loss gap {gap:.2e}; mean loss of steps 25-30 {a:.4} resumed, {b:.4} uninterrupted");
    assert!(a < 1.5 * b, "the resumed run trains worse: {a} against {b}");
    // A snapshot claiming another Adam state is refused.
    let mut st_meta = safetensors::SafeTensors::read_metadata(&bytes).unwrap().1.metadata().clone().unwrap();
    st_meta.insert("adam".into(), "kept".into());
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = st.tensors();
    let forged = safetensors::serialize(views, Some(st_meta)).unwrap();
    assert!(ToyTraining::resume_fused(config, &pts, 3, 0, &cpu(), &forged).err().unwrap().contains("adam"));
}

#[test]
fn training_is_deterministic_and_chunkable() {
    let pts = circle_points(4, 9);
    let mut config = ToyTrainConfig::browser();
    config.steps = 6;
    let (_, a) = pollster::block_on(train(config, &pts, 9, &cpu())).unwrap();
    let mut run = ToyTraining::new(config, &pts, 9, &cpu());
    let mut b = pollster::block_on(run.run_steps(2)).unwrap();
    b.extend(pollster::block_on(run.run_steps(100)).unwrap());
    assert_eq!(a, b);
    assert!(run.finished());
    assert!(pollster::block_on(run.run_steps(1)).unwrap().is_empty());
}

#[test]
fn toy_run_writes_train_samples_losses() {
    let out = toy_run(3, 2, 20, 50, ToyPreset::Browser).unwrap();
    assert_eq!(out.train.len(), 3);
    assert_eq!(out.samples.len(), 50);
    assert_eq!(out.losses.len(), 20);
    assert!(out.samples.iter().flatten().all(|v| v.is_finite()));
    assert_eq!(out.train, circle_points(3, 2));
}
