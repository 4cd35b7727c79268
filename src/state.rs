//! The DenseAM panel's state: one serde type, written to and read from the URL.
//!
//! Query parameters: `beta`, `form` (`dot`|`distance`), `preset`
//! (`circle-even`|`circle-random`|`square-random`), `k`, `seed`, `pts` (explicit
//! memories `x,y;x,y;…`, which override the preset once the user has edited them) and
//! `view` (`cx,cy,half`). Anything malformed or out of range falls back to its default
//! and produces a [`Notice`]; parsing is linear in the input and capped, so no URL can
//! hang or crash the page.

use crate::url::preview;
use memgen_core::dense_am::EnergyForm;
use memgen_core::spec::NoiseStream;
use serde::{Deserialize, Serialize};

/// Version of the URL/state format.
pub const STATE_VERSION: u32 = 1;
/// Smallest and largest β the panel accepts.
pub const BETA_RANGE: (f64, f64) = (1e-2, 1e4);
/// Largest number of memories (presets and explicit points).
pub const MAX_K: usize = 4096;
/// Largest |coordinate| of a memory or of the view centre.
pub const MAX_COORD: f64 = 1e3;

/// How memories are laid out when none are given explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// K points evenly spaced on the unit circle.
    #[default]
    CircleEven,
    /// K points at seeded uniform angles on the unit circle.
    CircleRandom,
    /// K points seeded uniformly in the square [−1, 1]².
    SquareRandom,
}

impl Preset {
    /// Every preset, for pickers.
    pub const ALL: [Preset; 3] = [Preset::CircleEven, Preset::CircleRandom, Preset::SquareRandom];

    /// URL name.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::CircleEven => "circle-even",
            Preset::CircleRandom => "circle-random",
            Preset::SquareRandom => "square-random",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Preset::CircleEven => "K points evenly on the unit circle",
            Preset::CircleRandom => "K random points on the unit circle",
            Preset::SquareRandom => "K random points in the square",
        }
    }

    /// Parses a URL name.
    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The preset's `k` memories for `seed` (seeded stream 0 of the lab's RNG scheme).
    pub fn memories(self, k: usize, seed: u64) -> Vec<[f64; 2]> {
        let mut rng = NoiseStream::new(seed, memgen_core::spec::STREAM_SUBSET);
        (0..k)
            .map(|j| match self {
                Preset::CircleEven => {
                    let a = std::f64::consts::TAU * j as f64 / k as f64;
                    [a.cos(), a.sin()]
                }
                Preset::CircleRandom => {
                    let a = std::f64::consts::TAU * rng.uniform();
                    [a.cos(), a.sin()]
                }
                Preset::SquareRandom => [2.0 * rng.uniform() - 1.0, 2.0 * rng.uniform() - 1.0],
            })
            .collect()
    }
}

/// Everything the DenseAM panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DenseAmState {
    /// Format version.
    pub v: u32,
    /// Inverse temperature β.
    pub beta: f64,
    /// Energy form.
    pub form: EnergyForm,
    /// Memory layout when `points` is `None`.
    pub preset: Preset,
    /// Number of preset memories.
    pub k: usize,
    /// Seed of the random presets.
    pub seed: u64,
    /// Explicit memories (after the user added, moved or removed one).
    pub points: Option<Vec<[f64; 2]>>,
    /// `[cx, cy, half]` of the square view.
    pub view: [f64; 3],
}

impl Default for DenseAmState {
    /// Nine memories on the unit circle at β = 10: each is its own well (memorization);
    /// lower β to watch spurious mixtures appear.
    fn default() -> Self {
        DenseAmState { v: STATE_VERSION, beta: 10.0, form: EnergyForm::Dot, preset: Preset::CircleEven, k: 9, seed: 1, points: None, view: [0.0, 0.0, 1.5] }
    }
}

/// A message for the user about input that was not used as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice(pub String);

impl DenseAmState {
    /// The memories this state shows.
    pub fn memories(&self) -> Vec<[f64; 2]> {
        match &self.points {
            Some(p) => p.clone(),
            None => self.preset.memories(self.k, self.seed),
        }
    }

