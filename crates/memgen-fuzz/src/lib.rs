//! Fuzz targets for every parser of outside input the lab has: each view's URL state, a sweep
//! bundle's `fractions.csv`, `manifest.json` and galleries, UNet weights files, packed datasets
//! (MGDS), `.npy` arrays, PNG / JPEG / zip uploads, the toy's safetensors checkpoints, UNet
//! training snapshots and the page's stored-run format (browser storage).
//!
//! One target is a function from bytes to the parser's verdict. The same functions serve two
//! drivers:
//! - `fuzz/` (cargo-fuzz, libFuzzer, coverage-guided; nightly): the long run of
//!   `scripts/fuzz.sh`, seeded with [`Target::seeds`] and the committed regressions;
//! - [`short_run`] (stable, in the test command): a seeded structure-aware mutator
//!   ([`mutate`]) over the same seeds, every input checked for a panic and its error message
//!   for a name and one line; a counting allocator in the test refuses any single allocation
//!   over [`MAX_ALLOCATION`].
//!
//! Seeds are made by the lab's own writers (the formats' one definition), not committed.

use std::panic::AssertUnwindSafe;

use memgen_core::spec::NoiseStream;
use memgen_data::images::{ImportOptions, Importer};
use memgen_data::{npy, DatasetInfo, PackedDataset};
use memgen_models::bundle::{parse_fractions_csv, Gallery, Manifest};
use memgen_models::device::LabDevice;
use memgen_models::unet::fused::FusedUNetTraining;
use memgen_models::unet::{snapshot, UNetConfig, UNetTrainConfig};

/// The largest single allocation a parse may make (a header that claims a huge array must be
/// refused before it is allocated). libFuzzer's `-malloc_limit_mb` in `scripts/fuzz.sh`.
pub const MAX_ALLOCATION: usize = 512 << 20;

/// What a target checks: its input kind (for the mutator) and how.
#[derive(Clone, Copy)]
pub struct Target {
    /// The name of the cargo-fuzz target and of its regression folder.
    pub name: &'static str,
    /// Text formats get text mutations (numbers, tokens) besides byte mutations.
    pub text: bool,
    /// Parses `data`: `Ok` when it was accepted, `Err(message)` when refused.
    pub run: fn(&[u8]) -> Result<(), String>,
    /// Valid inputs, written by the lab's own writers.
    pub seeds: fn() -> Vec<Vec<u8>>,
}

/// Every target.
pub fn targets() -> Vec<Target> {
    vec![
        Target { name: "url_state", text: true, run: url_state, seeds: seeds_url },
        Target { name: "fractions_csv", text: true, run: fractions_csv, seeds: seeds_csv },
        Target { name: "manifest_json", text: true, run: manifest_json, seeds: seeds_manifest },
        Target { name: "gallery_json", text: true, run: gallery_json, seeds: seeds_gallery },
        Target { name: "unet_weights", text: false, run: unet_weights, seeds: seeds_weights },
        Target { name: "mgds", text: false, run: mgds, seeds: seeds_mgds },
        Target { name: "npy", text: false, run: npy_array, seeds: seeds_npy },
        Target { name: "image_upload", text: false, run: image_upload, seeds: seeds_images },
        Target { name: "toy_checkpoint", text: false, run: toy_checkpoint, seeds: seeds_toy },
        Target { name: "unet_snapshot", text: false, run: unet_snapshot, seeds: seeds_snapshot },
        Target { name: "stored_run", text: false, run: stored_run, seeds: seeds_stored_run },
    ]
}

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    targets().into_iter().find(|t| t.name == name)
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

// ---------------------------------------------------------------- targets

/// Every view's URL state, read from the query as the page reads it at start.
pub fn url_state(data: &[u8]) -> Result<(), String> {
    let notices = memgen_lab::link::view_notices(&text(data));
    // A notice that could reorder or break the page's text is a defect of the parser, not a
    // refusal: it fails like a panic.
    for n in &notices {
        assert!(!n.chars().any(|c| c.is_control() || memgen_core::text::is_bidi_control(c)), "a notice carries a control character: {n:?}");
    }
    // A link with notices fell back to defaults for those parameters: that is its refusal.
    match notices.is_empty() {
        true => Ok(()),
        false => Err(notices.join("; ")),
    }
}

pub fn fractions_csv(data: &[u8]) -> Result<(), String> {
    parse_fractions_csv(&text(data)).map(|_| ()).map_err(|e| e.to_string())
}

pub fn manifest_json(data: &[u8]) -> Result<(), String> {
    Manifest::parse(data).map(|_| ()).map_err(|e| e.to_string())
}

pub fn gallery_json(data: &[u8]) -> Result<(), String> {
    Gallery::parse(data).map(|_| ()).map_err(|e| format!("gallery: {e}"))
}

