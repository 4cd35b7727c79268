//! The panel's controls: the dataset picker, K, the seed, class balance and the download's
//! progress; and the upload of the user's own files with their resolution and colour.

use leptos::prelude::*;
use memgen_data::DatasetId;

use super::url::MAX_K;
use super::{fmt_bytes, FetchState, Loaded, Origin, Panel, Progress};
use crate::widgets::{parse_whole, ProgressLine, WholeInput};

/// Resolutions offered for uploaded data.
const RESOLUTIONS: [usize; 4] = [16, 28, 32, 64];

impl Panel {
    /// Whether the panel shows the user's own files.
    fn showing_upload(&self) -> bool {
        self.loaded.with(|l| matches!(l, Some(Loaded { origin: Origin::Upload { .. }, .. })))
    }

    /// The picker's choice: a registry set loads; the empty choice only clears the pick.
    fn pick(self, value: &str) {
        self.url_touched.set_value(true);
        match DatasetId::parse(value) {
            Some(id) => {
                self.picked.set(Some(id));
                self.load(id);
            }
            None => self.picked.set(None),
        }
    }

    /// K typed in its box: more than the set holds becomes all of it (with a notice); anything
    /// but a whole number from 1 is refused with a notice and the box shows K again.
    fn enter_k(self, text: &str) {
        self.url_touched.set_value(true);
        let cap = self.loaded.with_untracked(|l| l.as_ref().map(|l| l.data.len())).unwrap_or(MAX_K).min(MAX_K);
        match text.trim().parse::<usize>() {
            Ok(v) if v > cap => {
                self.notify(format!("K = {v} is more than the {cap} images available; using {cap}."));
                self.k.set(cap);
            }
            _ => match parse_whole(text, "K", 1, cap as u64) {
                Ok(v) => self.k.set(v as usize),
                Err(e) => {
                    self.notify(e);
                    self.k.update(|_| {});
                }
            },
        }
    }
}

/// The picker's label of a registry set.
fn dataset_label(d: DatasetId) -> &'static str {
    match d {
        DatasetId::Mnist => "MNIST (60,000 digits, 9.7 MB)",
        DatasetId::FashionMnist => "Fashion-MNIST (20,000 of 60,000, 8.8 MB)",
        DatasetId::Emoji => "Emoji (1,911 colour, 2.2 MB)",
    }
}

/// The dataset picker, K, the seed, class balance and the download's progress.
#[component]
pub(super) fn DatasetControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let showing_upload = move || p.showing_upload();
    view! {
        <div class="controls">
            <label>
                "Dataset "
                <select data-testid="dataset-picker" on:change=move |ev| p.pick(&event_target_value(&ev))>
                    <option value="" prop:selected=move || p.picked.get().is_none() && !showing_upload()>"— pick one —"</option>
                    <option value="upload" disabled=true prop:selected=showing_upload>"your file (below)"</option>
                    {DatasetId::ALL
                        .into_iter()
                        .map(|d| {
                            let selected = move || p.picked.get() == Some(d) && !showing_upload();
                            view! { <option value=d.as_str() prop:selected=selected>{dataset_label(d)}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "K "
                <input type="number" min="1" max=MAX_K.to_string() data-testid="dataset-k"
                    prop:value=move || p.k.get().to_string()
                    on:change=move |ev| p.enter_k(&event_target_value(&ev)) />
            </label>
            <WholeInput label="seed " testid="dataset-seed" narrow=true lo=0 hi=u64::MAX
                value=p.seed
                set=move |v: u64| {
                    p.url_touched.set_value(true);
                    p.seed.set(v);
                }
                refuse=move |_: String| {
                    p.url_touched.set_value(true);
                    p.notify("The seed must be a whole number ≥ 0.".into());
                    p.seed.update(|_| {});
                } />
            <label title="Take S_K round robin over the classes, each class in the seeded order (memgen export --balanced)">
                <input type="checkbox" data-testid="dataset-balanced"
                    prop:checked=move || p.balanced.get()
                    on:change=move |ev| {
                        p.url_touched.set_value(true);
                        p.balanced.set(event_target_checked(&ev));
                    } />
                " class-balanced"
            </label>
            {move || p.progress.get().map(|progress| view! { <DownloadProgress p=p progress=progress /> })}
        </div>
    }
}

/// A download's progress: bytes received of the total, and a cancel button while it runs.
#[component]
fn DownloadProgress(
    /// The panel.
    p: Panel,
    /// The download.
    progress: Progress,
) -> impl IntoView {
    let Progress { label, bytes, total, state } = progress;
    let fraction = if total > 0.0 { (bytes / total).min(1.0) } else { 0.0 };
    let (got, of) = (fmt_bytes(bytes), fmt_bytes(total));
    let text = match state {
        FetchState::Loading => format!(" {got} / {of} "),
        FetchState::Done => format!(" {got} / {of} · loaded "),
        FetchState::Cancelled => format!(" {got} / {of} · cancelled "),
        FetchState::Failed => " failed ".to_string(),
    };
    let loading = state == FetchState::Loading;
    view! {
        <span class="progress" data-testid="dataset-progress" data-state=state.attr()
            data-bytes=format!("{bytes:.0}") data-total=format!("{total:.0}")>
            <ProgressLine fraction=fraction text=label /> {text}
            {loading.then(|| view! { <button data-testid="dataset-cancel" on:click=move |_| p.cancel()>"cancel"</button> })}
        </span>
    }
}

/// The user's files, and the resolution and colour they are converted to.
#[component]
pub(super) fn UploadControls(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let (resolution, colour) = (p.resolution, p.colour);
    view! {
        <div class="controls">
            <label>
                "Files (PNG, JPEG, zip or .npy) "
                <input type="file" multiple=true accept=".npy,.png,.jpg,.jpeg,.zip,image/png,image/jpeg,application/zip" data-testid="dataset-upload"
                    on:change=move |ev| p.upload(ev) />
            </label>
            <label>
                "resolution "
                <select data-testid="dataset-resolution" on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<usize>() { resolution.set(v) }
                }>
                    {RESOLUTIONS
                        .into_iter()
                        .map(|r| view! { <option value=r.to_string() selected=move || resolution.get() == r>{format!("{r}×{r}")}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "colour "
                <select data-testid="dataset-colour" on:change=move |ev| colour.set(event_target_value(&ev) == "colour")>
                    <option value="grey" selected=move || !colour.get()>"grey"</option>
                    <option value="colour" selected=move || colour.get()>"colour (RGB)"</option>
                </select>
            </label>
            {move || p.uploading.get().map(|m| view! { <span class="muted">{m}</span> })}
        </div>
    }
}
