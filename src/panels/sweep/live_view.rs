//! The panel's in-tab runs on screen: run a point, re-run a bundle's point, sweep a K schedule
//! (each with progress, time left, pause and cancel), the loss curve, and the finished point's
//! bundle files to save.

use leptos::html::Canvas;
use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_models::experiment::ExperimentError;
use memgen_models::model::{Engine, ModelSpec, UNetSpec};
use memgen_models::sweep::SweepConfig;

use super::live::{point_key, run_live, LiveSettings, ACTIVE_SWEEP};
use super::live_ctl::Phase;
use super::{label_fractions, Panel, COLOURS};
use crate::browser::{object_url, storage_get, storage_remove, storage_set, unbase64};
use crate::panels::datasets::SubsetK;
use crate::widgets::{GpuToggle, ProgressLine, WholeInput};

/// Parses a K schedule `2,4,8,…`: whole numbers ≥ 2, at most 64 of them, ascending unique.
pub fn parse_schedule(text: &str) -> Result<Vec<usize>, String> {
    let mut ks = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<usize>() {
            Ok(k) if (2..=100_000).contains(&k) => ks.push(k),
            _ => return Err(format!("“{}” in the K schedule is not a whole number from 2 to 100000", crate::url::preview(part))),
        }
    }
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() || ks.len() > 64 {
        return Err("the K schedule needs 1 to 64 values, like 2,4,8,16".into());
    }
    Ok(ks)
}

impl Panel {
    fn subset_now(&self) -> Option<SubsetK> {
        self.subset.and_then(|s| s.get_untracked())
    }

    fn train_on_gpu(&self) -> bool {
        self.use_gpu.get_untracked() && self.gpu_available
    }

    /// Runs point `sub.k` of `sweep` here and shows it.
    fn start_point(self, sub: SubsetK, sweep: SweepConfig) {
        let gen = self.ctl.begin();
        let gpu = self.train_on_gpu();
        spawn_local(async move {
            match run_live(sub, sweep, gpu, self.ctl, gen).await {
                Ok(r) => {
                    let f = label_fractions(&r.gallery.classify(&self.rule()));
                    self.live_point.set(Some((r.gallery.k, [f.memorized, f.spurious, f.generalized])));
                    self.show_gallery(r.gallery);
                    self.live_quality_error.set(r.quality_error);
                    self.live_bundle.set(Some(r.bundle));
                    self.ctl.phase.set(Phase::Done);
                    self.ctl.progress.set(1.0);
                    self.ctl.status.set("Done: the gallery below shows this tab's samples; their quality is under the controls.".into());
                }
                Err(ExperimentError::Cancelled) => {}
                Err(ExperimentError::Failed(e)) => self.ctl.phase.set(Phase::Failed(e)),
            }
        });
    }

    fn run_here(self) {
        let Some(sub) = self.subset_now() else {
            self.notice.set(Some("Pick a dataset in the Datasets panel first: the point is trained on its S_K.".into()));
            return;
        };
        self.ctl.sweep_label.set(String::new());
        self.ctl.last_was_schedule.set_value(false);
        let sweep = self.live_cfg.get_untracked().sweep(&sub);
        self.start_point(sub, sweep);
    }

    /// Runs here what another tab of this browser runs (the last point or schedule asked for),
    /// from its last kept step; that tab stops at its next heartbeat and says so.
    fn take_over(self) {
        self.ctl.take_over.set_value(true);
        if self.ctl.last_was_schedule.get_value() {
            self.sweep_here();
        } else {
            self.run_here();
        }
    }

