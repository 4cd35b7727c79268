//! What the shown set is: its source, shape, checksums, classes, licence and attribution.

use leptos::prelude::*;

use super::{fmt_bytes, short, Loaded, Origin, Panel};

/// The set's provenance, or a line saying none is loaded.
#[component]
pub(super) fn SetInfo(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    view! {
        <div class="dataset-info" data-testid="dataset-info">
            {move || match p.loaded.get() {
                Some(l) => loaded_info(&l),
                None => view! { <p class="muted">"No dataset loaded yet."</p> }.into_any(),
            }}
        </div>
    }
}

/// The lines about set `l`.
fn loaded_info(l: &Loaded) -> AnyView {
    let h = l.data.header().clone();
    let shape = l.data.shape();
    let shape = if shape[3] == 1 { format!("[{}, {}, {}]", shape[0], shape[1], shape[2]) } else { format!("{shape:?}") };
    let (source_line, file_line, sub) = match &l.origin {
        Origin::Registry { id, entry } => (
            format!("{} — {}", id.title(), h.source),
            format!("{} · {} over the wire · file sha256 {}…", entry.file, fmt_bytes(entry.bytes as f64), short(&entry.sha256)),
            h.subsample.as_ref().map(|s| format!("Subsample: {} (of {} images of {}).", s.method, s.of_n, s.of)),
        ),
        Origin::Upload { file, note } => (format!("Your file {file}"), note.clone(), None),
    };
    let classes = if h.class_names.is_empty() { "no labels".to_string() } else { h.class_names.join(", ") };
    view! {
        <p><b>{source_line}</b></p>
        <p>
            {format!("{} images, shape {shape} ({}), payload sha256 ", h.n, if h.channels == 3 { "RGB" } else { "grey" })}
            <code title=h.payload_sha256.clone()>{format!("{}…", short(&h.payload_sha256))}</code>
        </p>
        <p class="muted">{file_line}</p>
        {sub.map(|s| view! { <p class="muted">{s}</p> })}
        <p>"Classes: " {classes}</p>
        <p class="licence" data-testid="dataset-licence">"Licence: " <b>{h.licence.clone()}</b> ". " {h.attribution.clone()}</p>
    }
    .into_any()
}
