//! Bring-your-own data (feature `images`): PNG / JPEG / zip / .npy, resizing, limits and
//! clear errors, on images written by the test (no network).
#![cfg(feature = "images")]

use std::io::Write;

use memgen_data::images::{decode_image, import_path, sniff, ImportLimits, ImportOptions, Importer, InputKind};
use memgen_data::npy::{decode, encode_f32, encode_u8, NpyData};

fn png(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, y| image::Rgba(f(x, y)));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn jpeg(w: u32, h: u32, v: u8) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([v, v, v]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opt = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        z.start_file(*name, opt).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("memgen-data-images-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn sniffs_formats() {
    assert_eq!(sniff(&png(1, 1, |_, _| [0, 0, 0, 255])), Some(InputKind::Png));
    assert_eq!(sniff(&jpeg(8, 8, 10)), Some(InputKind::Jpeg));
    assert_eq!(sniff(&zip_of(&[("a", b"x")])), Some(InputKind::Zip));
    assert_eq!(sniff(&encode_u8(&[1], &[0]).unwrap()), Some(InputKind::Npy));
    assert_eq!(sniff(b"GIF89a"), None);
}

#[test]
fn png_grey_and_colour_resized() {
    // 8x4, left half red, right half blue, fully opaque.
    let bytes = png(8, 4, |x, _| if x < 4 { [255, 0, 0, 255] } else { [0, 0, 255, 255] });
    let rgb = decode_image("a.png", &bytes, 2, true).unwrap();
    assert_eq!(rgb.len(), 12);
    // Antialiased (triangle filter widened to the 4× shrink): mostly red left, blue right.
    for row in rgb.chunks_exact(6) {
        assert!(row[0] > 200 && row[2] < 50 && row[3] < 50 && row[5] > 200, "{rgb:?}");
        assert_eq!((row[1], row[4]), (0, 0));
    }
    let grey = decode_image("a.png", &bytes, 2, false).unwrap();
    assert_eq!(grey.len(), 4);
    // Rec. 709 luma: red ≈ 54, blue ≈ 18, a little blended.
    assert!(grey[0] > grey[1] && (40..=60).contains(&grey[0]) && (15..=30).contains(&grey[1]), "{grey:?}");
    // Same size: no resampling.
    let same = decode_image("a.png", &png(2, 2, |x, y| [(x * 100) as u8, (y * 100) as u8, 7, 255]), 2, true).unwrap();
    assert_eq!(same, vec![0, 0, 7, 100, 0, 7, 0, 100, 7, 100, 100, 7]);
}

#[test]
fn transparency_goes_on_white() {
    let bytes = png(2, 2, |_, _| [0, 0, 0, 0]);
    assert_eq!(decode_image("t.png", &bytes, 2, false).unwrap(), vec![255; 4]);
}

#[test]
fn jpeg_decodes() {
    let g = decode_image("a.jpg", &jpeg(16, 16, 200), 4, false).unwrap();
    assert!(g.iter().all(|&v| (v as i32 - 200).abs() <= 3), "{g:?}");
}

#[test]
fn corrupt_and_wrong_format_name_the_file() {
    let mut bad = png(4, 4, |_, _| [1, 2, 3, 255]);
    bad.truncate(bad.len() / 2);
    let e = decode_image("broken.png", &bad, 4, false).unwrap_err().to_string();
    assert!(e.starts_with("broken.png: ") && e.contains("corrupt"), "{e}");
    assert!(!e.contains('\n'));
    let e = decode_image("x.gif", b"GIF89a....", 4, false).unwrap_err().to_string();
    assert!(e.starts_with("x.gif: ") && e.contains("not a PNG or JPEG"), "{e}");
    let mut imp = Importer::new(ImportOptions::new(4, false)).unwrap();
    let e = imp.push("notes.txt", b"hello").unwrap_err().to_string();
    assert!(e.contains("notes.txt") && e.contains("not a PNG, JPEG, zip or .npy"), "{e}");
}

#[test]
fn zip_in_sorted_order_skipping_hidden() {
    let a = png(3, 3, |_, _| [10, 10, 10, 255]);
    let b = png(3, 3, |_, _| [20, 20, 20, 255]);
    let z = zip_of(&[("dir/b.png", &b), ("a.png", &a), ("__MACOSX/._a.png", b"junk"), (".DS_Store", b"junk")]);
    let mut imp = Importer::new(ImportOptions::new(3, false)).unwrap();
    imp.push("up.zip", &z).unwrap();
    let out = imp.finish("upload").unwrap();
    assert_eq!(out.names, vec!["up.zip/a.png", "up.zip/dir/b.png"]);
    assert_eq!(out.shape(), vec![2, 3, 3]);
    assert_eq!(&out.pixels[..9], &[10; 9]);
    assert_eq!(&out.pixels[9..], &[20; 9]);
    // A non-image entry is skipped, and the import says which and why.
    let z = zip_of(&[("a.png", &a), ("readme.txt", b"hi")]);
    let mut imp = Importer::new(ImportOptions::new(3, false)).unwrap();
    imp.push("up.zip", &z).unwrap();
    let out = imp.finish("upload").unwrap();
    assert_eq!(out.names, vec!["up.zip/a.png"]);
    assert_eq!(out.skipped, vec!["up.zip/readme.txt: not a PNG or JPEG image".to_string()]);
    // A corrupt archive.
    let e = Importer::new(ImportOptions::new(3, false)).unwrap().push("bad.zip", &z[..z.len() - 30]).unwrap_err().to_string();
    assert!(e.starts_with("bad.zip: ") && e.contains("zip"), "{e}");
}

#[test]
fn limits() {
    let a = png(3, 3, |_, _| [10, 10, 10, 255]);
    let mut opts = ImportOptions::new(3, false);
    opts.limits = ImportLimits { max_images: 2, max_file_bytes: 10_000, max_total_bytes: 1_000_000 };
    let mut imp = Importer::new(opts).unwrap();
    imp.push("1.png", &a).unwrap();
    imp.push("2.png", &a).unwrap();
    let e = imp.push("3.png", &a).unwrap_err().to_string();
    assert!(e.contains("3.png") && e.contains("too many images"), "{e}");

    opts.limits = ImportLimits { max_images: 10, max_file_bytes: 50, max_total_bytes: 1_000_000 };
    let e = Importer::new(opts).unwrap().push("big.png", &a).unwrap_err().to_string();
    assert!(e.contains("big.png") && e.contains("too large"), "{e}");

    opts.limits = ImportLimits { max_images: 10, max_file_bytes: 10_000, max_total_bytes: (a.len() * 2 + 1) as u64 };
    let mut imp = Importer::new(opts).unwrap();
    imp.push("1.png", &a).unwrap();
    imp.push("2.png", &a).unwrap();
    let e = imp.push("3.png", &a).unwrap_err().to_string();
    assert!(e.contains("3.png") && e.contains("too large"), "{e}");
    // Zip entries count uncompressed.
    opts.limits = ImportLimits { max_images: 10, max_file_bytes: 1000, max_total_bytes: 1_000_000 };
    let z = zip_of(&[("zeros.png", &vec![0u8; 5000])]);
    let e = Importer::new(opts).unwrap().push("z.zip", &z).unwrap_err().to_string();
    assert!(e.contains("z.zip/zeros.png") && e.contains("too large"), "{e}");
    assert!(Importer::new(ImportOptions::new(0, false)).is_err());
    assert!(Importer::new(ImportOptions::new(5000, false)).is_err());
}

#[test]
fn npy_inputs() {
    // u8 [2, 2, 2] grey → colour 2x2.
    let g = encode_u8(&[2, 2, 2], &[0, 50, 100, 150, 200, 250, 255, 5]).unwrap();
    let mut imp = Importer::new(ImportOptions::new(2, true)).unwrap();
    imp.push("g.npy", &g).unwrap();
    let out = imp.finish("g.npy").unwrap();
    assert_eq!(out.shape(), vec![2, 2, 2, 3]);
    assert_eq!(&out.pixels[..6], &[0, 0, 0, 50, 50, 50]);
    assert_eq!(out.names, vec!["g.npy[0]", "g.npy[1]"]);
    // f32 in [0, 1] scaled by 255; RGB [1, 1, 1, 3] → grey.
    let f = encode_f32(&[1, 1, 1, 3], &[1.0, 1.0, 1.0]).unwrap();
    let mut imp = Importer::new(ImportOptions::new(1, false)).unwrap();
    imp.push("f.npy", &f).unwrap();
    assert_eq!(imp.finish("f").unwrap().pixels, vec![255]);
    // f32 in [-1, 1].
    let f = encode_f32(&[1, 1, 2], &[-1.0, 1.0]).unwrap();
    let mut imp = Importer::new(ImportOptions::new(1, false)).unwrap();
    imp.push("m.npy", &f).unwrap();
    let px = imp.finish("m").unwrap().pixels;
    assert!((px[0] as i32 - 128).abs() <= 1, "{px:?}");
    // Bad shapes and values.
    let e = Importer::new(ImportOptions::new(2, false)).unwrap().push("flat.npy", &encode_u8(&[4], &[0; 4]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("flat.npy") && e.contains("expected shape"), "{e}");
    let e = Importer::new(ImportOptions::new(2, false)).unwrap().push("nan.npy", &encode_f32(&[1, 1, 1], &[f32::NAN]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("nan.npy") && e.contains("NaN"), "{e}");
    let mut t = g.clone();
    t.truncate(t.len() - 3);
    let e = Importer::new(ImportOptions::new(2, false)).unwrap().push("cut.npy", &t).unwrap_err().to_string();
    assert!(e.contains("cut.npy") && e.contains("truncated"), "{e}");
}

#[test]
fn import_path_folder_zip_npy_and_single_file() {
    let d = tmpdir("paths");
    let imgs = d.join("imgs");
    std::fs::create_dir_all(imgs.join("sub")).unwrap();
    std::fs::write(imgs.join("b.png"), png(6, 6, |_, _| [40, 40, 40, 255])).unwrap();
    std::fs::write(imgs.join("sub/c.jpg"), jpeg(8, 8, 120)).unwrap();
    std::fs::write(imgs.join("a.png"), png(4, 4, |_, _| [255, 255, 255, 255])).unwrap();
    std::fs::write(imgs.join(".hidden.png"), b"junk").unwrap();
    let out = import_path(&imgs, ImportOptions::new(4, false)).unwrap();
    assert_eq!(out.len(), 3);
    assert!(out.names[0].ends_with("a.png") && out.names[1].ends_with("b.png") && out.names[2].ends_with("c.jpg"));
    assert_eq!(&out.pixels[..16], &[255; 16]);
    let npy = decode(&out.to_npy().unwrap()).unwrap();
    assert_eq!(npy.shape, vec![3, 4, 4]);

    let z = d.join("x.zip");
    std::fs::write(&z, zip_of(&[("one.png", &png(5, 5, |_, _| [0, 0, 0, 255]))])).unwrap();
    let out = import_path(&z, ImportOptions::new(2, true)).unwrap();
    assert_eq!(out.shape(), vec![1, 2, 2, 3]);

    let n = d.join("x.npy");
    std::fs::write(&n, encode_u8(&[3, 4, 4], &[9; 48]).unwrap()).unwrap();
    let out = import_path(&n, ImportOptions::new(2, false)).unwrap();
    let NpyData::U8(px) = decode(&out.to_npy().unwrap()).unwrap().data else { panic!() };
    assert_eq!(px, vec![9; 12]);

    let one = d.join("one.png");
    std::fs::write(&one, png(3, 3, |_, _| [7, 7, 7, 255])).unwrap();
    assert_eq!(import_path(&one, ImportOptions::new(3, false)).unwrap().pixels, vec![7; 9]);

    // Errors name the file.
    std::fs::write(imgs.join("notes.txt"), b"hello").unwrap();
    let e = import_path(&imgs, ImportOptions::new(4, false)).unwrap_err().to_string();
    assert!(e.contains("notes.txt") && e.contains("not a PNG or JPEG"), "{e}");
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let e = import_path(&empty, ImportOptions::new(4, false)).unwrap_err().to_string();
    assert!(e.contains("no PNG or JPEG images"), "{e}");
    let e = import_path(&d.join("missing"), ImportOptions::new(4, false)).unwrap_err().to_string();
    assert!(e.contains("missing"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