    /// Re-runs the bundle's point K here with the bundle's settings: its training subset (the
    /// Datasets panel's set, the bundle's seed), network, training, sampler, labels and the
    /// per-point seed `memgen sweep` used, so the run is the CLI's run.
    fn rerun_point(self, k: usize, mut sweep: SweepConfig) {
        let ModelSpec::Unet(spec) = sweep.model else {
            self.notice.set(Some(format!("This bundle's model is {}, not a trained UNet, so its points cannot be re-run here.", sweep.model.describe())));
            return;
        };
        let Some(sub) = self.subset_now() else {
            self.notice.set(Some(format!("Open {} in the Datasets panel first: the re-run trains on its training split.", sweep.data.name)));
            return;
        };
        if sub.name() != sweep.data.name {
            self.notice.set(Some(format!(
                "This bundle was made on {0}, but the Datasets panel shows {1}: choose {0} there, then re-run. Nothing was started.",
                sweep.data.name,
                sub.name()
            )));
            return;
        }
        let point = match (SubsetK { seed: sweep.seed, balanced: false, ..sub }).with_k(k) {
            Ok(p) => p,
            Err(e) => {
                self.notice.set(Some(format!("K = {k} cannot be re-run here: {e}.")));
                return;
            }
        };
        // The bundle's gallery holds the training images its samples were compared with: they
        // must be this subset's, or the set is not the one the bundle was trained on.
        if let Some(g) = self.gallery.get_untracked().filter(|g| g.k == k) {
            let d = point.hwc.iter().product::<usize>();
            if let Some(t) = g.train_images.iter().find(|t| unbase64(&t.image).as_deref() != point.pixels.get(t.index * d..(t.index + 1) * d)) {
                self.notice.set(Some(format!(
                    "The Datasets panel's {} is not the set this bundle was trained on (training image {} of S_K differs); nothing was started.",
                    point.name(),
                    t.index
                )));
                return;
            }
        }
        if let Err(e) = sweep.validate() {
            self.notice.set(Some(format!("The bundle's settings cannot run here: {e}.")));
            return;
        }
        let burn = spec.engine == Engine::Burn;
        self.notice.set(burn.then(|| "This bundle trained with burn's engine; this tab trains with the fused one (the same network, batches, Adam and EMA: equal at first, then apart by float rounding).".to_string()));
        sweep.model = ModelSpec::Unet(UNetSpec { engine: Engine::FUSED, ..spec });
        if let Some(s) = LiveSettings::of_sweep(&sweep) {
            self.live_cfg.set(s);
        }
        self.ctl.sweep_label.set(format!("re-run of the bundle's K = {k} · "));
        self.start_point(point, sweep);
    }

    /// A sweep over a K schedule here: finished points are kept in browser storage, so a
    /// reload (or a new click) resumes where it stopped.
    fn sweep_here(self) {
        let Some(sub) = self.subset_now() else {
            self.notice.set(Some("Pick a dataset in the Datasets panel first: the sweep trains on its S_K for each K.".into()));
            return;
        };
        let ks = match parse_schedule(&self.schedule.get_untracked()) {
            Ok(ks) => ks,
            Err(e) => {
                self.notice.set(Some(format!("{e}; nothing was started.")));
                return;
            }
        };
        self.ctl.last_was_schedule.set_value(true);
        let cfg = self.live_cfg.get_untracked();
        let schedule_text = ks.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(",");
        let _ = storage_set(ACTIVE_SWEEP, &serde_json::to_string(&(schedule_text, cfg)).unwrap_or_default());
        let gen = self.ctl.begin();
        self.live_sweep.set(Vec::new());
        let gpu = self.train_on_gpu();
        spawn_local(async move {
            let n = ks.len();
            for (i, &k) in ks.iter().enumerate() {
                let point = match sub.with_k(k) {
                    Ok(p) => p,
                    Err(e) => return self.ctl.phase.set(Phase::Failed(e)),
                };
                let sweep = SweepConfig { ks: ks.clone(), ..cfg.sweep(&point) };
                let key = point_key(&point, &sweep.point(k));
                let f = match storage_get(&key).ok().flatten().and_then(|v| serde_json::from_str::<[f64; 3]>(&v).ok()) {
                    Some(f) => f,
                    None => {
                        self.ctl.sweep_label.set(format!("K = {k} ({} of {n}) · ", i + 1));
                        if self.ctl.gen.is_stale(gen) {
                            return;
                        }
                        match run_live(point, sweep, gpu, self.ctl, gen).await {
                            Ok(r) => {
                                let fr = label_fractions(&r.gallery.classify(&self.rule()));
                                let f = [fr.memorized, fr.spurious, fr.generalized];
                                let _ = storage_set(&key, &serde_json::to_string(&f).unwrap_or_default());
                                self.show_gallery(r.gallery);
                                self.live_bundle.set(Some(r.bundle));
                                f
                            }
                            Err(ExperimentError::Cancelled) => return,
                            Err(ExperimentError::Failed(e)) => return self.ctl.phase.set(Phase::Failed(format!("K = {k}: {e}"))),
                        }
                    }
                };
                self.live_sweep.update(|v| v.push((k, f)));
            }
            self.ctl.sweep_label.set(String::new());
            let _ = storage_remove(ACTIVE_SWEEP);
            self.ctl.phase.set(Phase::SweepDone);
            self.ctl.progress.set(1.0);
            self.ctl.status.set(format!("Sweep done: {n} K values (finished points are kept in this browser)."));
        });
    }

