//! The toy panel's settings, as the URL carries them (`tk`, `tseed`, `tsteps`, `tlr`, `tt`, `tn`,
//! `tthr`): parsing with a notice for each bad value, the query string, and the paper's presets.

use leptos::prelude::*;
use memgen_models::toy::training::ToyTrainConfig;

/// The toy panel's settings (mirrored into the URL as `tk`, `tseed`, `tsteps`, `tlr`, `tt`, `tn`, `tthr`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ToySettings {
    /// Training points on the unit circle.
    pub(super) k: usize,
    /// The experiment's seed (points, batches, noise, samples).
    pub(super) seed: u64,
    /// Training steps.
    pub(super) steps: usize,
    /// Adam's learning rate.
    pub(super) lr: f64,
    /// The view time t of the energies and arrows.
    pub(super) t: f64,
    /// Samples to draw.
    pub(super) samples: usize,
    /// Ward's distance threshold.
    pub(super) threshold: f64,
}

impl Default for ToySettings {
    fn default() -> Self {
        let b = ToyTrainConfig::browser();
        ToySettings { k: 2, seed: 0, steps: b.steps, lr: b.lr, t: 0.25, samples: 10_000, threshold: 3.0 }
    }
}

/// The URL keys of the toy panel.
pub(super) const OWN_KEYS: &[&str] = crate::views::View::Toy.url_keys();
/// Largest K of the slider and the URL.
pub(super) const MAX_TOY_K: usize = 2000;
/// Most training steps.
pub(super) const MAX_STEPS: usize = 1_000_000;
/// Fewest and most samples.
pub(super) const MIN_SAMPLES: usize = 10;
pub(super) const MAX_SAMPLES: usize = 100_000;

/// `v` parsed as a `T` inside `range` (NaN never is).
fn parse_in<T: std::str::FromStr + PartialOrd>(v: &str, range: std::ops::RangeInclusive<T>) -> Option<T> {
    v.trim().parse::<T>().ok().filter(|x| range.contains(x))
}
fn parse_steps(v: &str) -> Option<usize> {
    parse_in(v, 1..=MAX_STEPS)
}
pub(super) fn parse_lr(v: &str) -> Option<f64> {
    parse_in(v, f64::MIN_POSITIVE..=0.1)
}
fn parse_samples(v: &str) -> Option<usize> {
    parse_in(v, MIN_SAMPLES..=MAX_SAMPLES)
}
pub(super) fn parse_threshold(v: &str) -> Option<f64> {
    parse_in(v, f64::MIN_POSITIVE..=1e3)
}

impl ToySettings {
    /// Settings from decoded query pairs: a bad value keeps its default and gives a notice.
    /// K without `tthr`/`tt` takes the preset's Ward threshold and view time.
    pub(super) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (ToySettings, Vec<String>) {
        let mut s = ToySettings::default();
        let mut notices = Vec::new();
        let (mut thr, mut t) = (None, None);
        for (key, value) in pairs {
            let shown = crate::url::preview(value);
            let mut bad = |what: &str| notices.push(format!("Toy: {key} must be {what}, not “{shown}”; using the default."));
            match key {
                "tk" => match value.trim().parse::<usize>() {
                    Ok(k) if (1..=MAX_TOY_K).contains(&k) => s.k = k,
                    _ => bad(&format!("a whole number from 1 to {MAX_TOY_K}")),
                },
                "tseed" => match value.trim().parse::<u64>() {
                    Ok(v) => s.seed = v,
                    Err(_) => bad("a whole number ≥ 0"),
                },
                "tsteps" => match parse_steps(value) {
                    Some(v) => s.steps = v,
                    None => bad(&format!("a whole number from 1 to {MAX_STEPS}")),
                },
                "tlr" => match parse_lr(value) {
                    Some(v) => s.lr = v,
                    None => bad("a number in (0, 0.1]"),
                },
                "tt" => match value.trim().parse::<f64>() {
                    Ok(v) if (0.01..=0.6).contains(&v) => t = Some(v),
                    _ => bad("a time from 0.01 to 0.6"),
                },
                "tn" => match parse_samples(value) {
                    Some(v) => s.samples = v,
                    None => bad(&format!("a whole number from {MIN_SAMPLES} to {MAX_SAMPLES}")),
                },
                "tthr" => match parse_threshold(value) {
                    Some(v) => thr = Some(v),
                    None => bad("a number in (0, 1000]"),
                },
                _ => {}
            }
        }
        let (pthr, pt) = preset_for(s.k);
        s.threshold = thr.unwrap_or(pthr);
        s.t = t.unwrap_or(pt);
        (s, notices)
    }

    /// This panel's part of the query string.
    fn to_query(&self) -> String {
        format!("tk={}&tseed={}&tsteps={}&tlr={}&tt={}&tn={}&tthr={}", self.k, self.seed, self.steps, self.lr, self.t, self.samples, self.threshold)
    }
}

/// The paper's Ward threshold and view time for the preset closest to `k`.
pub(super) fn preset_for(k: usize) -> (f64, f64) {
    match k {
        0..=4 => (3.0, 0.25),
        5..=100 => (2.0, 0.15),
        _ => (0.45, 0.15),
    }
}

/// Mirrors every setting into the URL once it differs from the defaults (or the link already
/// carried the toy's keys), so a link replays the same training run.
pub(super) fn mirror_into_url(settings: RwSignal<ToySettings>, url_had_keys: bool) {
    Effect::new(move |_| {
        let s = settings.get();
        if url_had_keys || s != ToySettings::default() {
            crate::url::replace_own(OWN_KEYS, &s.to_query());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_round_trips_and_rejects_bad_values() {
        let s = ToySettings { k: 9, seed: 7, steps: 1234, lr: 5e-4, t: 0.2, samples: 500, threshold: 1.5 };
        let q = s.to_query();
        let pairs: Vec<(&str, &str)> = q.split('&').map(|p| p.split_once('=').unwrap()).collect();
        assert_eq!(pairs.len(), OWN_KEYS.len());
        let (back, notices) = ToySettings::from_pairs(pairs);
        assert_eq!(back, s);
        assert!(notices.is_empty(), "{notices:?}");

        // K alone takes its preset's threshold and view time.
        let (k9, n) = ToySettings::from_pairs([("tk", "9")]);
        assert_eq!((k9.k, k9.threshold, k9.t), (9, 2.0, 0.15));
        assert!(n.is_empty());

        // Every bad value: default kept, one notice each, no panic.
        let bad = [
            ("tk", "0"),
            ("tk", "99999999999999999999"),
            ("tseed", "-1"),
            ("tsteps", "0"),
            ("tlr", "NaN"),
            ("tlr", "1"),
            ("tt", "inf"),
            ("tn", "5"),
            ("tthr", "-3"),
        ];
        let (d, notices) = ToySettings::from_pairs(bad);
        assert_eq!(d, ToySettings::default());
        assert_eq!(notices.len(), bad.len(), "{notices:?}");
        assert!(notices[0].contains("tk") && notices[0].contains("“0”"), "{}", notices[0]);
    }
}
