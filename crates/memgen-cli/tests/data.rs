//! `memgen datasets`, `export` and `import` on a temporary data folder with a tiny manifest and
//! small synthetic packed files, and on PNG / JPEG / zip / .npy inputs written here (no network;
//! www/data is never read).
use memgen_data::npy::{decode, encode_u8, NpyData};
use memgen_data::{sha256_hex, DatasetId, DatasetInfo, Manifest, ManifestEntry, PackedDataset, Split, Subsample};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

mod common;
use common::{fails_with, ok_json, run};

/// S_10 of n = 60,000 at seed 0, as pinned in memgen-data's tests/subset_spec.rs.
const PIN_MNIST_K10_SEED0: [usize; 10] = [20133, 47685, 55158, 49747, 18664, 14332, 245, 683, 41622, 28900];

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("memgen-cli-data-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn info(name: &str, classes: usize, subsample: Option<Subsample>) -> DatasetInfo {
    DatasetInfo {
        name: name.into(),
        class_names: (0..classes).map(|c| format!("class{c}")).collect(),
        licence: "MIT".into(),
        attribution: format!("{name} attribution"),
        source: "synthetic".into(),
        source_sha256: "00".repeat(32),
        subsample,
        notes: String::new(),
    }
}

/// `n` images of h×w×c whose first two bytes are the index (big-endian), label `i % classes`.
fn index_coded(name: &str, n: usize, (h, w, c): (usize, usize, usize), classes: usize) -> PackedDataset {
    let len = h * w * c;
    assert!(len >= 2);
    let mut px = vec![0u8; n * len];
    for i in 0..n {
        px[i * len] = (i >> 8) as u8;
        px[i * len + 1] = i as u8;
        for j in 2..len {
            px[i * len + j] = (i * 31 + j) as u8;
        }
    }
    let labels = (0..n).map(|i| (i % classes) as u8).collect();
    PackedDataset::new(info(name, classes, None), h, w, c, px, Some(labels)).unwrap()
}

fn indices_of(px: &[u8], len: usize) -> Vec<usize> {
    px.chunks_exact(len).map(|c| ((c[0] as usize) << 8) | c[1] as usize).collect()
}

