//! Reading `memgen sweep` result bundles in the page (format: crates/memgen-cli/src/bundle.rs):
//! `fractions.csv`, `manifest.json` and `gallery-k<K>.json`. Pure functions, tested natively.

use memgen_core::metrics::{classify_distances, Classified, Fractions, Label, Rule, SampleDistances};
use serde::Deserialize;

/// Header `memgen sweep` writes.
pub const CSV_HEADER: &str = "k,memorized,memorized_std,spurious,spurious_std,generalized,generalized_std";
/// Largest bundle file the page reads (a gallery of 10,000 MNIST samples is ~25 MB).
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// One row of `fractions.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub k: usize,
    /// Memorized, spurious, generalized fractions.
    pub f: [f64; 3],
    /// Their bootstrap standard deviations.
    pub std: [f64; 3],
}

impl Row {
    /// The fractions as memgen-core's type.
    pub fn fractions(&self) -> Fractions {
        Fractions { memorized: self.f[0], spurious: self.f[1], generalized: self.f[2] }
    }
}

/// Parses `fractions.csv`: the exact header, then rows with K ascending and fractions in [0, 1].
pub fn parse_fractions_csv(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    match lines.next() {
        Some(h) if h == CSV_HEADER => {}
        Some(h) => return Err(format!("fractions.csv: the header is “{}”, not {CSV_HEADER}", crate::url::preview(h))),
        None => return Err("fractions.csv is empty".into()),
    }
    let mut rows: Vec<Row> = Vec::new();
    for (n, line) in lines.enumerate() {
        let bad = || format!("fractions.csv line {}: “{}” is not k and six numbers in [0, 1]", n + 2, crate::url::preview(line));
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != 7 {
            return Err(bad());
        }
        let k: usize = cells[0].parse().map_err(|_| bad())?;
        let mut v = [0f64; 6];
        for (x, c) in v.iter_mut().zip(&cells[1..]) {
            *x = c.parse().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(x) {
                return Err(bad());
            }
        }
        if rows.last().is_some_and(|r| r.k >= k) {
            return Err(format!("fractions.csv line {}: K = {k} is not larger than the row before", n + 2));
        }
        rows.push(Row { k, f: [v[0], v[2], v[4]], std: [v[1], v[3], v[5]] });
    }
    if rows.is_empty() {
        return Err("fractions.csv has no rows".into());
    }
    Ok(rows)
}

/// One generated sample of a gallery, with its neighbours.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GallerySample {
    pub index: usize,
    /// base64 u8 pixels `[h, w, c]`.
    pub image: String,
    pub train_neighbours: Vec<usize>,
    pub train_distances: Vec<f64>,
    pub synthetic_neighbours: Vec<usize>,
    pub synthetic_distances: Vec<f64>,
}

/// A referenced image (training or synthetic) of a gallery.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexedImage {
    pub index: usize,
    pub image: String,
}

/// `gallery-k<K>.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Gallery {
    pub k: usize,
    pub shape: [usize; 3],
    pub n_eval: usize,
    pub n_synthetic: usize,
    pub samples: Vec<GallerySample>,
    pub train_images: Vec<IndexedImage>,
    pub synthetic_images: Vec<IndexedImage>,
}

impl Gallery {
    /// Parses and checks a gallery: shapes, neighbour lists sorted and pointing at images it holds.
    pub fn parse(bytes: &[u8]) -> Result<Gallery, String> {
        let g: Gallery = serde_json::from_slice(bytes).map_err(|e| format!("not a sweep gallery: {e}"))?;
        let [h, w, c] = g.shape;
        if h == 0 || w == 0 || !(c == 1 || c == 3) || h * w > 512 * 512 {
            return Err(format!("gallery K = {}: bad image shape {:?}", g.k, g.shape));
        }
        let has = |list: &[IndexedImage], j: usize| list.iter().any(|t| t.index == j);
        for s in &g.samples {
            let sorted = |d: &[f64]| d.windows(2).all(|w| w[0] <= w[1]) && d.iter().all(|x| x.is_finite() && *x >= 0.0);
            if s.train_distances.len() < 2
                || s.train_distances.len() != s.train_neighbours.len()
                || s.synthetic_distances.is_empty()
                || s.synthetic_distances.len() != s.synthetic_neighbours.len()
                || !sorted(&s.train_distances)
                || !sorted(&s.synthetic_distances)
            {
                return Err(format!("gallery K = {}: sample {} has malformed neighbour lists", g.k, s.index));
            }
            if let Some(j) = s.train_neighbours.iter().find(|j| !has(&g.train_images, **j)) {
                return Err(format!("gallery K = {}: training image {j} is referenced but not included", g.k));
            }
            if let Some(j) = s.synthetic_neighbours.iter().find(|j| !has(&g.synthetic_images, **j)) {
                return Err(format!("gallery K = {}: synthetic image {j} is referenced but not included", g.k));
            }
        }
        Ok(g)
    }

