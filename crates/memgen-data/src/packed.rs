//! The packed dataset format (`*.mgds`): writer and reader. See the crate
//! documentation for the layout.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::DataError;

/// The four bytes every packed dataset starts with (after decompression).
pub const MAGIC: [u8; 4] = *b"MGDS";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Largest decompressed file the reader accepts (guards against gzip bombs).
pub const MAX_DECOMPRESSED: usize = 1 << 30;
/// Largest header the reader accepts.
pub const MAX_HEADER: usize = 1 << 20;

/// Where a subsample comes from, when a packed set is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subsample {
    /// The name of the full set it is taken from (e.g. `fashion-mnist-train`).
    pub of: String,
    /// How many images the full set has.
    pub of_n: usize,
    /// How the images were chosen, in words (e.g. "the first 20000 images in source order").
    pub method: String,
}

/// The JSON header of a packed dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Short machine name, e.g. `mnist-train`.
    pub name: String,
    /// Number of images.
    pub n: usize,
    pub height: usize,
    pub width: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Name of each class; labels index into this list.
    pub class_names: Vec<String>,
    /// Whether the payload ends with `n` label bytes.
    pub labels: bool,
    /// Lower-case hex SHA-256 of the payload (pixels then labels).
    pub payload_sha256: String,
    /// SPDX-like licence of the data, e.g. `CC-BY-SA-3.0`.
    pub licence: String,
    /// Who to credit, in words.
    pub attribution: String,
    /// Where the data came from (registry package and path inside it).
    pub source: String,
    /// Lower-case hex SHA-256 of the downloaded source file.
    pub source_sha256: String,
    /// Present when the set is a documented subsample of a larger one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsample: Option<Subsample>,
    /// Free-form remarks (e.g. how colour images were flattened).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
}

impl Header {
    /// Bytes per image: `height * width * channels`.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// Bytes of the payload the header announces, or `None` on overflow.
    pub fn payload_len(&self) -> Option<usize> {
        let px = self.n.checked_mul(self.height)?.checked_mul(self.width)?.checked_mul(self.channels)?;
        px.checked_add(if self.labels { self.n } else { 0 })
    }
}

/// What the caller says about a dataset when packing it; the shape, counts
/// and checksum are filled in by [`PackedDataset::new`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetInfo {
    pub name: String,
    pub class_names: Vec<String>,
    pub licence: String,
    pub attribution: String,
    pub source: String,
    pub source_sha256: String,
    pub subsample: Option<Subsample>,
    pub notes: String,
}

/// How to map u8 pixels to floats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelRange {
    /// `p / 255` in `[0, 1]`.
    ZeroOne,
    /// `p / 127.5 - 1` in `[-1, 1]`.
    MinusOneOne,
}

impl PixelRange {
    #[inline]
    pub fn map(self, p: u8) -> f32 {
        match self {
            PixelRange::ZeroOne => p as f32 / 255.0,
            PixelRange::MinusOneOne => p as f32 / 127.5 - 1.0,
        }
    }
}

/// A dataset in memory: header, `[n, h, w, c]` u8 pixels, optional u8 labels.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedDataset {
    header: Header,
    pixels: Vec<u8>,
    labels: Option<Vec<u8>>,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    to_hex(&h.finalize())
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

fn payload_sha256(pixels: &[u8], labels: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    h.update(pixels);
    if let Some(l) = labels {
        h.update(l);
    }
    to_hex(&h.finalize())
}

