//! The panel's controls: the settings (K, seed, steps, lr, samples, Ward threshold, WebGPU), the
//! run buttons with the progress line and its test hooks, and the view time with the status line.

use leptos::prelude::*;

use super::state::{parse_lr, parse_threshold, preset_for, ToySettings, MAX_SAMPLES, MAX_STEPS, MAX_TOY_K, MIN_SAMPLES};
use super::{Panel, Phase, Speed};
use crate::widgets::{time_left, GpuToggle, ProgressLine, WholeInput};

impl Panel {
    /// K, with its preset's Ward threshold and view time.
    fn set_k(self, k: usize) {
        let (thr, t) = preset_for(k);
        self.settings.update(|s| {
            s.k = k;
            s.threshold = thr;
            s.t = t;
        });
    }

    /// A refused value: the status line says why, and the box shows the kept value again.
    fn refuse(self, message: String) {
        self.settings.update(|_| {});
        self.status.set(message);
    }
}

/// A whole-number setting (the shared [`WholeInput`]): a value outside `lo..=hi` is refused and
/// the previous one kept.
fn whole_input(
    p: Panel,
    label: &'static str,
    testid: &'static str,
    get: fn(&ToySettings) -> u64,
    set: fn(&mut ToySettings, u64),
    lo: u64,
    hi: u64,
) -> impl IntoView {
    view! {
        <WholeInput label=label testid=testid narrow=true lo=lo hi=hi
            value=Signal::derive(move || p.settings.with(get))
            set=move |v: u64| p.settings.update(|s| set(s, v))
            refuse=move |e: String| p.refuse(format!("{e} Kept {}.", p.settings.with_untracked(get))) />
    }
}

/// A decimal setting typed as text: `set` parses and stores it, or says it did not (then the
/// previous value stays).
fn decimal_input(
    p: Panel,
    label: &'static str,
    testid: &'static str,
    get: fn(&ToySettings) -> String,
    set: fn(&mut ToySettings, &str) -> bool,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input type="text" class="narrow" data-testid=testid prop:value=move || p.settings.with(get)
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    let mut ok = false;
                    p.settings.update(|s| ok = set(s, v.trim()));
                    if !ok {
                        p.status.set(format!("“{v}” is not a valid value for {label}; kept the previous one."));
                    }
                } />
        </label>
    }
}

/// K (the paper's three presets and a slider), the seed, the training and sampling settings,
/// and where to train.
#[component]
pub fn SettingsControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    view! {
        <div class="controls">
            <span>"K: "</span>
            <button data-testid="toy-k2" on:click=move |_| p.set_k(2)>"2"</button>
            <button data-testid="toy-k9" on:click=move |_| p.set_k(9)>"9"</button>
            <button data-testid="toy-k1000" on:click=move |_| p.set_k(1000)>"1000"</button>
            <input type="range" min="1" max=MAX_TOY_K.to_string() data-testid="toy-k-slider" aria-label="K, the number of training points" prop:value=move || p.settings.with(|s| s.k.to_string())
                on:change=move |ev| { if let Ok(k) = event_target_value(&ev).parse::<usize>() { p.set_k(k.clamp(1, MAX_TOY_K)) } } />
            <span class="value" data-testid="toy-k">{move || p.settings.with(|s| s.k)}</span>
            {whole_input(p, "seed ", "toy-seed", |s| s.seed, |s, v| s.seed = v, 0, u64::MAX)}
            {whole_input(p, "steps ", "toy-steps", |s| s.steps as u64, |s, v| s.steps = v as usize, 1, MAX_STEPS as u64)}
            {decimal_input(p, "lr ", "toy-lr", |s| s.lr.to_string(), |s, v| parse_lr(v).map(|x| s.lr = x).is_some())}
            {whole_input(p, "samples ", "toy-samples", |s| s.samples as u64, |s, v| s.samples = v as usize, MIN_SAMPLES as u64, MAX_SAMPLES as u64)}
            {decimal_input(p, "Ward threshold ", "toy-threshold", |s| s.threshold.to_string(), |s, v| parse_threshold(v).map(|x| s.threshold = x).is_some())}
            <GpuToggle testid="toy-gpu" checked=p.use_gpu available=p.gpu_available software=p.software />
        </div>
    }
}

