//! The three regimes side by side (K = 2, 9 and 1000), from the checkpoints in
//! `www/pretrained/` (made by `bash scripts/make-pretrained.sh`): arrows and Ward centroids are
//! computed here from the shipped weights and samples; the samples and the energy grid were
//! computed by the CLI.

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_core::matrix::Matrix;
use memgen_models::toy::centroids::{classify_centroids_detailed, CentroidKind, CentroidThresholds};
use memgen_models::toy::energy::grid_points;

use super::figures::{arrows_from, canvas_of, draw_view};
use super::state::preset_for;
use super::{Centroid, CANVAS, HI, LO};

/// The K of the shipped checkpoints.
const KS: [usize; 3] = [2, 9, 1000];

/// One pretrained regime, ready to draw.
#[derive(Debug, Clone, PartialEq)]
struct Regime {
    k: usize,
    train: Vec<[f32; 2]>,
    samples: Vec<[f32; 2]>,
    energy: Option<(Vec<f32>, usize)>,
    arrows: Vec<([f32; 2], [f32; 2])>,
    centroids: Vec<Centroid>,
    meta: std::collections::BTreeMap<String, String>,
}

impl Regime {
    /// Its centroids of `kind`.
    fn count(&self, kind: CentroidKind) -> usize {
        self.centroids.iter().filter(|c| c.kind == Some(kind)).count()
    }
}

/// Where the loading of the checkpoints stands (the test hook `data-state`).
#[derive(Debug, Clone, PartialEq)]
enum RegimesState {
    Idle,
    Loading,
    Done,
    Failed(String),
}

impl RegimesState {
    fn attr(&self) -> String {
        match self {
            RegimesState::Idle => "idle".into(),
            RegimesState::Loading => "loading".into(),
            RegimesState::Done => "done".into(),
            RegimesState::Failed(e) => format!("error: {e}"),
        }
    }
}

/// The regime of `www/pretrained/toy-k{k}.safetensors`: its training points, samples and energy
/// grid as shipped, the network's score arrows and the samples' Ward centroids computed here.
async fn load_regime(k: usize) -> Result<Regime, String> {
    let url = format!("www/pretrained/toy-k{k}.safetensors");
    let bytes = crate::browser::fetch_bytes(&url).await?;
    let device = memgen_models::device::LabDevice::cpu().device.inner();
    let ck = memgen_models::toy::checkpoint::decode(&bytes, &device).map_err(|e| format!("{url}: {e}"))?;
    let pts = |name: &str| -> Result<Vec<[f32; 2]>, String> {
        let (shape, v) = ck.extras.get(name).ok_or_else(|| format!("{url}: no {name}"))?;
        if shape.len() != 2 || shape[1] != 2 {
            return Err(format!("{url}: {name} has shape {shape:?}"));
        }
        Ok(v.chunks_exact(2).map(|c| [c[0], c[1]]).collect())
    };
    let train = pts("train")?;
    let samples = pts("samples")?;
    let energy = ck.extras.get("energy").and_then(|(shape, v)| (shape.len() == 2 && shape[0] == shape[1]).then(|| (v.clone(), shape[0])));
    let t: f64 = ck.meta.get("energy_t").and_then(|v| v.parse().ok()).unwrap_or(0.15);
    crate::browser::yield_now().await;
    // Score arrows of the shipped network at t.
    let grid = grid_points(15, LO + 0.1, HI - 0.1);
    let x = burn::tensor::Tensor::<2>::from_data(burn::tensor::TensorData::new(grid.iter().flatten().copied().collect::<Vec<f32>>(), [grid.len(), 2]), &device);
    let tt = burn::tensor::Tensor::<2>::full([grid.len(), 1], t as f32, &device);
    let score = ck.model.forward(x, tt).into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    let arrows = arrows_from(&grid, &score, t, CANVAS as f64);
    crate::browser::yield_now().await;
    // Ward with the paper's threshold for this K, then memorized / spurious / generalized.
    let (threshold, _) = preset_for(k);
    let m = Matrix::new(samples.iter().flatten().copied().collect(), samples.len(), 2).map_err(|e| e.to_string())?;
    let c = memgen_core::cluster::ward_clusters(&m, threshold).map_err(|e| e.to_string())?;
    let cents: Vec<[f32; 2]> = c.centroids.data().chunks(2).map(|v| [v[0], v[1]]).collect();
    let stats = classify_centroids_detailed(&cents, &train, &samples, &c.labels, &CentroidThresholds::default());
    let centroids = cents
        .iter()
        .zip(stats)
        .map(|(at, st)| {
            let e = energy.as_ref().map(|(e, n)| {
                let idx = |v: f32| (((v - LO) / (HI - LO) * (*n - 1) as f32).round().max(0.0) as usize).min(n - 1);
                e[idx(at[1]) * n + idx(at[0])]
            });
            Centroid { at: *at, kind: Some(st.kind), count: st.count, energy: e }
        })
        .collect();
    Ok(Regime { k, train, samples, energy, arrows, centroids, meta: ck.meta })
}

