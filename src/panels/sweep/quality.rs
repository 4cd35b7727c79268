//! The quality row under the fractions: each point's sample precision and recall in the
//! reference classifier's features (`memgen quality`), real test images' precision beside, and
//! the selected K's figures in words. The labels of Eqs. 4–6 cannot tell a new image from a
//! failed one; this row can.

use leptos::html::Canvas;
use leptos::prelude::*;
use memgen_models::bundle::PointQuality;
use plotters::style::RGBColor;

use super::Panel;
use crate::plot::{line_plot, Series};

/// What a dataset's images are called in the verdicts.
pub(crate) fn noun(dataset: &str) -> &'static str {
    match dataset {
        "mnist" => "digits",
        "fashion-mnist" => "clothing images",
        _ => "images",
    }
}

/// The points of the loaded bundle that carry quality: `(K, quality)`.
fn points(p: &Panel) -> Vec<(usize, PointQuality)> {
    p.loaded.with(|l| l.as_ref().map(|l| l.manifest.results.iter().filter_map(|r| Some((r.k, r.quality.clone()?))).collect()).unwrap_or_default())
}

fn ks(pts: &[(usize, PointQuality)]) -> String {
    pts.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>().join(",")
}

fn classes(pts: &[(usize, PointQuality)]) -> String {
    pts.iter().map(|(_, q)| q.samples.classes_present().to_string()).collect::<Vec<_>>().join(",")
}

fn list(v: impl Iterator<Item = f64>) -> String {
    v.map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(",")
}

/// The quality plot in words (its text alternative).
fn description(pts: &[(usize, PointQuality)]) -> String {
    if pts.is_empty() {
        return "Sample quality: this bundle measured none.".to_string();
    }
    let per_k = pts
        .iter()
        .map(|(k, q)| format!("K = {k}: precision {:.2}, {} of 10 classes", q.samples.precision, q.samples.classes_present()))
        .collect::<Vec<_>>()
        .join("; ");
    format!("Sample quality against K (real test images' precision {:.2}). {per_k}.", pts[0].1.real.precision)
}

/// The quality figures as a table (CSV).
fn table(pts: &[(usize, PointQuality)]) -> String {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    crate::export::csv(
        &["k", "precision", "recall", "frechet", "classes_present", "samples", "real_precision", "real_recall", "classifier_accuracy"],
        pts.iter().map(|(k, q)| {
            vec![
                k.to_string(),
                q.samples.precision.to_string(),
                opt(q.samples.recall),
                opt(q.samples.frechet),
                q.samples.classes_present().to_string(),
                q.samples.samples.to_string(),
                q.real.precision.to_string(),
                opt(q.real.recall),
                q.samples.classifier_accuracy.to_string(),
            ]
        }),
    )
}

/// Precision and recall against K, with real images' precision; hidden when the bundle has none.
#[component]
pub(crate) fn QualityPlot(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let plot_ref = NodeRef::<Canvas>::new();
    let pts = Memo::new(move |_| points(&p));
    Effect::new(move |_| {
        let pts = pts.get();
        let Some(c) = plot_ref.get() else { return };
        if pts.is_empty() {
            return;
        }
        let prec: Vec<(f64, f64)> = pts.iter().map(|(k, q)| (*k as f64, q.samples.precision)).collect();
        let rec: Vec<(f64, f64)> = pts.iter().filter_map(|(k, q)| Some((*k as f64, q.samples.recall?))).collect();
        let real: Vec<(f64, f64)> = pts.iter().map(|(k, q)| (*k as f64, q.real.precision)).collect();
        let series = [
            Series { label: "precision of the samples", points: &prec, colour: RGBColor(230, 120, 0) },
            Series { label: "recall of the samples", points: &rec, colour: RGBColor(120, 80, 170) },
            Series { label: "precision of real test images", points: &real, colour: RGBColor(150, 150, 150) },
        ];
        let n = pts[0].1.samples.samples;
        line_plot(
            &c,
            &format!("sample quality: {n} samples per K in the classifier's features (k = 5)"),
            "training-set size K (log)",
            true,
            (0.0, 1.02),
            &series,
        );
    });
    view! {
        <div style=move || if pts.get().is_empty() { "display:none" } else { "" }>
            <canvas node_ref=plot_ref width="640" height="220" data-testid="sweep-quality-canvas" role="img" aria-label=move || description(&pts.get())></canvas>
            <crate::export::ExportButtons name="quality" canvas=plot_ref csv=Callback::new(move |()| {
                let pts = pts.get_untracked();
                (!pts.is_empty()).then(|| table(&pts))
            }) />
            <span data-testid="sweep-quality" data-ks=move || ks(&pts.get())
                data-precision=move || list(pts.get().iter().map(|(_, q)| q.samples.precision))
                data-real=move || list(pts.get().iter().map(|(_, q)| q.real.precision))
                data-classes=move || classes(&pts.get())></span>
        </div>
    }
}

