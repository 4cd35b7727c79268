//! Packed format: round trip and every kind of bad input, on small synthetic
//! data (no network).

use std::io::Write;

use memgen_data::packed::{MAX_DECOMPRESSED, MAX_HEADER};
use memgen_data::{DataError, DatasetInfo, PackedDataset, PackedStream, PixelRange, Subsample, FORMAT_VERSION};

fn info() -> DatasetInfo {
    DatasetInfo {
        name: "tiny".into(),
        class_names: vec!["zero".into(), "one".into(), "two".into()],
        licence: "MIT".into(),
        attribution: "made up for a test".into(),
        source: "synthetic".into(),
        source_sha256: "00".repeat(32),
        subsample: None,
        notes: String::new(),
    }
}

/// 5 images of 3x2x1 with pixel values 0..30, labels 0,1,2,0,1.
fn tiny() -> PackedDataset {
    let pixels: Vec<u8> = (0..30u8).map(|v| v * 8).collect();
    PackedDataset::new(info(), 3, 2, 1, pixels, Some(vec![0, 1, 2, 0, 1])).unwrap()
}

fn gz(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(raw).unwrap();
    e.finish().unwrap()
}

#[test]
fn round_trip_gzip_and_raw() {
    let d = tiny();
    let bytes = d.to_bytes(9);
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "packed files are gzip");
    let back = PackedDataset::from_bytes(&bytes).unwrap();
    assert_eq!(back, d);
    let raw = d.to_raw_bytes();
    assert_eq!(&raw[..4], b"MGDS");
    assert_eq!(u16::from_le_bytes([raw[4], raw[5]]), FORMAT_VERSION);
    assert_eq!(PackedDataset::from_bytes(&raw).unwrap(), d, "already-decompressed bytes are accepted");
    // Deterministic output.
    assert_eq!(d.to_bytes(9), bytes);
    let h = back.header();
    assert_eq!((h.n, h.height, h.width, h.channels), (5, 3, 2, 1));
    assert!(h.labels);
    assert_eq!(h.payload_sha256.len(), 64);
    assert_eq!(PackedDataset::read_header(&bytes).unwrap(), *h);
}

#[test]
fn accessors() {
    let d = tiny();
    assert_eq!(d.len(), 5);
    assert_eq!(d.shape(), [5, 3, 2, 1]);
    assert_eq!(d.image_len(), 6);
    assert_eq!(d.image_u8(1), &[48, 56, 64, 72, 80, 88]);
    assert_eq!(d.label(2), Some(2));
    assert_eq!(d.class_name(1), Some("one"));
    assert_eq!(d.get_u8(5), None);
    let f = d.image_f32(0, PixelRange::ZeroOne);
    assert_eq!(f[0], 0.0);
    assert!((f[1] - 8.0 / 255.0).abs() < 1e-6);
    assert_eq!(PixelRange::MinusOneOne.map(0), -1.0);
    assert_eq!(PixelRange::MinusOneOne.map(255), 1.0);
    assert_eq!(PixelRange::ZeroOne.map(255), 1.0);
    let all = d.to_f32(PixelRange::MinusOneOne);
    assert_eq!(all.len(), 30);
    assert!(all.iter().all(|v| (-1.0..=1.0).contains(v)));
    let some = d.images_f32(&[4, 0], PixelRange::ZeroOne).unwrap();
    assert_eq!(some.len(), 12);
    assert_eq!(some[0], (24 * 8) as f32 / 255.0);
    let err = d.images_f32(&[9], PixelRange::ZeroOne).unwrap_err();
    assert!(err.to_string().contains("index 9 out of range"), "{err}");
}

#[test]
fn select_makes_a_documented_subsample() {
    let d = tiny();
    let sub = d.select(&[3, 4], "tiny-web", Some(Subsample { of: "tiny".into(), of_n: 5, method: "last two".into() })).unwrap();
    assert_eq!(sub.len(), 2);
    assert_eq!(sub.image_u8(0), d.image_u8(3));
    assert_eq!(sub.labels().unwrap(), &[0, 1]);
    let back = PackedDataset::from_bytes(&sub.to_bytes(6)).unwrap();
    assert_eq!(back.header().subsample.as_ref().unwrap().of_n, 5);
    assert_eq!(back.name(), "tiny-web");
}

#[test]
fn unlabelled_and_colour_sets() {
    let px: Vec<u8> = (0..2 * 2 * 2 * 3).map(|v| v as u8).collect();
    let d = PackedDataset::new(DatasetInfo { name: "c".into(), ..Default::default() }, 2, 2, 3, px, None).unwrap();
    let back = PackedDataset::from_bytes(&d.to_bytes(1)).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back.labels(), None);
    assert_eq!(back.image_u8(1).len(), 12);
}

#[test]
fn new_rejects_inconsistent_input() {
    let e = PackedDataset::new(info(), 3, 2, 1, vec![0; 7], None).unwrap_err();
    assert!(e.to_string().contains("not a whole number"), "{e}");
    let e = PackedDataset::new(info(), 3, 2, 1, vec![0; 12], Some(vec![0])).unwrap_err();
    assert!(e.to_string().contains("1 labels for 2 images"), "{e}");
    let e = PackedDataset::new(info(), 3, 2, 1, vec![0; 6], Some(vec![7])).unwrap_err();
    assert!(e.to_string().contains("label 7 out of range"), "{e}");
}

