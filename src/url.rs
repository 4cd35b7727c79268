//! The query string shared by all panels: each panel owns a few keys, reads them at start and
//! rewrites only those (with `history.replaceState`), keeping every other key byte for byte.

/// Longest query string we look at, in bytes; the rest is ignored with a notice.
pub const MAX_QUERY_BYTES: usize = 256 * 1024;

/// Percent-decodes one key or value (`+` is a space); text that does not decode to UTF-8 is
/// kept as it is.
pub fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    match percent_encoding::percent_decode_str(&s).decode_utf8() {
        Ok(v) => v.into_owned(),
        Err(_) => s,
    }
}

/// At most 24 characters of a user's value, for notices: control characters and bidirectional
/// overrides dropped ([`memgen_core::text::neutralise`]), so a value cannot reorder the notice.
pub fn preview(v: &str) -> String {
    let mut s = memgen_core::text::neutralise(&v.chars().take(24).collect::<String>());
    if v.chars().count() > 24 {
        s.push('…');
    }
    s
}

fn location_search() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

thread_local! {
    /// The query as the views last wrote it: the state they hold. Back and forward between
    /// views (hash routes, one document) bring back an older entry's query; the router puts
    /// this one back ([`restore_query`]), so the link always says what the views show.
    static CURRENT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn current_search() -> String {
    CURRENT.with(|c| c.borrow().clone()).unwrap_or_else(location_search)
}

/// Puts the views' query back into the address after a move between history entries of this
/// page (the hash, the open view, is the entry's).
pub fn restore_query() {
    let Some(q) = CURRENT.with(|c| c.borrow().clone()) else { return };
    let Some(w) = web_sys::window() else { return };
    if location_search() == q {
        return;
    }
    let path = w.location().pathname().unwrap_or_else(|_| "/".into());
    let hash = w.location().hash().unwrap_or_default();
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}{q}{hash}")));
    }
}

/// The decoded `(key, value)` pairs of the page's query whose key is in `keys` (all pairs when
/// `keys` is empty), and whether the query was longer than [`MAX_QUERY_BYTES`] (the rest is
/// ignored; capping before decoding means a huge link costs nothing).
pub fn read_pairs(keys: &[&str]) -> (Vec<(String, String)>, bool) {
    split_query(&location_search(), keys)
}

/// [`read_pairs`] of a query string `search` (with or without its `?`).
pub fn split_query(search: &str, keys: &[&str]) -> (Vec<(String, String)>, bool) {
    let search = search.strip_prefix('?').unwrap_or(search);
    let capped: String = search.chars().take(MAX_QUERY_BYTES).collect();
    let pairs = capped
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = decode(k);
            (keys.is_empty() || keys.contains(&k.as_str())).then(|| (k, decode(v)))
        })
        .collect();
    (pairs, search.len() > MAX_QUERY_BYTES)
}

/// Replaces the keys in `own` with `query` (already encoded, `a=1&b=2`), keeping the other
/// panels' keys after it in their order.
pub fn replace_own(own: &[&str], query: &str) {
    let Some(w) = web_sys::window() else { return };
    let path = w.location().pathname().unwrap_or_else(|_| "/".into());
    let search = current_search();
    let mut parts: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    parts.extend(
        search.strip_prefix('?').unwrap_or(&search).split('&').filter(|p| !p.is_empty() && !own.contains(&decode(p.split('=').next().unwrap_or("")).as_str())),
    );
    // The hash is the open view (crate::route): kept.
    let hash = w.location().hash().unwrap_or_default();
    let q = format!("?{}", parts.join("&"));
    CURRENT.with(|c| *c.borrow_mut() = Some(q.clone()));
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}{q}{hash}")));
    }
}