/// A loaded regime's caption: how it was trained, its centroids, and the command that made it.
fn regime_caption(r: &Regime) -> AnyView {
    let get = |key: &str| r.meta.get(key).cloned().unwrap_or_default();
    view! {
        <span>
            <b>{format!("K = {} · pretrained", r.k)}</b>
            {format!(
                " ({} steps, {} preset, final loss {}; {} samples; energy at t = {}). Ward centroids: {} memorized, {} spurious, {} generalized. Made by: ",
                get("steps"), get("preset"), get("final_loss_mean_last_100"), r.samples.len(), get("energy_t"),
                r.count(CentroidKind::Memorized), r.count(CentroidKind::Spurious), r.count(CentroidKind::Generalized)
            )}
            <code>{get("command")}</code>
        </span>
    }
    .into_any()
}

/// K = 2, 9 and 1000 side by side from the shipped checkpoints, loaded after the first paint
/// without waiting for a click (about 0.6 MB in all).
#[component]
pub fn ThreeRegimes() -> impl IntoView {
    let regimes = RwSignal::new(Vec::<Regime>::new());
    let state = RwSignal::new(RegimesState::Idle);
    let refs = [NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new(), NodeRef::<Canvas>::new()];
    let load = move || {
        if state.get_untracked() == RegimesState::Loading {
            return;
        }
        state.set(RegimesState::Loading);
        spawn_local(async move {
            let mut out = Vec::new();
            for k in KS {
                match load_regime(k).await {
                    Ok(r) => {
                        out.push(r);
                        regimes.set(out.clone());
                    }
                    Err(e) => {
                        state.set(RegimesState::Failed(e));
                        return;
                    }
                }
                crate::browser::yield_now().await;
            }
            state.set(RegimesState::Done);
        });
    };
    Effect::new(move |_| load());
    Effect::new(move |_| {
        let rs = regimes.get();
        for (r, node) in rs.iter().zip(refs) {
            if let Some(c) = canvas_of(node) {
                draw_view(&c, r.energy.as_ref().map(|(e, n)| (e.as_slice(), *n)), &r.arrows, &r.train, &r.samples, &r.centroids);
            }
        }
    });
    let caption = move |i: usize| {
        move || {
            regimes.with(|rs| match rs.get(i) {
                Some(r) => regime_caption(r),
                None => view! { <span>{format!("K = {}: loading…", KS[i])}</span> }.into_any(),
            })
        }
    };
    let counts = move |i: usize, kind: CentroidKind| move || regimes.with(|rs| rs.get(i).map(|r| r.count(kind).to_string()).unwrap_or_default());
    view! {
        <div class="regimes" data-testid="toy-regimes" data-state=move || state.get().attr()>
            <h3>"The three regimes together (pretrained here by the CLI, not trained in this tab)"</h3>
            <p class="explain">
                "The same network and browser preset, trained natively with " <code>"bash scripts/make-pretrained.sh"</code>
                " (memgen toy … --out-checkpoint, seed 0) and shipped with the lab. The samples and the learned energy (probability-flow ODE) were computed by the CLI; "
                "the score arrows and the Ward clustering are computed here from the shipped weights and samples. Train any K yourself above: view (a) is always trained in this tab."
            </p>
            {move || match state.get() {
                RegimesState::Failed(e) => Some(view! { <p class="notice" data-testid="notice">{format!("The pretrained checkpoints could not be loaded: {e}")}</p> }),
                _ => None,
            }}
            <div class="canvases">
                {(0..3).map(|i| view! {
                    <figure>
                        <canvas node_ref=refs[i] width=CANVAS height=CANVAS class="toy" data-testid=format!("toy-regime-k{}", KS[i])
                            data-memorized=counts(i, CentroidKind::Memorized) data-spurious=counts(i, CentroidKind::Spurious) data-generalized=counts(i, CentroidKind::Generalized)
                            role="img" aria-label=move || regimes.with(|rs| match rs.get(i) {
                                Some(r) => super::figures::scene_description(&format!("Pretrained network, K = {}", r.k), r.train.len(), r.samples.len(),
                                    Some((r.count(CentroidKind::Memorized), r.count(CentroidKind::Spurious), r.count(CentroidKind::Generalized)))),
                                None => format!("Pretrained network, K = {}: loading.", KS[i]),
                            })></canvas>
                        <figcaption>{caption(i)}</figcaption>
                    </figure>
                }).collect_view()}
            </div>
        </div>
    }
}
