//! Minimal NumPy `.npy` writer (format 1.0, C order) and the lab's one reader (formats 1–3,
//! u8 and little-endian f32 / f64, C or Fortran order, returned in C order): what `memgen
//! export` writes and what a user may bring to `memgen classify`, `memgen import` or the page.

use crate::DataError;

/// Encode a u8 array of `shape` (C order) as `.npy` bytes (`|u1`).
pub fn encode_u8(shape: &[usize], data: &[u8]) -> Result<Vec<u8>, DataError> {
    encode(shape, "|u1", data, data.len())
}

/// Encode an f32 array of `shape` (C order) as `.npy` bytes (`<f4`).
pub fn encode_f32(shape: &[usize], data: &[f32]) -> Result<Vec<u8>, DataError> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode(shape, "<f4", &bytes, data.len())
}

fn encode(shape: &[usize], descr: &str, bytes: &[u8], count: usize) -> Result<Vec<u8>, DataError> {
    let want: usize = shape.iter().product();
    if want != count {
        return Err(DataError::Invalid(format!("shape {shape:?} holds {want} values, data has {count}")));
    }
    let dims = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    // magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + bytes.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(bytes);
    Ok(out)
}

/// A decoded `.npy` array.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    U8(Vec<u8>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A decoded `.npy` file: shape and values (C order).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

/// Decode `.npy` bytes (format 1.x, 2.x or 3.x) holding `|u1`, `<f4` or `<f8` values; a
/// Fortran-order array is reordered, so the result is always in C order.
pub fn decode(bytes: &[u8]) -> Result<NpyArray, DataError> {
    let err = |m: String| DataError::Invalid(format!("invalid .npy: {m}"));
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(err("missing the \\x93NUMPY magic".into()));
    }
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(err(format!("unsupported format version {v}"))),
    };
    let header = bytes.get(start..start + hlen).ok_or_else(|| err("truncated header".into()))?;
    let header = std::str::from_utf8(header).map_err(|_| err("header is not text".into()))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))? + key.len() + 2;
        Some(header[i..].trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr").and_then(|s| s.strip_prefix('\'')).and_then(|s| s.split('\'').next());
    let descr = descr.ok_or_else(|| err("no descr in header".into()))?;
    let fortran = match field("fortran_order") {
        Some(s) if s.starts_with("True") => true,
        Some(s) if s.starts_with("False") => false,
        _ => return Err(err("no fortran_order True or False in header".into())),
    };
    let shape_s = field("shape").and_then(|s| s.strip_prefix('(')).and_then(|s| s.split(')').next()).ok_or_else(|| err("no shape in header".into()))?;
    let shape: Vec<usize> = shape_s
        .split(',')
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| err(format!("bad shape entry {s:?}"))))
        .collect::<Result<_, _>>()?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| err("shape overflows".into()))?;
    let body = &bytes[start + hlen..];
    let size = match descr {
        "|u1" | "<u1" | "u1" | "|b1" => 1,
        "<f4" => 4,
        "<f8" => 8,
        // The file's own text, shown without its control characters (one line).
        other => {
            return Err(err(format!("unsupported dtype {:?} (use uint8, float32 or float64)", other.chars().filter(|c| !c.is_control()).collect::<String>())))
        }
    };
    let need = count.checked_mul(size).ok_or_else(|| err("shape overflows".into()))?;
    if body.len() < need {
        return Err(err(format!("truncated: shape {shape:?} needs {need} data bytes, {} present", body.len())));
    }
    let body = &body[..need];
    let data = match size {
        1 => NpyData::U8(body.to_vec()),
        4 => NpyData::F32(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        _ => NpyData::F64(body.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()),
    };
    let data = match data {
        _ if !fortran => data,
        NpyData::U8(v) => NpyData::U8(fortran_to_c(&v, &shape)),
        NpyData::F32(v) => NpyData::F32(fortran_to_c(&v, &shape)),
        NpyData::F64(v) => NpyData::F64(fortran_to_c(&v, &shape)),
    };
    Ok(NpyArray { shape, data })
}

/// Reorders a column-major (Fortran) buffer of `shape` into row-major (C) order.
pub fn fortran_to_c<T: Copy>(data: &[T], shape: &[usize]) -> Vec<T> {
    let mut idx = vec![0usize; shape.len()];
    (0..data.len())
        .map(|c_pos| {
            // The multi-index of c_pos in C order, then its position in Fortran order.
            let mut r = c_pos;
            for ax in (0..shape.len()).rev() {
                idx[ax] = r % shape[ax];
                r /= shape[ax];
            }
            let f_pos = (0..shape.len()).rev().fold(0, |f, ax| f * shape[ax] + idx[ax]);
            data[f_pos]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(name)).unwrap()
    }

    /// numpy's `np.save(np.asfortranarray(a))` (tests/reference/make_fixtures.py) reads back as
    /// `a` in C order, for floats and bytes alike.
    #[test]
    fn fortran_order_arrays_from_numpy_read_in_c_order() {
        let a = decode(&fixture("fortran_f32.npy")).unwrap();
        assert_eq!(a.shape, vec![2, 3, 4]);
        let want: Vec<f32> = (0..24).map(|i| i as f32 * 0.5 - 3.0).collect();
        assert_eq!(a.data, NpyData::F32(want));
        let b = decode(&fixture("fortran_u8.npy")).unwrap();
        assert_eq!(b.shape, vec![2, 3]);
        assert_eq!(b.data, NpyData::U8((0..6).map(|i| i * 40).collect()));
        // The brute-force rule on a small case: F-order [[1, 2, 3], [4, 5, 6]] is 1 4 2 5 3 6.
        assert_eq!(fortran_to_c(&[1, 4, 2, 5, 3, 6], &[2, 3]), vec![1, 2, 3, 4, 5, 6]);
        // And C order back from our own writer stays as it is.
        let c = decode(&encode_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]).unwrap()).unwrap();
        assert_eq!(c.data, NpyData::U8(vec![1, 2, 3, 4, 5, 6]));
    }
}
