//! The first load: the page ships two builds of this crate (`scripts/build-web.sh`). The lite
//! module (`--no-default-features`, in `dist/lite/`) has the first view only (the Dense
//! Associative Memory, on the lab's own WGSL kernels) and no training engine (memgen-models,
//! burn and its WebGPU kernels, about four fifths of the full module). `www/boot.js` loads it
//! for a link it can serve ([`lite_serves`]); any other link, and any other view opened from
//! it, gets the full module, which the training worker loads too. The views' state is in the
//! link, so the hand-over keeps it.

/// Whether the lite module shows the link `search` + `hash` exactly as the full module would:
/// the first view, with no keys but its own and the page's version and presenter mode (a
/// lesson's steps cross views; the other views' keys may carry notices the lite module cannot
/// check).
pub fn lite_serves(search: &str, hash: &str) -> bool {
    if crate::route::parse_hash(hash) != Ok(crate::views::View::Memory) {
        return false;
    }
    let (pairs, truncated) = crate::url::split_query(search, &[]);
    !truncated && pairs.iter().all(|(k, _)| crate::panels::dense_am::OWN_KEYS.contains(&k.as_str()) || k == "v" || k == "present")
}

/// Whether this module shows the page's current link: always for the full module.
pub fn serves_here() -> bool {
    if cfg!(feature = "engine") {
        return true;
    }
    let Some(w) = web_sys::window() else { return true };
    let loc = w.location();
    lite_serves(&loc.search().unwrap_or_default(), &loc.hash().unwrap_or_default())
}

/// Hands the page to the full module before anything is mounted: `www/boot.js` provides
/// `__memgenLoadEngine`. Without it (a page that loaded the lite module by hand) nothing
/// happens and the lite module mounts.
pub fn load_engine() {
    let Some(w) = web_sys::window() else { return };
    if let Ok(f) = js_sys::Reflect::get(&w, &"__memgenLoadEngine".into()) {
        if let Ok(f) = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f) {
            let _ = f.call0(&w);
            return;
        }
    }
    web_sys::console::warn_1(&"the full module is not available: the lite module shows what it can".into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lite_module_serves_the_first_view_with_its_own_keys_only() {
        assert!(lite_serves("", ""));
        assert!(lite_serves("?beta=4&k=9&v=0.1.0", "#/memory"));
        assert!(lite_serves("?present=1", "#/"));
        for (search, hash) in [("", "#/toy"), ("", "#/images"), ("", "#/nowhere"), ("?tk=2", ""), ("?lesson=memory&step=1", ""), ("?ds=mnist", "#/memory")] {
            assert!(!lite_serves(search, hash), "{search}{hash}");
        }
        let long = format!("?beta={}", "9".repeat(crate::url::MAX_QUERY_BYTES + 10));
        assert!(!lite_serves(&long, ""), "a cut link goes to the full module, which says so");
    }
}