pub fn unet_weights(data: &[u8]) -> Result<(), String> {
    let device = LabDevice::cpu().device.inner();
    snapshot::decode_weights(data, &device).map(|_| ()).map_err(|e| format!("weights file: {e}"))
}

pub fn mgds(data: &[u8]) -> Result<(), String> {
    PackedDataset::from_bytes_named(data, "fuzz.mgds").map(|_| ()).map_err(|e| e.to_string())
}

pub fn npy_array(data: &[u8]) -> Result<(), String> {
    npy::decode(data).map(|_| ()).map_err(|e| format!("fuzz.npy: {e}"))
}

/// An upload as the Datasets view takes it (a PNG, a JPEG, a zip of them or a `.npy`).
pub fn image_upload(data: &[u8]) -> Result<(), String> {
    let mut imp = Importer::new(ImportOptions::new(28, false)).map_err(|e| e.to_string())?;
    imp.push("upload", data).map_err(|e| e.to_string())?;
    imp.finish("upload").map(|_| ()).map_err(|e| e.to_string())
}

pub fn toy_checkpoint(data: &[u8]) -> Result<(), String> {
    let device = LabDevice::cpu().device.inner();
    memgen_models::toy::checkpoint::decode(data, &device).map(|_| ()).map_err(|e| format!("checkpoint: {e}"))
}

/// The tiny run the snapshot targets resume: its settings, images and seed.
fn tiny_run() -> (UNetTrainConfig, Vec<f32>, u64) {
    let net = UNetConfig { channels: 1, height: 8, width: 8, base_channels: 4, groups: 2, mult: memgen_models::unet::TWO_LEVELS };
    let mut cfg = memgen_models::presets::Preset::Quick.defaults().training(net);
    cfg.steps = 4;
    cfg.batch = 2;
    let images = (0..3 * 64).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    (cfg, images, 3)
}

/// A fused UNet training snapshot, resumed by the run that would take it.
pub fn unet_snapshot(data: &[u8]) -> Result<(), String> {
    let (cfg, images, seed) = tiny_run();
    FusedUNetTraining::resume(cfg, &images, seed, 1, data).map(|_| ()).map_err(|e| format!("snapshot: {e}"))
}

/// The page's kept run (IndexedDB bytes, `memgen_lab::store`): read back, then its snapshot resumed.
pub fn stored_run(data: &[u8]) -> Result<(), String> {
    let r = memgen_lab::store::parse_run(data).map_err(|e| format!("stored run: {e}"))?;
    unet_snapshot(&r.snapshot)
}

// ---------------------------------------------------------------- seeds