    fn cancel(self) {
        self.ctl.cancel();
        let _ = storage_remove(ACTIVE_SWEEP);
    }
}

/// Resumes an unfinished sweep once the Datasets panel has published S_K after a reload.
pub fn resume_sweep_when_ready(p: Panel) {
    Effect::new(move |_| {
        let ready = p.subset.is_some_and(|s| s.with(|v| v.is_some()));
        if ready && p.sweep_resume.get_value() {
            p.sweep_resume.set_value(false);
            p.ctl.status.set("Resuming the sweep that was running before the reload…".into());
            p.sweep_here();
        }
    });
}

/// The bundle's re-run button and what it will do.
#[component]
pub fn RerunControls(
    /// The panel.
    p: Panel,
    /// The bundle's sweep.
    sweep: SweepConfig,
) -> impl IntoView {
    sweep.model.training().copied().map(|t| {
        let [h, w, _] = sweep.data.hwc;
        let sampler = match sweep.sampler.kind {
            memgen_models::unet::SamplerKind::Ddim => "DDIM",
            memgen_models::unet::SamplerKind::Ddpm => "DDPM",
        };
        // Steps that depend on K (`--epochs-per-k`) are said as the rule (`for_k` applies it).
        let steps = match t.steps_by_k {
            Some(r) => format!("for ⌈{}·K/{}⌉ steps (at least {}, at most {})", r.epochs, t.batch, r.min_steps, r.max_steps),
            None => format!("for {} steps", t.steps),
        };
        let what = format!(
            "Trains the bundle's network (base width {}, {} parameters at {h}×{w}) {steps} at batch {} with Adam lr {} on the bundle's S_K (seed {}), then samples |S_eval| = {} and S′ = {}·K with {sampler} ({} steps) and labels them: the point's own `memgen sweep` run, repeated in this tab, where it is slower. Progress, pause and cancel are below; the result is drawn beside the bundle's.",
            t.net.base_channels, t.net.parameter_count(), t.batch, t.lr, sweep.seed, sweep.n_eval, sweep.sprime_mult, sweep.sampler.steps
        );
        let sweep = StoredValue::new(sweep.clone());
        view! {
            <div class="controls">
                <button data-testid="sweep-rerun" disabled=move || p.ctl.phase.get().busy() on:click=move |_| if let Some(k) = p.selected_k.get_untracked() { p.rerun_point(k, sweep.get_value()) }>
                    {move || p.selected_k.get().map(|k| format!("Re-run K = {k} in this tab")).unwrap_or_else(|| "Re-run a point in this tab".into())}
                </button>
                <span class="muted" data-testid="sweep-rerun-what">{what}</span>
            </div>
        }
    })
}

