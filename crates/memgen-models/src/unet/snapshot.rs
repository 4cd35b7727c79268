//! A UNet's weights as files: the EMA weights a bundle keeps for each point (`weights-k<K>`,
//! f32 or f16, [`encode_weights_as`], [`decode_weights`]), and the helpers the fused trainer's
//! run snapshots use (checks, flat tensors; the snapshot itself, and a burn run's snapshot that
//! the tab's CPU goes on from when the GPU device is lost, are in [`super::fused`]).
//! Every read of a tensor is asynchronous, so all of this runs on WebGPU in a browser too.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Tensor, TensorData};
use safetensors::tensor::{Dtype, TensorView};

use super::UNet;

/// Format tag stored under `format`.
pub const SNAPSHOT_FORMAT: &str = "memgen-unet-run/1";

/// Every float parameter of a module, in its order: id, shape and the values flattened (on the
/// plain device, nothing read back yet).
struct Params {
    out: Vec<(u64, Vec<usize>, Tensor<1>)>,
}

impl ModuleVisitor for Params {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().inner();
        let shape = t.dims().to_vec();
        self.out.push((param.id.val(), shape, t.flatten(0, D - 1)));
    }
}

fn params(m: &UNet) -> Vec<(u64, Vec<usize>, Tensor<1>)> {
    let mut p = Params { out: Vec::new() };
    m.visit(&mut p);
    p.out
}

/// A stored f32 (or f16, widened) tensor's shape and values; NaN or infinite values are an
/// error.
fn read_f32(st: &safetensors::SafeTensors<'_>, name: &str) -> Result<(Vec<usize>, Vec<f32>), String> {
    let v = st.tensor(name).map_err(|_| format!("missing {name}"))?;
    let f: Vec<f32> = match v.dtype() {
        Dtype::F32 => v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Dtype::F16 => v.data().chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        _ => return Err(format!("{name}: not f32 or f16")),
    };
    if f.iter().any(|x| !x.is_finite()) {
        return Err(format!("{name}: NaN or infinite values"));
    }
    Ok((v.shape().to_vec(), f))
}

/// Replaces every float parameter, in order, by the next stored values (and id, when given).
struct Restore {
    values: std::vec::IntoIter<(Vec<usize>, Vec<f32>)>,
    ids: Option<std::vec::IntoIter<u64>>,
    error: Option<String>,
}

impl ModuleMapper for Restore {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((shape, v)) = self.values.next() else {
            self.error.get_or_insert_with(|| "the snapshot has fewer parameters than the network".into());
            return param;
        };
        let id = self.ids.as_mut().and_then(|i| i.next());
        let (old_id, old) = (param.id, param.val());
        if shape != old.dims().to_vec() {
            self.error.get_or_insert_with(|| format!("parameter shape {shape:?} does not fit the network's {:?}", old.dims()));
            return Param::initialized(old_id, old);
        }
        let require_grad = old.is_require_grad();
        let mut t = Tensor::<D>::from_data(TensorData::new(v, shape), &old.device());
        if require_grad {
            t = t.require_grad();
        }
        Param::initialized(id.map(ParamId::from).unwrap_or(old_id), t)
    }
}

fn restore(m: UNet, values: Vec<(Vec<usize>, Vec<f32>)>, ids: Option<Vec<u64>>) -> Result<UNet, String> {
    let n = values.len();
    let mut r = Restore { values: values.into_iter(), ids: ids.map(|i| i.into_iter()), error: None };
    let m = m.map(&mut r);
    if let Some(e) = r.error {
        return Err(e);
    }
    if r.values.next().is_some() {
        return Err(format!("the snapshot has more parameters ({n}) than the network"));
    }
    Ok(m)
}

/// Format tag of [`encode_weights_async`]'s files.
pub const WEIGHTS_FORMAT: &str = "memgen-unet-weights/1";

/// A network's weights as safetensors bytes (f32, `w.<i>` in the module's parameter order, the
/// [`UNetConfig`](super::UNetConfig) as JSON under `net`), read back asynchronously: works on
/// every backend, WebGPU in a browser included. The training worker sends its EMA weights so.
pub async fn encode_weights_async(model: &UNet, net: &super::UNetConfig) -> Result<Vec<u8>, String> {
    encode_weights(&flat_tensors_async(model).await?, net)
}

/// A network's parameters in its module order, each tensor flat, read back asynchronously
/// (every backend, WebGPU in a browser included).
pub(crate) async fn flat_tensors_async(model: &UNet) -> Result<Vec<Vec<f32>>, String> {
    let mut tensors = Vec::new();
    for (_, _, p) in params(model) {
        tensors.push(p.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?);
    }
    Ok(tensors)
}

