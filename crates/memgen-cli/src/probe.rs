//! `memgen probe`: basins and curvature (docs/SCIENCE.md §5–6) of every gallery sample of a
//! bundle, from each K's weights, and the mean spectrum of each K's first training points. The
//! probe of a point is the library's (`memgen_models::probe::probe_point`); this file reads the
//! bundle, the weights and the training images, and writes the files.
//! One `probe-k<K>.json` per K beside the gallery, written when the K is done, so an
//! interrupted run goes on with the next K; `--write` names the files in the manifest.

use crate::CliError;
use memgen_models::bundle::{decode_image, Gallery, Manifest, MANIFEST_FILE};
use memgen_models::experiment::{ExperimentError, Progress};
use memgen_models::probe::{probe_point, BasinSettings, KProbe, PointProbeInput, ProbeSettings, Search};
use memgen_models::unet::fused::FusedUNet;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SearchArg {
    Linear,
    Bisection,
}

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// A sweep bundle with weights (memgen sweep --model unet)
    #[arg(long)]
    pub bundle: PathBuf,
    /// Only these K (comma-separated) [default: every K with weights]
    #[arg(long, value_delimiter = ',')]
    pub ks: Vec<usize>,
    /// Gallery samples probed per K, from the first [default: the whole gallery]
    #[arg(long)]
    pub samples: Option<usize>,
    /// Training points whose spectra are averaged per K (the first of S_K; 0 = none)
    #[arg(long, default_value_t = 16)]
    pub train_points: usize,
    /// Recovery radius δ: L2 distance on the p/255 scale within which a trial counts as
    /// recovered [default: the dataset's, measured by --calibrate: a third of the median
    /// distance between a training image and its nearest other one; docs/SCIENCE.md §5]
    #[arg(long)]
    pub delta: Option<f64>,
    /// Measure what δ is chosen from and print it (nothing is probed or written): the
    /// distance from each of the dataset's first 2,000 training images to its nearest other
    /// one, and how far the largest chosen K's model lands from its gallery samples and training
    /// points noised to t = 1 and 26 (its reconstruction floor, which δ must clear)
    #[arg(long)]
    pub calibrate: bool,
    /// Grid stride on the 1000-step schedule (paper: 25)
    #[arg(long, default_value_t = 25)]
    pub stride: usize,
    /// Trials per level (paper: 10)
    #[arg(long, default_value_t = 10)]
    pub trials: usize,
    /// DDIM steps from t back to 0 (paper: 20)
    #[arg(long, default_value_t = 20)]
    pub sampler_steps: usize,
    /// Critical-time search: the authors' linear scan, or bisection over the grid
    #[arg(long, value_enum, default_value = "bisection")]
    pub search: SearchArg,
    /// t of the score Jacobian (the curvature near the data)
    #[arg(long, default_value_t = 10)]
    pub curvature_t: usize,
    /// Central-difference step of the Jacobian (model scale, [−1, 1])
    #[arg(long, default_value_t = 1e-2)]
    pub curvature_h: f32,
    /// Seed of the trials' noise
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Singular values kept per gallery sample: this many ranks from the first to the last,
    /// spaced evenly on a log axis but at least one apart (so every rank at the top of the
    /// spectrum; each sample's mean over every rank is kept too); 0 keeps every rank. A file probed with every rank is cut to these, not
    /// probed again
    #[arg(long, default_value_t = 256)]
    pub spectrum_ranks: usize,
    /// Data folder (for the training points: the bundle's dataset file)
    #[arg(long, default_value = "www/data")]
    pub data_dir: PathBuf,
    /// Name every K's probe file in the bundle's manifest.json (with its SHA-256)
    #[arg(long)]
    pub write: bool,
}

