//! Basins and curvature (paper Figs. 4B and 5A; docs/SCIENCE.md §5–6): the loaded bundle's
//! probe files (`memgen probe --write`) drawn as log-volume boxes by label against K, `P(t)`
//! curves and singular-value spectra by label, the training points' spectra coloured by K, a
//! table of means with bootstrap intervals and whether they order as the paper's; and a gallery
//! sample's basin probed live in the tab from the bundle's weights (the library's search and
//! noise, one trial and one DDIM step between frames, cancellable).

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::basin::GridSearch;
use memgen_core::metrics::Label;
use memgen_data::sha256_hex;
use memgen_models::probe::{
    basin_radius, decode_f16, label_summaries, pixel_distance, sample_noise, trial_noise, BasinSettings, KProbe, LabelSummary, ProbeSettings, ScoreJacobian,
    Search, PROBE_FORMAT,
};
use memgen_models::unet::{to_model, ImageSampling, SamplerConfig};
use plotters::style::RGBColor;

use super::gallery::Thumb;
use super::source::load_file;
use super::{Panel, COLOURS};
use crate::browser::{b64, now_ms, unbase64, yield_now};
use crate::plot::{box_plot, curves_plot, BoxGroup};
use crate::widgets::time_left;

/// Bootstrap draws of the panel's intervals.
const RESAMPLES: usize = 2000;

fn label_index(l: Label) -> usize {
    match l {
        Label::Memorized => 0,
        Label::Spurious => 1,
        Label::Generalized => 2,
    }
}

fn label_name(l: Label) -> &'static str {
    ["memorized", "spurious", "generalized"][label_index(l)]
}

