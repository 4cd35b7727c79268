//! The panel's controls: the memories (preset, K, seed), β, the energy's form and the view.

use leptos::prelude::*;
use memgen_core::dense_am::EnergyForm;

use super::{beta_to_slider, slider_to_beta, Panel};
use crate::state::{fmt_num, DenseAmState, Notice, Preset, MAX_K};
use crate::widgets::WholeInput;

impl Panel {
    /// Changes the memories' recipe: the edited points and the traced retrieval are dropped.
    fn remake_memories(self, f: impl FnOnce(&mut DenseAmState)) {
        self.state.update(|s| {
            f(s);
            s.points = None;
        });
        self.trajectory.set(None);
    }
}

/// The memories' preset, K and seed, β, the energy's form, zoom and resets.
#[component]
pub(super) fn Controls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let state = p.state;
    let max_k = MAX_K as u64;
    view! {
        <div class="controls">
            <label>
                "Memories "
                <select data-testid="preset" on:change=move |ev| {
                    if let Some(preset) = Preset::parse(&event_target_value(&ev)) {
                        p.remake_memories(|s| s.preset = preset);
                    }
                }>
                    {Preset::ALL
                        .into_iter()
                        .map(|preset| view! { <option value=preset.as_str() selected=move || state.with(|s| s.preset == preset)>{preset.label()}</option> })
                        .collect_view()}
                </select>
            </label>
            <WholeInput label="K " testid="k-input" lo=1 hi=max_k
                value=Signal::derive(move || state.with(|s| s.points.as_ref().map(|pts| pts.len()).unwrap_or(s.k) as u64))
                set=move |k: u64| p.remake_memories(|s| s.k = k as usize)
                refuse=move |e: String| p.notices.update(|v| v.push(Notice(e))) />
            <WholeInput label="seed " testid="seed-input" narrow=true lo=0 hi=u64::MAX
                value=Signal::derive(move || state.with(|s| s.seed))
                set=move |v: u64| state.update(|s| {
                    s.seed = v;
                    s.points = None;
                })
                refuse=move |_: String| p.notices.update(|n| n.push(Notice("The seed must be a whole number ≥ 0.".into()))) />
            <label class="beta">
                "β "
                <input type="range" min="0" max="1000" step="1" data-testid="beta-slider"
                    prop:value=move || state.with(|s| beta_to_slider(s.beta).round().to_string())
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<f64>() {
                            state.update(|s| s.beta = slider_to_beta(v));
                        }
                    } />
                <span data-testid="beta-value" class="value">{move || fmt_num(state.with(|s| s.beta))}</span>
            </label>
            <label>
                "energy "
                <select data-testid="form" on:change=move |ev| {
                    if let Some(f) = EnergyForm::parse(&event_target_value(&ev)) {
                        state.update(|s| s.form = f);
                    }
                }>
                    <option value="dot" selected=move || state.with(|s| s.form == EnergyForm::Dot)>"dot product + ½‖x‖²"</option>
                    <option value="distance" selected=move || state.with(|s| s.form == EnergyForm::Distance)>"distance −β⁻¹ log Σ exp(−β‖x−y‖²/2)"</option>
                </select>
            </label>
            <span class="view-buttons">
                <button on:click=move |_| state.update(|s| s.view[2] = (s.view[2] / 1.5).max(1e-3))>"zoom in"</button>
                <button on:click=move |_| state.update(|s| s.view[2] = (s.view[2] * 1.5).min(1e3))>"zoom out"</button>
                <button on:click=move |_| state.update(|s| s.view = DenseAmState::default().view)>"reset view"</button>
                <button data-testid="reset-memories" on:click=move |_| { state.update(|s| s.points = None); p.trajectory.set(None); }>"reset memories"</button>
            </span>
        </div>
    }
}
