//! Reading .npy files into a row-per-sample [`Matrix`], with the lab's one reader
//! (`memgen_data::npy::decode`: float32, float64, uint8; C or Fortran order).
use memgen_core::Matrix;
use memgen_data::npy::{decode, NpyData};
use std::path::Path;

/// Reads `path` as `[n, …]`, flattening each sample; returns a one-line reason on failure.
pub fn read_matrix(path: &Path) -> Result<Matrix, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let arr = decode(&bytes).map_err(|e| e.to_string())?;
    if arr.shape.is_empty() {
        return Err("expected an array of shape [n, …], found a scalar".into());
    }
    let rows = arr.shape[0];
    let cols: usize = arr.shape[1..].iter().product();
    let data: Vec<f32> = match arr.data {
        NpyData::F32(v) => v,
        NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        NpyData::U8(v) => v.into_iter().map(f32::from).collect(),
    };
    Matrix::new(data, rows, cols).map_err(|e| e.to_string())
}