/// How a weights file stores its values. A sweep that writes f16 weights samples its images
/// from the f16 weights (widened back to f32), so a page that reads the file makes the same
/// images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsDtype {
    /// 4 bytes a value: the EMA weights as trained.
    #[default]
    F32,
    /// 2 bytes a value: each rounded to the nearest IEEE half (half the file).
    F16,
}

impl WeightsDtype {
    /// Whether this is the default (f32), which configs leave out of their JSON.
    pub fn is_f32(&self) -> bool {
        *self == WeightsDtype::F32
    }

    /// `tensors` as this dtype stores them (f16: rounded to the nearest half, widened back).
    pub fn round(&self, tensors: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
        match self {
            WeightsDtype::F32 => tensors,
            WeightsDtype::F16 => tensors.into_iter().map(|t| t.into_iter().map(|x| half::f16::from_f32(x).to_f32()).collect()).collect(),
        }
    }
}

/// [`encode_weights_async`]'s file (f32) from the parameters in the module's order, each flat
/// (what [`crate::unet::fused::FusedUNetTraining::ema_tensors`] gives).
pub fn encode_weights(tensors: &[Vec<f32>], net: &super::UNetConfig) -> Result<Vec<u8>, String> {
    encode_weights_as(tensors, net, WeightsDtype::F32)
}

/// [`encode_weights`] with the values stored as `dtype`.
pub fn encode_weights_as(tensors: &[Vec<f32>], net: &super::UNetConfig, dtype: WeightsDtype) -> Result<Vec<u8>, String> {
    let bytes = |v: &Vec<f32>| -> Vec<u8> {
        match dtype {
            WeightsDtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            WeightsDtype::F16 => v.iter().flat_map(|x| half::f16::from_f32(*x).to_le_bytes()).collect(),
        }
    };
    let st_dtype = match dtype {
        WeightsDtype::F32 => Dtype::F32,
        WeightsDtype::F16 => Dtype::F16,
    };
    let bufs: Vec<(String, Vec<usize>, Vec<u8>)> = tensors.iter().enumerate().map(|(i, v)| (format!("w.{i}"), vec![v.len()], bytes(v))).collect();
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), WEIGHTS_FORMAT.to_string());
    meta.insert("net".to_string(), serde_json::to_string(net).map_err(|e| e.to_string())?);
    let views: Vec<(String, TensorView<'_>)> = bufs
        .iter()
        .map(|(n, s, b)| TensorView::new(st_dtype, s.clone(), b).map(|v| (n.clone(), v)).map_err(|e| format!("{n}: {e}")))
        .collect::<Result<_, _>>()?;
    canonical_header(safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())?)
}

/// The same safetensors file with its JSON header's keys sorted: safetensors writes metadata
/// from a `HashMap`, whose order changes from run to run, so without this the same weights
/// would get another SHA-256 each time. The header stays padded with spaces to 8 bytes.
pub fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let n = u64::from_le_bytes(bytes.get(..8).ok_or("not a safetensors file")?.try_into().map_err(|_| "not a safetensors file")?) as usize;
    let header = bytes.get(8..8 + n).ok_or("not a safetensors file")?;
    // serde_json's map is ordered (no `preserve_order`), so this sorts every object's keys.
    let v: serde_json::Value = serde_json::from_slice(header).map_err(|e| format!("safetensors header: {e}"))?;
    let mut h = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Every parameter of `m` in its order, flat (read back synchronously: CPU backends).
pub(crate) fn flat_tensors(m: &UNet) -> Vec<Vec<f32>> {
    params(m).into_iter().map(|(_, _, t)| t.into_data().try_to_vec::<f32>().expect("f32")).collect()
}

/// A network of `net` on `device` with the given parameters (burn's order, each tensor flat):
/// how the fused trainer hands its weights to the samplers.
pub fn unet_from_tensors(net: &super::UNetConfig, tensors: Vec<Vec<f32>>, device: &burn::tensor::Device) -> Result<UNet, String> {
    let fresh = net.init(device, &mut memgen_core::spec::NoiseStream::new(0, 0));
    let shapes = params(&fresh).into_iter().map(|(_, s, _)| s).collect::<Vec<_>>();
    if shapes.len() != tensors.len() {
        return Err(format!("{} tensors for a network of {}", tensors.len(), shapes.len()));
    }
    let mut shaped = Vec::with_capacity(shapes.len());
    for (shape, v) in shapes.into_iter().zip(tensors) {
        if shape.iter().product::<usize>() != v.len() {
            return Err("a tensor does not fit the network".into());
        }
        shaped.push((shape, v));
    }
    restore(fresh, shaped, None)
}

