//! Basin probes and curvature (memgen_models::probe): known answers on the ideal denoiser, the
//! fast search against the linear scan, the Jacobian against burn's autodiff.

use burn::tensor::{Device, Tensor, TensorData};
use memgen_core::spec::NoiseStream;
use memgen_models::probe::{curvature_spectrum, probe_basin, score_jacobian, spectrum_ranks, BasinSettings, ProbeSettings, ScoreJacobian, Search};
use memgen_models::unet::{IdealDenoiser, UNetConfig};

#[allow(deprecated)]
fn cpu() -> Device {
    Device::flex()
}

fn random_images(k: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = NoiseStream::new(seed, 7);
    (0..k * d).map(|_| if rng.uniform() < 0.3 { 1.0 } else { -1.0 }).collect()
}

fn settings(search: Search) -> BasinSettings {
    BasinSettings { stride: 50, sampler_steps: 10, ..BasinSettings { search, ..BasinSettings::paper(0.1) } }
}

/// With one training image the ideal denoiser's posterior is that image at every t: every
/// trial recovers at every level, so t_c is the grid's last t and the radius that of x_t there.
#[test]
fn a_single_memory_is_recovered_at_every_noise_level() {
    let d = 64;
    let x0 = random_images(1, d, 1);
    let device = cpu();
    let ideal = IdealDenoiser::new(&x0, d, &device).unwrap();
    let s = settings(Search::Linear);
    let grid = s.grid();
    let p = pollster::block_on(probe_basin(&ideal, &x0, [1, 8, 8], &s, &device, &mut NoiseStream::new(2, 9), |_| {})).unwrap();
    assert_eq!(p.t_c, Some(*grid.last().unwrap()));
    assert_eq!(p.levels.len(), grid.len());
    assert!(p.levels.iter().all(|l| l.1 == 1.0), "{:?}", p.levels);
    // E r² = (1 − √ᾱ)²‖x0‖² + (1 − ᾱ) d at t_c (‖ε‖² has sd √(2d) ≈ 11 around d).
    let a = memgen_core::schedules::DdpmSchedule::paper().alpha_bars[p.t_c.unwrap()];
    let want_r = ((1.0 - a.sqrt()).powi(2) * d as f64 + (1.0 - a) * d as f64).sqrt();
    assert!((p.radius - want_r).abs() < 1.5, "radius {} (expected about {want_r})", p.radius);
    let want = 32.0 * (std::f64::consts::PI * p.radius * p.radius).ln() - (1..=32).map(|i| (i as f64).ln()).sum::<f64>();
    assert!((p.log_volume - want).abs() < 1e-9);
}

/// Every training point of a small set is a basin of the ideal (memorizing) denoiser up to a
/// large t; bisection finds the linear scan's t_c in far fewer levels on every seeded case.
#[test]
fn training_points_have_deep_basins_and_bisection_finds_the_scan_t_c() {
    let d = 64;
    let device = cpu();
    for (k, seed) in [(2usize, 3u64), (3, 4), (5, 5), (8, 6)] {
        let train = random_images(k, d, seed);
        let ideal = IdealDenoiser::new(&train, d, &device).unwrap();
        for i in 0..k.min(3) {
            let x0 = &train[i * d..(i + 1) * d];
            let lin = pollster::block_on(probe_basin(&ideal, x0, [1, 8, 8], &settings(Search::Linear), &device, &mut NoiseStream::new(seed, i as u64), |_| {}))
                .unwrap();
            let bis =
                pollster::block_on(probe_basin(&ideal, x0, [1, 8, 8], &settings(Search::Bisection), &device, &mut NoiseStream::new(seed, i as u64), |_| {}))
                    .unwrap();
            let t_c = lin.t_c.expect("a training point recovers at t = 1");
            assert!(t_c >= 301, "K = {k}, point {i}: t_c = {t_c}, levels {:?}", lin.levels);
            assert_eq!(bis.t_c, lin.t_c, "K = {k}, point {i}: linear {:?} bisection {:?}", lin.levels, bis.levels);
            assert!(bis.levels.len() <= 6 && bis.levels.len() < lin.levels.len().max(7), "bisection read {} levels", bis.levels.len());
            assert_eq!(bis.radius, lin.radius);
        }
    }
}

