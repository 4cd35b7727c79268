//! The view registry: every view of the lab, in one table ([`REGISTRY`]), with its route,
//! title, the URL keys it owns, what it needs mounted beside it and whether the first (lite)
//! module shows it. Pure data, imported by the panels (their keys), the router and mounting
//! ([`crate::route`]), the lessons and the link's checks; it imports nothing of the app.

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
