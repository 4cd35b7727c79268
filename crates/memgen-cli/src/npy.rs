//! Reading .npy files (float32, float64, uint8; C or Fortran order) into a row-per-sample [`Matrix`].
use memgen_core::Matrix;
use npyz::{DType, NpyFile, Order, TypeChar};
use std::path::Path;

/// Reads `path` as `[n, …]`, flattening each sample; returns a one-line reason on failure.
pub fn read_matrix(path: &Path) -> Result<Matrix, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let npy = NpyFile::new(&bytes[..]).map_err(|e| format!("not a valid .npy file: {e}"))?;
    let shape: Vec<usize> = npy.shape().iter().map(|s| *s as usize).collect();
    if shape.is_empty() {
        return Err("expected an array of shape [n, …], found a scalar".into());
    }
    let rows = shape[0];
    let cols: usize = shape[1..].iter().product();
    let order = npy.order();
    let data: Vec<f32> = match npy.dtype() {
        DType::Plain(ts) => match (ts.type_char(), ts.size_field()) {
            (TypeChar::Float, 4) => npy.into_vec::<f32>(),
            (TypeChar::Float, 8) => npy.into_vec::<f64>().map(|v| v.into_iter().map(|x| x as f32).collect()),
            (TypeChar::Uint, 1) => npy.into_vec::<u8>().map(|v| v.into_iter().map(f32::from).collect()),
            _ => return Err(format!("unsupported dtype {ts}: use float32, float64 or uint8")),
        },
        other => return Err(format!("unsupported dtype {}: use float32, float64 or uint8", other.descr())),
    }
    .map_err(|e| format!("corrupt or truncated data: {e}"))?;
    if data.len() != rows * cols {
        return Err(format!("corrupt data: {} values for shape {:?}", data.len(), shape));
    }
    let data = match order {
        Order::C => data,
        Order::Fortran => fortran_to_c(&data, &shape),
    };
    Matrix::new(data, rows, cols).map_err(|e| e.to_string())
}

/// Reorders a column-major (Fortran) buffer of `shape` into row-major order.
fn fortran_to_c(data: &[f32], shape: &[usize]) -> Vec<f32> {
    let n = data.len();
    let mut out = vec![0f32; n];
    let mut idx = vec![0usize; shape.len()];
    for (c_pos, o) in out.iter_mut().enumerate() {
        // multi-index of c_pos in C order
        let mut r = c_pos;
        for ax in (0..shape.len()).rev() {
            idx[ax] = r % shape[ax];
            r /= shape[ax];
        }
        // Fortran position
        let mut f_pos = 0;
        for ax in (0..shape.len()).rev() {
            f_pos = f_pos * shape[ax] + idx[ax];
        }
        *o = data[f_pos];
    }
    out
}
