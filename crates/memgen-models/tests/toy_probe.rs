//! The toy's basin probe and energy Hessian (memgen_models::toy::basin): known answers on the
//! ideal score, the bisection against the linear scan, the Hessian against its closed form.

use burn::tensor::Device;
use memgen_core::basin::Search;
use memgen_models::toy::basin::{ideal_energy_hessian, probe_toy_basin, symmetric_eigenvalues, toy_energy_hessian, ToyBasinSettings};
use memgen_models::toy::{circle_points, IdealScore};

#[allow(deprecated)]
fn cpu() -> Device {
    Device::flex()
}

/// A coarser grid than the authors' 500 levels, so the linear scan stays quick.
fn coarse(search: Search) -> ToyBasinSettings {
    ToyBasinSettings { levels: 40, search, ..ToyBasinSettings::paper() }
}

/// Two memories two apart: each keeps a basin far up in t (a noised copy must cross the
/// midpoint to be lost), the midpoint has none, and the radius is σ√t_c‖z‖ of a disc.
#[test]
fn memories_have_basins_and_the_midpoint_has_none() {
    let device = cpu();
    let train = [[1.0f32, 0.0], [-1.0, 0.0]];
    let ideal = IdealScore::new(&train, &device);
    let s = coarse(Search::Linear);
    let p = pollster::block_on(probe_toy_basin(&ideal, train[0], &s, 3, &device, |_, _| {})).unwrap();
    let t_c = p.t_c.expect("a memory has a basin");
    assert!(t_c >= 0.2, "t_c = {t_c}: {:?}", p.levels);
    assert!(p.levels.iter().take_while(|l| l.0 <= t_c).all(|l| l.1 >= 0.9));
    assert!(p.radius > 0.0 && p.radius < 5.0 * t_c.sqrt(), "radius {}", p.radius);
    assert!((p.log_volume - (std::f64::consts::PI * p.radius * p.radius).ln()).abs() < 1e-9);
    let mid = pollster::block_on(probe_toy_basin(&ideal, [0.0, 0.0], &s, 3, &device, |_, _| {})).unwrap();
    assert_eq!(mid.t_c, None, "{:?}", mid.levels);
    assert_eq!(mid.levels.len(), 1);
    assert!(mid.levels[0].1 <= 0.1, "the midpoint is left for a memory: P = {}", mid.levels[0].1);
    assert_eq!(mid.log_volume, f64::NEG_INFINITY);
}

/// On seeded cases (training points, spurious midpoints and random points of K = 2…6 circle
/// sets) the bisection finds the linear scan's t_c, reading fewer levels.
#[test]
fn bisection_finds_the_linear_scans_critical_time() {
    let device = cpu();
    let mut cases = 0;
    let mut read = (0, 0);
    for k in [2usize, 3, 6] {
        let train = circle_points(k, k as u64);
        let ideal = IdealScore::new(&train, &device);
        let mid = [(train[0][0] + train[1][0]) / 2.0, (train[0][1] + train[1][1]) / 2.0];
        for (seed, x0) in [(1u64, train[0]), (2, train[k - 1]), (3, mid), (4, [0.3, -0.2])] {
            let lin = pollster::block_on(probe_toy_basin(&ideal, x0, &coarse(Search::Linear), seed, &device, |_, _| {})).unwrap();
            let bis = pollster::block_on(probe_toy_basin(&ideal, x0, &coarse(Search::Bisection), seed, &device, |_, _| {})).unwrap();
            assert_eq!(bis.t_c, lin.t_c, "K = {k}, x0 = {x0:?}: linear {:?}, bisection {:?}", lin.levels, bis.levels);
            assert_eq!(bis.radius, lin.radius);
            read.0 += lin.levels.len();
            read.1 += bis.levels.len();
            cases += 1;
        }
    }
    assert_eq!(cases, 12);
    assert!(read.1 < read.0, "bisection read {} levels, the linear scan {}", read.1, read.0);
}

/// The finite-difference Hessian of the ideal score's energy equals 2(I − Cov_w/(σ²t)) at
/// memories (≈ 2I: a well), at midpoints (a saddle: one negative eigenvalue) and elsewhere.
#[test]
fn hessian_matches_the_ideal_energys_closed_form() {
    let device = cpu();
    for (k, t) in [(2usize, 0.15), (9, 0.05), (9, 0.3)] {
        let train = circle_points(k, 11);
        let ideal = IdealScore::new(&train, &device);
        let mid = [(train[0][0] + train[1][0]) / 2.0, (train[0][1] + train[1][1]) / 2.0];
        for x in [train[0], mid, [0.1, 0.2], [-0.7, 0.4]] {
            let h = pollster::block_on(toy_energy_hessian(&ideal, x, t, 3e-3, &device)).unwrap();
            let want = ideal_energy_hessian(&train, [x[0] as f64, x[1] as f64], t);
            for r in 0..2 {
                for c in 0..2 {
                    assert!((h.hessian[r][c] - want[r][c]).abs() < 2e-2, "K = {k}, t = {t}, x = {x:?}: {:?} against {want:?}", h.hessian);
                }
            }
            assert!(h.asymmetry < 1e-2, "the ideal score is a gradient field: asymmetry {}", h.asymmetry);
        }
    }
    // Two memories two apart at t = 0.15: the midpoint is a saddle (along the pair the energy
    // falls towards either memory).
    let train = [[1.0f32, 0.0], [-1.0, 0.0]];
    let well = ideal_energy_hessian(&train, [1.0, 0.0], 0.01);
    assert!(symmetric_eigenvalues(well).iter().all(|e| (e - 2.0).abs() < 1e-9), "{well:?}");
    let e = symmetric_eigenvalues(ideal_energy_hessian(&train, [0.0, 0.0], 0.15));
    assert!((e[0] - 2.0).abs() < 1e-12 && (e[1] - 2.0 * (1.0 - 1.0 / 0.15)).abs() < 1e-12, "{e:?}");
    assert_eq!(symmetric_eigenvalues([[3.0, 1.0], [1.0, 3.0]]), [4.0, 2.0]);
    assert!(pollster::block_on(toy_energy_hessian(&IdealScore::new(&train, &device), [f32::NAN, 0.0], 0.1, 1e-3, &device)).is_err());
}
