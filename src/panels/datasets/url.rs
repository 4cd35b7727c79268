//! The panel's URL keys: `ds` (mnist | fashion-mnist | emoji), `dk` (K), `dseed` and `dbal`,
//! read defensively (a bad value gives the default and a notice) and written back into the
//! query without touching other panels' keys.

use memgen_data::DatasetId;

use crate::state::Notice;
use crate::url::preview;

/// Default K of the preview's training subset: the story's start, and what "Run a point in
/// this tab" trains on with its defaults (two digits it begins to memorize in about 100 s on
/// a 2-core laptop-class CPU; at K = 100 the same run makes noise). Links carry `dk` always.
const DEFAULT_K: usize = 2;
/// Largest K accepted from the link or the input.
pub(super) const MAX_K: usize = 60_000;

/// The URL keys this panel owns.
const OWN_KEYS: &[&str] = crate::views::View::Data.url_keys();

/// The panel's URL state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct UrlState {
    pub(super) ds: Option<DatasetId>,
    pub(super) k: usize,
    pub(super) seed: u64,
    /// Class-balanced S_K (`dbal=1`): round robin over the classes in the seeded order.
    pub(super) balanced: bool,
}

/// Parses `ds`, `dk`, `dseed` and `dbal` from decoded query pairs; bad values give the default and a notice.
pub(super) fn parse_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (UrlState, Vec<Notice>) {
    let mut s = UrlState { ds: None, k: DEFAULT_K, seed: 0, balanced: false };
    let mut notices = Vec::new();
    for (key, value) in pairs {
        let shown = preview(value);
        match key {
            "ds" => match DatasetId::parse(value.trim()) {
                Some(d) => s.ds = Some(d),
                None => notices.push(Notice(format!("Unknown dataset “{shown}” (mnist, fashion-mnist or emoji); none is loaded."))),
            },
            "dk" => match value.trim().parse::<i64>() {
                Ok(k) if (1..=MAX_K as i64).contains(&k) => s.k = k as usize,
                Ok(k) if k > MAX_K as i64 => {
                    notices.push(Notice(format!("The dataset K = {shown} is more than {MAX_K}; using {MAX_K}.")));
                    s.k = MAX_K;
                }
                _ => notices.push(Notice(format!("The dataset K must be a whole number from 1 to {MAX_K}, not “{shown}”; using {DEFAULT_K}."))),
            },
            "dseed" => match value.trim().parse::<u64>() {
                Ok(v) => s.seed = v,
                Err(_) => notices.push(Notice(format!("The dataset seed must be a whole number ≥ 0, not “{shown}”; using 0."))),
            },
            "dbal" => match value.trim() {
                "1" | "true" => s.balanced = true,
                "0" | "false" | "" => s.balanced = false,
                _ => notices.push(Notice(format!("dbal must be 1 (class-balanced) or 0, not “{shown}”; using 0."))),
            },
            _ => {}
        }
    }
    (s, notices)
}

/// This panel's state from `location.search`, with a notice for each bad value.
pub(super) fn read_url() -> (UrlState, Vec<Notice>) {
    let (pairs, _) = crate::url::read_pairs(OWN_KEYS);
    parse_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Sets this panel's keys in the current query, keeping every other key as it is.
pub(super) fn write_url(s: UrlState) {
    let mut parts = Vec::new();
    if let Some(d) = s.ds {
        parts.push(format!("ds={}", d.as_str()));
    }
    parts.push(format!("dk={}", s.k));
    parts.push(format!("dseed={}", s.seed));
    if s.balanced {
        parts.push("dbal=1".into());
    }
    crate::url::replace_own(OWN_KEYS, &parts.join("&"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_pairs_parse_defensively() {
        let (s, n) = parse_pairs([("ds", "mnist"), ("dk", "64"), ("dseed", "7")]);
        assert_eq!(s, UrlState { ds: Some(DatasetId::Mnist), k: 64, seed: 7, balanced: false });
        assert!(n.is_empty());
        let (s, n) = parse_pairs([("ds", "cifar"), ("dk", "-3"), ("dseed", "x")]);
        assert_eq!(s, UrlState { ds: None, k: DEFAULT_K, seed: 0, balanced: false });
        assert_eq!(n.len(), 3);
        let (s, n) = parse_pairs([("dk", "999999999")]);
        assert_eq!(s.k, MAX_K);
        assert_eq!(n.len(), 1);
    }
}
