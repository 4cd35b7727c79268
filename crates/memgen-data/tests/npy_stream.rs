//! .npy export/import and incremental (streaming) reading of packed files.

use memgen_data::npy::{decode, encode_f32, encode_u8, NpyData};
use memgen_data::{DataError, DatasetInfo, PackedDataset, PackedStream};

fn set(channels: usize) -> PackedDataset {
    let n = 4;
    let px: Vec<u8> = (0..n * 3 * 2 * channels).map(|v| (v * 5) as u8).collect();
    let info = DatasetInfo { name: "s".into(), class_names: vec!["a".into(), "b".into()], ..Default::default() };
    PackedDataset::new(info, 3, 2, channels, px, Some(vec![0, 1, 1, 0])).unwrap()
}

#[test]
fn npy_round_trip_and_header_layout() {
    let b = encode_u8(&[2, 3], &[1, 2, 3, 4, 5, 6]).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0, "data starts 64-byte aligned");
    let h = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    assert!(h.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }"), "{h}");
    assert!(h.ends_with('\n'));
    let a = decode(&b).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, NpyData::U8(vec![1, 2, 3, 4, 5, 6]));
    let f = decode(&encode_f32(&[3], &[0.5, -1.0, 2.0]).unwrap()).unwrap();
    assert_eq!(f.shape, vec![3]);
    assert_eq!(f.data, NpyData::F32(vec![0.5, -1.0, 2.0]));
    assert!(encode_u8(&[2, 2], &[1]).is_err());
    assert!(decode(b"PK\x03\x04......").unwrap_err().to_string().contains("magic"));
    let e = decode(&b[..b.len() - 1]).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn export_subsets_as_npy() {
    let g = set(1);
    let a = decode(&g.to_npy(&[2, 0]).unwrap()).unwrap();
    assert_eq!(a.shape, vec![2, 3, 2]);
    let NpyData::U8(v) = a.data else { panic!() };
    assert_eq!(&v[..6], g.image_u8(2));
    let c = decode(&set(3).to_npy(&[1]).unwrap()).unwrap();
    assert_eq!(c.shape, vec![1, 3, 2, 3]);
    let l = decode(&g.labels_npy(&[1, 3]).unwrap()).unwrap();
    assert_eq!(l.data, NpyData::U8(vec![1, 0]));
    assert!(g.to_npy(&[4]).is_err());
}

#[test]
fn streaming_reader_matches_from_bytes() {
    let d = set(3);
    let bytes = d.to_bytes(9);
    for chunk in [1, 7, 64, bytes.len()] {
        let mut s = PackedStream::new();
        for c in bytes.chunks(chunk) {
            s.push(c).unwrap();
        }
        assert_eq!(s.received(), bytes.len());
        assert_eq!(s.finish().unwrap(), d);
    }
    // Already-decompressed input works too.
    let mut s = PackedStream::new();
    s.push(&d.to_raw_bytes()).unwrap();
    assert_eq!(s.finish().unwrap(), d);
}

#[test]
fn streaming_reader_reports_bad_input() {
    let d = set(1);
    let bytes = d.to_bytes(9);
    // Truncated.
    let mut s = PackedStream::new();
    s.push(&bytes[..bytes.len() - 5]).unwrap();
    let e = s.finish().unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    // Garbage after a gzip magic.
    let mut s = PackedStream::new();
    let r = s.push(&[0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let e = match r {
        Err(e) => e,
        Ok(()) => s.finish().unwrap_err(),
    };
    assert!(matches!(e, DataError::Gzip(_) | DataError::TruncatedGzip(_)), "{e:?}");
    // Wrong magic.
    let mut s = PackedStream::new();
    s.push(b"<html>").unwrap();
    assert!(matches!(s.finish().unwrap_err(), DataError::BadMagic { .. }));
    // Empty.
    assert!(PackedStream::new().finish().unwrap_err().to_string().contains("truncated"));
}
