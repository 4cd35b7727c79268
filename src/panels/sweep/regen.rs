//! A gallery sample made again in the tab from the bundle's EMA weights of its K (fetched only
//! when asked for, checked against the manifest's SHA-256) and the point's seed: the DDIM
//! sampler from the sample's own slice of the `S_eval` noise, the library's
//! [`regenerate_eval_sample`]. Shown beside the stored sample with the largest pixel
//! difference between them.

use leptos::prelude::*;
use leptos::task::spawn_local;
use memgen_data::sha256_hex;
use memgen_models::sweep::regenerate_eval_sample;
use memgen_models::unet::fused::FusedUNet;
use memgen_models::unet::snapshot::decode_weights;

use super::source::load_file;
use super::Panel;
use crate::browser::{b64, unbase64};
use crate::widgets::gallery::Thumb;

/// Where a regeneration stands.
#[derive(Clone, PartialEq)]
enum Regen {
    Idle,
    Running(String),
    Done { image: String, max_diff: u8, index: usize },
    Failed(String),
}

/// The EMA network of point `k` of the loaded bundle (its weights fetched and checked against
/// the manifest's SHA-256), its shape and the point's settings.
pub(super) async fn point_model(
    p: Panel,
    k: usize,
    status: &impl Fn(String),
) -> Result<(FusedUNet, memgen_models::unet::UNetConfig, memgen_models::point::PointConfig), String> {
    let (bytes, cfg) = point_weights(p, k, status).await?;
    let (fused, net) = fused_of(&bytes)?;
    Ok((fused, net, cfg))
}

/// The fused network (the page's CPU model) of a weights file, and its shape.
pub(super) fn fused_of(bytes: &[u8]) -> Result<(FusedUNet, memgen_models::unet::UNetConfig), String> {
    let plain = memgen_models::device::LabDevice::cpu().device.inner();
    let (unet, net) = decode_weights(bytes, &plain)?;
    Ok((FusedUNet::from_unet(&unet, net)?, net))
}

/// The safetensors bytes of point `k`'s EMA weights in the loaded bundle (fetched, and
/// checked against the manifest's SHA-256) and the point's settings.
pub(super) async fn point_weights(p: Panel, k: usize, status: &impl Fn(String)) -> Result<(Vec<u8>, memgen_models::point::PointConfig), String> {
    let (source, record) = p
        .loaded
        .with_untracked(|l| l.as_ref().and_then(|l| Some((l.source.clone(), l.manifest.results.iter().find(|r| r.k == k)?.clone()))))
        .ok_or("no bundle point for this K")?;
    let name = record.files.get("weights").ok_or("this bundle holds no weights for this K (made before bundles carried them)")?;
    status(format!("fetching {name}…"));
    let bytes = load_file(&source, name).await?;
    if let Some(want) = record.checksums.get(name) {
        let got = sha256_hex(&bytes);
        if &got != want {
            return Err(format!("{name}: its SHA-256 {} is not the manifest's {}", &got[..12], &want[..12.min(want.len())]));
        }
    }
    let cfg = record.config.ok_or("the manifest does not record this point's settings")?;
    Ok((bytes, cfg))
}

/// Makes sample `index` of point `k` again; returns its pixels (base64) and the largest
/// difference from `stored`.
async fn regenerate(p: Panel, k: usize, index: usize, stored: &[u8], status: impl Fn(String)) -> Result<(String, u8), String> {
    let (fused, net, cfg) = point_model(p, k, &status).await?;
    let plain = memgen_models::device::LabDevice::cpu().device.inner();
    status(format!("sampling ({} DDIM steps)…", cfg.sampler.steps));
    crate::browser::yield_now().await;
    let px = regenerate_eval_sample(&fused, &cfg, [net.height, net.width, net.channels], index, &plain).await.map_err(|e| e.to_string())?;
    let max_diff = px.iter().zip(stored).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
    Ok((b64(&px), max_diff))
}

/// The button and its result, under the clicked sample's detail.
#[component]
pub(crate) fn RegenerateSample(
    /// The panel.
    p: Panel,
) -> impl IntoView {
    let state = RwSignal::new(Regen::Idle);
    // A new sample or K clears the last result.
    Effect::new(move |_| {
        let _ = (p.picked.get(), p.selected_k.get());
        state.set(Regen::Idle);
    });
    let has_weights = move || {
        let k = p.selected_k.get();
        p.loaded.with(|l| l.as_ref().and_then(|l| l.manifest.results.iter().find(|r| Some(r.k) == k)).is_some_and(|r| r.files.contains_key("weights")))
    };
    let run = move |_| {
        let (Some(k), Some(i), Some(g)) = (p.selected_k.get_untracked(), p.picked.get_untracked(), p.gallery.get_untracked()) else { return };
        let Some(s) = g.samples.get(i).cloned() else { return };
        let Some(stored) = unbase64(&s.image) else { return };
        state.set(Regen::Running("starting…".into()));
        spawn_local(async move {
            match regenerate(p, k, s.index, &stored, |m| state.set(Regen::Running(m))).await {
                Ok((image, max_diff)) => state.set(Regen::Done { image, max_diff, index: s.index }),
                Err(e) => state.set(Regen::Failed(e)),
            }
        });
    };
    move || {
        p.picked.get()?;
        if !has_weights() {
            return None;
        }
        let shape = p.gallery.get().map(|g| g.shape).unwrap_or([28, 28, 1]);
        let st = state.get();
        let attr = match &st {
            Regen::Idle => "idle".to_string(),
            Regen::Running(_) => "running".into(),
            Regen::Done { .. } => "done".into(),
            Regen::Failed(e) => format!("error: {e}"),
        };
        let max_attr = if let Regen::Done { max_diff, .. } = &st { max_diff.to_string() } else { String::new() };
        Some(view! {
            <div class="controls" data-testid="sweep-regen" data-state=attr data-max-diff=max_attr>
                <button data-testid="sweep-regen-run" disabled=matches!(st, Regen::Running(_)) on:click=run>"Make this sample again from the bundle's weights"</button>
                {match st {
                    Regen::Idle => view! { <span class="muted">"Loads this K's EMA weights and samples its noise again here: no training."</span> }.into_any(),
                    Regen::Running(m) => view! { <span>{m}</span> }.into_any(),
                    Regen::Failed(e) => view! { <span class="notice">{format!("Could not make it again: {e}")}</span> }.into_any(),
                    Regen::Done { image, max_diff, index } => view! {
                        <Thumb image=image shape=shape caption=format!("#{index} made again here") alt=format!("sample #{index} made again in this tab from the bundle's weights") />
                        <span>{format!("Largest pixel difference from the stored sample: {max_diff} grey level{}.", if max_diff == 1 { "" } else { "s" })}</span>
                    }.into_any(),
                }}
            </div>
        })
    }
}