#[test]
fn truncated_file_is_a_clear_error() {
    let bytes = tiny().to_bytes(9);
    for cut in [bytes.len() - 1, bytes.len() / 2, 12, 3] {
        let err = PackedDataset::from_bytes_named(&bytes[..cut], "www/data/tiny.mgds").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("www/data/tiny.mgds: "), "{msg}");
        assert!(msg.contains("truncated") || msg.contains("gzip"), "cut at {cut}: {msg}");
        if cut > 10 {
            assert!(matches!(err.root(), DataError::TruncatedGzip(_)), "cut at {cut}: {err:?}");
        }
    }
}

#[test]
fn truncated_payload_inside_a_valid_gzip_is_a_clear_error() {
    let raw = tiny().to_raw_bytes();
    let err = PackedDataset::from_bytes(&gz(&raw[..raw.len() - 4])).unwrap_err();
    match err.root() {
        DataError::Truncated { expected, got, .. } => assert_eq!(expected - got, 4),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("the file is truncated: the payload"), "{err}");
    // Cut inside the header and before the version too.
    let err = PackedDataset::from_bytes(&gz(&raw[..20])).unwrap_err();
    assert!(err.to_string().contains("JSON header"), "{err}");
    let err = PackedDataset::from_bytes(&gz(&raw[..5])).unwrap_err();
    assert!(err.to_string().contains("format version"), "{err}");
    let err = PackedDataset::from_bytes(&[]).unwrap_err();
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut raw = tiny().to_raw_bytes();
    raw.extend_from_slice(&[1, 2, 3]);
    let err = PackedDataset::from_bytes(&gz(&raw)).unwrap_err();
    assert!(matches!(err, DataError::TrailingBytes { count: 3, .. }), "{err:?}");
}

#[test]
fn corrupted_payload_byte_fails_the_checksum() {
    let d = tiny();
    let mut raw = d.to_raw_bytes();
    let last = raw.len() - 8; // a pixel byte
    raw[last] ^= 0x40;
    let err = PackedDataset::from_bytes_named(&gz(&raw), "corrupt.mgds").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err.root(), DataError::Checksum { .. }), "{err:?}");
    assert!(msg.starts_with("corrupt.mgds: payload checksum mismatch"), "{msg}");
    assert!(msg.contains(&d.header().payload_sha256), "{msg}");
    // A corrupted label byte too.
    let mut raw = d.to_raw_bytes();
    let n = raw.len();
    raw[n - 1] ^= 1;
    assert!(matches!(PackedDataset::from_bytes(&raw).unwrap_err(), DataError::Checksum { .. }));
}

#[test]
fn corrupted_byte_in_the_gzip_stream_is_caught() {
    let mut bytes = tiny().to_bytes(9);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    let err = PackedDataset::from_bytes_named(&bytes, "x.mgds").unwrap_err();
    // Either deflate, the gzip CRC or our checksum notices; never a panic.
    assert!(err.to_string().starts_with("x.mgds: "), "{err}");
}

