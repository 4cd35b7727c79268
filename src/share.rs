//! The Share button: the page's full-state link (every view's keys, the open view and the app's
//! version as `v=`) copied to the clipboard, and said so; where the clipboard refuses, the link
//! is shown selected, to copy by hand.

use leptos::prelude::*;
use leptos::task::spawn_local;

/// The app's version, carried by shared links as `v=`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `href` with its `v` key set to this version (the other keys and the hash kept).
pub fn share_link(href: &str) -> String {
    let (rest, hash) = match href.split_once('#') {
        Some((r, h)) => (r, format!("#{h}")),
        None => (href, String::new()),
    };
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut parts: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && crate::url::decode(p.split('=').next().unwrap_or("")) != "v").collect();
    let v = format!("v={VERSION}");
    parts.push(&v);
    format!("{base}?{}{hash}", parts.join("&"))
}

/// The notice for a link made by another version, if it was.
pub fn version_notice(link_version: Option<&str>) -> Option<String> {
    let v = link_version?;
    (v != VERSION)
        .then(|| format!("This link was made with version {v} of the lab; this is version {VERSION}, so its numbers may differ from the ones its author saw."))
}

async fn copy(text: &str) -> Result<(), String> {
    let w = web_sys::window().ok_or("no window")?;
    let clipboard = js_sys::Reflect::get(&w.navigator(), &"clipboard".into()).map_err(|_| "no clipboard")?;
    if clipboard.is_undefined() {
        return Err("this page has no clipboard access".into());
    }
    let write = js_sys::Reflect::get(&clipboard, &"writeText".into()).map_err(|_| "no writeText")?;
    let f: js_sys::Function = wasm_bindgen::JsCast::dyn_into(write).map_err(|_| "writeText is not a function")?;
    let promise = f.call1(&clipboard, &text.into()).map_err(|e| format!("{e:?}"))?;
    let promise: js_sys::Promise = wasm_bindgen::JsCast::dyn_into(promise).map_err(|_| "writeText gave no promise")?;
    wasm_bindgen_futures::JsFuture::from(promise).await.map(|_| ()).map_err(|e| e.as_string().unwrap_or_else(|| "the browser refused".into()))
}

/// Where the last share stands.
#[derive(Debug, Clone, PartialEq)]
enum Shared {
    Idle,
    Copied(String),
    Shown(String, String),
}

/// The Share button and its confirmation.
#[component]
pub fn ShareButton() -> impl IntoView {
    let state = RwSignal::new(Shared::Idle);
    let click = move |_| {
        let href = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
        let link = share_link(&href);
        spawn_local(async move {
            match copy(&link).await {
                Ok(()) => state.set(Shared::Copied(link)),
                Err(e) => state.set(Shared::Shown(link, e)),
            }
        });
    };
    view! {
        <span class="share">
            <button data-testid="share" on:click=click title="Copy a link to exactly this experiment">"Share"</button>
            <span role="status" aria-live="polite" data-testid="share-status"
                data-state=move || match state.get() { Shared::Idle => "idle", Shared::Copied(_) => "copied", Shared::Shown(..) => "shown" }
                data-url=move || match state.get() { Shared::Idle => String::new(), Shared::Copied(u) | Shared::Shown(u, _) => u }>
                {move || match state.get() {
                    Shared::Idle => None,
                    Shared::Copied(_) => Some(view! { <span class="share-ok">"Link copied: it opens this experiment as you see it."</span> }.into_any()),
                    Shared::Shown(u, why) => Some(view! {
                        <span>{format!("The clipboard refused ({why}); copy the link: ")}
                            <input class="share-link" readonly prop:value=u on:focus=move |ev| {
                                if let Some(i) = ev.target().and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok()) { i.select(); }
                            } />
                        </span>
                    }.into_any()),
                }}
            </span>
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_this_version_once_and_keeps_the_rest() {
        let v = format!("v={VERSION}");
        assert_eq!(share_link("http://h/?beta=3#/toy"), format!("http://h/?beta=3&{v}#/toy"));
        assert_eq!(share_link("http://h/"), format!("http://h/?{v}"));
        assert_eq!(share_link("http://h/?v=0.0.1&k=2&v=9"), format!("http://h/?k=2&{v}"));
        assert_eq!(version_notice(Some(VERSION)), None);
        assert!(version_notice(Some("0.0.1")).unwrap().contains("0.0.1"));
        assert_eq!(version_notice(None), None);
    }
}
