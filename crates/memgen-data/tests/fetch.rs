//! The build step's unpacking and decoding on small synthetic archives (no
//! network). Runs with `cargo test -p memgen-data --features fetch`.
#![cfg(feature = "fetch")]

use std::io::Cursor;

use memgen_data::fetch::{ar_members, build_emoji, build_mnist, deb_members, decode_png_rgba, tgz_members, BuildOptions};
use memgen_data::idx::encode_idx;
use memgen_data::{PackedDataset, Split};

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn ar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        out.extend_from_slice(format!("{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", name, 0, 0, 0, 100644, data.len()).as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn ar_archive_members() {
    let a = ar_of(&[("debian-binary", b"2.0\n"), ("odd", b"abc"), ("last", b"xy")]);
    let m = ar_members(&a).unwrap();
    assert_eq!(m.len(), 3);
    assert_eq!(m[0], ("debian-binary".to_string(), &b"2.0\n"[..]));
    assert_eq!(m[1].1, b"abc");
    assert_eq!(m[2], ("last".to_string(), &b"xy"[..]));
    assert!(ar_members(b"PK..").unwrap_err().to_string().contains("not an ar archive"));
    let e = ar_members(&a[..a.len() - 1]).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn deb_with_xz_data_tar() {
    let inner = tar_of(&[("./usr/share/x/a.gz", b"hello"), ("./usr/share/x/b", b"world")]);
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut Cursor::new(&inner), &mut xz).unwrap();
    let deb = ar_of(&[("debian-binary", b"2.0\n"), ("control.tar.xz", b""), ("data.tar.xz", &xz)]);
    let files = deb_members(&deb, &["usr/share/x/a.gz"]).unwrap();
    assert_eq!(files["usr/share/x/a.gz"], b"hello");
    let e = deb_members(&deb, &["usr/share/x/missing"]).unwrap_err().to_string();
    assert!(e.contains("usr/share/x/missing not found"), "{e}");
}

#[test]
fn mnist_from_a_synthetic_npm_tarball() {
    let (n, t) = (4usize, 2usize);
    let imgs: Vec<u8> = (0..n * 28 * 28).map(|i| (i % 251) as u8).collect();
    let labs: Vec<u8> = vec![3, 1, 4, 1];
    let timgs: Vec<u8> = vec![200; t * 28 * 28];
    let tlabs: Vec<u8> = vec![9, 0];
    let ti = encode_idx(&[n, 28, 28], &imgs);
    let tl = encode_idx(&[n], &labs);
    let vi = encode_idx(&[t, 28, 28], &timgs);
    let vl = encode_idx(&[t], &tlabs);
    let tgz = gz(&tar_of(&[
        ("package/data/train-images-idx3-ubyte", &ti),
        ("package/data/train-labels-idx1-ubyte", &tl),
        ("package/data/t10k-images-idx3-ubyte", &vi),
        ("package/data/t10k-labels-idx1-ubyte", &vl),
    ]));
    let sets = build_mnist(&tgz).unwrap();
    assert_eq!(sets.len(), 2);
    let (split, train) = &sets[0];
    assert_eq!(*split, Split::Train);
    assert_eq!(train.shape(), [4, 28, 28, 1]);
    assert_eq!(train.pixels(), &imgs[..]);
    assert_eq!(train.labels().unwrap(), &labs[..]);
    assert_eq!(train.class_names().len(), 10);
    assert_eq!(sets[1].1.labels().unwrap(), &tlabs[..]);
    assert_eq!(PackedDataset::from_bytes(&train.to_bytes(9)).unwrap(), *train);
    // A label file that disagrees with the images is named in the error.
    let bad_l = encode_idx(&[3], &[1, 2, 3]);
    let tgz = gz(&tar_of(&[
        ("package/data/train-images-idx3-ubyte", &ti),
        ("package/data/train-labels-idx1-ubyte", &bad_l),
        ("package/data/t10k-images-idx3-ubyte", &vi),
        ("package/data/t10k-labels-idx1-ubyte", &vl),
    ]));
    let e = build_mnist(&tgz).unwrap_err().to_string();
    assert!(e.contains("train-images-idx3-ubyte") && e.contains("4 images but 3 labels"), "{e}");
    let e = tgz_members(&gz(&tar_of(&[])), &["package/data/x"]).unwrap_err().to_string();
    assert!(e.contains("package/data/x not found"), "{e}");
}

fn png_rgba(w: u32, h: u32, rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(rgba).unwrap();
    }
    out
}

#[test]
fn png_decoding_and_emoji_from_a_synthetic_package() {
    // A 2x1 grid of 32 px sprites with 1 px padding: 68x34.
    let (w, h) = (68usize, 34usize);
    let mut rgba = vec![0u8; w * h * 4];
    for y in 1..33 {
        for x in 1..33 {
            rgba[(y * w + x) * 4..][..4].copy_from_slice(&[0, 0, 255, 255]); // opaque blue
            rgba[(y * w + x + 34) * 4..][..4].copy_from_slice(&[0, 0, 0, 0]); // transparent
        }
    }
    let png_bytes = png_rgba(w as u32, h as u32, &rgba);
    let (dw, dh, back) = decode_png_rgba(&png_bytes).unwrap();
    assert_eq!((dw, dh), (w, h));
    assert_eq!(back, rgba);
    assert!(decode_png_rgba(b"\x89PNG\r\n\x1a\nnope").unwrap_err().to_string().starts_with("invalid PNG"));

    let json = br#"[{"unified":"1","sheet_x":0,"sheet_y":0,"category":"Symbols","sort_order":2,"has_img_google":true},
                    {"unified":"2","sheet_x":1,"sheet_y":0,"category":"Flags","sort_order":9,"has_img_google":true}]"#;
    let tgz = gz(&tar_of(&[("package/emoji.json", json), ("package/img/google/sheets/32.png", &png_bytes)]));
    let sets = build_emoji(&tgz, &BuildOptions::default()).unwrap();
    let set = &sets[0].1;
    assert_eq!(set.shape(), [2, 32, 32, 3]);
    assert_eq!(set.class_names(), &["Symbols".to_string(), "Flags".to_string()]);
    assert!(set.image_u8(0).chunks(3).all(|p| p == [0, 0, 255]));
    assert!(set.image_u8(1).iter().all(|&v| v == 255), "transparent composites to white");
    assert_eq!(set.header().licence, "Apache-2.0");
}