    /// Labels of every sample under `rule` (Eqs. 4–6 on the stored distances: no regeneration).
    pub fn classify(&self, rule: &Rule) -> Vec<Classified> {
        self.samples
            .iter()
            .map(|s| {
                let d = SampleDistances { d1: s.train_distances[0], d2: s.train_distances[1], d1_synthetic: s.synthetic_distances[0] };
                classify_distances(d, rule)
            })
            .collect()
    }
}

/// Fractions of a set of labels (0s when empty).
pub fn label_fractions(labels: impl IntoIterator<Item = Label>) -> Fractions {
    let labels: Vec<Label> = labels.into_iter().collect();
    memgen_core::metrics::fractions(&labels)
}

/// The manifest fields the page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ManifestInfo {
    pub dataset: String,
    pub model: String,
    pub parameters: u64,
    pub command_line: String,
    pub total_s: f64,
    pub n_eval: u64,
    pub rule: Option<Rule>,
    pub steps: Option<u64>,
    pub sampler: String,
    /// What the page's re-run of a point needs to repeat it (the UNet's settings).
    pub rerun: Option<RerunSettings>,
}

/// The settings of a bundle's UNet points: a point re-run in the tab uses them.
#[derive(Debug, Clone, PartialEq)]
pub struct RerunSettings {
    pub seed: u64,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub base_channels: usize,
    pub groups: usize,
    pub n_eval: usize,
    pub sprime_mult: usize,
    pub sampler_steps: usize,
    /// `[h, w, c]` of the bundle's images.
    pub hwc: [usize; 3],
    /// `"ddim"` or `"ddpm"` (the tab samples with DDIM).
    pub sampler_kind: String,
}