/// Decompress `bytes` if they are gzip (magic `1f 8b`), else return them as
/// they are. Errors distinguish a truncated stream from a corrupt one.
pub fn maybe_gunzip(bytes: &[u8], limit: usize) -> Result<std::borrow::Cow<'_, [u8]>, DataError> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        Ok(std::borrow::Cow::Owned(gunzip(bytes, limit)?))
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// Decompress a gzip stream (all members), at most `limit` bytes of output.
pub fn gunzip(bytes: &[u8], limit: usize) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    let dec = flate2::read::MultiGzDecoder::new(bytes);
    let mut limited = dec.take(limit as u64 + 1);
    match limited.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(DataError::TruncatedGzip(e.to_string())),
        Err(e) => return Err(DataError::Gzip(e.to_string())),
    }
    if out.len() > limit {
        return Err(DataError::TooLarge { limit });
    }
    Ok(out)
}

impl PackedDataset {
    /// Build a dataset from pixels `[n, height, width, channels]` (row-major,
    /// u8) and optional labels (one per image, each `< class_names.len()` when
    /// class names are given). Computes the payload checksum.
    pub fn new(info: DatasetInfo, height: usize, width: usize, channels: usize, pixels: Vec<u8>, labels: Option<Vec<u8>>) -> Result<PackedDataset, DataError> {
        let image_len = height * width * channels;
        if image_len == 0 {
            return Err(DataError::Invalid(format!("empty image shape {height}x{width}x{channels}")));
        }
        if !pixels.len().is_multiple_of(image_len) {
            return Err(DataError::Invalid(format!("{} pixel bytes is not a whole number of {height}x{width}x{channels} images", pixels.len())));
        }
        let n = pixels.len() / image_len;
        if let Some(l) = &labels {
            if l.len() != n {
                return Err(DataError::Invalid(format!("{} labels for {n} images", l.len())));
            }
            if !info.class_names.is_empty() {
                if let Some(&bad) = l.iter().find(|&&x| x as usize >= info.class_names.len()) {
                    return Err(DataError::Invalid(format!("label {bad} out of range for {} classes", info.class_names.len())));
                }
            }
        }
        let header = Header {
            name: info.name,
            n,
            height,
            width,
            channels,
            class_names: info.class_names,
            labels: labels.is_some(),
            payload_sha256: payload_sha256(&pixels, labels.as_deref()),
            licence: info.licence,
            attribution: info.attribution,
            source: info.source,
            source_sha256: info.source_sha256,
            subsample: info.subsample,
            notes: info.notes,
        };
        Ok(PackedDataset { header, pixels, labels })
    }