    /// Query string (without `?`) that reproduces this state.
    pub fn to_query(&self) -> String {
        let mut q = format!(
            "beta={}&form={}&preset={}&k={}&seed={}&view={},{},{}",
            fmt_num(self.beta),
            self.form.as_str(),
            self.preset.as_str(),
            self.k,
            self.seed,
            fmt_num(self.view[0]),
            fmt_num(self.view[1]),
            fmt_num(self.view[2])
        );
        if let Some(points) = &self.points {
            q.push_str("&pts=");
            let parts: Vec<String> = points.iter().map(|p| format!("{},{}", fmt_num(p[0]), fmt_num(p[1]))).collect();
            q.push_str(&parts.join(";"));
        }
        q
    }

    /// Reads a state from decoded query pairs; every problem becomes a notice and the
    /// default for that field. Unknown keys are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (DenseAmState, Vec<Notice>) {
        let mut s = DenseAmState::default();
        let mut notices = Vec::new();
        let mut bytes = 0usize;
        for (key, value) in pairs {
            bytes += key.len() + value.len();
            if bytes > crate::url::MAX_QUERY_BYTES {
                notices.push(Notice(format!("The link is longer than {} KB; the rest of it was ignored.", crate::url::MAX_QUERY_BYTES / 1024)));
                break;
            }
            let shown = preview(value);
            match key {
                "beta" => match parse_f64(value) {
                    Some(b) if b > 0.0 => {
                        let c = b.clamp(BETA_RANGE.0, BETA_RANGE.1);
                        if c != b {
                            notices.push(Notice(format!("β = {shown} is outside [{}, {}]; using {}.", BETA_RANGE.0, BETA_RANGE.1, fmt_num(c))));
                        }
                        s.beta = c;
                    }
                    _ => notices.push(Notice(format!("β must be a positive number, not “{shown}”; using {}.", s.beta))),
                },
                "form" => match EnergyForm::parse(value) {
                    Some(f) => s.form = f,
                    None => notices.push(Notice(format!("Unknown energy form “{shown}” (dot or distance); using dot."))),
                },
                "preset" => match Preset::parse(value) {
                    Some(p) => s.preset = p,
                    None => notices.push(Notice(format!("Unknown preset “{shown}”; using {}.", s.preset.as_str()))),
                },
                "k" => match value.trim().parse::<i64>() {
                    Ok(k) if (1..=MAX_K as i64).contains(&k) => s.k = k as usize,
                    Ok(k) if k > MAX_K as i64 => {
                        notices.push(Notice(format!("K = {shown} is more than the panel's {MAX_K}; using {MAX_K}.")));
                        s.k = MAX_K;
                    }
                    _ => notices.push(Notice(format!("K must be a whole number from 1 to {MAX_K}, not “{shown}”; using {}.", s.k))),
                },
                "seed" => match value.trim().parse::<u64>() {
                    Ok(v) => s.seed = v,
                    Err(_) => notices.push(Notice(format!("The seed must be a whole number ≥ 0, not “{shown}”; using {}.", s.seed))),
                },
                "view" => match parse_list::<3>(value) {
                    Some([cx, cy, half]) if cx.abs() <= MAX_COORD && cy.abs() <= MAX_COORD && (1e-3..=MAX_COORD).contains(&half) => s.view = [cx, cy, half],
                    _ => notices.push(Notice(format!("The view must be “cx,cy,half” with 0.001 ≤ half ≤ 1000, not “{shown}”; using the default."))),
                },
                "pts" => {
                    let (points, bad) = parse_points(value);
                    if bad > 0 {
                        notices.push(Notice(format!(
                            "{bad} memor{} in the link could not be read and {} skipped.",
                            if bad == 1 { "y" } else { "ies" },
                            if bad == 1 { "was" } else { "were" }
                        )));
                    }
                    if points.len() > MAX_K {
                        notices.push(Notice(format!("The link has more than {MAX_K} memories; only the first {MAX_K} are used.")));
                    }
                    let points: Vec<[f64; 2]> = points.into_iter().take(MAX_K).collect();
                    if points.is_empty() {
                        notices.push(Notice("The link's memory list is empty; showing the preset instead.".into()));
                    } else {
                        s.points = Some(points);
                    }
                }
                _ => {}
            }
        }
        (s, notices)
    }
}

