//! A small decoder for the IDX format of MNIST and Fashion-MNIST.
//!
//! Layout (all integers big-endian): two zero bytes, a type byte (`0x08` =
//! unsigned byte; the only type these sets use and the only one accepted
//! here), a byte with the number of dimensions `d`, then `d` u32 sizes, then
//! the data, row-major. Files may be gzip-compressed (`*-ubyte.gz`):
//! [`decode_idx_maybe_gz`] handles both.

use crate::packed::maybe_gunzip;
use crate::DataError;

/// A decoded IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes of each dimension, outermost first (`[n, 28, 28]` for images,
    /// `[n]` for labels).
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// Number of items along the first dimension.
    pub fn len(&self) -> usize {
        self.dims.first().copied().unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

const TYPE_NAMES: &[(u8, &str)] = &[(0x08, "unsigned byte"), (0x09, "signed byte"), (0x0B, "short"), (0x0C, "int"), (0x0D, "float"), (0x0E, "double")];

/// Decode an uncompressed IDX file of unsigned bytes.
pub fn decode_idx(bytes: &[u8]) -> Result<IdxArray, DataError> {
    if bytes.len() < 4 {
        return Err(DataError::Idx(format!("truncated: {} bytes, the magic number needs 4", bytes.len())));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(DataError::Idx(format!(
            "bad magic number {:02x} {:02x} {:02x} {:02x} (must start with two zero bytes)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    let ty = bytes[2];
    if ty != 0x08 {
        let name = TYPE_NAMES.iter().find(|(t, _)| *t == ty).map(|(_, n)| *n).unwrap_or("unknown");
        return Err(DataError::Idx(format!("unsupported data type 0x{ty:02x} ({name}); only 0x08 (unsigned byte) is supported")));
    }
    let ndims = bytes[3] as usize;
    if ndims == 0 {
        return Err(DataError::Idx("zero dimensions".into()));
    }
    let data_start = 4 + 4 * ndims;
    if bytes.len() < data_start {
        return Err(DataError::Idx(format!("truncated: {} bytes, the {ndims} dimension sizes need {data_start}", bytes.len())));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|k| {
            let o = 4 + 4 * k;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| DataError::Idx(format!("dimensions {dims:?} overflow")))?;
    let have = bytes.len() - data_start;
    if have < count {
        return Err(DataError::Idx(format!("truncated: dimensions {dims:?} need {count} data bytes, only {have} present")));
    }
    if have > count {
        return Err(DataError::Idx(format!("{} unexpected trailing bytes after {count} data bytes of dimensions {dims:?}", have - count)));
    }
    Ok(IdxArray { dims, data: bytes[data_start..].to_vec() })
}

/// Decode an IDX file that may be gzip-compressed.
pub fn decode_idx_maybe_gz(bytes: &[u8]) -> Result<IdxArray, DataError> {
    let raw = maybe_gunzip(bytes, crate::packed::MAX_DECOMPRESSED)?;
    decode_idx(&raw)
}

/// Check that an images array (`[n, h, w]`) and a labels array (`[n]`) go
/// together; returns `(n, h, w)`.
pub fn check_images_labels(images: &IdxArray, labels: &IdxArray) -> Result<(usize, usize, usize), DataError> {
    if images.dims.len() != 3 {
        return Err(DataError::Idx(format!("images must have 3 dimensions, got {:?}", images.dims)));
    }
    if labels.dims.len() != 1 {
        return Err(DataError::Idx(format!("labels must have 1 dimension, got {:?}", labels.dims)));
    }
    if images.dims[0] != labels.dims[0] {
        return Err(DataError::Idx(format!("{} images but {} labels", images.dims[0], labels.dims[0])));
    }
    Ok((images.dims[0], images.dims[1], images.dims[2]))
}

/// Encode an IDX array of unsigned bytes (for tests and tools).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
