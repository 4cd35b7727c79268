//! The one error type of the crate.

use thiserror::Error;

/// Everything that can go wrong reading, decoding, building or fetching a
/// dataset. Every variant's message says what is wrong in words; errors about
/// a file are wrapped in [`DataError::InFile`], whose message starts with the
/// file's name.
#[derive(Debug, Error)]
pub enum DataError {
    /// The bytes are neither a gzip stream nor an uncompressed packed file, or
    /// the gzip stream is corrupt.
    #[error("not a valid gzip stream ({0})")]
    Gzip(String),
    /// The gzip stream ends before its end marker: the file was cut short
    /// (an interrupted download, a partial copy).
    #[error("the file is truncated: its gzip stream ends early ({0})")]
    TruncatedGzip(String),
    /// The decompressed data does not start with `MGDS`.
    #[error("not a packed dataset: magic bytes are {found:?}, expected \"MGDS\"")]
    BadMagic { found: String },
    /// The packed file was written by a newer (or unknown) format version.
    #[error(
        "unsupported packed-dataset format version {found} (this build reads version {supported}); \
         rebuild the datasets (scripts/datasets.sh) or update the app"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    /// Fewer bytes than the header announces.
    #[error("the file is truncated: {what} needs {expected} bytes but only {got} are present")]
    Truncated { what: String, expected: usize, got: usize },
    /// More bytes than the header announces.
    #[error("{count} unexpected trailing bytes after the {what}")]
    TrailingBytes { what: String, count: usize },
    /// The JSON header is unreadable or inconsistent.
    #[error("invalid header: {0}")]
    Header(String),
    /// The payload's SHA-256 does not match the one recorded in the header:
    /// the file is corrupted.
    #[error("payload checksum mismatch (file corrupted): header says sha256 {expected}, payload has {actual}")]
    Checksum { expected: String, actual: String },
    /// A downloaded source's SHA-256 is not the pinned one.
    #[error("source checksum mismatch: expected sha256 {expected}, got {actual}")]
    SourceChecksum { expected: String, actual: String },
    /// The decompressed data would exceed the reader's size limit.
    #[error("decompressed data exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// Malformed IDX data.
    #[error("invalid IDX data: {0}")]
    Idx(String),
    /// Malformed sprite sheet or sprite coordinates.
    #[error("invalid sprite sheet: {0}")]
    Sprite(String),
    /// A PNG that cannot be decoded.
    #[error("invalid PNG: {0}")]
    Png(String),
    /// An archive (.deb / ar, tar) that cannot be read or lacks a member.
    #[error("archive: {0}")]
    Archive(String),
    /// An invalid argument (index out of range, inconsistent lengths).
    #[error("{0}")]
    Invalid(String),
    /// An external command (npm, apt-get) failed.
    #[error("command `{command}` failed: {detail}")]
    Command { command: String, detail: String },
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Any of the above, about a named file.
    #[error("{file}: {source}")]
    InFile {
        file: String,
        #[source]
        source: Box<DataError>,
    },
}

impl DataError {
    /// Wrap `self` with the name of the file it is about (no double wrapping).
    pub fn in_file(self, file: impl Into<String>) -> DataError {
        match self {
            e @ DataError::InFile { .. } => e,
            e @ DataError::Io { .. } => e,
            e => DataError::InFile { file: file.into(), source: Box::new(e) },
        }
    }

    /// The innermost error, past any [`DataError::InFile`] wrappers.
    pub fn root(&self) -> &DataError {
        match self {
            DataError::InFile { source, .. } => source.root(),
            e => e,
        }
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> DataError {
        DataError::Io { path: path.as_ref().display().to_string(), source }
    }
}