/// The selected K's quality in words.
#[component]
pub(crate) fn QualitySummary(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    move || {
        let k = p.selected_k.get()?;
        let (dataset, q) = p.loaded.with(|l| {
            l.as_ref().and_then(|l| Some((l.manifest.identity.sweep.dataset.clone(), l.manifest.results.iter().find(|r| r.k == k)?.quality.clone()?)))
        })?;
        let v = q.samples.verdict(&q.real, noun(&dataset));
        let extra = format!(
            " Recall {} (real: {}), Fréchet distance {} (real: {}) over {} {} samples; the classifier has {:.2}% test accuracy.",
            q.samples.recall.map(|r| format!("{r:.2}")).unwrap_or("–".into()),
            q.real.recall.map(|r| format!("{r:.2}")).unwrap_or("–".into()),
            q.samples.frechet.map(|r| format!("{r:.3}")).unwrap_or("–".into()),
            q.real.frechet.map(|r| format!("{r:.3}")).unwrap_or("–".into()),
            q.samples.samples,
            if q.of == "gallery" { "gallery" } else { "S_eval" },
            100.0 * q.samples.classifier_accuracy,
        );
        Some(view! {
            <p class=format!("quality {}", v.level.as_str()) data-testid="sweep-quality-summary" data-k=k.to_string() data-level=v.level.as_str()
                data-precision=format!("{:.4}", q.samples.precision)>
                <strong>{format!("Quality at K = {k}: ")}</strong>{v.text}{extra}
            </p>
        })
    }
}

/// The quality of the last point run in this tab, beside its labels, in words: whether its
/// samples are images of the data yet, and how long the shipped bundle trained.
#[component]
pub(crate) fn LiveQuality(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    move || {
        let b = p.live_bundle.get()?;
        let r = b.manifest.results.first()?.clone();
        let dataset = b.manifest.identity.sweep.dataset.clone();
        let steps = r.config.and_then(|c| c.model.training().map(|t| t.steps)).unwrap_or(0);
        // The loaded bundle's own record of this K (or of the K nearest it, on a log scale):
        // its steps may depend on K (`--epochs-per-k`), so the sweep-wide figure would mislead.
        let shipped = p.loaded.with(|l| {
            let l = l.as_ref().filter(|l| l.manifest.identity.sweep.dataset == dataset)?;
            let gap = |x: &memgen_models::bundle::PointRecord| (x.k as f64 / r.k.max(1) as f64).ln().abs();
            let near = l.manifest.results.iter().min_by(|a, b| gap(a).total_cmp(&gap(b)))?;
            let t = near.config.as_ref().and_then(|c| c.model.training().copied()).or(l.manifest.identity.sweep.model.training().copied())?;
            Some((near.k, t.steps, t.batch))
        });
        let longer = match shipped {
            Some((k, s, batch)) if s > steps => format!(" The loaded bundle trained K = {k} for {s} steps at batch {batch}; this run trained {steps}. Longer runs first make digits at every K, then, at small K, copies of the training images."),
            _ => String::new(),
        };
        let Some(q) = r.quality else {
            let why = p.live_quality_error.get().unwrap_or_else(|| "no reference classifier for this dataset".into());
            return Some(view! {
                <p class="quality" data-testid="live-quality" data-level="none">{format!("Sample quality was not measured ({why}); the labels above cannot tell a new image from a failed one.")}</p>
            }.into_any());
        };
        let v = q.samples.verdict(&q.real, noun(&dataset));
        let extra = format!(
            " Measured on this run's {} samples against {} test images; the shipped bundle's figures use 5,000, and where the samples gather on a few points (copies, at a small K) the two can differ widely: the same 32 samples of K = 2 score 0.97 against 2,000 and 0.56 against 5,000.",
            q.samples.samples, q.samples.reference
        );
        Some(
            view! {
                <p class=format!("quality {}", v.level.as_str()) data-testid="live-quality" data-level=v.level.as_str()
                    data-precision=format!("{:.4}", q.samples.precision) data-real=format!("{:.4}", q.real.precision) data-k=r.k.to_string()>
                    <strong>{format!("This tab's K = {}: ", r.k)}</strong>{v.text}{extra}{longer}
                </p>
            }
            .into_any(),
        )
    }
}