/// A point midway between two memories is not an attractor: P(1) < 0.9, no t_c, −∞ volume.
#[test]
fn a_point_off_the_memories_has_no_basin() {
    let d = 64;
    let device = cpu();
    let train = random_images(2, d, 8);
    let ideal = IdealDenoiser::new(&train, d, &device).unwrap();
    let mid: Vec<f32> = (0..d).map(|j| 0.5 * (train[j] + train[d + j])).collect();
    let p = pollster::block_on(probe_basin(&ideal, &mid, [1, 8, 8], &settings(Search::Linear), &device, &mut NoiseStream::new(1, 1), |_| {})).unwrap();
    assert_eq!(p.t_c, None);
    assert_eq!(p.levels.len(), 1);
    assert!(p.log_volume == f64::NEG_INFINITY && p.radius == 0.0);
    // JSON has no −∞: it goes out as null and comes back as −∞ (a probe file stays readable).
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"log_volume\":null"), "{json}");
    assert_eq!(serde_json::from_str::<memgen_models::probe::BasinProbe>(&json).unwrap(), p);
    // Per-label summaries: no basin means no log-volume mean, but the sample is counted.
    let sp = memgen_models::probe::SampleProbe {
        index: 0,
        label: memgen_core::metrics::Label::Spurious,
        basin: p.clone(),
        spectrum_f16: memgen_models::probe::encode_f16(&[3.0, 1.0]),
        mean_singular_value: None,
    };
    let deep = memgen_models::probe::BasinProbe { t_c: Some(101), radius: 2.0, log_volume: 1.5, levels: vec![(1, 1.0)] };
    let g = |lv: f64| memgen_models::probe::SampleProbe {
        label: memgen_core::metrics::Label::Generalized,
        basin: memgen_models::probe::BasinProbe { log_volume: lv, ..deep.clone() },
        ..sp.clone()
    };
    let sums = memgen_models::probe::label_summaries(&[sp.clone(), g(1.0), g(3.0)], 200, 1).unwrap();
    assert_eq!(sums.len(), 2);
    assert_eq!((sums[0].count, sums[0].with_basin, sums[0].log_volume), (1, 0, None));
    assert_eq!(sums[0].mean_singular_value.unwrap().mean, 2.0);
    assert_eq!((sums[1].count, sums[1].with_basin), (2, 2));
    let lv = sums[1].log_volume.unwrap();
    assert!((lv.mean - 2.0).abs() < 0.15 && lv.lo >= 1.0 && lv.hi <= 3.0, "{lv:?}");
    assert_eq!(sums[1].spectrum_mean, vec![3.0, 1.0]);
    // A cut spectrum's record keeps the mean over every rank, and the summary uses it.
    let cut = ProbeSettings { basin: settings(Search::Linear), curvature_t: 10, curvature_h: 0.01, seed: 0, spectrum_ranks: Some(vec![1, 4]) };
    let rec = memgen_models::probe::SampleProbe::new(5, memgen_core::metrics::Label::Memorized, deep.clone(), &[8.0, 4.0, 2.0, 2.0], &cut);
    assert_eq!((rec.mean_singular_value, memgen_models::probe::decode_f16(&rec.spectrum_f16).unwrap()), (Some(4.0), vec![8.0, 2.0]));
    assert_eq!(memgen_models::probe::label_summaries(&[rec], 200, 1).unwrap()[0].mean_singular_value.unwrap().mean, 4.0);
    let bad = BasinSettings { delta: -1.0, ..settings(Search::Linear) };
    assert!(pollster::block_on(probe_basin(&ideal, &mid, [1, 8, 8], &bad, &device, &mut NoiseStream::new(1, 1), |_| {})).is_err());
    assert!(pollster::block_on(probe_basin(&ideal, &mid[..10], [1, 8, 8], &settings(Search::Linear), &device, &mut NoiseStream::new(1, 1), |_| {})).is_err());
}

