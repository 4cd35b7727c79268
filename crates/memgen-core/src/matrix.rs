//! A row-major `f32` matrix: one sample per row.
use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// Row-major dense `f32` matrix. Row `i` is `data[i*cols .. (i+1)*cols]`.
/// A set of `n` points in `R^d` is a `Matrix` with `rows = n`, `cols = d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    data: Vec<f32>,
    rows: usize,
    cols: usize,
}

impl Matrix {
    /// Wraps `data` (row-major) as a `rows × cols` matrix; errors if the length differs.
    pub fn new(data: Vec<f32>, rows: usize, cols: usize) -> Result<Self, CoreError> {
        if data.len() != rows * cols {
            return Err(CoreError::BadShape { len: data.len(), rows, cols });
        }
        Ok(Matrix { data, rows, cols })
    }

    /// A `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Matrix { data: vec![0.0; rows * cols], rows, cols }
    }

    /// Builds a matrix from rows of equal length (errors on ragged rows).
    pub fn from_rows(rows: &[Vec<f32>]) -> Result<Self, CoreError> {
        let cols = rows.first().map_or(0, |r| r.len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != cols {
                return Err(CoreError::DimensionMismatch { what: format!("row {i}"), expected: cols, found: r.len() });
            }
            data.extend_from_slice(r);
        }
        Ok(Matrix { data, rows: rows.len(), cols })
    }

    /// Number of rows (points).
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns (dimension `d`).
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// The row-major buffer.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// The row-major buffer, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }
    /// Consumes the matrix, returning its buffer.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// Row `i`, mutable.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }
    /// Iterator over rows.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.cols.max(1)).take(self.rows)
    }
    /// A new matrix holding the given rows, in that order.
    pub fn select_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        Matrix { data, rows: idx.len(), cols: self.cols }
    }

    /// Checks the set is non-empty and every value finite; `what` names it in errors.
    pub fn validate(&self, what: &str) -> Result<(), CoreError> {
        if self.rows == 0 || self.cols == 0 {
            return Err(CoreError::Empty { what: what.to_string() });
        }
        if let Some(p) = self.data.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite { what: what.to_string(), row: p / self.cols, col: p % self.cols });
        }
        Ok(())
    }
}

/// Squared Euclidean distance `‖a − b‖²`, accumulated in `f64`.
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let t = (*x as f64) - (*y as f64);
            t * t
        })
        .sum()
}