fn parse_f64(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

fn parse_list<const N: usize>(v: &str) -> Option<[f64; N]> {
    let mut out = [0.0; N];
    let mut it = v.split(',');
    for o in out.iter_mut() {
        *o = parse_f64(it.next()?)?;
    }
    it.next().is_none().then_some(out)
}

/// Parses `x,y;x,y;…`, skipping empty items silently and counting unreadable ones.
fn parse_points(v: &str) -> (Vec<[f64; 2]>, usize) {
    let mut points = Vec::new();
    let mut bad = 0;
    for item in v.split(';') {
        if item.trim().is_empty() {
            continue;
        }
        if points.len() > MAX_K {
            break;
        }
        match parse_list::<2>(item) {
            Some([x, y]) if x.abs() <= MAX_COORD && y.abs() <= MAX_COORD => points.push([x, y]),
            _ => bad += 1,
        }
    }
    (points, bad)
}

/// Shortest decimal that reads back as the same f64, but at most 6 significant digits
/// for readable links (the UI never needs more).
pub fn fmt_num(x: f64) -> String {
    let s = format!("{}", (x * 1e6).round() / 1e6);
    if s.len() <= 10 {
        return s;
    }
    format!("{x:.6e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> (DenseAmState, Vec<Notice>) {
        let pairs: Vec<(String, String)> = q
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        DenseAmState::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    #[test]
    fn round_trips_through_the_query() {
        let mut s = DenseAmState { beta: 3.25, form: EnergyForm::Distance, preset: Preset::SquareRandom, k: 17, seed: 42, ..Default::default() };
        s.view = [0.5, -0.25, 2.0];
        let (back, notices) = parse(&s.to_query());
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(back, s);
        s.points = Some(vec![[0.1, 0.2], [-0.3, 0.4]]);
        let (back, notices) = parse(&s.to_query());
        assert!(notices.is_empty());
        assert_eq!(back, s);
    }

    #[test]
    fn garbage_gives_defaults_and_notices() {
        let d = DenseAmState::default();
        for (q, field_default) in [
            ("beta=abc", true),
            ("beta=-5", true),
            ("beta=nan", true),
            ("beta=inf", true),
            ("k=-1", true),
            ("k=abc", true),
            ("preset=<script>", true),
            ("form=x", true),
            ("view=0,0,0", true),
            ("view=1,2", true),
            ("seed=-3", true),
        ] {
            let (s, n) = parse(q);
            assert_eq!(n.len(), 1, "{q}: {n:?}");
            assert_eq!(s == d, field_default, "{q}");
        }
        let (s, n) = parse("beta=1e308");
        assert_eq!(s.beta, BETA_RANGE.1);
        assert_eq!(n.len(), 1);
        let (s, n) = parse("k=99999999");
        assert_eq!(s.k, MAX_K);
        assert_eq!(n.len(), 1);
    }

    #[test]
    fn points_skip_bad_items() {
        let (s, n) = parse("pts=1,2;nan,3;;;0.5,0.5;1e9,0");
        assert_eq!(s.points, Some(vec![[1.0, 2.0], [0.5, 0.5]]));
        assert_eq!(n.len(), 1);
        assert!(n[0].0.starts_with("2 memories"));
    }

    #[test]
    fn huge_input_is_capped_quickly() {
        let garbage = "x".repeat(400 * 1024);
        let (s, n) = parse(&format!("pts={garbage}"));
        assert_eq!(s, DenseAmState::default());
        assert!(!n.is_empty());
        let many: Vec<String> = (0..10_000).map(|i| format!("{},{}", i % 7, i % 5)).collect();
        let (s, n) = parse(&format!("pts={}", many.join(";")));
        assert_eq!(s.points.unwrap().len(), MAX_K);
        assert_eq!(n.len(), 1);
    }

    #[test]
    fn presets_are_seeded_and_sized() {
        for p in Preset::ALL {
            let a = p.memories(13, 5);
            assert_eq!(a.len(), 13);
            assert_eq!(a, p.memories(13, 5));
        }
        assert_ne!(Preset::CircleRandom.memories(5, 1), Preset::CircleRandom.memories(5, 2));
        for m in Preset::CircleEven.memories(7, 0) {
            assert!(((m[0] * m[0] + m[1] * m[1]).sqrt() - 1.0).abs() < 1e-12);
        }
    }
}
