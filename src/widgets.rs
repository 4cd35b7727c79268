//! Widgets shared by the panels.

use leptos::prelude::*;

use crate::state::Notice;

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