/// A whole-number input of the live settings (the shared [`WholeInput`]).
fn live_number(
    p: Panel,
    label: &'static str,
    testid: &'static str,
    get: fn(&LiveSettings) -> usize,
    set: fn(&mut LiveSettings, usize),
    lo: u64,
    hi: u64,
) -> impl IntoView {
    view! {
        <WholeInput label=label testid=testid narrow=true lo=lo hi=hi
            value=Signal::derive(move || p.live_cfg.with(|c| get(c) as u64))
            set=move |v: u64| p.live_cfg.update(|c| set(c, v as usize))
            refuse=move |e: String| p.notice.set(Some(format!("{e} Kept {}.", p.live_cfg.with_untracked(get)))) />
    }
}

/// The loss curve of the run in this tab.
#[component]
fn LossCurve(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let loss_ref = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let l = p.ctl.losses.get();
        if let Some(c) = loss_ref.get() {
            let pts: Vec<(f64, f64)> = l.iter().enumerate().map(|(i, v)| ((i + 1) as f64, *v as f64)).collect();
            let hi = pts.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1e-3) * 1.05;
            crate::plot::line_plot(
                &c,
                "training loss (this tab)",
                "step",
                false,
                (0.0, hi),
                &[crate::plot::Series { label: "loss", points: &pts, colour: COLOURS[0] }],
            );
        }
    });
    // No empty plot box before a run has a loss to draw.
    view! {
        <canvas node_ref=loss_ref width="340" height="200" data-testid="live-loss"
            style:display=move || if p.ctl.losses.with(Vec::is_empty) { "none" } else { "inline-block" }
            role="img" aria-label=move || p.ctl.losses.with(|l| crate::plot::loss_description(l))></canvas>
        <span style:display=move || if p.ctl.losses.with(Vec::is_empty) { "none" } else { "inline" }>
            <crate::export::ExportButtons name="live-loss" canvas=loss_ref csv=Callback::new(move |()| {
                p.ctl.losses.with_untracked(|l| (!l.is_empty()).then(|| crate::export::csv(&["step", "loss"], l.iter().enumerate().map(|(i, v)| vec![(i + 1).to_string(), v.to_string()]))))
            }) />
        </span>
    }
}

/// The last point run here, as the files of a bundle `memgen merge` and this panel load.
#[component]
fn LiveBundleFiles(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    move || {
        let b = p.live_bundle.get()?;
        let links = b
            .files()
            .into_iter()
            .filter_map(|(name, bytes)| {
                let mime = if name.ends_with(".csv") {
                    "text/csv"
                } else if name.ends_with(".json") {
                    "application/json"
                } else {
                    "application/octet-stream"
                };
                let url = object_url(&bytes, mime).ok()?;
                Some(view! { <a href=url download=name.clone() data-testid="live-bundle-file" data-name=name.clone()>{name.clone()}</a>" " })
            })
            .collect_view();
        Some(view! { <p class="muted" data-testid="live-bundle">"This point as a bundle (load it here or join it with memgen merge): " {links}</p> })
    }
}

