//! Sample quality in the tab: the dataset's reference classifier (made natively by
//! `scripts/refnet.sh`, served beside the data sets and checked against the SHA-256 of its
//! sidecar) and the first test images as the reference, both fetched once per tab. Features are
//! computed a slice at a time between frames, so the page keeps answering. The measures are the
//! library's ([`memgen_models::refnet::QualityReference`]), the ones `memgen quality` uses; the
//! tab's reference holds fewer test images ([`TAB_REFERENCE`]) than the CLI's 5,000.

use std::cell::RefCell;
use std::rc::Rc;

use memgen_core::Matrix;
use memgen_data::{sha256_hex, DatasetId, PixelRange, Split};
use memgen_models::bundle::PointQuality;
use memgen_models::refnet::{QualityReference, RefNet};

use crate::browser::{fetch_bytes, now_ms, yield_now};

/// Reference images whose balls are found between two frames (3,000 at once took about 2 s
/// in a tab: ~30 ms for 48).
const MANIFOLD_ROWS: usize = 48;

/// Test images in the tab's reference manifold.
pub const TAB_REFERENCE: usize = 2000;
/// Held-out real test images the tab scores beside the samples (at most this many samples'
/// worth).
pub const TAB_HELD_OUT: usize = 1000;

thread_local! {
    static REFERENCES: RefCell<Vec<(DatasetId, Rc<Loaded>)>> = const { RefCell::new(Vec::new()) };
}

/// A reference with the SHA-256 of its classifier file.
pub struct Loaded {
    pub reference: QualityReference,
    pub sha256: String,
}

#[derive(serde::Deserialize)]
struct Sidecar {
    file: String,
    sha256: String,
}

/// The datasets with a reference classifier.
pub fn has_classifier(dataset: &str) -> Option<DatasetId> {
    match dataset {
        "mnist" => Some(DatasetId::Mnist),
        "fashion-mnist" => Some(DatasetId::FashionMnist),
        _ => None,
    }
}

/// Features and classes of `images` (`[n, 784]` in [−1, 1]), 32 images between frames;
/// `status(done, n)` after each slice.
async fn features(net: &RefNet, images: &[f32], status: &dyn Fn(usize, usize)) -> Result<(Matrix, Vec<u8>), String> {
    let d = net.config.image_len();
    let n = images.len() / d;
    let (mut feats, mut classes) = (Vec::with_capacity(n * net.feature_len()), Vec::with_capacity(n));
    let mut t0 = now_ms();
    for (i, chunk) in images.chunks(32 * d).enumerate() {
        let (f, c) = net.features_and_classes(chunk)?;
        feats.extend_from_slice(f.data());
        classes.extend(c);
        if now_ms() - t0 > 12.0 {
            status(((i + 1) * 32).min(n), n);
            yield_now().await;
            t0 = now_ms();
        }
    }
    Ok((Matrix::new(feats, n, net.feature_len()).map_err(|e| e.to_string())?, classes))
}

/// The tab's reference of `id`, fetched and built on first use.
pub async fn reference(id: DatasetId, status: &dyn Fn(String)) -> Result<Rc<Loaded>, String> {
    if let Some(r) = REFERENCES.with(|r| r.borrow().iter().find(|(d, _)| *d == id).map(|(_, l)| l.clone())) {
        return Ok(r);
    }
    let name = id.as_str();
    status(format!("quality: fetching the {name} classifier…"));
    let side_url = format!("www/data/{name}-refnet.json");
    let side: Sidecar = serde_json::from_slice(&fetch_bytes(&side_url).await.map_err(|e| format!("{e} (made by bash scripts/refnet.sh)"))?)
        .map_err(|e| format!("{side_url}: {e}"))?;
    let bytes = fetch_bytes(&format!("www/data/{}", side.file)).await?;
    let sha = sha256_hex(&bytes);
    if sha != side.sha256 {
        return Err(format!(
            "{}: checksum {} is not its sidecar's {}; rebuild it with bash scripts/refnet.sh",
            side.file,
            &sha[..12],
            &side.sha256[..12.min(side.sha256.len())]
        ));
    }
    let (net, info) = RefNet::from_bytes(&bytes)?;
    status("quality: fetching the test images…".into());
    let manifest = crate::panels::datasets::load::fetch_manifest().await?;
    let entry = manifest.find(id, Split::Test).ok_or(format!("{name} has no test split"))?.clone();
    let test = crate::panels::datasets::load::fetch_packed(&entry, &|_, _| {}, &|| false).await?.ok_or("cancelled")?;
    let n = (TAB_REFERENCE + TAB_HELD_OUT).min(test.len());
    let images = test.images_f32(&(0..n).collect::<Vec<_>>(), PixelRange::MinusOneOne).map_err(|e| e.to_string())?;
    let (all, _) = features(&net, &images, &|i, n| status(format!("quality: classifier features of {i} of {n} test images…"))).await?;
    // The reference's balls (a k-NN of every image among the others) a block of rows between
    // frames: all at once they held the tab about 2 s.
    let (reference, held_out) = QualityReference::split(&net, &all, TAB_REFERENCE.min(n.saturating_sub(1)))?;
    let mut balls = memgen_core::quality::ManifoldBuilder::new(&reference, memgen_core::quality::DEFAULT_K).map_err(|e| e.to_string())?;
    while !balls.finished() {
        status(format!("quality: the test images' manifold, {} of {}…", balls.done(), balls.len()));
        yield_now().await;
        balls.step(MANIFOLD_ROWS).map_err(|e| e.to_string())?;
    }
    let manifold = balls.finish().map_err(|e| e.to_string())?;
    let reference = QualityReference::from_manifold(net, info, reference, held_out, manifold)?;
    let loaded = Rc::new(Loaded { reference, sha256: sha });
    REFERENCES.with(|r| r.borrow_mut().push((id, loaded.clone())));
    Ok(loaded)
}

/// The quality of `eval` (packed u8 samples) against the tab's reference of `id`.
pub async fn measure(id: DatasetId, eval: &[u8], status: &dyn Fn(String)) -> Result<PointQuality, String> {
    let r = reference(id, status).await?;
    let images = r.reference.net().packed_input(eval);
    let (f, classes) = features(r.reference.net(), &images, &|i, n| status(format!("quality: classifier features of {i} of {n} samples…"))).await?;
    let samples = r.reference.measure_features(&f, &classes)?;
    let real = r.reference.baseline(samples.samples)?;
    Ok(PointQuality { of: "S_eval".into(), samples, real, classifier_sha256: r.sha256.clone() })
}
