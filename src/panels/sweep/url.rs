//! The images view's state in the URL: the gallery's K (`ik`), the δ of the relabelling (`idm`,
//! `ids`; absent: the bundle's own), the label filter (`ifilter`), the sort (`isort=1`) and the
//! sample whose detail is open (`ipick`, its index in the gallery).

/// The keys this view owns.
pub(super) const OWN_KEYS: &[&str] = crate::views::View::Images.url_keys();
/// The largest K a link may name.
const MAX_K: usize = 1 << 20;
/// The δ sliders' ranges.
pub(super) const DELTA_M_RANGE: (f64, f64) = (0.01, 1.0);
pub(super) const DELTA_S_RANGE: (f64, f64) = (0.01, 0.49);
/// The filter's values.
pub(super) const FILTERS: [&str; 4] = ["all", "memorized", "spurious", "generalized"];

/// What a link asks of the images view (absent keys: the view's defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct SweepUrl {
    pub(super) k: Option<usize>,
    pub(super) delta_m: Option<f64>,
    pub(super) delta_s: Option<f64>,
    pub(super) filter: Option<String>,
    pub(super) sort: bool,
    pub(super) pick: Option<usize>,
}

fn in_range(v: &str, (lo, hi): (f64, f64)) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite() && (lo..=hi).contains(x))
}

/// Reads decoded query pairs; each bad value gets a notice and is ignored.
pub(super) fn parse_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (SweepUrl, Vec<String>) {
    let mut s = SweepUrl::default();
    let mut notices = Vec::new();
    for (key, value) in pairs {
        let shown = crate::url::preview(value);
        match key {
            "ik" => match value.trim().parse::<usize>() {
                Ok(k) if (1..=MAX_K).contains(&k) => s.k = Some(k),
                _ => notices.push(format!("The gallery's K must be a whole number from 1 to {MAX_K}, not “{shown}”; showing the bundle's first K.")),
            },
            "idm" => match in_range(value, DELTA_M_RANGE) {
                Some(d) => s.delta_m = Some(d),
                None => notices.push(format!("δ_m must be a number from {} to {}, not “{shown}”; using the bundle's.", DELTA_M_RANGE.0, DELTA_M_RANGE.1)),
            },
            "ids" => match in_range(value, DELTA_S_RANGE) {
                Some(d) => s.delta_s = Some(d),
                None => notices.push(format!("δ_s must be a number from {} to {}, not “{shown}”; using the bundle's.", DELTA_S_RANGE.0, DELTA_S_RANGE.1)),
            },
            "ifilter" => match FILTERS.iter().find(|f| **f == value.trim()) {
                Some(f) => s.filter = Some(f.to_string()),
                None => notices.push(format!("The gallery filter is one of {}, not “{shown}”; showing all.", FILTERS.join(", "))),
            },
            "isort" => match value.trim() {
                "1" | "true" => s.sort = true,
                "0" | "false" => s.sort = false,
                _ => notices.push(format!("isort must be 1 or 0, not “{shown}”; unsorted.")),
            },
            "ipick" => match value.trim().parse::<usize>() {
                Ok(i) if i < MAX_K => s.pick = Some(i),
                _ => notices.push(format!("The picked sample must be a whole number, not “{shown}”; none is open.")),
            },
            _ => {}
        }
    }
    (s, notices)
}

/// The query that reproduces the view: the gallery's K, δ where they differ from the bundle's
/// (`rule`), and the filter, sort and picked sample where set.
pub(super) fn to_query(k: Option<usize>, delta: (f64, f64), rule: (f64, f64), filter: &str, sort: bool, pick: Option<usize>) -> String {
    let mut parts = Vec::new();
    if let Some(k) = k {
        parts.push(format!("ik={k}"));
    }
    if (delta.0 - rule.0).abs() > 1e-9 {
        parts.push(format!("idm={}", delta.0));
    }
    if (delta.1 - rule.1).abs() > 1e-9 {
        parts.push(format!("ids={}", delta.1));
    }
    if filter != "all" {
        parts.push(format!("ifilter={filter}"));
    }
    if sort {
        parts.push("isort=1".into());
    }
    if let Some(i) = pick {
        parts.push(format!("ipick={i}"));
    }
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_views_state_round_trips_and_bad_values_get_notices() {
        let q = to_query(Some(16), (0.5, 0.2), (1.0 / 3.0, 0.2), "spurious", true, Some(3));
        assert_eq!(q, "ik=16&idm=0.5&ifilter=spurious&isort=1&ipick=3");
        let (pairs, _) = crate::url::split_query(&q, &[]);
        let (s, n) = parse_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert!(n.is_empty());
        assert_eq!(s, SweepUrl { k: Some(16), delta_m: Some(0.5), delta_s: None, filter: Some("spurious".into()), sort: true, pick: Some(3) });
        assert_eq!(to_query(None, (0.2, 0.2), (0.2, 0.2), "all", false, None), "");
        for (k, v) in [("ik", "0"), ("ik", "x"), ("idm", "2"), ("idm", "NaN"), ("ids", "0.5"), ("ifilter", "odd"), ("isort", "2"), ("ipick", "-1")] {
            let (s, n) = parse_pairs([(k, v)]);
            assert_eq!(s, SweepUrl::default(), "{k}={v}");
            assert_eq!(n.len(), 1, "{k}={v}");
        }
    }
}