/// Reads what the page shows from `manifest.json`.
pub fn parse_manifest(bytes: &[u8]) -> Result<ManifestInfo, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("manifest.json is not JSON: {e}"))?;
    if v.get("format").and_then(|f| f.as_str()) != Some("memgen-sweep-bundle") {
        return Err("manifest.json is not a memgen sweep bundle (no \"format\": \"memgen-sweep-bundle\")".into());
    }
    let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let n = |p: &str| v.pointer(p).and_then(|x| x.as_u64());
    Ok(ManifestInfo {
        dataset: s("/sweep/dataset"),
        model: s("/sweep/model"),
        parameters: n("/model_parameters").unwrap_or(0),
        command_line: match v.get("reproduce").and_then(|r| r.as_str()) {
            Some(r) => r.to_string(),
            None => v
                .get("command_line")
                .and_then(|c| c.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str()).map(|x| x.rsplit('/').next().unwrap_or(x)).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
        },
        total_s: v.get("total_s").and_then(|x| x.as_f64()).unwrap_or(0.0),
        n_eval: n("/spec/n_eval").unwrap_or(0),
        rule: v.pointer("/spec/rule").and_then(|r| serde_json::from_value(r.clone()).ok()),
        steps: n("/sweep/training/steps"),
        sampler: v.pointer("/sweep/sampler").map(|x| x.to_string()).unwrap_or_default(),
        rerun: (|| {
            let u = |p: &str| n(p).map(|x| x as usize);
            Some(RerunSettings {
                seed: n("/spec/seed")?,
                steps: u("/sweep/training/steps")?,
                batch: u("/sweep/training/batch")?,
                lr: v.pointer("/sweep/training/lr")?.as_f64()?,
                base_channels: u("/sweep/unet/base_channels")?,
                groups: u("/sweep/unet/groups")?,
                n_eval: u("/spec/n_eval")?,
                sprime_mult: u("/spec/synthetic_per_train")?,
                sampler_steps: u("/sweep/sampler/steps")?,
                sampler_kind: s("/sweep/sampler/kind"),
                hwc: serde_json::from_value(v.pointer("/sweep/image_hwc")?.clone()).ok()?,
            })
        })(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_parse_and_bad_rows_are_named() {
        let ok = format!("{CSV_HEADER}\n2,1,0,0,0,0,0\n8,0.5,0.05,0.25,0.04,0.25,0.04\n");
        let rows = parse_fractions_csv(&ok).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1], Row { k: 8, f: [0.5, 0.25, 0.25], std: [0.05, 0.04, 0.04] });
        for (bad, needle) in [
            ("", "empty"),
            ("k,m\n1,2", "header"),
            (&*format!("{CSV_HEADER}\n"), "no rows"),
            (&*format!("{CSV_HEADER}\n2,1,0,0,0,0"), "line 2"),
            (&*format!("{CSV_HEADER}\n2,1.5,0,0,0,0,0"), "line 2"),
            (&*format!("{CSV_HEADER}\n2,NaN,0,0,0,0,0"), "line 2"),
            (&*format!("{CSV_HEADER}\n4,1,0,0,0,0,0\n2,1,0,0,0,0,0"), "not larger"),
        ] {
            let e = parse_fractions_csv(bad).unwrap_err();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }

    #[test]
    fn manifest_gives_the_rerun_settings_and_the_reproduce_line() {
        let m = br#"{"format":"memgen-sweep-bundle","model_parameters":23945,
            "spec":{"seed":3,"n_eval":256,"synthetic_per_train":4},
            "sweep":{"dataset":"mnist","model":"unet","image_hwc":[28,28,1],
              "unet":{"channels":1,"height":28,"width":28,"base_channels":8,"groups":8},
              "training":{"lr":0.001,"batch":8,"steps":20000},
              "sampler":{"kind":"ddim","steps":20,"clip":true}},
            "command_line":["/x/y/memgen","merge","a","--out","b"],
            "reproduce":"STEPS=20000 bash scripts/make-bundle.sh"}"#;
        let info = parse_manifest(m).unwrap();
        assert_eq!(info.command_line, "STEPS=20000 bash scripts/make-bundle.sh");
        assert_eq!(
            info.rerun,
            Some(RerunSettings {
                seed: 3,
                steps: 20000,
                batch: 8,
                lr: 1e-3,
                base_channels: 8,
                groups: 8,
                n_eval: 256,
                sprime_mult: 4,
                sampler_steps: 20,
                hwc: [28, 28, 1],
                sampler_kind: "ddim".into(),
            })
        );
        // Without "reproduce", the command line (program name without its folder); an ideal
        // denoiser's manifest (no training) has nothing to re-run.
        let text = String::from_utf8_lossy(m).replace(r#""reproduce":"STEPS=20000 bash scripts/make-bundle.sh""#, r#""other":0"#).replace(r#""training":{"lr":0.001,"batch":8,"steps":20000},"#, "");
        let info = parse_manifest(text.as_bytes()).unwrap();
        assert_eq!(info.command_line, "memgen merge a --out b");
        assert_eq!(info.rerun, None);
    }

    #[test]
    fn gallery_relabels_from_stored_distances() {
        let g = br#"{"k":2,"shape":[1,1,1],"n_eval":2,"n_synthetic":8,
            "samples":[
              {"index":0,"image":"AA==","train_neighbours":[0,1],"train_distances":[0.01,1.0],"synthetic_neighbours":[3],"synthetic_distances":[0.5]},
              {"index":1,"image":"AA==","train_neighbours":[1,0],"train_distances":[0.6,1.0],"synthetic_neighbours":[3],"synthetic_distances":[0.01]}],
            "train_images":[{"index":0,"image":"AA=="},{"index":1,"image":"AA=="}],
            "synthetic_images":[{"index":3,"image":"AA=="}]}"#;
        let g = Gallery::parse(g).unwrap();
        let rule = Rule::Ratio { delta_m: 1.0 / 3.0, delta_s: 0.1 };
        let l: Vec<Label> = g.classify(&rule).iter().map(|c| c.label).collect();
        assert_eq!(l, vec![Label::Memorized, Label::Spurious]);
        // A looser δ_m turns the second sample memorized: relabelled without regenerating.
        let loose = Rule::Ratio { delta_m: 0.7, delta_s: 0.1 };
        let l: Vec<Label> = g.classify(&loose).iter().map(|c| c.label).collect();
        assert_eq!(l, vec![Label::Memorized, Label::Memorized]);
        assert_eq!(label_fractions(l).memorized, 1.0);
        // A neighbour missing from the included images is refused.
        let broken = br#"{"k":2,"shape":[1,1,1],"n_eval":1,"n_synthetic":8,
            "samples":[{"index":0,"image":"AA==","train_neighbours":[0,7],"train_distances":[0.1,0.2],"synthetic_neighbours":[3],"synthetic_distances":[0.5]}],
            "train_images":[{"index":0,"image":"AA=="}],"synthetic_images":[{"index":3,"image":"AA=="}]}"#;
        assert!(Gallery::parse(broken).unwrap_err().contains("training image 7"));
        assert!(Gallery::parse(b"{}").is_err());
    }
}
