//! Routing between the lab's views and mounting them: each view of the registry
//! ([`crate::views::REGISTRY`]) is reached by its hash route (`#/memory`, `#/toy`, …) from the
//! top bar, and [`view_panel`] is the one place a view's panel is mounted. The query string
//! keeps every view's state ([`crate::url`]); the hash says which view is open, so back and
//! forward move between views, and a view is mounted (and fetches its assets) only once it has
//! been opened. A view that was opened stays mounted, hidden, so its running work goes on.

use leptos::prelude::*;

use crate::views::View;

/// One view's panel: the one place a view is mounted.
#[cfg(feature = "engine")]
pub fn view_panel(v: View) -> AnyView {
    use crate::panels;
    match v {
        View::Memory => view! { <panels::dense_am::DenseAmPanel /> }.into_any(),
        View::Data => view! { <panels::datasets::DatasetsPanel /> }.into_any(),
        View::Toy => view! { <panels::toy::ToyPanel /> }.into_any(),
        View::Images => view! { <panels::sweep::SweepPanel /> }.into_any(),
        View::System => view! { <panels::system::SystemPanel /> }.into_any(),
    }
}

/// One view's panel in the lite module: the views it shows ([`ViewInfo::in_lite`]); the router
/// hands every other view over to the full module before it is shown.
#[cfg(not(feature = "engine"))]
pub fn view_panel(v: View) -> AnyView {
    match v {
        View::Memory => view! { <crate::panels::dense_am::DenseAmPanel /> }.into_any(),
        _ => view! { <p class="loading">"Loading the training engine…"</p> }.into_any(),
    }
}

/// The view a location hash names: `""` is the first view; `Err` names what was not a view.
pub fn parse_hash(hash: &str) -> Result<View, String> {
    let h = hash.strip_prefix('#').unwrap_or(hash);
    let h = h.strip_prefix('/').unwrap_or(h);
    let slug = h.split(['?', '&', '/']).next().unwrap_or("");
    if slug.is_empty() {
        return Ok(View::Memory);
    }
    View::from_slug(slug).ok_or_else(|| crate::url::preview(&crate::url::decode(slug)))
}

/// The lite module asked to open view `v`: another view than the first needs the full module,
/// so the page loads again at the same link (its state is in it) and `www/boot.js` picks the
/// full module. Returns whether the page is being handed over.
fn hand_over_view(v: View) -> bool {
    if cfg!(feature = "engine") || v.info().in_lite {
        return false;
    }
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
    true
}

/// The notice for a hash that names no view.
pub fn hash_notice(bad: &str) -> String {
    format!("There is no view named “{bad}”; showing {} (the views are {}).", View::Memory.title(), View::ALL.map(|v| v.slug()).join(", "))
}

/// The page's current hash.
pub fn location_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// The open view and the views mounted so far.
#[derive(Clone, Copy)]
pub struct Router {
    /// The view shown.
    pub open: RwSignal<View>,
    /// Views opened at least once (kept mounted).
    pub mounted: RwSignal<Vec<View>>,
}

impl Router {
    /// Reads the hash and follows its changes (links, back and forward); a bad hash gets a
    /// notice in `notices`.
    pub fn new(notices: RwSignal<Vec<crate::state::Notice>>) -> Router {
        let first = match parse_hash(&location_hash()) {
            Ok(v) => v,
            Err(bad) => {
                notices.update(|n| n.push(crate::state::Notice(hash_notice(&bad))));
                View::Memory
            }
        };
        let r = Router { open: RwSignal::new(first), mounted: RwSignal::new(Vec::new()) };
        r.mount(first);
        // Back and forward between entries whose queries differ (a view rewrote its keys) fire
        // popstate and not always hashchange: both lead here.
        let follow = move || {
            crate::url::restore_query();
            let v = parse_hash(&location_hash()).unwrap_or(View::Memory);
            if hand_over_view(v) {
                return;
            }
            if r.open.get_untracked() != v {
                r.mount(v);
                r.open.set(v);
                if let Some(w) = web_sys::window() {
                    w.scroll_to_with_x_and_y(0.0, 0.0);
                }
            }
        };
        // The listeners live as long as the page.
        std::mem::forget(window_event_listener(leptos::ev::hashchange, move |_| follow()));
        std::mem::forget(window_event_listener(leptos::ev::popstate, move |_| follow()));
        r
    }

    fn mount(&self, v: View) {
        self.mounted.update(|m| {
            for w in std::iter::once(v).chain(v.needs().iter().copied()) {
                if !m.contains(&w) {
                    m.push(w);
                }
            }
        });
    }

    /// Whether `v` has been mounted.
    pub fn is_mounted(&self, v: View) -> bool {
        self.mounted.with(|m| m.contains(&v))
    }
}

/// The persistent top bar: one link per view; the open one is marked for screen readers too.
#[component]
pub fn ViewBar(
    /// The router.
    router: Router,
) -> impl IntoView {
    view! {
        <nav class="views" aria-label="Views" data-testid="view-bar" data-views=View::ALL.map(|v| v.slug()).join(",")>
            {View::ALL
                .into_iter()
                .map(|v| {
                    view! {
                        <a href=v.hash() data-testid=format!("view-link-{}", v.slug()) class:current=move || router.open.get() == v
                            aria-current=move || (router.open.get() == v).then_some("page")>
                            {v.title()}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::REGISTRY;

    #[test]
    fn hashes_name_views_and_bad_ones_are_refused() {
        assert_eq!(parse_hash(""), Ok(View::Memory));
        assert_eq!(parse_hash("#"), Ok(View::Memory));
        assert_eq!(parse_hash("#/"), Ok(View::Memory));
        for v in View::ALL {
            assert_eq!(parse_hash(&v.hash()), Ok(v));
            assert_eq!(parse_hash(&format!("#{}", v.slug())), Ok(v));
            assert_eq!(View::from_slug(v.slug()), Some(v));
        }
        assert_eq!(parse_hash("#/nope"), Err("nope".into()));
        let long = format!("#/{}", "x".repeat(100));
        assert_eq!(parse_hash(&long).unwrap_err().chars().count(), 25, "previewed to 24 characters and an ellipsis");
        assert!(hash_notice("nope").contains("“nope”"));
    }

    #[test]
    fn the_registry_is_in_the_enums_order_and_no_two_views_share_a_url_key() {
        for (i, row) in REGISTRY.iter().enumerate() {
            assert_eq!(row.view as usize, i, "{}: its row must sit at its variant's index", row.slug);
            assert_eq!(row.view.info().slug, row.slug);
        }
        let mut owner: std::collections::HashMap<&str, &str> = crate::lessons::APP_KEYS.iter().map(|k| (*k, "the page (lessons, version)")).collect();
        for row in &REGISTRY {
            for key in row.url_keys {
                if let Some(other) = owner.insert(key, row.slug) {
                    panic!("the URL key {key:?} is claimed by both {other} and {}", row.slug);
                }
            }
        }
        let slugs: std::collections::HashSet<_> = REGISTRY.iter().map(|r| r.slug).collect();
        assert_eq!(slugs.len(), REGISTRY.len(), "two views share a slug");
        assert!(REGISTRY.iter().filter(|r| r.in_lite).all(|r| r.needs.is_empty()), "a lite view cannot need a full one");
    }

    #[test]
    fn images_view_needs_the_datasets_view() {
        assert_eq!(View::Images.needs(), &[View::Data]);
        assert!(View::ALL.iter().filter(|v| **v != View::Images).all(|v| v.needs().is_empty()));
    }
}