/// Run a point or a K schedule in this tab.
#[component]
pub fn LiveControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let ctl = p.ctl;
    let busy = move || ctl.phase.get().busy();
    let subset_text = move || match p.subset.and_then(|s| s.get()) {
        Some(s) => {
            let (paper, why) = s.origin.delta_s_dataset(s.hwc[2]);
            p.live_cfg.with(|c| format!("Trains the UNet ({} parameters: base width {}, at {}×{}; Adam lr {}) on S_K from the Datasets panel: {}, K = {}, seed {} — then generates S_eval and S′ = {}·K with DDIM and labels them with δ_s = {} ({why}).",
                c.net(s.hwc).parameter_count(), c.base_channels, s.hwc[0], s.hwc[1], c.lr, s.name(), s.k, s.seed, c.sprime_mult, paper.delta_s()))
        }
        None => "Pick a dataset in the Datasets panel: the point trains on its S_K.".to_string(),
    };
    view! {
        <div class="live" data-testid="sweep-live">
            <h3>"Run a point in this tab"</h3>
            <p class="muted" data-testid="sweep-live-subset">{subset_text}</p>
            <p class="muted" data-testid="sweep-live-expect">
                "What to expect: with these settings at K = 2 (the Datasets panel's default) the tab trains for about a minute and a half on a laptop's CPU "
                "(97 s measured on a 2-core VM) and the model begins to memorize: about half its samples are copies of the two training digits "
                "(memorized 0.56; precision 0.97, since copies of digits are digits). Longer runs make every sample a copy. At a large K the same 800 steps "
                "make noise that Eqs. 4–6 still call “generalized” — the quality line under the results says so; new digits at large K take runs of "
                "hours, made natively (the shipped bundle: scripts/make-bundle.sh)."
            </p>
            <div class="controls">
                {live_number(p, "steps ", "live-steps", |c| c.steps, |c, v| c.steps = v, 1, 100_000)}
                {live_number(p, "batch ", "live-batch", |c| c.batch, |c, v| c.batch = v, 1, 256)}
                {live_number(p, "|S_eval| ", "live-eval", |c| c.eval, |c, v| c.eval = v, 1, 2_000)}
                {live_number(p, "S′ per K ", "live-mult", |c| c.sprime_mult, |c, v| c.sprime_mult = v, 1, 16)}
                {live_number(p, "DDIM steps ", "live-sampler-steps", |c| c.sampler_steps, |c, v| c.sampler_steps = v, 1, 1000)}
                <GpuToggle testid="live-gpu" checked=p.use_gpu available=p.gpu_available software=p.software />
            </div>
            <div class="controls">
                <button data-testid="live-run" on:click=move |_| p.run_here() disabled=busy>"Train, generate and label"</button>
                <button data-testid="live-pause" disabled=move || !busy() on:click=move |_| ctl.paused.update(|v| *v = !*v)>{move || if ctl.paused.get() { "Resume" } else { "Pause" }}</button>
                <button data-testid="live-cancel" disabled=move || !busy() on:click=move |_| p.cancel()>"Cancel"</button>
                <span class="progress" data-testid="live-progress" data-state=move || ctl.phase.get().attr() data-paused=move || ctl.paused.get().to_string() data-losses=move || ctl.losses.with(|l| l.len().to_string())
                    data-resumed-at=move || ctl.resumed_at.get().to_string() data-saved-step=move || ctl.saved_step.get().to_string() data-worker-snapshot=move || ctl.worker_snapshot.get().to_string()>
                    <ProgressLine fraction=ctl.progress text=Signal::derive(move || match ctl.phase.get() {
                        Phase::Failed(e) => format!("Failed: {e}"),
                        _ if ctl.paused.get() => format!("paused · {}", ctl.status.get()),
                        _ => ctl.status.get(),
                    }) />
                </span>
                {move || ctl.storage_note.get().map(|n| view! { <span class="notice" data-testid="live-storage-note">{n}</span> })}
                {move || ctl.device_note.get().map(|n| view! { <span class="notice" data-testid="live-device-note">{n}</span> })}
                {move || (ctl.elsewhere.get() && !busy()).then(|| view! {
                    <button data-testid="live-take-over" on:click=move |_| p.take_over()>"Take over: run it in this tab"</button>
                })}
            </div>
            <div class="controls">
                <label>"K schedule "
                    <input type="text" data-testid="live-schedule" prop:value=move || p.schedule.get() on:change=move |ev| p.schedule.set(event_target_value(&ev)) />
                </label>
                <button data-testid="live-sweep" on:click=move |_| p.sweep_here() disabled=busy>"Sweep these K here"</button>
                <span class="muted" data-testid="live-sweep-points" data-ks=move || p.live_sweep.with(|v| v.iter().map(|q| q.0.to_string()).collect::<Vec<_>>().join(","))>
                    "Each K trains its own model; finished points are kept in this browser and a reload resumes the sweep."
                </span>
            </div>
            <LossCurve p=p />
            <LiveBundleFiles p=p />
        </div>
    }
}
