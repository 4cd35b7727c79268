//! Reading a training run's saved buffers back from a snapshot (the toy's and the fused UNet's
//! runs keep their weights, EMA and Adam moments as flat f32 tensors of one safetensors file).

/// Tensor `name` of `st`: `len` finite f32 values, or an error naming it.
pub(crate) fn finite_f32s(st: &safetensors::SafeTensors<'_>, name: &str, len: usize) -> Result<Vec<f32>, String> {
    let v = st.tensor(name).map_err(|_| format!("missing {name}"))?;
    if v.dtype() != safetensors::tensor::Dtype::F32 || v.shape() != [len] {
        return Err(format!("{name}: not {len} f32 values"));
    }
    let f: Vec<f32> = v.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    if f.iter().any(|x| !x.is_finite()) {
        return Err(format!("{name}: NaN or infinite values"));
    }
    Ok(f)
}