/// `c` faded towards white, keeping `keep` of it.
fn light(c: RGBColor, keep: f64) -> RGBColor {
    let f = |v: u8| (255.0 - (255.0 - v as f64) * keep) as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

const LEGEND: [(&str, RGBColor); 3] = [("memorized", COLOURS[0]), ("spurious", COLOURS[1]), ("generalized", COLOURS[2])];

/// Where the bundle's probe files stand.
#[derive(Clone, PartialEq)]
enum Load {
    None,
    Loading,
    Done,
    Failed(String),
}

/// Fetches every K's probe file of the loaded bundle, each checked against the manifest.
async fn load_probes(p: Panel) -> Result<Vec<Arc<KProbe>>, String> {
    let Some((source, recs)) = p.loaded.with_untracked(|l| l.as_ref().map(|l| (l.source.clone(), l.manifest.results.clone()))) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for r in recs.iter().filter(|r| r.files.contains_key("probe")) {
        let name = &r.files["probe"];
        let bytes = load_file(&source, name).await?;
        if let Some(want) = r.checksums.get(name) {
            if &sha256_hex(&bytes) != want {
                return Err(format!("{name}: its SHA-256 is not the manifest's"));
            }
        }
        let kp: KProbe = serde_json::from_slice(&bytes).map_err(|e| format!("{name}: {e}"))?;
        if kp.format != PROBE_FORMAT || kp.k != r.k {
            return Err(format!("{name}: not a {PROBE_FORMAT} file of K = {}", r.k));
        }
        out.push(Arc::new(kp));
    }
    Ok(out)
}

fn fmt_ci(s: &Option<memgen_core::metrics::Summary>, digits: usize) -> String {
    match s {
        Some(s) => format!("{:.*} [{:.*}, {:.*}]", digits, s.mean, digits, s.lo, digits, s.hi),
        None => "–".into(),
    }
}

/// Whether memorized and spurious means lie above the generalized one, with intervals apart:
/// "agrees", "disagrees", "overlapping" or "" where a label is missing.
fn ordering(sums: &[LabelSummary], pick: impl Fn(&LabelSummary) -> Option<memgen_core::metrics::Summary>) -> String {
    let get = |l: Label| sums.iter().find(|s| s.label == l).and_then(&pick);
    let Some(g) = get(Label::Generalized) else { return String::new() };
    let others: Vec<_> = [Label::Memorized, Label::Spurious].into_iter().filter_map(get).collect();
    if others.is_empty() {
        return String::new();
    }
    if others.iter().all(|o| o.lo > g.hi) {
        "agrees".into()
    } else if others.iter().all(|o| o.hi < g.lo) {
        "disagrees".into()
    } else {
        "overlapping".into()
    }
}

fn ks_list(probes: &[Arc<KProbe>]) -> String {
    probes.iter().map(|kp| kp.k.to_string()).collect::<Vec<_>>().join(",")
}

/// The Basins and curvature section under the gallery.
#[component]
pub(crate) fn Basins(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let probes = RwSignal::new(Vec::<Arc<KProbe>>::new());
    let state = RwSignal::new(Load::None);
    // Bumped by every bundle loaded: the files of a bundle replaced while they were fetched
    // (the shipped one, when a user loads their own) are dropped, not shown as the new one's.
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        if p.loaded.with(|l| l.is_none()) {
            return;
        }
        let mine = generation.get_value() + 1;
        generation.set_value(mine);
        state.set(Load::Loading);
        probes.set(Vec::new());
        spawn_local(async move {
            let loaded = load_probes(p).await;
            if generation.get_value() != mine {
                return;
            }
            match loaded {
                Ok(v) if v.is_empty() => state.set(Load::None),
                Ok(v) => {
                    probes.set(v);
                    state.set(Load::Done);
                }
                Err(e) => state.set(Load::Failed(e)),
            }
        });
    });
    let summaries =
        Memo::new(move |_| probes.get().iter().map(|kp| (kp.k, label_summaries(&kp.samples, RESAMPLES, 0).unwrap_or_default())).collect::<Vec<_>>());
    let selected = Memo::new(move |_| {
        let k = p.selected_k.get();
        probes.get().into_iter().find(|kp| Some(kp.k) == k)
    });
    let lv_ref = NodeRef::<Canvas>::new();
    let pt_ref = NodeRef::<Canvas>::new();
    let sv_ref = NodeRef::<Canvas>::new();
    let tr_ref = NodeRef::<Canvas>::new();
    // Log-volume by label against K.
    Effect::new(move |_| {
        let (Some(c), all) = (lv_ref.get(), probes.get()) else { return };
        let sums = summaries.get();
        let mut groups = Vec::new();
        for kp in &all {
            for (li, l) in [Label::Memorized, Label::Spurious, Label::Generalized].into_iter().enumerate() {
                let mut v: Vec<f64> = kp.samples.iter().filter(|s| s.label == l && s.basin.log_volume.is_finite()).map(|s| s.basin.log_volume).collect();
                let Some(ci) = sums.iter().find(|s| s.0 == kp.k).and_then(|s| s.1.iter().find(|x| x.label == l)).and_then(|x| x.log_volume) else { continue };
                v.sort_by(f64::total_cmp);
                groups.push(BoxGroup { x: kp.k as f64 * [0.8, 1.0, 1.25][li], colour: COLOURS[li], values: v, mean: ci.mean, lo: ci.lo, hi: ci.hi });
            }
        }
        box_plot(&c, "basin log-volume by label (box: quartiles; bar: 95% bootstrap CI of the mean; dot: mean)", "log-volume", &groups, &LEGEND);
    });
    // P(t) of every probed sample of the selected K, and the spectra by label.
    Effect::new(move |_| {
        let Some(kp) = selected.get() else { return };
        if let Some(c) = pt_ref.get() {
            let curves: Vec<(RGBColor, u32, Vec<(f64, f64)>)> = kp
                .samples
                .iter()
                .map(|s| (light(COLOURS[label_index(s.label)], 0.6), 1, s.basin.levels.iter().map(|&(t, p)| (t as f64, p)).collect()))
                .collect();
            curves_plot(
                &c,
                &format!("P(t) at K = {}: share of {} trials recovered (levels read)", kp.k, kp.settings.basin.trials),
                ("DDPM step t", "P(t)"),
                false,
                &curves,
                &LEGEND,
            );
        }
        if let Some(c) = sv_ref.get() {
            let mut curves = Vec::new();
            for s in summaries.get().iter().filter(|s| s.0 == kp.k).flat_map(|s| s.1.iter()) {
                let col = COLOURS[label_index(s.label)];
                let ranks = kp.settings.ranks(s.spectrum_mean.len());
                let rank = |v: &[f32]| ranks.iter().zip(v).map(|(r, x)| (*r as f64, *x as f64)).collect::<Vec<_>>();
                curves.push((col, 2, rank(&s.spectrum_mean)));
                let up: Vec<f32> = s.spectrum_mean.iter().zip(&s.spectrum_sd).map(|(m, d)| m + d).collect();
                let down: Vec<f32> = s.spectrum_mean.iter().zip(&s.spectrum_sd).map(|(m, d)| m - d).collect();
                curves.push((light(col, 0.4), 1, rank(&up)));
                curves.push((light(col, 0.4), 1, rank(&down)));
            }
            curves_plot(
                &c,
                &format!("singular values of the score Jacobian at t = {} (mean ± sd by label, K = {})", kp.settings.curvature_t, kp.k),
                ("rank", "singular value (log)"),
                true,
                &curves,
                &LEGEND,
            );
        }
    });
    // The training points' mean spectra, coloured from light (small K) to dark (large K).
    Effect::new(move |_| {
        let (Some(c), all) = (tr_ref.get(), probes.get()) else { return };
        let with: Vec<&Arc<KProbe>> = all.iter().filter(|kp| kp.train.is_some()).collect();
        let n = with.len().max(1);
        let curves: Vec<(RGBColor, u32, Vec<(f64, f64)>)> = with
            .iter()
            .enumerate()
            .map(|(i, kp)| {
                let f = if n == 1 { 1.0 } else { i as f64 / (n - 1) as f64 };
                let col = RGBColor((200.0 - 170.0 * f) as u8, (200.0 - 120.0 * f) as u8, (230.0 - 60.0 * f) as u8);
                (col, 2, kp.train.as_ref().expect("filtered").mean.iter().enumerate().map(|(r, v)| (r as f64 + 1.0, *v as f64)).collect())
            })
            .collect();
        let names: Vec<String> = with.iter().map(|kp| format!("K = {}", kp.k)).collect();
        let legend: Vec<(&str, RGBColor)> = names.iter().zip(&curves).map(|(n, c)| (n.as_str(), c.0)).collect();
        curves_plot(&c, "training points' mean spectra by K", ("rank", "singular value (log)"), true, &curves, &legend);
    });
    let table = move || {
        let kp = selected.get()?;
        let sums = summaries.get().into_iter().find(|s| s.0 == kp.k)?.1;
        let lv = ordering(&sums, |s| s.log_volume);
        let sv = ordering(&sums, |s| s.mean_singular_value);
        // Label, samples, with a basin, and the plain mean log-volume (for tests and readers).
        let attr = sums
            .iter()
            .map(|s| {
                let v: Vec<f64> = kp.samples.iter().filter(|x| x.label == s.label && x.basin.log_volume.is_finite()).map(|x| x.basin.log_volume).collect();
                let mean = if v.is_empty() { String::new() } else { format!("{:.3}", v.iter().sum::<f64>() / v.len() as f64) };
                format!("{}:{}:{}:{mean}", label_name(s.label), s.count, s.with_basin)
            })
            .collect::<Vec<_>>()
            .join(";");
        let verdict = |what: &str, o: &str| match o {
            "agrees" => format!("{what}: memorized and spurious above generalized, intervals apart, as in the paper."),
            "disagrees" => format!("{what}: generalized above memorized and spurious, intervals apart: the paper finds the opposite."),
            "overlapping" => format!("{what}: the 95% intervals overlap, so this K does not tell the labels apart."),
            _ => format!("{what}: this K lacks a label to compare."),
        };
        let rows = sums
            .iter()
            .map(|s| {
                view! {
                    <tr>
                        <td>{label_name(s.label)}</td>
                        <td>{s.count}</td>
                        <td>{s.with_basin}</td>
                        <td>{fmt_ci(&s.log_volume, 1)}</td>
                        <td>{fmt_ci(&s.t_c, 0)}</td>
                        <td>{fmt_ci(&s.mean_singular_value, 2)}</td>
                    </tr>
                }
            })
            .collect::<Vec<_>>();
        Some(view! {
            <div class="table-scroll">
                <table data-testid="basins-table" data-k=kp.k.to_string() data-summary=attr data-log-volume-order=lv.clone() data-spectrum-order=sv.clone()>
                    <thead><tr><th>"label"</th><th>"samples"</th><th>"with a basin"</th><th>"log-volume, mean [95% CI]"</th><th>"t_c, mean"</th><th>"mean singular value"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p data-testid="basins-verdict">{verdict("Log-volume", &lv)}" "{verdict("Singular values", &sv)}</p>
            <p class="muted">{format!(
                "Probed with δ = {} (L2 on p/255), {} trials per level, DDIM {} steps, {} search on a stride-{} grid; the spectrum at t = {}. A sample without a basin (its first level already fails) counts in “samples” but not in the log-volume.",
                kp.settings.basin.delta, kp.settings.basin.trials, kp.settings.basin.sampler_steps,
                if kp.settings.basin.search == Search::Linear { "linear" } else { "bisection" }, kp.settings.basin.stride, kp.settings.curvature_t
            )}</p>
        })
    };
    let state_attr = move || match state.get() {
        Load::None => "none".to_string(),
        Load::Loading => "loading".into(),
        Load::Done => "loaded".into(),
        Load::Failed(e) => format!("error: {e}"),
    };
    let ks_attr = move || ks_list(&probes.get());
    view! {
        <section class="basins" data-testid="basins" data-state=state_attr data-ks=ks_attr>
            <h3>"Basins of attraction and curvature (paper Figs. 4B, 5A)"</h3>
            <p class="explain">"A sample's basin: noise it to step t, denoise it back (DDIM) ten times, and count how often it comes back within δ of itself: P(t). Its critical time t_c is the last t with P ≥ 0.9, its basin's log-volume that of a ball of the radius ‖x_t_c − x₀‖. The curvature is the spectrum of the score's Jacobian near the data: large singular values are stiff wells. The paper finds memorized and spurious samples in larger, stiffer basins than generalized ones."</p>
            {move || match state.get() {
                Load::None => Some(view! { <p class="muted">"This bundle carries no probes: make them with memgen probe --bundle DIR --write (see the README), or probe a gallery sample below, here in the tab."</p> }.into_any()),
                Load::Loading => Some(view! { <p>"Loading the probes…"</p> }.into_any()),
                Load::Failed(e) => Some(view! { <p class="notice">{format!("The probes could not be loaded: {e}")}</p> }.into_any()),
                Load::Done => None,
            }}
            <div style=move || if state.get() == Load::Done { "" } else { "display:none" }>
                <PlotFigure canvas=lv_ref testid="basins-log-volume" height=260 name="basins-log-volume" caption="Basin log-volume by label against K (Fig. 4B). "
                    alt="Log-volume of the basins of attraction by label against K: box plots with means and bootstrap intervals. The table below gives each label's count, mean and interval." />
                <PlotFigure canvas=pt_ref testid="basins-p-t" height=220 name="basins-p-t" caption="P(t) by label. "
                    alt="Probability of recovering a sample against the noise level t, one curve per label (mean over the samples of that label)." />
                <PlotFigure canvas=sv_ref testid="basins-spectra" height=240 name="basins-spectra" caption="Curvature spectra by label (Fig. 5A). "
                    alt="Singular values of the score's Jacobian at each sample, by label: mean and spread on a log axis, largest first. The table below gives the mean leading singular value per label." />
                <PlotFigure canvas=tr_ref testid="basins-train-spectra" height=240 name="basins-train-spectra" caption="Training points' spectra by K. "
                    alt="Mean singular-value spectrum of the training points, one curve per K, on a log axis." />
                {table}
            </div>
            <LiveProbe p=p probes=probes />
        </section>
    }
}