#[test]
fn wrong_magic_is_a_clear_error() {
    let mut raw = tiny().to_raw_bytes();
    raw[..4].copy_from_slice(b"PK\x03\x04");
    let err = PackedDataset::from_bytes_named(&gz(&raw), "a.zip").unwrap_err();
    assert!(matches!(err.root(), DataError::BadMagic { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("a.zip: not a packed dataset"), "{msg}");
    assert!(msg.contains("expected \"MGDS\""), "{msg}");
    // Plain text (not gzip) gets the same error.
    let err = PackedDataset::from_bytes(b"<!doctype html><html>").unwrap_err();
    assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
}

#[test]
fn unknown_version_is_a_clear_error() {
    let mut raw = tiny().to_raw_bytes();
    raw[4..6].copy_from_slice(&7u16.to_le_bytes());
    let err = PackedDataset::from_bytes_named(&gz(&raw), "future.mgds").unwrap_err();
    assert!(matches!(err.root(), DataError::UnsupportedVersion { found: 7, supported: 1 }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("future.mgds"), "{msg}");
    assert!(msg.contains("unsupported packed-dataset format version 7"), "{msg}");
}

#[test]
fn garbage_gzip_is_a_clear_error() {
    let mut garbage = vec![0x1f, 0x8b, 0x08, 0x00];
    garbage.extend((0..200u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let err = PackedDataset::from_bytes_named(&garbage, "garbage.mgds").unwrap_err();
    assert!(matches!(err.root(), DataError::Gzip(_) | DataError::TruncatedGzip(_)), "{err:?}");
    assert!(err.to_string().starts_with("garbage.mgds: "), "{err}");
    assert!(err.to_string().contains("gzip"), "{err}");
    // A valid gzip of random bytes: not our magic.
    let err = PackedDataset::from_bytes(&gz(&[9u8; 64])).unwrap_err();
    assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
}

#[test]
fn bad_header_json_and_lengths() {
    let raw = tiny().to_raw_bytes();
    let hlen = u32::from_le_bytes([raw[6], raw[7], raw[8], raw[9]]) as usize;
    let mut bad = raw.clone();
    bad[10] = b'['; // not an object any more
    let err = PackedDataset::from_bytes(&bad).unwrap_err();
    assert!(err.to_string().starts_with("invalid header: header JSON"), "{err}");
    let mut huge = raw[..10].to_vec();
    huge[6..10].copy_from_slice(&((MAX_HEADER + 1) as u32).to_le_bytes());
    let err = PackedDataset::from_bytes(&huge).unwrap_err();
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    // A header that claims more images than there are.
    let header: serde_json::Value = serde_json::from_slice(&raw[10..10 + hlen]).unwrap();
    let mut h2 = header.clone();
    h2["n"] = serde_json::json!(6);
    let hb = serde_json::to_vec(&h2).unwrap();
    let mut re = raw[..6].to_vec();
    re.extend_from_slice(&(hb.len() as u32).to_le_bytes());
    re.extend_from_slice(&hb);
    re.extend_from_slice(&raw[10 + hlen..]);
    let err = PackedDataset::from_bytes(&re).unwrap_err();
    assert!(matches!(err, DataError::Truncated { .. }), "{err:?}");
    // Absurd shapes do not overflow or allocate.
    let mut h3 = header;
    h3["n"] = serde_json::json!(usize::MAX);
    let hb = serde_json::to_vec(&h3).unwrap();
    let mut re = raw[..6].to_vec();
    re.extend_from_slice(&(hb.len() as u32).to_le_bytes());
    re.extend_from_slice(&hb);
    assert!(PackedDataset::from_bytes(&re).is_err());
    let _ = MAX_DECOMPRESSED;
}

#[test]
fn read_file_names_the_path() {
    let dir = std::env::temp_dir().join(format!("memgen-data-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ok = dir.join("ok.mgds");
    std::fs::write(&ok, tiny().to_bytes(9)).unwrap();
    assert_eq!(PackedDataset::read_file(&ok).unwrap(), tiny());
    let bad = dir.join("bad.mgds");
    let b = tiny().to_bytes(9);
    std::fs::write(&bad, &b[..b.len() - 10]).unwrap();
    let err = PackedDataset::read_file(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.mgds"), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
    let missing = dir.join("missing.mgds");
    let err = PackedDataset::read_file(&missing).unwrap_err();
    assert!(err.to_string().contains("missing.mgds"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "core")]
#[test]
fn training_subsets_are_nested_and_seeded() {
    let px: Vec<u8> = (0..50u8).collect();
    let d = PackedDataset::new(DatasetInfo { name: "fifty".into(), ..Default::default() }, 1, 1, 1, px, None).unwrap();
    let s5 = memgen_data::subset(50, 5, 7).unwrap();
    let s20 = memgen_data::subset(50, 20, 7).unwrap();
    assert_eq!(&s20[..5], &s5[..], "S_K are nested prefixes");
    assert_eq!(s5, memgen_core::spec::subset_indices(50, 5, 7).unwrap(), "same scheme as memgen-core");
    assert_ne!(s5, memgen_data::subset(50, 5, 8).unwrap());
    let sub = d.training_subset(5, 7).unwrap();
    assert_eq!(sub.pixels(), &s5.iter().map(|&i| i as u8).collect::<Vec<_>>()[..]);
    assert!(sub.header().subsample.as_ref().unwrap().method.contains("seed=7"));
    let e = memgen_data::subset(50, 51, 7).unwrap_err();
    assert!(e.to_string().contains("training subset"), "{e}");
}

#[test]
fn stepwise_verification_equals_one_shot_and_catches_a_flipped_byte() {
    let ds = tiny();
    let bytes = ds.to_bytes(6);
    let one_shot = PackedDataset::from_bytes(&bytes).unwrap();
    for step in [1usize, 3, 7, 1 << 20] {
        let mut s = PackedStream::new();
        s.push(&bytes).unwrap();
        let mut v = s.into_verifier().unwrap();
        let (_, total) = v.progress();
        let mut steps = 0;
        while !v.step(step) {
            steps += 1;
            assert!(steps <= total, "step {step} never finished");
        }
        assert_eq!(v.progress(), (total, total));
        assert_eq!(steps, total.div_ceil(step) - 1, "step {step}");
        let got = v.finish().unwrap();
        assert_eq!(got.pixels(), one_shot.pixels());
        assert_eq!(got.labels(), one_shot.labels());
        assert_eq!(got.header(), one_shot.header());
    }
    // One flipped payload byte: the stepwise path reports the checksum error too.
    let mut raw = ds.to_raw_bytes();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    let mut s = PackedStream::new();
    s.push(&raw).unwrap();
    let mut v = s.into_verifier().unwrap();
    while !v.step(2) {}
    assert!(matches!(v.finish(), Err(DataError::Checksum { .. })));
}