    /// The uncompressed packed bytes: magic, version, header length, header
    /// JSON, payload.
    pub fn to_raw_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).expect("header serializes");
        let mut out = Vec::with_capacity(10 + header.len() + self.pixels.len() + self.header.n);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.pixels);
        if let Some(l) = &self.labels {
            out.extend_from_slice(l);
        }
        out
    }

    /// The packed file: [`to_raw_bytes`](Self::to_raw_bytes) gzip-compressed
    /// at `level` (0–9; 9 is what the build step uses). Deterministic (gzip
    /// mtime 0).
    pub fn to_bytes(&self, level: u32) -> Vec<u8> {
        let raw = self.to_raw_bytes();
        let mut enc = GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::new(level.min(9)));
        enc.write_all(&raw).expect("writing to a Vec");
        enc.finish().expect("writing to a Vec")
    }

    /// Read a packed dataset from the bytes of a `.mgds` file (gzip, or
    /// already decompressed, e.g. by a browser honouring
    /// `Content-Encoding: gzip`). Validates magic, version, lengths and the
    /// payload checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<PackedDataset, DataError> {
        let raw = maybe_gunzip(bytes, MAX_DECOMPRESSED)?;
        Self::from_raw_bytes(&raw)
    }

    /// [`from_bytes`](Self::from_bytes), with errors naming `file`.
    pub fn from_bytes_named(bytes: &[u8], file: &str) -> Result<PackedDataset, DataError> {
        Self::from_bytes(bytes).map_err(|e| e.in_file(file))
    }

    /// Read a packed dataset from a file; errors name the file.
    pub fn read_file(path: impl AsRef<std::path::Path>) -> Result<PackedDataset, DataError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        Self::from_bytes_named(&bytes, &path.display().to_string())
    }

    /// Only the header, without checking the payload (cheap listing).
    pub fn read_header(bytes: &[u8]) -> Result<Header, DataError> {
        // Decompress only as much as the header needs.
        let mut prefix = Vec::new();
        if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
            let mut dec = GzDecoder::new(bytes).take((10 + MAX_HEADER) as u64);
            match dec.read_to_end(&mut prefix) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(DataError::TruncatedGzip(e.to_string())),
                Err(e) => return Err(DataError::Gzip(e.to_string())),
            }
        } else {
            prefix.extend_from_slice(&bytes[..bytes.len().min(10 + MAX_HEADER)]);
        }
        let (header, _) = parse_prefix(&prefix)?;
        Ok(header)
    }

    /// Parse the uncompressed packed bytes.
    pub fn from_raw_bytes(raw: &[u8]) -> Result<PackedDataset, DataError> {
        let mut v = Verifier::new(raw.to_vec())?;
        v.step(usize::MAX);
        v.finish()
    }

    pub fn header(&self) -> &Header {
        &self.header
    }
    pub fn name(&self) -> &str {
        &self.header.name
    }
    /// Number of images.
    pub fn len(&self) -> usize {
        self.header.n
    }
    pub fn is_empty(&self) -> bool {
        self.header.n == 0
    }
    pub fn height(&self) -> usize {
        self.header.height
    }
    pub fn width(&self) -> usize {
        self.header.width
    }
    pub fn channels(&self) -> usize {
        self.header.channels
    }
    /// `[n, h, w, c]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.header.n, self.header.height, self.header.width, self.header.channels]
    }
    /// Bytes (values) per image: `h * w * c`.
    pub fn image_len(&self) -> usize {
        self.header.image_len()
    }
    pub fn class_names(&self) -> &[String] {
        &self.header.class_names
    }
    /// All pixels, `[n, h, w, c]` row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
    /// All labels, if the set has them.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }
    /// Label of image `i`.
    pub fn label(&self, i: usize) -> Option<u8> {
        self.labels.as_ref().and_then(|l| l.get(i).copied())
    }
    /// Class name of image `i`.
    pub fn class_name(&self, i: usize) -> Option<&str> {
        self.label(i).and_then(|l| self.header.class_names.get(l as usize)).map(|s| s.as_str())
    }
    /// Image `i` as u8, `[h, w, c]`. Panics if `i >= len()`; see [`get_u8`](Self::get_u8).
    pub fn image_u8(&self, i: usize) -> &[u8] {
        let l = self.image_len();
        &self.pixels[i * l..(i + 1) * l]
    }
    /// Image `i` as u8, or `None` when out of range.
    pub fn get_u8(&self, i: usize) -> Option<&[u8]> {
        (i < self.len()).then(|| self.image_u8(i))
    }
    /// Image `i` as f32 in `range`, `[h, w, c]`. Panics if `i >= len()`.
    pub fn image_f32(&self, i: usize, range: PixelRange) -> Vec<f32> {
        self.image_u8(i).iter().map(|&p| range.map(p)).collect()
    }
    /// The images at `indices`, concatenated as f32 in `range`
    /// (`[indices.len(), h, w, c]`). Errors on an index out of range.
    pub fn images_f32(&self, indices: &[usize], range: PixelRange) -> Result<Vec<f32>, DataError> {
        let mut out = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            let img = self.get_u8(i).ok_or_else(|| DataError::Invalid(format!("image index {i} out of range for {} images", self.len())))?;
            out.extend(img.iter().map(|&p| range.map(p)));
        }
        Ok(out)
    }
    /// The images at `indices`, concatenated as u8 (`[indices.len(), h, w, c]`).
    pub fn images_u8(&self, indices: &[usize]) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::with_capacity(indices.len() * self.image_len());
        for &i in indices {
            let img = self.get_u8(i).ok_or_else(|| DataError::Invalid(format!("image index {i} out of range for {} images", self.len())))?;
            out.extend_from_slice(img);
        }
        Ok(out)
    }
    /// All images as f32 in `range`, `[n, h, w, c]`.
    pub fn to_f32(&self, range: PixelRange) -> Vec<f32> {
        self.pixels.iter().map(|&p| range.map(p)).collect()
    }
    /// A new dataset of the images at `indices` (in that order), with the same
    /// metadata and a recomputed checksum; `subsample` documents the choice.
    pub fn select(&self, indices: &[usize], name: &str, subsample: Option<Subsample>) -> Result<PackedDataset, DataError> {
        let pixels = self.images_u8(indices)?;
        let labels = self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect());
        let h = &self.header;
        PackedDataset::new(
            DatasetInfo {
                name: name.to_string(),
                class_names: h.class_names.clone(),
                licence: h.licence.clone(),
                attribution: h.attribution.clone(),
                source: h.source.clone(),
                source_sha256: h.source_sha256.clone(),
                subsample,
                notes: h.notes.clone(),
            },
            h.height,
            h.width,
            h.channels,
            pixels,
            labels,
        )
    }
    /// Give back the parts: header, pixels, labels.
    pub fn into_parts(self) -> (Header, Vec<u8>, Option<Vec<u8>>) {
        (self.header, self.pixels, self.labels)
    }
}

