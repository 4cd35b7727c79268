//! Memorization → Generalization Lab: the Leptos client-side app.
//!
//! [`wasm_start`] mounts [`App`] when the page loads the module. Panels live in [`panels`]; the state each panel shows is
//! one serde type that is mirrored into the URL ([`state`]).

pub mod browser;
pub mod cluster_worker;
pub mod compute;
pub mod export;
pub mod gpu;
pub mod job;
pub mod lessons;
pub mod link;
pub mod lite;
pub mod panels;
pub mod plot;
#[cfg(feature = "engine")]
pub mod quality;
pub mod render;
pub mod route;
pub mod share;
pub mod state;
#[cfg(feature = "engine")]
pub mod store;
pub mod tabs;
pub mod url;
pub mod views;
pub mod widgets;
#[cfg(feature = "engine")]
pub mod worker;

use leptos::prelude::*;
use leptos::task::spawn_local;

/// What the header shows about the compute backend.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendInfo {
    /// `"webgpu"` or `"cpu"`.
    pub kind: &'static str,
    /// Full label, e.g. "WebGPU · google · swiftshader".
    pub label: String,
    /// Why the fallback is active.
    pub reason: Option<String>,
}

/// The page's own keys read at start: a lesson's step fills in the state it sets (before any
/// view reads the URL), presenter mode, the link's version.
fn read_app_keys() -> (lessons::AppKeys, Vec<state::Notice>) {
    let (pairs, _) = url::read_pairs(&lessons::APP_KEYS);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (keys, mut notices) = lessons::parse_app_keys(&pairs);
    if let Some((l, i)) = keys.lesson {
        let step = &l.steps[i];
        if let Some(w) = web_sys::window() {
            let loc = w.location();
            let search = loc.search().unwrap_or_default();
            let hash = loc.hash().unwrap_or_default();
            let hash = if hash.len() > 1 { hash } else { step.view.hash() };
            let query = lessons::fill_step(&search, step).unwrap_or(search);
            let path = loc.pathname().unwrap_or_else(|_| "/".into());
            if let Ok(h) = w.history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}{query}{hash}")));
            }
        }
    }
    if let Some(n) = share::version_notice(keys.version.as_deref()) {
        notices.push(state::Notice(n));
    }
    (keys, notices)
}

/// The whole lab: the top bar of views, the lesson bar when a lesson is open, and the views
/// (each mounted once opened, [`route`]).
#[component]
pub fn App() -> impl IntoView {
    let backend = RwSignal::new(None::<BackendInfo>);
    provide_context(panels::datasets::SubsetSignal(RwSignal::new(None)));
    let (keys, app_notices) = read_app_keys();
    let notices = RwSignal::new(app_notices);
    let router = route::Router::new(notices);
    if keys.present {
        if let Some(b) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let _ = b.class_list().add_1("present");
        }
    }
    spawn_local(async move {
        let b = compute::init_backend().await;
        backend.set(Some(BackendInfo { kind: if b.kernels.is_some() { "webgpu" } else { "cpu" }, label: b.label.clone(), reason: b.fallback_reason.clone() }));
    });
    let backend_kind = move || backend.get().map(|b| b.kind).unwrap_or("pending");
    let lesson = keys.lesson.map(|(l, i)| view! { <lessons::LessonBar lesson=l step=i present=keys.present /> });
    view! {
        <header class="top">
            <div class="title">
                <h1>"Memorization → Generalization Lab"</h1>
                <p class="subtitle">
                    "Diffusion models are Dense Associative Memories: with few training points every point is an attractor (memorization); "
                    "past capacity, new attractors appear that are not training points (spurious states); with more data they merge into a continuous manifold (generalization). "
                    "After Pham, Raya, Negri, Zaki, Ambrogioni & Krotov."
                </p>
            </div>
            <div class="backend" data-testid="backend" data-backend=backend_kind title=move || backend.get().and_then(|b| b.reason).unwrap_or_default()>
                {move || match backend.get() {
                    None => "Starting the compute backend…".to_string(),
                    Some(b) => b.label,
                }}
            </div>
        </header>
        <div class="topbar">
            <route::ViewBar router=router />
            <lessons::LessonMenu />
            <share::ShareButton />
        </div>
        {lesson}
        <div class="app-notices"><widgets::Notices notices=notices /></div>
        {move || {
            backend
                .get()
                .and_then(|b| b.reason)
                .map(|r| {
                    view! {
                        <p class="fallback-note" data-testid="fallback-note">
                            "WebGPU is not available here (" {r} "), so the lab computes on the CPU inside WebAssembly. "
                            "Everything works, but large grids and training are slower; pictures are drawn at a lower resolution while you interact."
                        </p>
                    }
                })
        }}
        <main data-testid="views" data-view=move || router.open.get().slug()>
            <Show when=move || backend.get().is_some() fallback=|| view! { <p class="loading">"Preparing the compute backend…"</p> }>
                {views::View::ALL
                    .into_iter()
                    .map(|v| {
                        view! {
                            <div class="view" data-testid=format!("view-{}", v.slug()) hidden=move || router.open.get() != v>
                                <Show when=move || router.is_mounted(v)>{move || route::view_panel(v)}</Show>
                            </div>
                        }
                    })
                    .collect_view()}
            </Show>
        </main>
        <footer>
            <p>
                "Every view is in the link: Share copies it, with the app's version, to replay exactly this experiment. "
                "Code: MIT OR Apache-2.0. Paper: Pham et al., \"Memorization to Generalization: Emergence of Diffusion Models from Associative Memory\" (2025)."
            </p>
        </footer>
    }
}

/// The page's and the worker's entry point: wasm-bindgen runs it once when either loads the
/// module. The module is a library (cdylib, `scripts/build-web.sh`), not a binary: a wasm
/// binary is a "command", and wasm-ld wraps every export of one to run all static constructors
/// again (burn's and cubecl's registries among them) on each call from JavaScript, every event
/// and timer. Profiled in the toy's sampling: about a fifth of the page's CPU time.
///
/// A cdylib alone was not enough: the full module's 37 exports came out wrapped all the same
/// (`*_command_export` in its name section), and a profile of the in-tab point's last second
/// was mostly `__wasm_call_ctors` under `__externref_table_dealloc`. wasm-ld wraps no export
/// when the code calls `__wasm_call_ctors` itself, so it is called here, once.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn wasm_start() {
    static CONSTRUCTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    extern "C" {
        fn __wasm_call_ctors();
    }
    if !CONSTRUCTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // SAFETY: wasm-ld's synthetic function runs the module's static constructors; it is
        // called once, before anything that reads what they register.
        unsafe { __wasm_call_ctors() };
    }
    start();
}

/// Mounts the app (in the page; in the training worker there is nothing to mount).
pub fn start() {
    console_error_panic_hook::set_once();
    // The training worker loads this same module; there is no page to mount there.
    if web_sys::window().is_none() {
        return;
    }
    if !lite::serves_here() {
        lite::load_engine();
        return;
    }
    if let Some(boot) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    leptos::mount::mount_to_body(App);
}