/// The network [`encode_weights_async`] wrote, on `device`. Malformed bytes are an error.
pub fn decode_weights(bytes: &[u8], device: &burn::tensor::Device) -> Result<(UNet, super::UNetConfig), String> {
    let (_, md) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| format!("not a weights file: {e}"))?;
    let meta = md.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(WEIGHTS_FORMAT) {
        return Err(format!("not a {WEIGHTS_FORMAT} file"));
    }
    let net: super::UNetConfig = meta.get("net").and_then(|c| serde_json::from_str(c).ok()).ok_or("no readable network config")?;
    net.validate().map_err(|e| e.to_string())?;
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format!("not a weights file: {e}"))?;
    let fresh = net.init(device, &mut memgen_core::spec::NoiseStream::new(0, 0));
    // Shapes come from the fresh network (stored flat); the element counts must match.
    let mut shaped = Vec::new();
    for (i, (_, shape, _)) in params(&fresh).into_iter().enumerate() {
        let (_, v) = read_f32(&st, &format!("w.{i}"))?;
        if shape.iter().product::<usize>() != v.len() {
            return Err("a tensor does not fit the network".into());
        }
        shaped.push((shape, v));
    }
    Ok((restore(fresh, shaped, None)?, net))
}

/// Checks a training snapshot's metadata against the run that would resume it (format, training
/// settings, seed, number of images, and the fused engine's shards) and returns its step and
/// metadata; the error names what differs. Shared by the burn and the fused UNet runs.
pub(crate) fn check_snapshot(
    snapshot: &[u8],
    format: &str,
    config: &super::UNetTrainConfig,
    seed: u64,
    k: usize,
    shards: Option<usize>,
) -> Result<(usize, HashMap<String, String>), String> {
    let (_, md) =
        safetensors::SafeTensors::read_metadata(snapshot).map_err(|e| format!("not a training snapshot: {}", memgen_core::text::neutralise(&e.to_string())))?;
    let meta = md.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(format) {
        return Err(format!("not a {format} snapshot"));
    }
    let stored: super::UNetTrainConfig = meta.get("config").and_then(|c| serde_json::from_str(c).ok()).ok_or("the snapshot has no readable config")?;
    if stored != *config {
        return Err("the snapshot was taken with other training settings".into());
    }
    if meta.get("seed") != Some(&seed.to_string()) {
        return Err("the snapshot was taken with another seed".into());
    }
    if let Some(shards) = shards {
        if meta.get("shards") != Some(&shards.max(1).to_string()) {
            return Err("the snapshot was taken with another number of shards".into());
        }
    }
    if meta.get("k") != Some(&k.to_string()) {
        return Err("the snapshot was taken on another number of training images".into());
    }
    let step: usize = meta.get("step").and_then(|s| s.parse().ok()).filter(|&s| s <= config.steps).ok_or("bad step in the snapshot")?;
    Ok((step, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unet::{UNetConfig, UNetTraining};

    #[test]
    fn weights_files_round_trip_the_ema_network() {
        let device = crate::device::LabDevice::cpu().device.inner();
        let net = UNetConfig { channels: 1, height: 8, width: 8, base_channels: 8, groups: 4, mult: crate::unet::TWO_LEVELS };
        let mut cfg = crate::presets::Preset::Quick.defaults().training(net);
        cfg.steps = 3;
        cfg.batch = 3;
        let images: Vec<f32> = (0..4 * 64).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let mut straight = UNetTraining::new(cfg, &images, 5, &device).unwrap();
        pollster::block_on(straight.run_steps(3)).unwrap();
        let w = |m: &UNet| flat_tensors(m).concat();
        let snap = pollster::block_on(straight.snapshot_async(5)).unwrap();
        // The weights file (what the training worker sends) round-trips the EMA network exactly.
        let bytes = pollster::block_on(encode_weights_async(&straight.ema_model(), &net)).unwrap();
        let (back, back_net) = decode_weights(&bytes, &device.clone().inner()).unwrap();
        assert_eq!(back_net, net);
        assert_eq!(w(&back), w(&straight.ema_model()));
        assert!(decode_weights(&bytes[..bytes.len() / 2], &device).is_err());
        assert!(decode_weights(&snap, &device).is_err());
        // As f16: half the values' bytes, read back as each value rounded to the nearest half.
        let flat = flat_tensors(&straight.ema_model());
        let half = encode_weights_as(&flat, &net, WeightsDtype::F16).unwrap();
        let n: usize = flat.iter().map(Vec::len).sum();
        let data_len = |b: &[u8]| b.len() - 8 - u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        assert_eq!((data_len(&bytes), data_len(&half)), (4 * n, 2 * n));
        let (back16, _) = decode_weights(&half, &device).unwrap();
        let rounded: Vec<f32> = WeightsDtype::F16.round(flat.clone()).concat();
        assert_eq!(w(&back16), rounded);
        let err = rounded.iter().zip(flat.concat()).map(|(a, b)| ((a - b) / b.abs().max(1e-4)).abs()).fold(0f32, f32::max);
        assert!(err > 0.0 && err <= 1.0 / 1024.0, "f16 relative rounding {err}");
        assert_eq!(WeightsDtype::F32.round(flat.clone()), flat);
    }
}