/// One of the panel's plots (640 px wide): the canvas with its text alternative, a caption and
/// its PNG export.
#[component]
fn PlotFigure(canvas: NodeRef<Canvas>, testid: &'static str, height: u32, name: &'static str, caption: &'static str, alt: &'static str) -> impl IntoView {
    view! {
        <figure>
            <canvas node_ref=canvas width="640" height=height.to_string() data-testid=testid role="img" aria-label=alt></canvas>
            <figcaption>{caption}<crate::export::ExportButtons name=name canvas=canvas /></figcaption>
        </figure>
    }
}

/// Where a live probe stands.
#[derive(Clone, PartialEq)]
enum Live {
    Idle,
    Running(String),
    Done(String),
    Cancelled,
    Failed(String),
}

/// One DDIM run of one trial from `x_t`, a step at a time with the event loop handed back
/// between steps (each is one network evaluation); `None` when cancelled.
async fn denoise_one(
    model: &memgen_models::unet::fused::FusedUNet,
    xt: Vec<f32>,
    t: usize,
    chw: [usize; 3],
    steps: usize,
    cancel: RwSignal<bool>,
) -> Result<Option<Vec<f32>>, String> {
    let device = memgen_models::device::LabDevice::cpu().device.inner();
    let [c, h, w] = chw;
    let x = burn::tensor::Tensor::<4>::from_data(burn::tensor::TensorData::new(xt, [1, c, h, w]), &device);
    let mut unused = memgen_core::spec::NoiseStream::new(0, 0);
    let mut s = ImageSampling::from_noised(model, SamplerConfig::ddim(steps), x, t, &device, &mut unused);
    while !s.finished() {
        if cancel.get_untracked() {
            return Ok(None);
        }
        s.run_steps_synced(1).await?;
        yield_now().await;
    }
    Ok(Some(s.samples().await?))
}