/// Train, pause, resume, cancel, sample and the learned energy, with the progress line.
#[component]
pub fn RunControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let phase = p.phase;
    view! {
        <div class="controls">
            <button data-testid="toy-train" on:click=move |_| p.start() disabled=move || matches!(phase.get(), Phase::Training | Phase::Sampling)>"Train"</button>
            <button data-testid="toy-pause" on:click=move |_| p.pause() disabled=move || phase.get() != Phase::Training>"Pause"</button>
            <button data-testid="toy-resume" on:click=move |_| p.resume() disabled=move || phase.get() != Phase::Paused>"Resume"</button>
            <button data-testid="toy-cancel" on:click=move |_| p.cancel() disabled=move || matches!(phase.get(), Phase::Idle)>"Cancel"</button>
            <button data-testid="toy-sample" on:click=move |_| p.sample() disabled=move || !phase.with(Phase::has_model)>"Sample and cluster"</button>
            <button data-testid="toy-energy" on:click=move |_| p.learned_energy_on_grid() disabled=move || !phase.with(Phase::has_model)>"Learned energy (PF-ODE)"</button>
            <TrainingProgress p=p />
        </div>
    }
}

/// Mean of the first and of the last 50 losses, `head,tail` (the test hook `data-losses`).
fn head_tail_means(l: &[f32]) -> String {
    let n = l.len();
    let head: f32 = l.iter().take(50).sum::<f32>() / l.len().clamp(1, 50) as f32;
    let tail: f32 = l.iter().skip(n.saturating_sub(50)).sum::<f32>() / n.clamp(1, 50) as f32;
    format!("{head},{tail}")
}

/// The progress line of training or sampling, and the run's test hooks.
#[component]
fn TrainingProgress(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let (speed, losses, phase) = (p.speed, p.losses, p.phase);
    let text = Signal::derive(move || {
        let Speed { done, rate, left } = speed.get();
        let total = p.settings.with(|s| s.steps);
        match phase.get() {
            Phase::Idle => "Not trained yet.".to_string(),
            Phase::Failed(e) => e,
            Phase::Sampling => {
                let (share, left) = p.sample_progress.get();
                format!(
                    "Sampling… {:.0}% · {} · Cancel keeps the trained model",
                    100.0 * share,
                    if share > 0.0 { time_left(left, 1.0) } else { "starting".into() }
                )
            }
            ph => {
                format!("{}step {done} / {total} · {rate:.1} steps/s · {}", if ph == Phase::Paused { "paused at " } else { "" }, time_left(left as f64, rate))
            }
        }
    });
    let fraction = Signal::derive(move || match phase.get() {
        Phase::Sampling => p.sample_progress.get().0,
        _ => speed.get().done as f64 / p.settings.with(|s| s.steps).max(1) as f64,
    });
    view! {
        <span data-testid="toy-progress" class="progress"
            data-state=move || phase.with(Phase::attr)
            data-step=move || speed.get().done.to_string()
            data-saved-step=move || p.saved_step.get().map(|s| if s == usize::MAX { "refused".to_string() } else { s.to_string() }).unwrap_or_default()
            data-rate=move || format!("{:.2}", speed.get().rate)
            data-longest-slice-ms=move || format!("{:.0}", p.sample_longest_slice.get())
            data-median-slice-ms=move || format!("{:.0}", p.sample_median_slice.get())
            data-device=move || p.train_device.get().attr()
            data-recovered-from=move || p.recovered_from.get().map(|s| s.to_string()).unwrap_or_default()
            data-worker-paused-at=move || p.worker_pause.get().paused_at.map(|d| d.to_string()).unwrap_or_default()
            data-worker-resumed-from=move || p.worker_pause.get().resumed_from.map(|d| d.to_string()).unwrap_or_default()
            data-first-losses=move || losses.with(|l| l.iter().take(50).map(|v| v.to_string()).collect::<Vec<_>>().join(","))
            data-losses=move || losses.with(|l| head_tail_means(l.as_slice()))>
            <ProgressLine fraction=fraction text=text />
        </span>
    }
}

/// The view time t of the energies and arrows, and the status line.
#[component]
pub fn ViewControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    view! {
        <div class="controls">
            <label>
                "view time t "
                <input type="range" min="0.01" max="0.6" step="0.01" data-testid="toy-t" prop:value=move || p.settings.with(|s| s.t.to_string())
                    on:input=move |ev| { if let Ok(t) = event_target_value(&ev).parse::<f64>() { p.settings.update(|s| s.t = t.clamp(0.01, 0.6)) } } />
                <span class="value">{move || format!("{:.2}", p.settings.with(|s| s.t))}</span>
            </label>
            <span class="muted" data-testid="toy-status">{move || p.status.get()}</span>
        </div>
    }
}
