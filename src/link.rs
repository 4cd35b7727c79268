//! The link as the page reads it at start: every view's state parsed from one query string,
//! and the notices the views would show (what the fuzz targets and the tests of bad links
//! check). Above the views and the lessons, so that the query helpers ([`crate::url`]) stay
//! below them.

use crate::url::MAX_QUERY_BYTES;

/// Every view's state read from the query `search` as the page reads it at start: the notices
/// the views would show (what the fuzz targets and the tests of bad links check).
pub fn view_notices(search: &str) -> Vec<String> {
    let (pairs, truncated) = crate::url::split_query(search, &[]);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (_, dense) = crate::state::DenseAmState::from_pairs(pairs.iter().copied());
    let mut out: Vec<String> = dense.into_iter().map(|n| n.0).collect();
    #[cfg(feature = "engine")]
    out.extend(crate::panels::toy::url_notices(&pairs));
    out.extend(crate::panels::datasets::url_notices(&pairs));
    #[cfg(feature = "engine")]
    out.extend(crate::panels::sweep::url_notices(&pairs));
    out.extend(crate::lessons::parse_app_keys(&pairs).1.into_iter().map(|n| n.0));
    if truncated {
        out.push(format!("the link is longer than {} KB", MAX_QUERY_BYTES / 1024));
    }
    out
}