/// A data folder: mnist train (60,000 of 2×1) + test (50), fashion-mnist train (300 of 2×2)
/// + web subsample (first 100), emoji (40 of 2×2×3, 4 classes).
fn data_dir(tag: &str) -> PathBuf {
    let d = tmpdir(tag);
    let fm = index_coded("fashion-mnist-train", 300, (2, 2, 1), 10);
    let web_idx: Vec<usize> = (0..100).collect();
    let fm_web = fm
        .select(
            &web_idx,
            "fashion-mnist-train-web",
            Some(Subsample { of: "fashion-mnist-train".into(), of_n: 300, method: "first 100 in source order".into() }),
        )
        .unwrap();
    let sets = [
        ("mnist-train.mgds", DatasetId::Mnist, Split::Train, true, index_coded("mnist-train", 60_000, (2, 1, 1), 10)),
        ("mnist-test.mgds", DatasetId::Mnist, Split::Test, false, index_coded("mnist-test", 50, (2, 1, 1), 10)),
        ("fashion-mnist-train.mgds", DatasetId::FashionMnist, Split::Train, false, fm),
        ("fashion-mnist-train-web.mgds", DatasetId::FashionMnist, Split::TrainWeb, true, fm_web),
        ("emoji.mgds", DatasetId::Emoji, Split::All, true, index_coded("emoji", 40, (2, 2, 3), 4)),
    ];
    let mut m = Manifest { format_version: 1, ..Default::default() };
    for (file, dataset, split, web, ds) in sets {
        let bytes = ds.to_bytes(6);
        std::fs::write(d.join(file), &bytes).unwrap();
        m.files.push(ManifestEntry {
            file: file.into(),
            dataset,
            split,
            web,
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
            header: ds.header().clone(),
        });
    }
    std::fs::write(d.join("datasets.json"), m.to_json()).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_u8_npy(p: &Path) -> (Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(p).unwrap();
    let a = decode(&bytes).unwrap();
    let NpyData::U8(v) = a.data else { panic!("{} is not uint8", p.display()) };
    (a.shape, v)
}

#[test]
fn datasets_lists_counts_shapes_checksums() {
    let d = data_dir("list");
    let v = ok_json(&["datasets", "--data-dir", s(&d)]);
    let list = v["datasets"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["mnist", "fashion-mnist", "emoji"]);
    let mnist = &list[0];
    assert_eq!(mnist["title"], "MNIST");
    assert_eq!(mnist["shape"], serde_json::json!([2, 1, 1]));
    assert_eq!(mnist["licence"], "MIT");
    assert_eq!(mnist["attribution"], "mnist-train attribution");
    let splits = mnist["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 2);
    assert_eq!(splits[0]["split"], "train");
    assert_eq!(splits[0]["n"], 60_000);
    assert_eq!(splits[1]["split"], "test");
    assert_eq!(splits[1]["n"], 50);
    for sp in splits {
        let file = d.join(sp["file"].as_str().unwrap());
        assert_eq!(sp["sha256"], sha256_hex(&std::fs::read(file).unwrap()));
        assert_eq!(sp["present"], true);
    }
    assert_eq!(mnist["web_subsample"], Value::Null);
    let fm = &list[1];
    assert_eq!(fm["web_file"], "fashion-mnist-train-web.mgds");
    assert_eq!(fm["cli_train_file"], "fashion-mnist-train.mgds");
    assert_eq!(fm["web_subsample"]["n"], 100);
    assert_eq!(fm["web_subsample"]["of_n"], 300);
    let emoji = &list[2];
    assert_eq!(emoji["shape"], serde_json::json!([2, 2, 3]));
    assert_eq!(emoji["splits"][0]["split"], "all");
    assert_eq!(emoji["classes"].as_array().unwrap().len(), 4);
}

#[test]
fn datasets_without_manifest_says_how_to_build() {
    let d = tmpdir("nomanifest");
    fails_with(&["datasets", "--data-dir", s(&d)], "bash scripts/datasets.sh");
    fails_with(&["export", "--dataset", "mnist", "--k", "3", "--out", s(&d.join("x.npy")), "--data-dir", s(&d)], "bash scripts/datasets.sh");
    std::fs::write(d.join("datasets.json"), "{not json").unwrap();
    fails_with(&["datasets", "--data-dir", s(&d)], "datasets.json");
}

#[test]
fn export_mnist_is_the_pinned_subset() {
    let d = data_dir("export");
    let out = d.join("s10.npy");
    let labels = d.join("y10.npy");
    let v = ok_json(&["export", "--dataset", "mnist", "--k", "10", "--seed", "0", "--out", s(&out), "--labels", s(&labels), "--data-dir", s(&d)]);
    let (shape, px) = read_u8_npy(&out);
    assert_eq!(shape, vec![10, 2, 1]);
    assert_eq!(indices_of(&px, 2), PIN_MNIST_K10_SEED0);
    assert_eq!(v["dataset"], "mnist");
    assert_eq!(v["k"], 10);
    assert_eq!(v["seed"], 0);
    assert_eq!(v["shape"], serde_json::json!([10, 2, 1]));
    assert_eq!(v["sha256"], sha256_hex(&std::fs::read(&out).unwrap()));
    let (lshape, l) = read_u8_npy(&labels);
    assert_eq!(lshape, vec![10]);
    assert_eq!(l, PIN_MNIST_K10_SEED0.iter().map(|i| (i % 10) as u8).collect::<Vec<_>>());
    assert_eq!(v["labels"]["sha256"], sha256_hex(&std::fs::read(&labels).unwrap()));
    // Same as the app's path (training_subset on the same file).
    let app = PackedDataset::read_file(d.join("mnist-train.mgds")).unwrap().training_subset(10, 0).unwrap();
    assert_eq!(px, app.pixels());
    // Nested in K.
    let out3 = d.join("s3.npy");
    ok_json(&["export", "--dataset", "mnist", "--k", "3", "--out", s(&out3), "--data-dir", s(&d)]);
    assert_eq!(read_u8_npy(&out3).1, px[..6]);
}

#[test]
fn export_uses_full_train_test_split_colour_and_balanced() {
    let d = data_dir("export2");
    // Fashion-MNIST: the full 300, not the 100-image web subsample.
    let out = d.join("fm.npy");
    let v = ok_json(&["export", "--dataset", "fashion-mnist", "--k", "300", "--seed", "5", "--out", s(&out), "--data-dir", s(&d)]);
    assert_eq!(v["source_file"], "fashion-mnist-train.mgds");
    let (shape, px) = read_u8_npy(&out);
    assert_eq!(shape, vec![300, 2, 2]);
    let mut idx = indices_of(&px, 4);
    idx.sort();
    assert_eq!(idx, (0..300).collect::<Vec<_>>());
    // Test split.
    let out = d.join("t.npy");
    let v = ok_json(&["export", "--dataset", "mnist", "--split", "test", "--k", "50", "--out", s(&out), "--data-dir", s(&d)]);
    assert_eq!(v["source_file"], "mnist-test.mgds");
    fails_with(&["export", "--dataset", "mnist", "--split", "test", "--k", "51", "--out", s(&out), "--data-dir", s(&d)], "larger than the 50 images");
    fails_with(&["export", "--dataset", "emoji", "--split", "test", "--k", "1", "--out", s(&out), "--data-dir", s(&d)], "no test split");
    // Emoji: colour [K, H, W, C], balanced over 4 classes.
    let out = d.join("e.npy");
    let v = ok_json(&["export", "--dataset", "emoji", "--k", "10", "--seed", "2", "--balanced", "--out", s(&out), "--data-dir", s(&d)]);
    let (shape, px) = read_u8_npy(&out);
    assert_eq!(shape, vec![10, 2, 2, 3]);
    assert_eq!(v["shape"], serde_json::json!([10, 2, 2, 3]));
    assert_eq!(v["class_counts"], serde_json::json!([3, 3, 2, 2]));
    let classes: Vec<usize> = indices_of(&px, 12).iter().map(|i| i % 4).collect();
    assert_eq!(classes, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    let labels: Vec<u8> = (0..40).map(|i| (i % 4) as u8).collect();
    assert_eq!(indices_of(&px, 12), memgen_data::balanced_subset(&labels, 10, 2).unwrap());
}

#[test]
fn export_errors() {
    let d = data_dir("errors");
    let out = d.join("x.npy");
    let o = s(&out);
    let dd = s(&d);
    fails_with(&["export", "--dataset", "mnist", "--k", "0", "--out", o, "--data-dir", dd], "at least 1");
    fails_with(&["export", "--dataset", "mnist", "--k", "60001", "--out", o, "--data-dir", dd], "larger than");
    fails_with(&["export", "--dataset", "cifar10", "--k", "3", "--out", o, "--data-dir", dd], "invalid value");
    fails_with(&["export", "--dataset", "mnist", "--k", "3", "--out", s(&d.join("no/such/dir/x.npy")), "--data-dir", dd], "cannot write");
    // A file the manifest lists but that is missing.
    std::fs::remove_file(d.join("mnist-test.mgds")).unwrap();
    fails_with(&["export", "--dataset", "mnist", "--split", "test", "--k", "3", "--out", o, "--data-dir", dd], "mnist-test.mgds: missing");
    // A corrupted file: checksum mismatch naming it.
    let p = d.join("emoji.mgds");
    let mut b = std::fs::read(&p).unwrap();
    let last = b.len() - 1;
    b[last] ^= 0xff;
    std::fs::write(&p, b).unwrap();
    fails_with(&["export", "--dataset", "emoji", "--k", "3", "--out", o, "--data-dir", dd], "emoji.mgds: checksum mismatch");
    assert!(!out.exists(), "nothing written on failure");
}

fn png(w: u32, h: u32, v: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(v));
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

#[test]
fn import_folder_zip_npy() {
    let d = tmpdir("import");
    let imgs = d.join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    std::fs::write(imgs.join("a.png"), png(56, 56, [255, 255, 255, 255])).unwrap();
    std::fs::write(imgs.join("b.jpg"), jpeg(40, 30, 0)).unwrap();
    std::fs::write(imgs.join("c.png"), png(10, 10, [255, 0, 0, 255])).unwrap();
    let out = d.join("mine.npy");
    let v = ok_json(&["import", "--input", s(&imgs), "--size", "28", "--out", s(&out)]);
    assert_eq!(v["n"], 3);
    assert_eq!(v["shape"], serde_json::json!([3, 28, 28]));
    assert_eq!(v["sha256"], sha256_hex(&std::fs::read(&out).unwrap()));
    let (shape, px) = read_u8_npy(&out);
    assert_eq!(shape, vec![3, 28, 28]);
    assert!(px[..784].iter().all(|&p| p == 255));
    assert!(px[784..1568].iter().all(|&p| p <= 3));

    // Colour from a zip.
    let z = d.join("mine.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&z).unwrap());
    let opt = zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    // A text file and an entry whose path climbs out of the archive are skipped, and named.
    let entries = [("x/1.png", png(8, 8, [0, 0, 255, 255])), ("2.jpg", jpeg(8, 8, 128)), ("notes.txt", b"hello".to_vec()), ("../up.png", png(8, 8, [9; 4]))];
    for (name, bytes) in entries {
        w.start_file(name, opt).unwrap();
        w.write_all(&bytes).unwrap();
    }
    w.finish().unwrap();
    let out = d.join("zip.npy");
    let v = ok_json(&["import", "--input", s(&z), "--size", "4", "--colour", "--out", s(&out)]);
    assert_eq!(v["shape"], serde_json::json!([2, 4, 4, 3]));
    let zs = z.display().to_string();
    assert_eq!(v["skipped"], serde_json::json!([format!("{zs}/../up.png: a path outside the archive"), format!("{zs}/notes.txt: not a PNG or JPEG image")]));
    let (_, px) = read_u8_npy(&out);
    // Sorted entry order: 2.jpg, then x/1.png (blue).
    assert_eq!(&px[48..51], &[0, 0, 255]);

    // An .npy array, resized.
    let n = d.join("arr.npy");
    std::fs::write(&n, encode_u8(&[5, 8, 8], &[77; 320]).unwrap()).unwrap();
    let out = d.join("arr4.npy");
    let v = ok_json(&["import", "--input", s(&n), "--size", "4", "--out", s(&out)]);
    assert_eq!(v["shape"], serde_json::json!([5, 4, 4]));
    assert_eq!(read_u8_npy(&out).1, vec![77; 80]);
}

#[test]
fn import_errors_name_the_file() {
    let d = tmpdir("import-errors");
    let out = d.join("o.npy");
    let o = s(&out);
    let imgs = d.join("imgs");
    std::fs::create_dir_all(&imgs).unwrap();
    std::fs::write(imgs.join("good.png"), png(4, 4, [1, 1, 1, 255])).unwrap();
    let mut bad = png(16, 16, [9, 9, 9, 255]);
    bad.truncate(bad.len() - 20);
    std::fs::write(imgs.join("bad.png"), &bad).unwrap();
    fails_with(&["import", "--input", s(&imgs), "--size", "4", "--out", o], "bad.png: unreadable or corrupt PNG");
    std::fs::remove_file(imgs.join("bad.png")).unwrap();
    std::fs::write(imgs.join("doc.pdf"), b"%PDF-1.4").unwrap();
    fails_with(&["import", "--input", s(&imgs), "--size", "4", "--out", o], "doc.pdf: not a PNG or JPEG");
    let junk = d.join("junk.bin");
    std::fs::write(&junk, b"hello").unwrap();
    fails_with(&["import", "--input", s(&junk), "--size", "4", "--out", o], "junk.bin: not a folder, zip archive, .npy");
    let z = d.join("cut.zip");
    std::fs::write(&z, b"PK\x03\x04 truncated").unwrap();
    fails_with(&["import", "--input", s(&z), "--size", "4", "--out", o], "cut.zip: unreadable or corrupt zip");
    fails_with(&["import", "--input", s(&d.join("nope")), "--size", "4", "--out", o], "nope");
    fails_with(&["import", "--input", s(&imgs), "--size", "0", "--out", o], "size 0 is out of range");
    let empty = d.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    fails_with(&["import", "--input", s(&empty), "--size", "4", "--out", o], "no PNG or JPEG images");
    assert!(!out.exists());
}

#[test]
fn help_lists_the_new_commands() {
    let o = run(&["--help"]);
    let h = String::from_utf8_lossy(&o.stdout);
    for c in ["datasets", "export", "import"] {
        assert!(h.contains(c), "{h}");
    }
    let o = run(&["export", "--help"]);
    let h = String::from_utf8_lossy(&o.stdout);
    assert!(h.contains("--balanced") && h.contains("www/data") && h.contains("fashion-mnist"), "{h}");
}
