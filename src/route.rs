//! The lab's views and their links: each panel is a view reached by a hash route
//! (`#/memory`, `#/data`, `#/toy`, `#/images`, `#/system`) from the top bar. The query string
//! keeps every view's state ([`crate::url`]); the hash says which view is open, so back and
//! forward move between views, and a view is mounted (and fetches its assets) only once it has
//! been opened. A view that was opened stays mounted, hidden, so its running work goes on.

use leptos::prelude::*;

/// One of the lab's views. Its row in [`REGISTRY`] says everything else about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// The Dense Associative Memory in the plane.
    Memory,
    /// Datasets and the training subset S_K.
    Data,
    /// The 2-D diffusion toy.
    Toy,
    /// The image models' phase transition, gallery and basins.
    Images,
    /// The compute backend and its checks.
    System,
}

/// One row of the view registry: what a view is called, what of the link it owns, what it
/// needs mounted beside it, and whether the small first module can show it.
#[derive(Debug, Clone, Copy)]
pub struct ViewInfo {
    /// The view.
    pub view: View,
    /// Its name in its route (`#/toy`) and in test hooks (`view-toy`).
    pub slug: &'static str,
    /// The top bar's label.
    pub title: &'static str,
    /// The query keys it owns (its state in the link). No two views, and none of the page's
    /// own keys ([`crate::lessons::APP_KEYS`]), share a key: a test checks it.
    pub url_keys: &'static [&'static str],
    /// Views mounted beside it because it reads their state (the Images view trains on the
    /// Datasets view's `S_K`).
    pub needs: &'static [View],
    /// Whether the lite module (no training engine, the first load) shows it; other views
    /// hand over to the full module ([`crate::lite`]).
    pub in_lite: bool,
}

/// Every view, in the top bar's order: routing, the top bar, mounting, lessons, the link's
/// keys and the browser tests' view list (read from the top bar) all come from here.
pub const REGISTRY: [ViewInfo; 5] = [
    ViewInfo {
        view: View::Memory,
        slug: "memory",
        title: "1 · Associative memory",
        url_keys: &["beta", "form", "preset", "k", "seed", "view", "pts"],
        needs: &[],
        in_lite: true,
    },
    ViewInfo { view: View::Data, slug: "data", title: "2 · Datasets", url_keys: &["ds", "dk", "dseed", "dbal"], needs: &[], in_lite: false },
    ViewInfo {
        view: View::Toy,
        slug: "toy",
        title: "3 · 2-D diffusion",
        url_keys: &["tk", "tseed", "tsteps", "tlr", "tt", "tn", "tthr"],
        needs: &[],
        in_lite: false,
    },
    ViewInfo {
        view: View::Images,
        slug: "images",
        title: "4 · Images: the transition",
        url_keys: &["ik", "idm", "ids", "ifilter", "isort", "ipick"],
        needs: &[View::Data],
        in_lite: false,
    },
    ViewInfo { view: View::System, slug: "system", title: "Under the hood", url_keys: &[], needs: &[], in_lite: false },
];

impl View {
    /// Every view, in the top bar's order.
    pub const ALL: [View; REGISTRY.len()] = {
        let mut all = [View::Memory; REGISTRY.len()];
        let mut i = 0;
        while i < REGISTRY.len() {
            all[i] = REGISTRY[i].view;
            i += 1;
        }
        all
    };

    /// The view's row of [`REGISTRY`].
    pub const fn info(self) -> ViewInfo {
        REGISTRY[self as usize]
    }

    /// The view's name in its route (`#/toy`).
    pub fn slug(self) -> &'static str {
        self.info().slug
    }

    /// The top bar's label.
    pub fn title(self) -> &'static str {
        self.info().title
    }

    /// The query keys the view owns.
    pub const fn url_keys(self) -> &'static [&'static str] {
        self.info().url_keys
    }

    /// The view whose route is `slug`.
    pub fn from_slug(slug: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.slug() == slug)
    }

    /// Views this one needs mounted beside it.
    pub fn needs(self) -> &'static [View] {
        self.info().needs
    }

    /// The route's hash, `#/toy`.
    pub fn hash(self) -> String {
        format!("#/{}", self.slug())
    }
}

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
            if crate::lite::hand_over_view(v) {
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
