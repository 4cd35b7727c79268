//! Basins and curvature (paper Figs. 4B and 5A; docs/SCIENCE.md §5–6): the loaded bundle's
//! probe files (`memgen probe --write`) drawn as log-volume boxes by label against K, `P(t)`
//! curves and singular-value spectra by label, the training points' spectra coloured by K, a
//! table of means with bootstrap intervals and whether they order as the paper's; and a gallery
//! sample's basin probed live in the tab from the bundle's weights (`live_probe`).

use std::sync::Arc;

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::metrics::Label;
use memgen_data::sha256_hex;
use memgen_models::probe::{label_summaries, KProbe, LabelSummary, Search, PROBE_FORMAT};
use plotters::style::RGBColor;

use super::live_probe::LiveProbe;
use super::source::load_file;
use super::{Panel, COLOURS};
use crate::plot::{box_plot, curves_plot, BoxGroup};

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
    let generation = crate::job::Generation::new();
    Effect::new(move |_| {
        if p.loaded.with(|l| l.is_none()) {
            return;
        }
        let mine = generation.begin();
        state.set(Load::Loading);
        probes.set(Vec::new());
        spawn_local(async move {
            let loaded = load_probes(p).await;
            if generation.is_stale(mine) {
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