/// The finite-difference score Jacobian of a small UNet equals burn's autodiff Jacobian, row by
/// row; its singular values are those of that matrix.
#[test]
fn score_jacobian_equals_autodiff() {
    let net = UNetConfig { base_channels: 8, groups: 4, height: 8, width: 8, mult: [1, 2, 2], ..UNetConfig::grey() };
    let d = 64;
    let t = 10;
    let plain = cpu();
    let ad = plain.clone().autodiff();
    let model = net.init(&ad, &mut NoiseStream::new(1, 1));
    let mut x = vec![0f32; d];
    NoiseStream::new(3, 3).fill_normal_f32(&mut x);
    let fd = score_jacobian(&model, &x, t, [1, 8, 8], 1e-2, 64, &ad).unwrap();
    let sigma = (1.0 - memgen_core::schedules::DdpmSchedule::paper().alpha_bars[t]).sqrt();
    let mut worst = 0f64;
    let mut scale = 0f64;
    for i in 0..d {
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 1, 8, 8]), &ad).require_grad();
        let eps = model.forward(xt.clone(), &[t]);
        let grads = eps.reshape([d]).narrow(0, i, 1).sum().backward();
        let g = xt.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
        for j in 0..d {
            let want = -(g[j] as f64) / sigma;
            worst = worst.max((fd.row(i)[j] as f64 - want).abs());
            scale = scale.max(want.abs());
        }
    }
    assert!(scale > 0.1, "a Jacobian of scale {scale}");
    assert!(worst <= 1e-2 * scale, "max |finite differences − autodiff| = {worst} (scale {scale})");
    let sv = curvature_spectrum(&model, &x, t, [1, 8, 8], 1e-2, &ad).unwrap();
    assert_eq!(sv.len(), d);
    assert!(sv.windows(2).all(|w| w[0] >= w[1]) && sv[d - 1] >= 0.0);
    let fro: f64 = fd.data().iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    assert!((sv.iter().map(|s| s * s).sum::<f64>() - fro).abs() <= 1e-3 * fro, "Σσ² equals ‖J‖²_F");
    // The page's way, a few columns at a time (uneven chunks, the last one short), gives the
    // same matrix as the CLI's batches; an unfinished one is refused.
    let mut steps = ScoreJacobian::new(&x, t, [1, 8, 8], 1e-2).unwrap();
    assert_eq!((steps.done(), steps.columns()), (0, d));
    for n in [3, 0, 7].iter().cycle() {
        if steps.finished() {
            break;
        }
        let before = steps.done();
        steps.step(&model, *n, &ad).unwrap();
        assert_eq!(steps.done(), (before + (*n).max(1)).min(d));
    }
    let chunked = steps.matrix().unwrap();
    let worst_chunk = chunked.data().iter().zip(fd.data()).map(|(a, b)| (a - b).abs() as f64).fold(0f64, f64::max);
    assert!(worst_chunk <= 1e-5 * scale, "chunked against batched: {worst_chunk}");
    // The page's WebGPU way reads each batch back without blocking: the same columns.
    let mut asynced = ScoreJacobian::new(&x, t, [1, 8, 8], 1e-2).unwrap();
    for n in [3, 0, 7].iter().cycle() {
        if asynced.finished() {
            break;
        }
        pollster::block_on(asynced.step_async(&model, *n, &ad)).unwrap();
    }
    assert_eq!(asynced.matrix().unwrap().data(), chunked.data(), "step_async against step");
    let mut part = ScoreJacobian::new(&x, t, [1, 8, 8], 1e-2).unwrap();
    part.step(&model, 5, &ad).unwrap();
    assert_eq!(part.matrix().unwrap_err(), "score_jacobian: 5 of 64 columns done");
    assert!(ScoreJacobian::new(&x, 1000, [1, 8, 8], 1e-2).is_err() && ScoreJacobian::new(&x[..10], t, [1, 8, 8], 1e-2).is_err());
}

/// The kept ranks of a spectrum: `n` of them, 1 and `d` included, strictly increasing, about
/// evenly spaced in log rank; all of them when `n ≥ d`. A settings' `keep` takes those values.
#[test]
fn spectrum_ranks_are_log_spaced_and_keep_takes_them() {
    for (d, n) in [(784, 256), (784, 2), (784, 783), (64, 16), (10, 9), (3072, 256)] {
        let r = spectrum_ranks(d, n);
        assert_eq!(r.len(), n, "{d}, {n}");
        assert_eq!((r[0], r[n - 1]), (1, d), "{d}, {n}");
        assert!(r.windows(2).all(|w| w[0] < w[1]), "{d}, {n}: {r:?}");
    }
    assert_eq!(spectrum_ranks(784, 784), (1..=784).collect::<Vec<_>>());
    assert_eq!(spectrum_ranks(5, 100), vec![1, 2, 3, 4, 5]);
    assert_eq!((spectrum_ranks(784, 0), spectrum_ranks(784, 1)), (vec![], vec![1]));
    // Every rank up to where the log spacing passes one rank, then a near-constant ratio.
    let r = spectrum_ranks(784, 256);
    let dense = r.windows(2).take_while(|w| w[1] == w[0] + 1).count() + 1;
    assert!((150..240).contains(&dense), "every rank up to {}", r[dense - 1]);
    let tail: Vec<f64> = r[dense - 1..].windows(2).map(|w| (w[1] as f64 / w[0] as f64).ln()).collect();
    let step = ((784.0 / r[dense - 1] as f64).ln()) / tail.len() as f64;
    assert!(tail.iter().all(|g| (g - step).abs() < 0.5 * step), "log steps {tail:?} around {step}");
    let full: Vec<f64> = (0..784).map(|i| 784.0 - i as f64).collect();
    let basin = BasinSettings::paper(1.7);
    let cut = ProbeSettings { basin, curvature_t: 10, curvature_h: 0.01, seed: 0, spectrum_ranks: Some(r.clone()) };
    assert_eq!(cut.keep(&full), r.iter().map(|&i| 785.0 - i as f64).collect::<Vec<_>>());
    assert_eq!(cut.ranks(256), r);
    let all = ProbeSettings { spectrum_ranks: None, ..cut };
    assert_eq!((all.keep(&full), all.ranks(3)), (full.clone(), vec![1, 2, 3]));
}