fn seeds_url() -> Vec<Vec<u8>> {
    [
        "?k=9&beta=10&preset=circle-random&seed=3",
        "?tk=9&tthr=0.2&tt=0.01&tseed=1&tsteps=2000&tn=1000&ds=mnist&dk=64&dseed=7",
        "?preset=square-random&k=5&beta=2.5&ds=fashion-mnist&dk=16",
        "?tk=1000&tlr=0.001&k=4096&beta=1",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// The shipped bundle's files (the seed of the bundle targets), from the repository.
fn shipped(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../www/bundles/mnist/");
    std::fs::read(format!("{path}{name}")).unwrap_or_default()
}

fn seeds_csv() -> Vec<Vec<u8>> {
    vec![shipped("fractions.csv")]
}

fn seeds_manifest() -> Vec<Vec<u8>> {
    vec![shipped("manifest.json")]
}

/// A small gallery: the shipped K = 2 gallery cut to two samples and the images they name.
fn seeds_gallery() -> Vec<Vec<u8>> {
    let Ok(mut g) = Gallery::parse(&shipped("gallery-k2.json")) else { return Vec::new() };
    g.samples.truncate(2);
    let used = |list: Vec<memgen_models::bundle::IndexedImage>, wanted: Vec<usize>| list.into_iter().filter(|i| wanted.contains(&i.index)).collect();
    let train: Vec<usize> = g.samples.iter().flat_map(|s| s.train_neighbours.clone()).collect();
    let synth: Vec<usize> = g.samples.iter().flat_map(|s| s.synthetic_neighbours.clone()).collect();
    g.train_images = used(std::mem::take(&mut g.train_images), train);
    g.synthetic_images = used(std::mem::take(&mut g.synthetic_images), synth);
    vec![g.to_bytes()]
}

fn seeds_weights() -> Vec<Vec<u8>> {
    let device = LabDevice::cpu().device.inner();
    let (cfg, _, _) = tiny_run();
    let net = cfg.net.init(&device, &mut memgen_core::spec::NoiseStream::new(0, 0));
    let f32s = pollster::block_on(snapshot::encode_weights_async(&net, &cfg.net)).unwrap_or_default();
    vec![f32s]
}

fn seeds_mgds() -> Vec<Vec<u8>> {
    let info = DatasetInfo { name: "fuzz".into(), class_names: vec!["a".into(), "b".into()], ..Default::default() };
    let pixels: Vec<u8> = (0..3 * 16).map(|i| (i * 41 % 256) as u8).collect();
    match PackedDataset::new(info, 4, 4, 1, pixels, Some(vec![0, 1, 1])) {
        Ok(d) => vec![d.to_bytes(6), d.to_raw_bytes()],
        Err(_) => Vec::new(),
    }
}

fn seeds_npy() -> Vec<Vec<u8>> {
    let u8s: Vec<u8> = (0..2 * 16).map(|i| (i * 7) as u8).collect();
    let f32s: Vec<f32> = (0..16).map(|i| i as f32 / 16.0).collect();
    [npy::encode_u8(&[2, 4, 4], &u8s), npy::encode_f32(&[1, 4, 4], &f32s)].into_iter().filter_map(Result::ok).collect()
}

fn seeds_images() -> Vec<Vec<u8>> {
    use std::io::Write;
    let img = image::GrayImage::from_fn(6, 5, |x, y| image::Luma([(x * 40 + y * 9) as u8]));
    let mut png = std::io::Cursor::new(Vec::new());
    let mut jpg = std::io::Cursor::new(Vec::new());
    let ok = img.write_to(&mut png, image::ImageFormat::Png).is_ok() && img.write_to(&mut jpg, image::ImageFormat::Jpeg).is_ok();
    if !ok {
        return Vec::new();
    }
    let (png, jpg) = (png.into_inner(), jpg.into_inner());
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let notes = b"not an image".to_vec();
    let written = [("a.png", &png), ("dir/b.jpg", &jpg), ("notes.txt", &notes)]
        .into_iter()
        .all(|(name, bytes)| z.start_file(name, opts).is_ok() && z.write_all(bytes).is_ok());
    if !written {
        return vec![png, jpg];
    }
    let zipped = z.finish().map(|c| c.into_inner()).unwrap_or_default();
    let npy = seeds_npy();
    [vec![png, jpg, zipped], npy].concat()
}

fn seeds_toy() -> Vec<Vec<u8>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../www/pretrained/toy-k2.safetensors");
    vec![std::fs::read(path).unwrap_or_default()]
}

fn seeds_snapshot() -> Vec<Vec<u8>> {
    let (cfg, images, seed) = tiny_run();
    let Ok(mut run) = FusedUNetTraining::new(cfg, &images, seed, 1) else { return Vec::new() };
    let fresh = run.snapshot(seed).unwrap_or_default();
    run.run_steps(2);
    vec![fresh, run.snapshot(seed).unwrap_or_default()]
}

fn seeds_stored_run() -> Vec<Vec<u8>> {
    seeds_snapshot().iter().map(|s| memgen_lab::store::run_bytes(s, &[0.5, 0.25])).collect()
}

// ---------------------------------------------------------------- the short run's mutator

/// The mutator's seeded stream: the lab's own ([`NoiseStream`]), so every choice flows from the
/// run's seed.
pub type Rng = NoiseStream;

/// Uniform in `0..n` (`n ≥ 1`; 0 is taken as 1).
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n.max(1) as u64) as usize
}

/// Integers that break parsers: zero, one, sign and width edges, sizes that cannot be allocated.
const INTERESTING: [u64; 12] = [0, 1, 2, 0x7F, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 40, i64::MAX as u64, u64::MAX];
/// Numbers written into text formats in place of a number.
const TEXT_NUMBERS: [&str; 14] = ["0", "-1", "1", "2", "4096", "65536", "99999999999999999999", "1e308", "1e309", "-1e309", "NaN", "inf", "1e-320", "0.5"];
/// Tokens of the text formats (JSON, CSV, query strings) and hostile characters.
const TOKENS: [&str; 22] =
    ["{", "}", "[", "]", ",", ":", "\"", "null", "true", "-", "=", "&", ";", "\n", "%", "%E2%80%AE", "\u{202E}", "\u{0}", "\\u0000", "%00", "[[[[[[[[", "1,"];

