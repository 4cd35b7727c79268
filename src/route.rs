//! The lab's views and their links: each panel is a view reached by a hash route
//! (`#/memory`, `#/data`, `#/toy`, `#/images`, `#/system`) from the top bar. The query string
//! keeps every view's state ([`crate::url`]); the hash says which view is open, so back and
//! forward move between views, and a view is mounted (and fetches its assets) only once it has
//! been opened. A view that was opened stays mounted, hidden, so its running work goes on.

use leptos::prelude::*;

/// One of the lab's views.
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

impl View {
    /// Every view, in the top bar's order.
    pub const ALL: [View; 5] = [View::Memory, View::Data, View::Toy, View::Images, View::System];

    /// The view's name in its route (`#/toy`).
    pub fn slug(self) -> &'static str {
        match self {
            View::Memory => "memory",
            View::Data => "data",
            View::Toy => "toy",
            View::Images => "images",
            View::System => "system",
        }
    }

    /// The top bar's label.
    pub fn title(self) -> &'static str {
        match self {
            View::Memory => "1 · Associative memory",
            View::Data => "2 · Datasets",
            View::Toy => "3 · 2-D diffusion",
            View::Images => "4 · Images: the transition",
            View::System => "Under the hood",
        }
    }

    /// The view whose route is `slug`.
    pub fn from_slug(slug: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.slug() == slug)
    }

    /// Views this one needs mounted beside it: the images view trains on the Datasets view's
    /// S_K (which fetches nothing until a set is picked or named by `ds=`).
    pub fn needs(self) -> &'static [View] {
        match self {
            View::Images => &[View::Data],
            _ => &[],
        }
    }

    /// The route's hash, `#/toy`.
    pub fn hash(self) -> String {
        format!("#/{}", self.slug())
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
        <nav class="views" aria-label="Views" data-testid="view-bar">
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
    fn images_view_needs_the_datasets_view() {
        assert_eq!(View::Images.needs(), &[View::Data]);
        assert!(View::ALL.iter().filter(|v| **v != View::Images).all(|v| v.needs().is_empty()));
    }
}