/// A level's trials in one batch (how the WebGPU worker reads a level) equal each trial taken
/// back alone in a batch of one (as the page's CPU path takes them, with the fused network,
/// between frames; the browser tests compare those two paths): the same noised `x_t` and, to
/// float rounding, the same `x̂₀`, so both read the same `P(t)`; the progress reports each
/// level as it is read.
#[test]
fn a_levels_trials_batched_equal_each_trial_alone() {
    use memgen_models::probe::{recovery_distances, recovery_trials};
    let net = UNetConfig { base_channels: 8, groups: 4, height: 8, width: 8, mult: [1, 2, 2], ..UNetConfig::grey() };
    let (d, t, steps) = (64, 301, 5);
    let device = cpu();
    let model = net.init(&device, &mut NoiseStream::new(4, 4));
    let x0 = random_images(1, d, 9);
    let eps: Vec<f32> = (0..4 * d)
        .map({
            let mut n = NoiseStream::new(5, 5);
            move |_| n.normal() as f32
        })
        .collect();
    let (xt, y) = pollster::block_on(recovery_trials(&model, &x0, &eps, t, [1, 8, 8], steps, &device)).unwrap();
    assert_eq!((xt.len(), y.len()), (4 * d, 4 * d));
    let mut worst = 0f32;
    for k in 0..4 {
        let (xk, yk) = pollster::block_on(recovery_trials(&model, &x0, &eps[k * d..(k + 1) * d], t, [1, 8, 8], steps, &device)).unwrap();
        assert_eq!(xk, xt[k * d..(k + 1) * d], "trial {k}: the same noised image");
        worst = worst.max(yk.iter().zip(&y[k * d..(k + 1) * d]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max));
    }
    assert!(worst < 1e-4, "batched against alone: {worst}");
    assert!(y.chunks_exact(d).all(|yk| yk.iter().zip(&x0).any(|(a, b)| (a - b).abs() > 1e-3)), "the untrained net does not just copy x0");
    let dist = pollster::block_on(recovery_distances(&model, &x0, &eps, t, [1, 8, 8], steps, &device)).unwrap();
    let want: Vec<f64> = y.chunks_exact(d).map(|yk| memgen_models::probe::pixel_distance(yk, &x0)).collect();
    assert_eq!(dist, want);
    // Bad shapes are refused, not run.
    assert!(pollster::block_on(recovery_trials(&model, &x0, &eps[..d + 1], t, [1, 8, 8], steps, &device)).is_err());
    assert!(pollster::block_on(recovery_trials(&model, &x0, &eps, 0, [1, 8, 8], steps, &device)).is_err());
    // Progress: one report a level, in the order read, ending with the search's levels.
    let mut seen = Vec::new();
    let s = settings(Search::Bisection);
    let p = pollster::block_on(probe_basin(&model, &x0, [1, 8, 8], &s, &device, &mut NoiseStream::new(6, 6), |l| seen.push(l))).unwrap();
    assert_eq!(seen.len(), p.levels.len());
    assert!(seen.iter().enumerate().all(|(i, l)| l.read == i + 1 && l.most >= l.read));
    let mut by_t: Vec<(usize, f64)> = seen.iter().map(|l| (l.t, l.share)).collect();
    by_t.sort_by_key(|l| l.0);
    assert_eq!(by_t, p.levels);
}