/// The gallery sample picked above, probed here: its basin search (the bundle's probe settings
/// for this K when it has them), `P(t)` filling in level by level, and its trials at a chosen t
/// shown noised and denoised.
#[component]
fn LiveProbe(p: Panel, probes: RwSignal<Vec<Arc<KProbe>>>) -> impl IntoView {
    let state = RwSignal::new(Live::Idle);
    let cancel = RwSignal::new(false);
    let levels = RwSignal::new(Vec::<(usize, f64)>::new());
    let result = RwSignal::new(Option::<(Option<usize>, f64)>::None);
    let show_t = RwSignal::new(101usize);
    let trials = RwSignal::new(Vec::<(String, String, f64)>::new());
    // This sample's singular values computed here, and the milliseconds it took (probe, spectrum).
    let spectrum = RwSignal::new(Vec::<f64>::new());
    let took_ms = RwSignal::new((f64::NAN, f64::NAN));
    let plot_ref = NodeRef::<Canvas>::new();
    let spectrum_ref = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let _ = (p.picked.get(), p.selected_k.get());
        cancel.set(true);
        state.set(Live::Idle);
        levels.set(Vec::new());
        result.set(None);
        trials.set(Vec::new());
        spectrum.set(Vec::new());
        took_ms.set((f64::NAN, f64::NAN));
    });
    // The bundle's stored spectrum of this sample and its K's training points' mean, if probed.
    // (rank, value) pairs: a probe file may keep only some ranks of a sample's spectrum.
    let stored = move || -> (Option<Vec<(usize, f32)>>, Option<Vec<f32>>) {
        let (Some(k), Some(g), Some(i)) = (p.selected_k.get_untracked(), p.gallery.get_untracked(), p.picked.get_untracked()) else { return (None, None) };
        let Some(index) = g.samples.get(i).map(|s| s.index) else { return (None, None) };
        let all = probes.get_untracked();
        let Some(kp) = all.iter().find(|kp| kp.k == k) else { return (None, None) };
        let sample = kp
            .samples
            .iter()
            .find(|s| s.index == index)
            .and_then(|s| decode_f16(&s.spectrum_f16).ok())
            .map(|v| kp.settings.ranks(v.len()).into_iter().zip(v).collect());
        (sample, kp.train.as_ref().map(|t| t.mean.clone()))
    };
    Effect::new(move |_| {
        let sv = spectrum.get();
        let Some(c) = spectrum_ref.get() else { return };
        if sv.is_empty() {
            return;
        }
        let rank = |v: &mut dyn Iterator<Item = f64>| v.enumerate().map(|(i, s)| ((i + 1) as f64, s)).collect::<Vec<_>>();
        let (kept, train) = stored();
        let mut curves = vec![(RGBColor(20, 20, 20), 2, rank(&mut sv.iter().copied()))];
        let mut legend = vec![("computed here", RGBColor(20, 20, 20))];
        if let Some(k) = kept {
            curves.push((RGBColor(230, 120, 20), 1, k.iter().map(|&(r, v)| (r as f64, v as f64)).collect()));
            legend.push(("memgen probe (bundle)", RGBColor(230, 120, 20)));
        }
        if let Some(t) = train {
            curves.push((RGBColor(150, 150, 150), 1, rank(&mut t.iter().map(|v| *v as f64))));
            legend.push(("training points' mean", RGBColor(150, 150, 150)));
        }
        curves_plot(&c, "Singular values of this sample's score Jacobian", ("rank", "singular value"), true, &curves, &legend);
    });
    Effect::new(move |_| {
        let lv = levels.get();
        let Some(c) = plot_ref.get() else { return };
        let mut v = lv.clone();
        v.sort_by_key(|l| l.0);
        curves_plot(
            &c,
            "P(t) of this sample, probed here",
            ("DDPM step t", "P(t)"),
            false,
            &[(RGBColor(60, 60, 60), 2, v.iter().map(|&(t, p)| (t as f64, p)).collect())],
            &[],
        );
    });
    // The sample, its K's settings and shape.
    let target = move || -> Option<(usize, usize, String, ProbeSettings, [usize; 3])> {
        let k = p.selected_k.get_untracked()?;
        let g = p.gallery.get_untracked()?;
        let s = g.samples.get(p.picked.get_untracked()?)?.clone();
        let dataset = p.loaded.with_untracked(|l| l.as_ref().map(|l| l.manifest.identity.sweep.dataset.clone()))?;
        let settings = probes.get_untracked().iter().find(|kp| kp.k == k).map(|kp| kp.settings.clone()).unwrap_or(ProbeSettings {
            basin: BasinSettings { search: Search::Bisection, ..BasinSettings::paper(memgen_models::probe::default_delta(&dataset).unwrap_or(1.7)) },
            curvature_t: 10,
            curvature_h: 1e-2,
            seed: 0,
            spectrum_ranks: None,
        });
        Some((k, s.index, s.image, settings, g.shape))
    };
    let run = move |_| {
        let Some((k, index, image, settings, [h, w, c])) = target() else { return };
        let Some(px) = unbase64(&image) else { return };
        cancel.set(false);
        levels.set(Vec::new());
        result.set(None);
        state.set(Live::Running("starting…".into()));
        spawn_local(async move {
            let go = async {
                let (model, _, _) = super::regen::point_model(p, k, &|m| state.set(Live::Running(m))).await?;
                let x0 = to_model(&px, h, w, c);
                let d = x0.len();
                let mut noise = sample_noise(&settings, index);
                let b = settings.basin;
                let eps = trial_noise(b.trials, d, &mut noise);
                let grid = b.grid();
                let mut search = GridSearch::new(b.search, grid.len(), b.threshold);
                let started = now_ms();
                let mut done_trials = 0usize;
                while let Some(i) = search.next() {
                    let t = grid[i];
                    let mut hit = 0;
                    for trial in 0..b.trials {
                        let mut xt = x0.clone();
                        memgen_core::schedules::DdpmSchedule::paper().forward(&mut xt, t, &eps[trial * d..(trial + 1) * d]);
                        let Some(y) = denoise_one(&model, xt, t, [c, h, w], b.sampler_steps, cancel).await? else { return Ok(None) };
                        hit += usize::from(pixel_distance(&y, &x0) <= b.delta);
                        done_trials += 1;
                        let most = search.most() * b.trials;
                        let rate = done_trials as f64 / ((now_ms() - started) / 1000.0);
                        state.set(Live::Running(format!(
                            "level t = {t}: trial {} of {}; {} of at most {} levels read; {}",
                            trial + 1,
                            b.trials,
                            search.levels().len(),
                            search.most(),
                            time_left(most.saturating_sub(done_trials) as f64, rate)
                        )));
                    }
                    let share = hit as f64 / b.trials as f64;
                    search.record(i, share);
                    levels.update(|l| l.push((t, share)));
                }
                let t_c = search.t_c().map(|i| grid[i]);
                let (_, log_volume) = basin_radius(&x0, t_c, &mut noise)?;
                took_ms.update(|m| m.0 = now_ms() - started);
                Ok::<_, String>(Some((t_c, log_volume)))
            };
            match go.await {
                Ok(Some((t_c, lv))) => {
                    result.set(Some((t_c, lv)));
                    state.set(Live::Done(match t_c {
                        Some(t) => format!("t_c = {t}, log-volume {lv:.1}"),
                        None => "no basin: the first level already fails".into(),
                    }));
                }
                Ok(None) => state.set(Live::Cancelled),
                Err(e) => state.set(Live::Failed(e)),
            }
        });
    };
    let show = move |_| {
        let Some((k, index, image, settings, [h, w, c])) = target() else { return };
        let Some(px) = unbase64(&image) else { return };
        let t = show_t.get_untracked().clamp(1, 999);
        cancel.set(false);
        trials.set(Vec::new());
        state.set(Live::Running(format!("the trials at t = {t}…")));
        spawn_local(async move {
            let go = async {
                let (model, _, _) = super::regen::point_model(p, k, &|m| state.set(Live::Running(m))).await?;
                let x0 = to_model(&px, h, w, c);
                let d = x0.len();
                let b = settings.basin;
                let eps = trial_noise(b.trials, d, &mut sample_noise(&settings, index));
                let q = |x: &[f32]| b64(&memgen_models::unet::to_packed(&memgen_models::unet::quantize_u8(x), h, w, c));
                for trial in 0..b.trials {
                    let mut xt = x0.clone();
                    memgen_core::schedules::DdpmSchedule::paper().forward(&mut xt, t, &eps[trial * d..(trial + 1) * d]);
                    let Some(y) = denoise_one(&model, xt.clone(), t, [c, h, w], b.sampler_steps, cancel).await? else { return Ok(false) };
                    let dist = pixel_distance(&y, &x0);
                    trials.update(|v| v.push((q(&xt), q(&y), dist)));
                    state.set(Live::Running(format!("the trials at t = {t}: {} of {}", trial + 1, b.trials)));
                }
                Ok::<_, String>(true)
            };
            match go.await {
                Ok(true) => state.set(Live::Done(format!("the {} trials at t = {t}", trials.with_untracked(Vec::len)))),
                Ok(false) => state.set(Live::Cancelled),
                Err(e) => state.set(Live::Failed(e)),
            }
        });
    };
    // Its curvature: the score Jacobian two columns (four network evaluations) between frames,
    // then its singular values; the same columns memgen probe computes in larger batches.
    let run_spectrum = move |_| {
        let Some((k, _, image, settings, [h, w, c])) = target() else { return };
        let Some(px) = unbase64(&image) else { return };
        cancel.set(false);
        spectrum.set(Vec::new());
        state.set(Live::Running("the spectrum: starting…".into()));
        spawn_local(async move {
            let go = async {
                let (model, _, _) = super::regen::point_model(p, k, &|m| state.set(Live::Running(m))).await?;
                let device = memgen_models::device::LabDevice::cpu().device.inner();
                let x0 = to_model(&px, h, w, c);
                let mut jac = ScoreJacobian::new(&x0, settings.curvature_t, [c, h, w], settings.curvature_h)?;
                let started = now_ms();
                while !jac.finished() {
                    if cancel.get_untracked() {
                        return Ok(None);
                    }
                    jac.step(&model, 2, &device)?;
                    let rate = jac.done() as f64 / ((now_ms() - started) / 1000.0);
                    state.set(Live::Running(format!(
                        "the spectrum at t = {}: column {} of {} of the score's Jacobian; {}",
                        settings.curvature_t,
                        jac.done(),
                        jac.columns(),
                        time_left((jac.columns() - jac.done()) as f64, rate)
                    )));
                    yield_now().await;
                }
                let d = jac.columns();
                state.set(Live::Running(format!("the spectrum: the singular values of the {d} × {d} Jacobian (a few seconds)…")));
                yield_now().await;
                let sv = memgen_core::basin::singular_values(&jac.matrix()?).map_err(|e| e.to_string())?;
                took_ms.update(|m| m.1 = now_ms() - started);
                Ok::<_, String>(Some((sv, settings.curvature_t)))
            };
            match go.await {
                Ok(Some((sv, t))) => {
                    let (n, top) = (sv.len(), sv.first().copied().unwrap_or(f64::NAN));
                    spectrum.set(sv);
                    state.set(Live::Done(format!("its {n} singular values at t = {t}, the largest {top:.2}")));
                }
                Ok(None) => state.set(Live::Cancelled),
                Err(e) => state.set(Live::Failed(e)),
            }
        });
    };
    move || {
        p.picked.get()?;
        let has_weights = p.loaded.with(|l| {
            l.as_ref().and_then(|l| l.manifest.results.iter().find(|r| Some(r.k) == p.selected_k.get())).is_some_and(|r| r.files.contains_key("weights"))
        });
        if !has_weights {
            return None;
        }
        let st = state.get();
        let running = matches!(st, Live::Running(_));
        let attr = match &st {
            Live::Idle => "idle".to_string(),
            Live::Running(_) => "running".into(),
            Live::Done(_) => "done".into(),
            Live::Cancelled => "cancelled".into(),
            Live::Failed(e) => format!("error: {e}"),
        };
        let (tc_attr, lv_attr) = match result.get() {
            Some((t, lv)) => (t.map(|t| t.to_string()).unwrap_or("none".into()), if lv.is_finite() { format!("{lv:.6}") } else { "none".into() }),
            None => (String::new(), String::new()),
        };
        let levels_attr = {
            let mut v = levels.get();
            v.sort_by_key(|l| l.0);
            v.iter().map(|(t, p)| format!("{t}:{p}")).collect::<Vec<_>>().join(",")
        };
        let delta = target().map(|t| t.3.basin.delta).unwrap_or(f64::NAN);
        let spectrum_attr = spectrum.with(|v| v.iter().map(|s| format!("{s:.6}")).collect::<Vec<_>>().join(","));
        let stored_ranks = stored().0.map(|v| v.iter().map(|(r, _)| r.to_string()).collect::<Vec<_>>().join(",")).unwrap_or_default();
        let (probe_ms, spectrum_ms) = took_ms.get();
        let ms = |v: f64| if v.is_finite() { format!("{v:.0}") } else { String::new() };
        let shape = p.gallery.get().map(|g| g.shape).unwrap_or([28, 28, 1]);
        let trial_thumbs = move || {
            let thumb = |(i, (noised, back, dist)): (usize, (String, String, f64))| {
                view! {
                    <Thumb image=noised shape=shape caption=format!("trial {} noised", i + 1) alt=format!("trial {}: the sample noised to the chosen t", i + 1) />
                    <Thumb image=back shape=shape caption=format!("back: {dist:.2} {}", if dist <= delta { "✓" } else { "✗" })
                        alt=format!("trial {}: denoised back, distance {dist:.2} from the sample, {}", i + 1, if dist <= delta { "recovered" } else { "not recovered" }) />
                }
            };
            trials.get().into_iter().enumerate().map(thumb).collect::<Vec<_>>()
        };
        Some(view! {
            <div class="controls" data-testid="basins-live" data-state=attr data-t-c=tc_attr data-log-volume=lv_attr data-levels=levels_attr
                data-spectrum=spectrum_attr data-stored-ranks=stored_ranks data-probe-ms=ms(probe_ms) data-spectrum-ms=ms(spectrum_ms)>
                <button data-testid="basins-live-run" disabled=running on:click=run>"Probe this sample's basin here"</button>
                <label>" Show its trials at t = "
                    <input type="number" min="1" max="999" data-testid="basins-live-t" prop:value=move || show_t.get().to_string()
                        on:change=move |ev| { if let Ok(v) = event_target_value(&ev).parse::<usize>() { show_t.set(v.clamp(1, 999)); } } />
                </label>
                <button data-testid="basins-live-show" disabled=running on:click=show>"Show"</button>
                <button data-testid="basins-live-spectrum" disabled=running on:click=run_spectrum>"Its curvature spectrum"</button>
                <button data-testid="basins-live-cancel" disabled=!running on:click=move |_| cancel.set(true)>"Cancel"</button>
                <span>{match st {
                    Live::Idle => "Runs the probe of memgen probe on this sample with this K's weights, or its curvature spectrum: nothing is trained.".to_string(),
                    Live::Running(m) => m,
                    Live::Done(m) => format!("Done: {m}."),
                    Live::Cancelled => "Cancelled.".into(),
                    Live::Failed(e) => format!("Could not probe it: {e}"),
                }}</span>
                <canvas node_ref=plot_ref width="480" height="180" data-testid="basins-live-plot" role="img"
                    aria-label="This sample's probability of recovery P(t) against the noise level t, filled in as the probe runs; the line above says its critical time."></canvas>
                <canvas node_ref=spectrum_ref width="480" height="180" data-testid="basins-live-spectrum-plot" role="img"
                    style=move || if spectrum.with(Vec::is_empty) { "display:none" } else { "" }
                    aria-label="This sample's singular values of the score Jacobian by rank on a log axis, computed here, beside the bundle's stored spectrum of it and its K's training points' mean."></canvas>
                <div class="thumbs" data-testid="basins-live-trials" data-count=move || trials.with(Vec::len).to_string()>
                    {trial_thumbs}
                </div>
            </div>
        })
    }
}