pub fn probe(a: &ProbeArgs) -> Result<Value, CliError> {
    let input = CliError::Input;
    let mpath = a.bundle.join(MANIFEST_FILE);
    let mbytes = std::fs::read(&mpath).map_err(|e| input(format!("{}: {e}", mpath.display())))?;
    let mut m = Manifest::parse(&mbytes).map_err(|e| input(format!("{}: {e}", mpath.display())))?;
    let dataset = m.identity.sweep.dataset.clone();
    let search = match a.search {
        SearchArg::Linear => Search::Linear,
        SearchArg::Bisection => Search::Bisection,
    };
    let basin = BasinSettings {
        stride: a.stride,
        trials: a.trials,
        sampler_steps: a.sampler_steps,
        delta: a.delta.or_else(|| memgen_models::probe::default_delta(&dataset)).unwrap_or(f64::NAN),
        threshold: memgen_core::basin::RECOVERY_THRESHOLD,
        search,
    };
    if !a.calibrate {
        if basin.delta.is_nan() {
            return Err(input(format!("--delta: no measured δ for {dataset} yet; give one, or measure with --calibrate")));
        }
        basin.validate().map_err(|e| input(format!("--delta, --stride, --trials, --sampler-steps: {e}")))?;
    }
    if a.curvature_t >= 1000 || !(a.curvature_h > 0.0 && a.curvature_h.is_finite()) {
        return Err(input("--curvature-t must be below 1000 and --curvature-h finite and > 0".into()));
    }
    let hwc = m.identity.sweep.image_hwc;
    let d = hwc.iter().product::<usize>();
    let ranks = (a.spectrum_ranks > 0 && a.spectrum_ranks < d).then(|| memgen_models::probe::spectrum_ranks(d, a.spectrum_ranks));
    let settings = ProbeSettings { basin, curvature_t: a.curvature_t, curvature_h: a.curvature_h, seed: a.seed, spectrum_ranks: ranks };
    let chosen: Vec<usize> = m.results.iter().filter(|r| r.files.contains_key("weights") && (a.ks.is_empty() || a.ks.contains(&r.k))).map(|r| r.k).collect();
    if let Some(k) = a.ks.iter().find(|k| !chosen.contains(k)) {
        return Err(input(format!("--ks: K = {k} has no weights in {}", a.bundle.display())));
    }
    if chosen.is_empty() {
        return Err(input(format!("{} holds no weights to probe (a bundle of memgen sweep --model unet)", a.bundle.display())));
    }
    let train_data = if a.train_points > 0 || a.calibrate {
        let m2 = crate::data::manifest(&a.data_dir)?;
        let file = &m.identity.sweep.data_file;
        let entry =
            m2.files.iter().find(|f| &f.file == file).ok_or_else(|| input(format!("{}: no {file} (the bundle's training file)", a.data_dir.display())))?;
        if entry.sha256 != m.identity.sweep.data_sha256 {
            return Err(input(format!("{file}: its SHA-256 is not the bundle's")));
        }
        Some(crate::data::load_entry(&a.data_dir, entry)?)
    } else {
        None
    };
    let device = memgen_models::device::LabDevice::cpu().device.inner();
    if a.calibrate {
        let ds = train_data.as_ref().expect("loaded for --calibrate");
        return calibrate(a, &m, ds, *chosen.last().expect("a K"), &device);
    }
    // Work: gallery samples and training points per chosen K.
    let mut galleries = Vec::new();
    let mut total = 0u64;
    for rec in m.results.iter().filter(|r| chosen.contains(&r.k)) {
        let gpath = a.bundle.join(&rec.gallery);
        let g = Gallery::parse(&std::fs::read(&gpath).map_err(|e| input(format!("{}: {e}", gpath.display())))?)
            .and_then(|g| g.check_against(&m).map(|_| g))
            .map_err(|e| input(format!("{}: {e}", gpath.display())))?;
        let n = a.samples.unwrap_or(g.samples.len()).min(g.samples.len());
        total += (n + a.train_points.min(rec.k)) as u64;
        galleries.push((rec.k, g, n));
    }
    let bar = crate::sweep::bar(total, "probing".into());
    let started = std::time::Instant::now();
    let mut written = Vec::new();
    for (k, g, n) in galleries {
        let rec = m.results.iter().find(|r| r.k == k).expect("chosen K");
        let name = format!("probe-k{k}.json");
        let path = a.bundle.join(&name);
        let wname = &rec.files["weights"];
        let wbytes = std::fs::read(a.bundle.join(wname)).map_err(|e| input(format!("{wname}: {e}")))?;
        let wsha = memgen_data::sha256_hex(&wbytes);
        if rec.checksums.get(wname).is_some_and(|s| *s != wsha) {
            return Err(input(format!("{wname}: its SHA-256 is not the manifest's")));
        }
        // Done before with the same settings and weights: keep it; with every rank of the
        // spectra and otherwise the same: cut them to these settings' ranks.
        let train_points = a.train_points.min(k);
        let old = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<KProbe>(&b).ok());
        if let Some(reused) = old.and_then(|old| old.reused_for(&wsha, n, train_points, &settings, d)) {
            let reused = reused.map_err(|e| input(format!("{name}: {e}")))?;
            write_atomic(&a.bundle, &name, &reused)?;
            bar.inc((n + train_points) as u64);
            written.push((k, name));
            continue;
        }
        let (unet, net) = memgen_models::unet::snapshot::decode_weights(&wbytes, &device).map_err(|e| input(format!("{wname}: {e}")))?;
        let model = FusedUNet::from_unet(&unet, net).map_err(|e| input(format!("{wname}: {e}")))?;
        let train = match &train_data {
            Some(ds) if train_points > 0 => {
                let idx = memgen_data::subset(ds.len(), k, m.identity.spec.seed).map_err(|e| input(e.to_string()))?;
                ds.images_u8(&idx[..train_points]).map_err(|e| input(e.to_string()))?
            }
            _ => Vec::new(),
        };
        let probe_input = PointProbeInput { gallery: &g, samples: n, train: &train, hwc, weights_sha256: wsha };
        let mut progress = BarProgress { bar: &bar, done: 0, clock: started };
        let kp = pollster::block_on(probe_point(&model, k, probe_input, &settings, &device, &mut progress)).map_err(|e| input(e.to_string()))?;
        write_atomic(&a.bundle, &name, &kp)?;
        written.push((k, name));
    }
    bar.finish_and_clear();
    if a.write {
        for (k, name) in &written {
            let bytes = std::fs::read(a.bundle.join(name)).map_err(|e| input(format!("{name}: {e}")))?;
            let rec = m.results.iter_mut().find(|r| r.k == *k).expect("probed K");
            rec.files.insert("probe".into(), name.clone());
            rec.checksums.insert(name.clone(), memgen_data::sha256_hex(&bytes));
        }
        let text = serde_json::to_value(&m).and_then(|v| serde_json::to_string_pretty(&v)).map_err(|e| input(e.to_string()))?;
        std::fs::write(&mpath, text).map_err(|e| input(format!("cannot write {}: {e}", mpath.display())))?;
    }
    Ok(json!({
        "bundle": a.bundle.display().to_string(),
        "ks": written.iter().map(|w| w.0).collect::<Vec<_>>(),
        "files": written.iter().map(|w| w.1.clone()).collect::<Vec<_>>(),
        "settings": settings,
        "written": a.write,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// The progress bar of `memgen probe`, moved by the library's probe.
struct BarProgress<'a> {
    bar: &'a indicatif::ProgressBar,
    done: usize,
    clock: std::time::Instant,
}

impl Progress for BarProgress<'_> {
    fn now_s(&self) -> f64 {
        self.clock.elapsed().as_secs_f64()
    }
    async fn checkpoint(&mut self) -> Result<(), ExperimentError> {
        Ok(())
    }
    fn probing(&mut self, done: usize, _total: usize) {
        self.bar.inc(done.saturating_sub(self.done) as u64);
        self.done = done;
    }
}

/// Writes a probe file whole or not at all (a temporary file renamed).
fn write_atomic(dir: &std::path::Path, name: &str, kp: &KProbe) -> Result<(), CliError> {
    let input = CliError::Input;
    let (tmp, path) = (dir.join(format!("{name}.tmp")), dir.join(name));
    std::fs::write(&tmp, serde_json::to_vec(kp).map_err(|e| input(e.to_string()))?).map_err(|e| input(format!("cannot write {}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| input(format!("cannot write {}: {e}", path.display())))
}

/// Quantiles of `v` (sorted in place): 10%, 50%, 90% and the largest.
fn quantiles(v: &mut [f64]) -> Value {
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    json!({ "n": v.len(), "q10": q(0.1), "median": q(0.5), "q90": q(0.9), "max": q(1.0) })
}

/// `--calibrate`: the distances δ is chosen from (docs/SCIENCE.md §5).
fn calibrate(a: &ProbeArgs, m: &Manifest, ds: &memgen_data::packed::PackedDataset, k: usize, device: &burn::tensor::Device) -> Result<Value, CliError> {
    let input = CliError::Input;
    let hwc = m.identity.sweep.image_hwc;
    let chw = [hwc[2], hwc[0], hwc[1]];
    let d = hwc.iter().product::<usize>();
    // Nearest other training image, for the dataset's first 2,000 (p/255 scale).
    let n = ds.len().min(2000);
    let px = ds.images_u8(&(0..n).collect::<Vec<_>>()).map_err(|e| input(e.to_string()))?;
    let x = memgen_core::Matrix::new(px.iter().map(|p| *p as f32 / 255.0).collect(), n, d).map_err(|e| input(e.to_string()))?;
    let nn = memgen_core::knn::knn(&x, &x, 1, true).map_err(|e| input(e.to_string()))?;
    let mut nn_d: Vec<f64> = (0..n).map(|i| nn.distances_of(i)[0]).collect();
    let nn_q = quantiles(&mut nn_d);
    let suggested = nn_q["median"].as_f64().unwrap_or(f64::NAN) / 3.0;
    // The model's floor: gallery samples and training points noised to t = 1 and 26, back to 0.
    let rec = m.results.iter().find(|r| r.k == k).expect("chosen K");
    let wname = &rec.files["weights"];
    let wbytes = std::fs::read(a.bundle.join(wname)).map_err(|e| input(format!("{wname}: {e}")))?;
    let (unet, net) = memgen_models::unet::snapshot::decode_weights(&wbytes, device).map_err(|e| input(format!("{wname}: {e}")))?;
    let model = FusedUNet::from_unet(&unet, net).map_err(|e| input(format!("{wname}: {e}")))?;
    let g = Gallery::parse(&std::fs::read(a.bundle.join(&rec.gallery)).map_err(|e| input(format!("{}: {e}", rec.gallery)))?)
        .map_err(|e| input(format!("{}: {e}", rec.gallery)))?;
    let take = a.samples.unwrap_or(16);
    let mut points: Vec<(&str, Vec<f32>)> = Vec::new();
    for s in g.samples.iter().take(take) {
        let px = decode_image(&s.image).map_err(|e| input(format!("{}: {e}", rec.gallery)))?;
        points.push(("samples", memgen_models::unet::to_model(&px, hwc[0], hwc[1], hwc[2])));
    }
    let idx = memgen_data::subset(ds.len(), k, m.identity.spec.seed).map_err(|e| input(e.to_string()))?;
    let tpx = ds.images_u8(&idx.into_iter().take(take).collect::<Vec<_>>()).map_err(|e| input(e.to_string()))?;
    for img in tpx.chunks_exact(d) {
        points.push(("train", memgen_models::unet::to_model(img, hwc[0], hwc[1], hwc[2])));
    }
    let mut floor = serde_json::Map::new();
    for t in [1usize, 26] {
        for what in ["samples", "train"] {
            let mut dist = Vec::new();
            for (i, (_, x0)) in points.iter().enumerate().filter(|(_, p)| p.0 == what) {
                let mut noise = memgen_core::spec::NoiseStream::new(a.seed, 1000 + i as u64);
                let eps: Vec<f32> = (0..a.trials * d).map(|_| noise.normal() as f32).collect();
                dist.extend(
                    pollster::block_on(memgen_models::probe::recovery_distances(&model, x0, &eps, t, chw, a.sampler_steps, device))
                        .map_err(|e| input(format!("K = {k}: {e}")))?,
                );
            }
            floor.insert(format!("{what}_t{t}"), quantiles(&mut dist));
        }
    }
    Ok(json!({
        "dataset": m.identity.sweep.dataset,
        "k": k,
        "nearest_other_training_image": nn_q,
        "rule": "delta = median nearest-other distance / 3 (the memorized rule's ratio, delta_m = 1/3)",
        "suggested_delta": suggested,
        "model_floor": floor,
        "trials": a.trials,
        "sampler_steps": a.sampler_steps,
    }))
}
