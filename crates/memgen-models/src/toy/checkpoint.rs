//! Toy checkpoints: the score network's weights (f16) plus what the CLI computed with them
//! (samples, an energy grid, the training points; f32) and a string map of metadata (the
//! command that made it, K, seed, steps, preset, final loss), in one safetensors file.
//!
//! The lab ships three of them (`www/pretrained/toy-k{2,9,1000}.safetensors`, made by
//! `bash scripts/make-pretrained.sh`) for the three-regimes view: a laptop browser cannot
//! train the paper's 500k steps.

use std::collections::{BTreeMap, HashMap};

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use half::f16;
use safetensors::tensor::{Dtype, TensorView};

use super::{ToyNetConfig, ToyScoreNet};

/// Format tag stored in the metadata under `format`.
pub const FORMAT: &str = "memgen-toy-checkpoint/1";

/// A decoded checkpoint.
#[derive(Debug)]
pub struct ToyCheckpoint {
    /// The network, on the device it was loaded to.
    pub model: ToyScoreNet,
    /// Its config (hidden width and Fourier features from the file).
    pub net: ToyNetConfig,
    /// Metadata strings.
    pub meta: BTreeMap<String, String>,
    /// Extra f32 arrays by name: shape and values.
    pub extras: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

/// The network's parameter tensors in a fixed order with their names.
/// Biases are stored 1-D (their shape says so) and carried as `[1, n]` tensors.
fn param_tensors(m: &ToyScoreNet) -> Vec<(String, Vec<usize>, Tensor<2>)> {
    let fw = m.fourier_w.val();
    let mut out = vec![("fourier_w".to_string(), fw.dims().to_vec(), fw)];
    let mut lin = |name: &str, l: &Linear| {
        let w = l.weight.val();
        out.push((format!("{name}.weight"), w.dims().to_vec(), w));
        if let Some(b) = &l.bias {
            let b = b.val();
            out.push((format!("{name}.bias"), b.dims().to_vec(), b.unsqueeze::<2>()));
        }
    };
    lin("time1", &m.time1);
    lin("time2", &m.time2);
    lin("input", &m.input);
    for (i, h) in m.hidden.iter().enumerate() {
        lin(&format!("hidden.{i}"), h);
    }
    lin("output", &m.output);
    out
}

/// The network's parameters in a fixed order with their names, their shapes and their data.
fn named_params(m: &ToyScoreNet) -> Vec<(String, Vec<usize>, TensorData)> {
    param_tensors(m).into_iter().map(|(name, shape, t)| (name, shape, t.into_data())).collect()
}

/// Encodes `model` (weights as f16), `extras` (f32) and `meta` as safetensors bytes.
/// Reads the weights back synchronously: native backends only.
pub fn encode(model: &ToyScoreNet, net: &ToyNetConfig, extras: &[(&str, Vec<usize>, Vec<f32>)], meta: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    let params = named_params(model)
        .into_iter()
        .map(|(name, shape, data)| data.try_to_vec::<f32>().map(|v| (name.clone(), shape, v)).map_err(|e| format!("{name}: {e:?}")))
        .collect::<Result<Vec<_>, _>>()?;
    encode_params(&params, true, net, extras, meta)
}

/// Encodes `model` with full f32 weights, reading them back asynchronously: works on every
/// backend, WebGPU in a browser included. The lab's training worker sends its EMA weights to
/// the page this way (exact, so the page samples the very model the worker trained).
pub async fn encode_f32_async(model: &ToyScoreNet, net: &ToyNetConfig, meta: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    let mut params = Vec::new();
    for (name, shape, p) in param_tensors(model) {
        let v = p.into_data_async().await.map_err(|e| format!("{name}: {e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{name}: {e:?}"))?;
        params.push((name, shape, v));
    }
    encode_params(&params, false, net, &[], meta)
}

/// Serializes named f32 parameters (stored as f16 when `half`, else f32), extras and metadata.
fn encode_params(
    params: &[(String, Vec<usize>, Vec<f32>)],
    half: bool,
    net: &ToyNetConfig,
    extras: &[(&str, Vec<usize>, Vec<f32>)],
    meta: &BTreeMap<String, String>,
) -> Result<Vec<u8>, String> {
    let mut bufs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, shape, v) in params {
        let (dtype, bytes): (Dtype, Vec<u8>) = if half {
            (Dtype::F16, v.iter().flat_map(|x| f16::from_f32(*x).to_le_bytes()).collect())
        } else {
            (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect())
        };
        bufs.push((name.clone(), dtype, shape.clone(), bytes));
    }
    for (name, shape, v) in extras {
        if shape.iter().product::<usize>() != v.len() {
            return Err(format!("extra {name}: shape {shape:?} does not hold {} values", v.len()));
        }
        bufs.push((format!("extra.{name}"), Dtype::F32, shape.clone(), v.iter().flat_map(|x| x.to_le_bytes()).collect()));
    }
    let mut info: HashMap<String, String> = meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    info.insert("format".into(), FORMAT.into());
    info.insert("hidden".into(), net.hidden.to_string());
    info.insert("fourier_features".into(), net.fourier_features.to_string());
    info.insert("fourier_scale".into(), net.fourier_scale.to_string());
    let views: Vec<(String, TensorView<'_>)> =
        bufs.iter().map(|(n, d, s, b)| TensorView::new(*d, s.clone(), b).map(|v| (n.clone(), v)).map_err(|e| format!("{n}: {e}"))).collect::<Result<_, _>>()?;
    safetensors::serialize(views, Some(info)).map_err(|e| e.to_string())
}

fn floats(name: &str, v: &TensorView<'_>) -> Result<Vec<f32>, String> {
    let b = v.data();
    match v.dtype() {
        Dtype::F16 => Ok(b.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect()),
        Dtype::F32 => Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        d => Err(format!("{name}: unsupported dtype {d:?}")),
    }
}

/// Decodes a checkpoint onto `device`. Every malformed input (not safetensors, wrong format
/// tag, a missing or misshapen tensor, NaN weights) is an error, never a panic.
pub fn decode(bytes: &[u8], device: &Device) -> Result<ToyCheckpoint, String> {
    let (_, md) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| format!("not a checkpoint: {e}"))?;
    let meta: BTreeMap<String, String> = md.metadata().clone().unwrap_or_default().into_iter().collect();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(format!("not a {FORMAT} file (format: {:?})", meta.get("format")));
    }
    let num = |k: &str| -> Result<usize, String> {
        meta.get(k).and_then(|v| v.parse::<usize>().ok()).filter(|&v| (1..=4096).contains(&v)).ok_or_else(|| format!("bad or missing {k}"))
    };
    let net = ToyNetConfig {
        hidden: num("hidden")?,
        fourier_features: num("fourier_features")?,
        fourier_scale: meta.get("fourier_scale").and_then(|v| v.parse().ok()).unwrap_or(16.0),
    };
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format!("not a checkpoint: {e}"))?;
    let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
        let v = st.tensor(name).map_err(|_| format!("missing tensor {name}"))?;
        if v.shape() != shape {
            return Err(format!("{name}: shape {:?}, expected {shape:?}", v.shape()));
        }
        let f = floats(name, &v)?;
        if f.iter().any(|x| !x.is_finite()) {
            return Err(format!("{name}: NaN or infinite values"));
        }
        Ok(f)
    };
    let t2 = |name: &str, shape: [usize; 2]| -> Result<Tensor<2>, String> { Ok(Tensor::from_data(TensorData::new(get(name, &shape)?, shape), device)) };
    let linear = |name: &str, d_in: usize, d_out: usize| -> Result<Linear, String> {
        Ok(Linear {
            weight: Param::from_tensor(t2(&format!("{name}.weight"), [d_in, d_out])?),
            bias: Some(Param::from_tensor(Tensor::from_data(TensorData::new(get(&format!("{name}.bias"), &[d_out])?, [d_out]), device))),
        })
    };
    let (half, h) = (net.fourier_features / 2, net.hidden);
    let model = ToyScoreNet {
        fourier_w: Param::from_tensor(t2("fourier_w", [1, half])?).set_require_grad(false),
        time1: linear("time1", 2 * half, h)?,
        time2: linear("time2", h, h)?,
        input: linear("input", h + 2, h)?,
        hidden: (0..3).map(|i| linear(&format!("hidden.{i}"), h, h)).collect::<Result<_, _>>()?,
        output: linear("output", h, 2)?,
    };
    let mut extras = BTreeMap::new();
    for (name, v) in st.tensors() {
        if let Some(short) = name.strip_prefix("extra.") {
            extras.insert(short.to_string(), (v.shape().to_vec(), floats(&name, &v)?));
        }
    }
    Ok(ToyCheckpoint { model, net, meta, extras })
}

