//! When the build step has run (`scripts/datasets.sh`), check what it wrote:
//! every file in www/data/datasets.json has its recorded size and SHA-256 and
//! a readable header; the small sets are decoded in full. Skipped (passes)
//! when www/data/ has not been built: tests need no network.

use std::path::PathBuf;

use memgen_data::{DatasetId, Manifest, PackedDataset, Split, FORMAT_VERSION, WEB_BUDGET_BYTES};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/data")
}

#[test]
fn built_datasets_match_their_manifest() {
    let dir = data_dir();
    let Ok(json) = std::fs::read(dir.join(memgen_data::MANIFEST_FILE)) else {
        eprintln!("skipped: {} not built (run scripts/datasets.sh)", dir.display());
        return;
    };
    let m = Manifest::from_json(&json).unwrap();
    assert_eq!(m.format_version, FORMAT_VERSION);
    for e in &m.files {
        let bytes = std::fs::read(dir.join(&e.file)).unwrap();
        assert_eq!(bytes.len() as u64, e.bytes, "{}", e.file);
        assert_eq!(memgen_data::sha256_hex(&bytes), e.sha256, "{}", e.file);
        assert_eq!(PackedDataset::read_header(&bytes).unwrap(), e.header, "{}", e.file);
        if e.web {
            assert!(e.bytes <= WEB_BUDGET_BYTES, "{} is over the web budget", e.file);
        }
        if e.header.n <= 10_000 {
            let d = PackedDataset::from_bytes_named(&bytes, &e.file).unwrap();
            assert_eq!(d.len(), e.header.n);
        }
    }
    for d in DatasetId::ALL {
        if m.of(d).next().is_some() {
            assert!(m.web_train(d).is_some(), "{d} has no file for the app");
            assert!(m.full_train(d).is_some(), "{d} has no full training set");
        }
    }
    if let Some(e) = m.find(DatasetId::Mnist, Split::Train) {
        assert_eq!((e.header.n, e.header.height, e.header.width, e.header.channels), (60_000, 28, 28, 1));
    }
    if let Some(e) = m.find(DatasetId::Emoji, Split::All) {
        assert_eq!((e.header.height, e.header.width, e.header.channels), (32, 32, 3));
        assert_eq!(e.header.class_names.len(), 10);
    }
}
