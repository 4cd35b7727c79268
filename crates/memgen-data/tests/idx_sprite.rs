//! IDX decoder on hand-made bytes; sprite cutting and the emoji set on a tiny
//! synthetic sheet (no network).

use std::io::Write;

use memgen_data::emoji::{build_emoji_dataset, EmojiOptions};
use memgen_data::idx::{check_images_labels, encode_idx};
use memgen_data::sprite::over_white;
use memgen_data::{decode_idx, decode_idx_maybe_gz, extract_sprite_rgb, DataError, DatasetInfo, SheetGeometry};

#[test]
fn idx_images_and_labels_from_hand_made_bytes() {
    // 2 images of 2x3, big-endian dims.
    let bytes = [
        0x00, 0x00, 0x08, 0x03, // magic: u8, 3 dims
        0x00, 0x00, 0x00, 0x02, // n = 2
        0x00, 0x00, 0x00, 0x02, // rows = 2
        0x00, 0x00, 0x00, 0x03, // cols = 3
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];
    let a = decode_idx(&bytes).unwrap();
    assert_eq!(a.dims, vec![2, 2, 3]);
    assert_eq!(a.data, (1..=12).collect::<Vec<u8>>());
    assert_eq!(a.len(), 2);
    let labels = decode_idx(&[0, 0, 8, 1, 0, 0, 0, 2, 7, 3]).unwrap();
    assert_eq!(labels.dims, vec![2]);
    assert_eq!(labels.data, vec![7, 3]);
    assert_eq!(check_images_labels(&a, &labels).unwrap(), (2, 2, 3));
    assert_eq!(encode_idx(&[2, 2, 3], &a.data), bytes.to_vec());
    // gzipped IDX (Fashion-MNIST's *.gz files)
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&bytes).unwrap();
    assert_eq!(decode_idx_maybe_gz(&e.finish().unwrap()).unwrap(), a);
}

#[test]
fn idx_errors_name_the_problem() {
    let msg = |b: &[u8]| decode_idx(b).unwrap_err().to_string();
    assert!(msg(&[0, 0]).contains("truncated"));
    assert!(msg(&[1, 0, 8, 1, 0, 0, 0, 1, 0]).contains("bad magic"));
    assert!(msg(&[0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]).contains("unsupported data type 0x0d (float)"));
    assert!(msg(&[0, 0, 8, 2, 0, 0, 0, 1]).contains("dimension sizes need 12"));
    let m = msg(&[0, 0, 8, 1, 0, 0, 0, 3, 1, 2]);
    assert!(m.contains("truncated") && m.contains("need 3 data bytes, only 2"), "{m}");
    assert!(msg(&[0, 0, 8, 1, 0, 0, 0, 1, 1, 2]).contains("1 unexpected trailing bytes"));
    assert!(msg(&[0, 0, 8, 0]).contains("zero dimensions"));
    let a = decode_idx(&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 5]).unwrap();
    let l = decode_idx(&[0, 0, 8, 1, 0, 0, 0, 2, 0, 0]).unwrap();
    assert!(check_images_labels(&a, &l).unwrap_err().to_string().contains("1 images but 2 labels"));
    assert!(matches!(decode_idx_maybe_gz(&[0x1f, 0x8b, 1, 2, 3]).unwrap_err(), DataError::Gzip(_) | DataError::TruncatedGzip(_)));
}

/// A 2x2-cell sheet of 2 px sprites with 1 px padding (pitch 4, 8x8 px).
/// Cell (x, y) is filled with colour [10 + 40x + 80y, 20, 30] at alpha
/// `alphas[y*2+x]`; padding pixels are transparent red (must never leak).
fn sheet(alphas: [u8; 4]) -> Vec<u8> {
    let mut s = vec![0u8; 8 * 8 * 4];
    for py in 0..8 {
        for px in 0..8 {
            let o = (py * 8 + px) * 4;
            let (cx, cy, ix, iy) = (px / 4, py / 4, px % 4, py % 4);
            if (1..=2).contains(&ix) && (1..=2).contains(&iy) {
                s[o..o + 4].copy_from_slice(&[10 + 40 * cx as u8 + 80 * cy as u8, 20, 30, alphas[cy * 2 + cx]]);
            } else {
                s[o..o + 4].copy_from_slice(&[255, 0, 0, 0]);
            }
        }
    }
    s
}