#[cfg(test)]
mod tests {
    use super::*;
    use memgen_core::spec::NoiseStream;

    #[test]
    fn round_trip_keeps_the_network_within_f16_and_rejects_garbage() {
        let device = crate::device::LabDevice::cpu().device.inner();
        let net = ToyNetConfig::default();
        let model = net.init(&device, &mut NoiseStream::new(3, 1));
        let mut meta = BTreeMap::new();
        meta.insert("k".to_string(), "2".to_string());
        let bytes = encode(&model, &net, &[("samples", vec![2, 2], vec![0.5, -0.5, 1.0, 0.0])], &meta).unwrap();
        // f16 weights: about 2 bytes per parameter (99,650 in all) plus headers.
        assert!(bytes.len() < 99_650 * 2 + 8_000, "{} bytes", bytes.len());
        let ck = decode(&bytes, &device).unwrap();
        assert_eq!(ck.meta["k"], "2");
        assert_eq!(ck.extras["samples"], (vec![2, 2], vec![0.5, -0.5, 1.0, 0.0]));
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -0.7, 1.1, 0.2], [2, 2]), &device);
        let t = Tensor::<2>::from_data(TensorData::new(vec![0.25f32, 0.05], [2, 1]), &device);
        let a = model.forward(x.clone(), t.clone()).into_data().try_to_vec::<f32>().unwrap();
        let b = ck.model.forward(x, t.clone()).into_data().try_to_vec::<f32>().unwrap();
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 0.02 * scale.max(1.0), "{a:?} vs {b:?}");
        }
        // The f32 encoding (the training worker's) round-trips the network exactly.
        let exact = decode(&pollster::block_on(encode_f32_async(&model, &net, &meta)).unwrap(), &device).unwrap();
        let c = exact.model.forward(Tensor::<2>::from_data(TensorData::new(vec![0.3f32, -0.7, 1.1, 0.2], [2, 2]), &device), t.clone());
        assert_eq!(c.into_data().try_to_vec::<f32>().unwrap(), a);
        // Garbage, a truncated file and a foreign safetensors file are errors.
        assert!(decode(b"hello", &device).is_err());
        assert!(decode(&bytes[..bytes.len() / 2], &device).is_err());
        let foreign =
            safetensors::serialize(vec![("w".to_string(), TensorView::new(Dtype::F32, vec![1], &[0u8; 4]).unwrap())], None::<HashMap<String, String>>).unwrap();
        assert!(decode(&foreign, &device).unwrap_err().contains("not a"));
    }
}