/// Parse magic, version, header; return the header and the payload offset.
fn parse_prefix(raw: &[u8]) -> Result<(Header, usize), DataError> {
    if raw.len() < 4 {
        if raw.is_empty() || MAGIC.starts_with(raw) {
            return Err(DataError::Truncated { what: "the magic bytes".into(), expected: 4, got: raw.len() });
        }
        return Err(DataError::BadMagic { found: String::from_utf8_lossy(raw).into_owned() });
    }
    if raw[..4] != MAGIC {
        return Err(DataError::BadMagic { found: String::from_utf8_lossy(&raw[..4]).escape_debug().to_string() });
    }
    if raw.len() < 6 {
        return Err(DataError::Truncated { what: "the format version".into(), expected: 6, got: raw.len() });
    }
    let version = u16::from_le_bytes([raw[4], raw[5]]);
    if version != FORMAT_VERSION {
        return Err(DataError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    if raw.len() < 10 {
        return Err(DataError::Truncated { what: "the header length".into(), expected: 10, got: raw.len() });
    }
    let hlen = u32::from_le_bytes([raw[6], raw[7], raw[8], raw[9]]) as usize;
    if hlen > MAX_HEADER {
        return Err(DataError::Header(format!("header length {hlen} exceeds the limit of {MAX_HEADER} bytes")));
    }
    if raw.len() < 10 + hlen {
        return Err(DataError::Truncated { what: "the JSON header".into(), expected: 10 + hlen, got: raw.len() });
    }
    let header: Header = serde_json::from_slice(&raw[10..10 + hlen]).map_err(|e| DataError::Header(format!("header JSON: {e}")))?;
    if header.channels == 0 || header.height == 0 || header.width == 0 {
        return Err(DataError::Header(format!("empty image shape {}x{}x{}", header.height, header.width, header.channels)));
    }
    if header.payload_sha256.len() != 64 {
        return Err(DataError::Header("payload_sha256 is not a 64-digit hex SHA-256".into()));
    }
    Ok((header, 10 + hlen))
}

impl PackedDataset {
    /// The images at `indices` as `.npy` bytes (u8), shape `[K, H, W]` for
    /// grey sets and `[K, H, W, C]` for colour ones.
    pub fn to_npy(&self, indices: &[usize]) -> Result<Vec<u8>, DataError> {
        let px = self.images_u8(indices)?;
        let (h, w, c) = (self.height(), self.width(), self.channels());
        if c == 1 {
            crate::npy::encode_u8(&[indices.len(), h, w], &px)
        } else {
            crate::npy::encode_u8(&[indices.len(), h, w, c], &px)
        }
    }

    /// The labels at `indices` as `.npy` bytes (u8, shape `[K]`).
    pub fn labels_npy(&self, indices: &[usize]) -> Result<Vec<u8>, DataError> {
        let labels = self.labels().ok_or_else(|| DataError::Invalid(format!("{} has no labels", self.name())))?;
        let l: Vec<u8> = indices
            .iter()
            .map(|&i| labels.get(i).copied().ok_or_else(|| DataError::Invalid(format!("image index {i} out of range for {} images", self.len()))))
            .collect::<Result<_, _>>()?;
        crate::npy::encode_u8(&[l.len()], &l)
    }
}

/// The last stage of reading a packed file: the header is parsed and the sizes are
/// checked; [`step`](Verifier::step) hashes the payload a slice at a time (a page yields
/// between slices instead of freezing on ~50 MB of SHA-256), and [`finish`](Verifier::finish)
/// compares the checksum and hands out the dataset without copying the pixels.
pub struct Verifier {
    header: Header,
    raw: Vec<u8>,
    offset: usize,
    payload_len: usize,
    hashed: usize,
    hasher: Sha256,
}

impl Verifier {
    /// Parses the header of the uncompressed bytes and checks the payload's length.
    pub fn new(raw: Vec<u8>) -> Result<Verifier, DataError> {
        let (header, offset) = parse_prefix(&raw)?;
        let payload_len = header.payload_len().ok_or_else(|| DataError::Header("shape overflows".into()))?;
        let rest = raw.len() - offset;
        if rest < payload_len {
            return Err(DataError::Truncated {
                what: format!(
                    "the payload ({} images of {}x{}x{}{})",
                    header.n,
                    header.height,
                    header.width,
                    header.channels,
                    if header.labels { " plus labels" } else { "" }
                ),
                expected: payload_len,
                got: rest,
            });
        }
        if rest > payload_len {
            return Err(DataError::TrailingBytes { what: "payload".into(), count: rest - payload_len });
        }
        Ok(Verifier { header, raw, offset, payload_len, hashed: 0, hasher: Sha256::new() })
    }

    /// Hashes up to `bytes` more of the payload; `true` once all of it is hashed.
    pub fn step(&mut self, bytes: usize) -> bool {
        let end = self.payload_len.min(self.hashed.saturating_add(bytes));
        self.hasher.update(&self.raw[self.offset + self.hashed..self.offset + end]);
        self.hashed = end;
        self.hashed >= self.payload_len
    }

    /// Payload bytes hashed so far and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.hashed, self.payload_len)
    }

    /// Hashes what is left, checks the checksum and the labels, and returns the dataset.
    pub fn finish(mut self) -> Result<PackedDataset, DataError> {
        self.step(usize::MAX);
        let header = self.header;
        let actual = to_hex(&self.hasher.finalize());
        if actual != header.payload_sha256.to_ascii_lowercase() {
            return Err(DataError::Checksum { expected: header.payload_sha256.clone(), actual });
        }
        let mut pixels = self.raw;
        pixels.drain(..self.offset);
        let px_len = header.n * header.image_len();
        let labels = header.labels.then(|| pixels.split_off(px_len));
        pixels.shrink_to_fit();
        if let (Some(l), false) = (&labels, header.class_names.is_empty()) {
            if let Some(&bad) = l.iter().find(|&&x| x as usize >= header.class_names.len()) {
                return Err(DataError::Header(format!("label {bad} out of range for {} class names", header.class_names.len())));
            }
        }
        Ok(PackedDataset { header, pixels, labels })
    }
}

/// Incremental reading of a packed file as its bytes arrive (e.g. from a
/// `fetch` body stream): [`push`](Self::push) decompresses each chunk, so the
/// work is spread over the download and the page can yield between chunks;
/// [`finish`](Self::finish) validates and returns the dataset, with the same
/// checks and errors as [`PackedDataset::from_bytes`].
pub struct PackedStream {
    state: StreamState,
    received: usize,
}

enum StreamState {
    Start(Vec<u8>),
    /// The decoder, and the compressed bytes (kept to classify an error at the end).
    Gzip(Box<flate2::write::MultiGzDecoder<LimitedVec>>, Vec<u8>),
    Raw(Vec<u8>),
    Failed,
}

struct LimitedVec(Vec<u8>);

impl Write for LimitedVec {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_DECOMPRESSED {
            return Err(std::io::Error::other("too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Default for PackedStream {
    fn default() -> Self {
        Self::new()
    }
}

impl PackedStream {
    pub fn new() -> PackedStream {
        PackedStream { state: StreamState::Start(Vec::new()), received: 0 }
    }

    /// Compressed bytes received so far (for a progress bar).
    pub fn received(&self) -> usize {
        self.received
    }

    /// Decompressed bytes produced so far.
    pub fn decoded(&self) -> usize {
        match &self.state {
            StreamState::Gzip(d, _) => d.get_ref().0.len(),
            StreamState::Raw(v) | StreamState::Start(v) => v.len(),
            StreamState::Failed => 0,
        }
    }

    /// Feed the next chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), DataError> {
        self.received += chunk.len();
        if let StreamState::Start(buf) = &mut self.state {
            buf.extend_from_slice(chunk);
            if buf.len() < 2 {
                return Ok(());
            }
            let buf = std::mem::take(buf);
            if buf[0] == 0x1f && buf[1] == 0x8b {
                let decoder = flate2::write::MultiGzDecoder::new(LimitedVec(Vec::new()));
                self.state = StreamState::Gzip(Box::new(decoder), Vec::with_capacity(buf.len()));
                return self.push_inner(&buf);
            }
            self.state = StreamState::Raw(buf);
            return Ok(());
        }
        self.push_inner(chunk)
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Result<(), DataError> {
        match &mut self.state {
            StreamState::Gzip(d, compressed) => {
                compressed.extend_from_slice(chunk);
                if let Err(e) = d.write_all(chunk) {
                    self.state = StreamState::Failed;
                    return Err(if e.to_string() == "too large" { DataError::TooLarge { limit: MAX_DECOMPRESSED } } else { DataError::Gzip(e.to_string()) });
                }
                Ok(())
            }
            StreamState::Raw(v) => {
                if v.len() + chunk.len() > MAX_DECOMPRESSED {
                    self.state = StreamState::Failed;
                    return Err(DataError::TooLarge { limit: MAX_DECOMPRESSED });
                }
                v.extend_from_slice(chunk);
                Ok(())
            }
            StreamState::Start(_) => unreachable!("handled in push"),
            StreamState::Failed => Err(DataError::Invalid("the stream already failed".into())),
        }
    }

    /// All bytes are in: validate and return the dataset.
    pub fn finish(self) -> Result<PackedDataset, DataError> {
        self.into_verifier()?.finish()
    }

    /// All bytes are in: parse the header and check the sizes; the returned
    /// [`Verifier`] hashes the payload in steps.
    pub fn into_verifier(self) -> Result<Verifier, DataError> {
        match self.state {
            StreamState::Start(buf) | StreamState::Raw(buf) => Verifier::new(buf),
            StreamState::Gzip(d, compressed) => match d.finish() {
                Ok(out) => Verifier::new(out.0),
                // Let the reading decoder say precisely what is wrong
                // (a cut-short stream reads as truncated there).
                Err(e) => Err(gunzip(&compressed, MAX_DECOMPRESSED).err().unwrap_or(DataError::Gzip(e.to_string()))),
            },
            StreamState::Failed => Err(DataError::Invalid("the stream already failed".into())),
        }
    }
}
