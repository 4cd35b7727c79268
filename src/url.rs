//! The query string shared by all panels: each panel owns a few keys, reads them at start and
//! rewrites only those (with `history.replaceState`), keeping every other key byte for byte.

use crate::state::MAX_QUERY_BYTES;

/// Percent-decodes one key or value (`+` is a space); undecodable text is kept as it is.
pub fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    js_sys::decode_uri_component(&s).ok().and_then(|v| v.as_string()).unwrap_or(s)
}

/// At most 24 printable characters of a user's value, for notices.
pub fn preview(v: &str) -> String {
    let mut s: String = v.chars().take(24).filter(|c| !c.is_control()).collect();
    if v.chars().count() > 24 {
        s.push('…');
    }
    s
}

fn location_search() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

/// The decoded `(key, value)` pairs of the page's query whose key is in `keys` (all pairs when
/// `keys` is empty), and whether the query was longer than [`MAX_QUERY_BYTES`] (the rest is
/// ignored; capping before decoding means a huge link costs nothing).
pub fn read_pairs(keys: &[&str]) -> (Vec<(String, String)>, bool) {
    let search = location_search();
    let search = search.strip_prefix('?').unwrap_or(&search);
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
    let search = location_search();
    let mut parts: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    parts.extend(
        search.strip_prefix('?').unwrap_or(&search).split('&').filter(|p| !p.is_empty() && !own.contains(&decode(p.split('=').next().unwrap_or("")).as_str())),
    );
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("{path}?{}", parts.join("&"))));
    }
}
