//! What is done with a trained model: sample it (and the ideal score, same seed), cluster the
//! samples (Ward), and integrate its learned energy by the probability-flow ODE.

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_models::toy::centroids::{classify_centroids_detailed, CentroidThresholds};
use memgen_models::toy::energy::{grid_points, ode_energy, OdeConfig};
use memgen_models::toy::sampler::{toy_sampling, IdealScore};

use super::{current_model, toy_device, Centroid, Panel, Phase, HI, LO};

impl Panel {
    /// Samples the trained model (and the ideal score, same seed), then clusters.
    pub(super) fn sample(self) {
        let Some(model) = current_model() else {
            self.status.set("Train a model first.".into());
            return;
        };
        let s = self.settings.get_untracked();
        let pts = self.train.get_untracked();
        let device = toy_device().inner();
        let gen = self.run_gen.current();
        let sample_gen = self.sample_gen.begin();
        let before = self.phase.get_untracked();
        self.sample_before.set_value(before);
        self.phase.set(Phase::Sampling);
        self.sample_progress.set((0.0, 0.0));
        spawn_local(async move {
            // The library's toy sampler: `memgen toy`'s stream, so one seed gives its samples.
            let mut run = toy_sampling(model, s.samples, s.seed, &device);
            let mut ideal = toy_sampling(IdealScore::new(&pts, &device), s.samples, s.seed, &device);
            // Slices of rows of about 10 ms each, up to 30 ms of them between frames: the tab
            // never stalls (one whole step of 10,000 samples is ~0.1 s here), and a slice is
            // long enough that its fixed cost stays small. The slices give whole steps' samples
            // (the library's test checks the bits).
            // Rows per slice, one count per run (the ideal score's rows are far cheaper).
            let mut rows = [200usize; 2];
            let t0 = crate::browser::now_ms();
            let mut last_shown = t0;
            let mut longest = 0.0f64;
            // Every stretch of work between two yields, for their median.
            let mut stretches: Vec<f64> = Vec::new();
            while !(run.finished() && ideal.finished()) {
                if self.run_gen.is_stale(gen) || self.sample_gen.is_stale(sample_gen) {
                    return;
                }
                let start = crate::browser::now_ms();
                while crate::browser::now_ms() - start < 30.0 && !(run.finished() && ideal.finished()) {
                    let s0 = crate::browser::now_ms();
                    // Both runs advance row for row, so the two stay a step apart at most.
                    let which = usize::from(ideal.rows_done() < run.rows_done() || run.finished());
                    if which == 1 {
                        ideal.run_rows(rows[1]);
                    } else {
                        run.run_rows(rows[0]);
                    }
                    let took = crate::browser::now_ms() - s0;
                    // Aim each slice at 5–12 ms.
                    if took > 12.0 {
                        rows[which] = (rows[which] / 2).max(16);
                    } else if took < 5.0 {
                        rows[which] = (rows[which] * 2).min(s.samples.max(16));
                    }
                }
                let stretch = crate::browser::now_ms() - start;
                longest = longest.max(stretch);
                stretches.push(stretch);
                self.sample_longest_slice.set(longest);
                let now = crate::browser::now_ms();
                if now - last_shown > 150.0 || stretches.len() == 1 {
                    // The median with the progress line (a few times a second), not per slice.
                    let mut sorted = stretches.clone();
                    sorted.sort_by(f64::total_cmp);
                    self.sample_median_slice.set(sorted[sorted.len() / 2]);
                    let done = (run.rows_done() + ideal.rows_done()) as f64;
                    let total = (run.rows_total() + ideal.rows_total()) as f64;
                    let rate = done / ((now - t0) / 1000.0).max(1e-6);
                    self.sample_progress.set((done / total, (total - done) / rate.max(1e-9)));
                    last_shown = now;
                }
                crate::browser::yield_now().await;
            }
            if !stretches.is_empty() {
                stretches.sort_by(f64::total_cmp);
                self.sample_median_slice.set(stretches[stretches.len() / 2]);
            }
            let (Ok(x), Ok(xi)) = (run.samples().await, ideal.samples().await) else {
                self.phase.set(Phase::Failed("could not read the samples back".into()));
                return;
            };
            // Each sample's distance to its nearest training point, once.
            let nearest: Vec<f32> = x.iter().map(|p| pts.iter().map(|y| (p[0] - y[0]).hypot(p[1] - y[1])).fold(f32::INFINITY, f32::min)).collect();
            let near = |r: f32| nearest.iter().filter(|d| **d <= r).count() as f64 / nearest.len().max(1) as f64;
            self.samples.set(x.clone());
            self.ideal_samples.set(xi);
            // Ward needs n²/2 distances: cluster a seeded subsample of at most 2,000, in a worker
            // (one call of a few hundred milliseconds in wasm would stall the tab).
            let sub: Vec<[f32; 2]> = x.iter().step_by((x.len() / 2000).max(1)).copied().collect();
            let before = self.status.get_untracked();
            self.status.set(format!("Clustering {} samples (Ward) in a worker…", sub.len()));
            let clustered = crate::cluster_worker::cluster_off_the_tab(sub.clone(), s.threshold).await;
            self.status.set(before);
            match clustered {
                Ok(c) => {
                    let cents: Vec<[f32; 2]> = c.centroids.data().chunks(2).map(|v| [v[0], v[1]]).collect();
                    let stats = classify_centroids_detailed(&cents, &pts, &sub, &c.labels, &CentroidThresholds::default());
                    let labelled = cents.iter().zip(stats).map(|(at, st)| Centroid { at: *at, kind: Some(st.kind), count: st.count, energy: None });
                    self.centroids.set(labelled.collect());
                }
                Err(e) => self.status.set(format!("clustering failed: {e}")),
            }
            // Last, so that it marks the whole result (the tests' hook waits on it).
            self.near_fraction.set(Some((near(0.1), near(0.25))));
            self.phase.set(self.sample_before.get_value());
        });
    }

    /// Learned energy by the probability-flow ODE on a coarse grid (slow: on request).
    pub(super) fn learned_energy_on_grid(self) {
        let Some(model) = current_model() else {
            self.status.set("Train a model first.".into());
            return;
        };
        let s = self.settings.get_untracked();
        let pts = self.train.get_untracked();
        let device = toy_device();
        self.status.set("Integrating the probability-flow ODE over the grid…".into());
        spawn_local(async move {
            let (n, steps) = (16, 20);
            let grid = grid_points(n, LO, HI);
            let mut cfg = OdeConfig::with_train(&pts);
            cfg.steps = steps;
            match ode_energy(&model, &grid, s.t, &cfg, &device).await {
                Ok(e) => {
                    // Label each centroid with the energy of its nearest grid cell.
                    self.centroids.update(|cs| {
                        for c in cs.iter_mut() {
                            let i = (((c.at[0] - LO) / (HI - LO) * (n - 1) as f32).round() as usize).min(n - 1);
                            let j = (((c.at[1] - LO) / (HI - LO) * (n - 1) as f32).round() as usize).min(n - 1);
                            c.energy = Some(e[j * n + i]);
                        }
                    });
                    self.learned_energy.set(Some((e, n, s.t)));
                    self.status.set(format!("Learned energy at t = {} on a {n}×{n} grid ({steps} RK4 steps per point).", s.t));
                }
                Err(e) => self.status.set(format!("ODE energy failed: {e}")),
            }
        });
    }
}