/// One mutated input from `seeds` (one to four edits of a random seed).
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], text: bool) -> Vec<u8> {
    let mut d = if seeds.is_empty() { Vec::new() } else { seeds[below(rng, seeds.len())].clone() };
    for _ in 0..1 + below(rng, 4) {
        let n = d.len();
        let at = below(rng, n + 1);
        match below(rng, if text { 11 } else { 9 }) {
            0 if n > 0 => d[at.min(n - 1)] ^= 1 << below(rng, 8),
            1 if n > 0 => d[at.min(n - 1)] = rng.next_u64() as u8,
            2 => {
                let add: Vec<u8> = (0..1 + below(rng, 16)).map(|_| rng.next_u64() as u8).collect();
                d.splice(at..at, add);
            }
            3 if n > 0 => {
                let len = 1 + below(rng, (n - at.min(n - 1)).min(64));
                d.drain(at.min(n - 1)..(at.min(n - 1) + len).min(n));
            }
            4 => d.truncate(at),
            5 if n > 0 => {
                let from = below(rng, n);
                let len = 1 + below(rng, (n - from).min(256));
                let chunk = d[from..from + len].to_vec();
                d.splice(at..at, chunk);
            }
            6 if !seeds.is_empty() => {
                let other = &seeds[below(rng, seeds.len())];
                let cut = below(rng, other.len() + 1);
                d.truncate(at);
                d.extend_from_slice(&other[cut..]);
            }
            7 | 8 if n > 0 => {
                // An integer field (u16, u32 or u64, little-endian) set to an edge value.
                let v = INTERESTING[below(rng, INTERESTING.len())];
                let width = [2, 4, 8][below(rng, 3)];
                let at = at.min(n.saturating_sub(width));
                for (i, b) in v.to_le_bytes().iter().take(width.min(n - at)).enumerate() {
                    d[at + i] = *b;
                }
            }
            9 => replace_number(rng, &mut d),
            10 => {
                let t = TOKENS[below(rng, TOKENS.len())].as_bytes();
                d.splice(at..at, t.iter().copied());
            }
            _ => {}
        }
    }
    d
}

/// Replaces a run of digits (a number of the text) with an edge value.
fn replace_number(rng: &mut Rng, d: &mut Vec<u8>) {
    let digits: Vec<usize> = (0..d.len()).filter(|&i| d[i].is_ascii_digit() && (i == 0 || !d[i - 1].is_ascii_digit())).collect();
    if digits.is_empty() {
        return;
    }
    let start = digits[below(rng, digits.len())];
    let end = (start..d.len()).find(|&i| !(d[i].is_ascii_digit() || d[i] == b'.' || d[i] == b'e')).unwrap_or(d.len());
    let with = TEXT_NUMBERS[below(rng, TEXT_NUMBERS.len())].as_bytes();
    d.splice(start..end, with.iter().copied());
}

/// What a short run of one target found.
#[derive(Debug, Default)]
pub struct Report {
    /// Inputs tried.
    pub executions: usize,
    /// Inputs accepted (a mutation that kept the file valid).
    pub accepted: usize,
    /// Inputs that panicked: (input, panic message).
    pub panics: Vec<(Vec<u8>, String)>,
    /// Refusals whose message is empty or spans lines: (input, message).
    pub bad_messages: Vec<(Vec<u8>, String)>,
    /// The slowest input's seconds (reported, not asserted: speed is a benchmark's business).
    pub slowest_s: f64,
}

/// Runs `target` on `inputs`, catching panics.
pub fn check(target: &Target, inputs: impl IntoIterator<Item = Vec<u8>>) -> Report {
    let mut r = Report::default();
    for input in inputs {
        r.executions += 1;
        let t0 = std::time::Instant::now();
        let out = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        r.slowest_s = r.slowest_s.max(t0.elapsed().as_secs_f64());
        match out {
            Ok(Ok(())) => r.accepted += 1,
            Ok(Err(msg)) => {
                if msg.trim().is_empty() || msg.contains('\n') {
                    r.bad_messages.push((input, msg));
                }
            }
            Err(p) => {
                let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                r.panics.push((input, msg));
            }
        }
    }
    r
}

/// The short run: `n` mutated inputs of `target` from its seeds, with the mutator seeded by
/// `seed`, plus the seeds themselves and `extra` inputs (committed regressions).
pub fn short_run(target: &Target, n: usize, seed: u64, extra: Vec<Vec<u8>>) -> Report {
    let seeds = (target.seeds)();
    let mut rng = Rng::new(seed, memgen_core::spec::fnv1a64(target.name.as_bytes()));
    let mutated: Vec<Vec<u8>> = (0..n).map(|_| mutate(&mut rng, &seeds, target.text)).collect();
    check(target, seeds.clone().into_iter().chain(extra).chain(mutated))
}

/// One input of the long run (cargo-fuzz): panics, which libFuzzer records as a crash, when the
/// parser panics or refuses without a one-line message.
pub fn fuzz_one(run: fn(&[u8]) -> Result<(), String>, data: &[u8]) {
    if let Err(msg) = run(data) {
        assert!(!msg.trim().is_empty() && !msg.contains('\n'), "a refusal without a one-line message: {msg:?}");
    }
}