#[test]
fn sprites_are_cut_and_composited_over_white() {
    let s = sheet([255, 0, 128, 255]);
    let g = SheetGeometry::infer(8, 8, 1, 1, 2, 1).unwrap();
    assert_eq!((g.cols, g.rows, g.pitch()), (2, 2, 4));
    let opaque = extract_sprite_rgb(&s, 8, 8, &g, 0, 0).unwrap();
    assert_eq!(opaque, [10, 20, 30].repeat(4));
    let clear = extract_sprite_rgb(&s, 8, 8, &g, 1, 0).unwrap();
    assert_eq!(clear, vec![255; 12], "transparent is white");
    let half = extract_sprite_rgb(&s, 8, 8, &g, 0, 1).unwrap();
    assert_eq!(&half[..3], &over_white(90, 20, 30, 128));
    assert_eq!(over_white(90, 20, 30, 128), [172, 137, 142]);
    let last = extract_sprite_rgb(&s, 8, 8, &g, 1, 1).unwrap();
    assert_eq!(&last[..3], &[130, 20, 30]);
    assert!(extract_sprite_rgb(&s, 8, 8, &g, 2, 0).unwrap_err().to_string().contains("outside the 2x2 grid"));
    assert!(extract_sprite_rgb(&s[..10], 8, 8, &g, 0, 0).is_err());
}

#[test]
fn sheet_geometry_is_checked() {
    // The real sheet: 2108 px = 62 cells of 34 px, sheet_x/y up to 61.
    let g = SheetGeometry::infer(2108, 2108, 61, 61, 32, 1).unwrap();
    assert_eq!((g.cols, g.pitch()), (62, 34));
    let e = SheetGeometry::infer(2108, 2108, 61, 61, 32, 0).unwrap_err().to_string();
    assert!(e.contains("not a whole number of 32 px cells"), "{e}");
    let e = SheetGeometry::infer(8, 8, 0, 0, 2, 1).unwrap_err().to_string();
    assert!(e.contains("geometry is probably wrong"), "{e}");
    let e = SheetGeometry::infer(8, 8, 2, 0, 2, 1).unwrap_err().to_string();
    assert!(e.contains("only 2x2 cells"), "{e}");
}

const JSON: &str = r#"[
  {"name":"B","unified":"1","sheet_x":1,"sheet_y":0,"category":"Animals","sort_order":5,"has_img_google":true},
  {"name":"A","unified":"2","sheet_x":0,"sheet_y":0,"category":"Smileys","sort_order":1,"has_img_google":true,
   "skin_variations":{"1F3FB":{"unified":"2-1F3FB","sheet_x":1,"sheet_y":1,"has_img_google":true}}},
  {"name":"C","unified":"3","sheet_x":0,"sheet_y":1,"category":"Smileys","sort_order":3,"has_img_google":false}
]"#;

#[test]
fn emoji_set_from_a_synthetic_sheet() {
    let s = sheet([255, 255, 255, 255]);
    let opts = EmojiOptions { cell: 2, padding: 1, include_skin_variations: false };
    let info = DatasetInfo { name: "emoji".into(), ..Default::default() };
    let d = build_emoji_dataset(&s, 8, 8, JSON.as_bytes(), &opts, info.clone()).unwrap();
    // Base designs with a Google image only, in sort_order; categories ordered by first sort_order.
    assert_eq!(d.len(), 2);
    assert_eq!(d.class_names(), &["Smileys".to_string(), "Animals".to_string()]);
    assert_eq!(d.labels().unwrap(), &[0, 1]);
    assert_eq!(d.shape(), [2, 2, 2, 3]);
    assert_eq!(&d.image_u8(0)[..3], &[10, 20, 30]); // A at (0,0)
    assert_eq!(&d.image_u8(1)[..3], &[50, 20, 30]); // B at (1,0)
                                                    // With skin-tone variants: the variant follows its base emoji, same label.
    let opts = EmojiOptions { include_skin_variations: true, ..opts };
    let d = build_emoji_dataset(&s, 8, 8, JSON.as_bytes(), &opts, info.clone()).unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d.labels().unwrap(), &[0, 0, 1]);
    assert_eq!(&d.image_u8(1)[..3], &[130, 20, 30]); // variant at (1,1)
                                                     // Round trip through the packed format.
    let back = memgen_data::PackedDataset::from_bytes(&d.to_bytes(9)).unwrap();
    assert_eq!(back, d);
    // Bad JSON is an error, not a panic.
    let e = build_emoji_dataset(&s, 8, 8, b"{", &opts, info).unwrap_err();
    assert!(e.to_string().contains("emoji.json"), "{e}");
}
