//! Widgets shared by the panels: the panel's frame, notices, a whole-number input that refuses
//! bad values with a notice, the WebGPU toggle, a progress line with time left, and the
//! nearest-neighbour gallery with its detail ([`gallery`]).

use leptos::prelude::*;

use crate::state::Notice;

#[cfg(feature = "engine")]
pub mod gallery;

/// A panel's frame: its section (with its test id) and heading; the panel's body goes inside.
#[component]
pub fn PanelFrame(
    /// `data-testid` of the section, e.g. `"panel-toy"`.
    testid: &'static str,
    /// The heading.
    title: &'static str,
    /// Extra CSS classes beside `panel`.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    let class = if class.is_empty() { "panel".to_string() } else { format!("panel {class}") };
    view! {
        <section class=class data-testid=testid>
            <h2>{title}</h2>
            {children()}
        </section>
    }
}

/// The panel's dismissible notices about input that was not used as given.
#[component]
pub fn Notices(
    /// Notices to show; the × button removes one.
    notices: RwSignal<Vec<Notice>>,
) -> impl IntoView {
    view! {
        <div class="notices">
            {move || {
                notices
                    .get()
                    .into_iter()
                    .enumerate()
                    .map(|(i, n)| {
                        view! {
                            <div class="notice" data-testid="notice" role="status">
                                <span>{n.0}</span>
                                <button class="dismiss" on:click=move |_| notices.update(|v| { if i < v.len() { v.remove(i); } })>"×"</button>
                            </div>
                        }
                    })
                    .collect_view()
            }}
        </div>
    }
}

/// Parses a whole number in `lo..=hi`; `Err` is the sentence a notice shows.
pub fn parse_whole(text: &str, what: &str, lo: u64, hi: u64) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ if hi == u64::MAX => Err(format!("{what} must be a whole number ≥ {lo}.")),
        _ => Err(format!("{what} must be a whole number from {lo} to {hi}.")),
    }
}

/// A labelled whole-number input: a value in `lo..=hi` goes to `set`, anything else to
/// `refuse` with a sentence that says what is allowed (the box shows the value in force again).
#[component]
pub fn WholeInput(
    /// Text before the box.
    label: &'static str,
    /// Test hook.
    testid: &'static str,
    /// The value shown.
    #[prop(into)]
    value: Signal<u64>,
    /// Smallest value.
    lo: u64,
    /// Largest value.
    #[prop(into)]
    hi: Signal<u64>,
    /// Receives an accepted value.
    #[prop(into)]
    set: Callback<u64>,
    /// Receives the notice for a refused value.
    #[prop(into)]
    refuse: Callback<String>,
    /// A narrower box.
    #[prop(optional)]
    narrow: bool,
) -> impl IntoView {
    let what = label.trim().to_string();
    view! {
        <label>
            {label}
            <input type="number" class:narrow=narrow min=lo.to_string() max=move || hi.get().to_string() data-testid=testid
                prop:value=move || value.get().to_string()
                on:change=move |ev| match parse_whole(&event_target_value(&ev), &what, lo, hi.get_untracked()) {
                    Ok(v) => set.run(v),
                    Err(e) => {
                        // The box shows the value in force again, not the refused text.
                        if let Some(t) = ev.target() {
                            let _ = js_sys::Reflect::set(&t, &"value".into(), &value.get_untracked().to_string().into());
                        }
                        refuse.run(e)
                    }
                } />
        </label>
    }
}

/// The "train on WebGPU" checkbox: off and disabled without WebGPU, and it says why.
#[component]
pub fn GpuToggle(
    /// Test hook.
    testid: &'static str,
    /// Checked: train on WebGPU in a worker.
    checked: RwSignal<bool>,
    /// Whether the page has a WebGPU device.
    available: bool,
    /// Whether that device is a software renderer (then the CPU in wasm is faster).
    software: bool,
    /// What runs there ("train", "probe").
    #[prop(default = "train")]
    verb: &'static str,
) -> impl IntoView {
    let note = if !available {
        " on WebGPU (not available here: CPU in WebAssembly, slower)".to_string()
    } else if software {
        format!(" {verb} on WebGPU, in a worker (off by default: this adapter is a software renderer, much slower here than the CPU in WebAssembly)")
    } else {
        format!(" {verb} on WebGPU, in a worker (the page stays free)")
    };
    view! {
        <label><input type="checkbox" data-testid=testid prop:checked=move || checked.get() disabled=!available on:change=move |ev| checked.set(event_target_checked(&ev)) />{note}</label>
    }
}

/// Seconds left at `rate` units per second, for a progress line ("about 12 s left").
pub fn time_left(remaining: f64, rate: f64) -> String {
    if !(rate > 0.0 && rate.is_finite()) {
        return "time left unknown".into();
    }
    let s = remaining / rate;
    if s < 1.0 {
        "under a second left".into()
    } else if s < 90.0 {
        format!("about {s:.0} s left")
    } else if s < 5400.0 {
        format!("about {:.0} min left", s / 60.0)
    } else {
        format!("about {:.1} h left", s / 3600.0)
    }
}

/// A progress bar with its text.
#[component]
pub fn ProgressLine(
    /// Done, in `[0, 1]`.
    #[prop(into)]
    fraction: Signal<f64>,
    /// What is being done, how fast, and the time left.
    #[prop(into)]
    text: Signal<String>,
) -> impl IntoView {
    view! { {move || text.get()} " " <progress max="1" value=move || fraction.get().clamp(0.0, 1.0)></progress> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_in_range_pass_and_the_rest_say_why() {
        assert_eq!(parse_whole(" 12 ", "K", 1, 100), Ok(12));
        assert_eq!(parse_whole("0", "K", 1, 100), Err("K must be a whole number from 1 to 100.".into()));
        assert!(parse_whole("1e3", "K", 1, 100).is_err());
        assert!(parse_whole("-1", "seed", 0, u64::MAX).unwrap_err().contains("≥ 0"));
        assert_eq!(time_left(30.0, 2.0), "about 15 s left");
        assert_eq!(time_left(600.0, 1.0), "about 10 min left");
        assert_eq!(time_left(1.0, 0.0), "time left unknown");
    }
}
