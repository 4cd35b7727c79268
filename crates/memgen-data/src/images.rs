//! Bring your own data (feature `images`): PNG / JPEG files, zip archives of
//! them, folders, or a `.npy` array, turned into one u8 array of
//! `size × size` images, grey (`[n, size, size]`) or RGB
//! (`[n, size, size, 3]`), the layout of the packed sets and of
//! `memgen export`.
//!
//! Shared by `memgen import` and (opt-in, pure Rust) the web app: the app
//! pushes each uploaded file's bytes into an [`Importer`]; the CLI calls
//! [`import_path`].
//!
//! ## Conversion
//!
//! * Formats are recognised by their content (magic bytes), not the file
//!   name: PNG, JPEG, zip (stored or deflate entries), `.npy`. Anything else
//!   is an error naming the file. Inside a folder or zip, hidden entries
//!   (a name component starting with `.`) and `__MACOSX/` are skipped; every
//!   other file must be a PNG or JPEG. Entries are taken in sorted path order,
//!   so the output order is reproducible.
//! * Transparency is composited on white (as the emoji set); grey is the
//!   Rec. 709 luma of that (`image`'s `to_luma8`).
//! * Every image is resized to exactly `size × size` (aspect ratio not kept)
//!   with a triangle (bilinear) filter widened to the scale factor when
//!   shrinking, i.e. an area-like average.
//! * `.npy` input: shape `[n, h, w]` or `[n, h, w, c]` with `c` ∈ {1, 3, 4};
//!   uint8 as is; float32 / float64 (finite) in `[0, 1]` are scaled by 255,
//!   in `[-1, 1]` mapped by `(x + 1)·127.5`, otherwise rounded and clamped to
//!   0–255.
//!
//! ## Limits ([`ImportLimits`])
//!
//! At most 100,000 images, each file at most 20 MB, all input at most 2 GB
//! (zip entries count with their uncompressed size), decoded images at most
//! 16,384 pixels a side and 256 MiB of memory. Exceeding one is a one-line
//! error naming the file.

use std::io::{Read, Seek};

use image::{DynamicImage, ImageFormat, RgbaImage};

use crate::DataError;

/// Size limits of an import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportLimits {
    /// Most images in all (default 100,000).
    pub max_images: usize,
    /// Most bytes of one file or zip entry, uncompressed (default 20 MB).
    pub max_file_bytes: u64,
    /// Most bytes of all input together (default 2 GB).
    pub max_total_bytes: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits { max_images: 100_000, max_file_bytes: 20_000_000, max_total_bytes: 2_000_000_000 }
    }
}

/// Largest accepted output side (`size`).
pub const MAX_SIZE: u32 = 1024;
/// Largest decoded image side.
pub const MAX_DECODED_SIDE: u32 = 16_384;
/// Most memory one image's decoding may allocate.
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// What to turn the input into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Output side: images become `size × size` (1 to [`MAX_SIZE`]).
    pub size: u32,
    /// RGB (`true`) or grey (`false`).
    pub colour: bool,
    pub limits: ImportLimits,
}

impl ImportOptions {
    pub fn new(size: u32, colour: bool) -> ImportOptions {
        ImportOptions { size, colour, limits: ImportLimits::default() }
    }
    fn channels(&self) -> usize {
        if self.colour {
            3
        } else {
            1
        }
    }
}

/// The result: `n` images of `size × size × channels` u8, C order.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportedImages {
    pub size: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    pub pixels: Vec<u8>,
    /// Where each image came from (`file`, `archive.zip/entry`, `a.npy[3]`).
    pub names: Vec<String>,
    /// Archive entries left out, each with why (`archive.zip/notes.txt: not a PNG or JPEG
    /// image`, `archive.zip/../x.png: a path outside the archive`); hidden files and macOS
    /// metadata are left out silently.
    pub skipped: Vec<String>,
}

impl ImportedImages {
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// `[n, size, size]` (grey) or `[n, size, size, 3]`.
    pub fn shape(&self) -> Vec<usize> {
        let mut s = vec![self.len(), self.size, self.size];
        if self.channels > 1 {
            s.push(self.channels);
        }
        s
    }
    /// The images as `.npy` bytes (uint8, [`shape`](Self::shape)).
    pub fn to_npy(&self) -> Result<Vec<u8>, DataError> {
        crate::npy::encode_u8(&self.shape(), &self.pixels)
    }
}

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Png,
    Jpeg,
    Zip,
    Npy,
}

/// Recognise PNG, JPEG, zip and `.npy` by their magic bytes.
pub fn sniff(bytes: &[u8]) -> Option<InputKind> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(InputKind::Png)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(InputKind::Jpeg)
    } else if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        Some(InputKind::Zip)
    } else if bytes.starts_with(b"\x93NUMPY") {
        Some(InputKind::Npy)
    } else {
        None
    }
}

fn one_line(s: impl std::fmt::Display) -> String {
    s.to_string().replace(['\n', '\r'], " ")
}

fn invalid(name: &str, msg: impl Into<String>) -> DataError {
    DataError::Invalid(msg.into()).in_file(name)
}

/// Decode one PNG or JPEG and convert it to `size × size` grey or RGB bytes.
pub fn decode_image(name: &str, bytes: &[u8], size: u32, colour: bool) -> Result<Vec<u8>, DataError> {
    let format = match sniff(bytes) {
        Some(InputKind::Png) => ImageFormat::Png,
        Some(InputKind::Jpeg) => ImageFormat::Jpeg,
        _ => return Err(invalid(name, "not a PNG or JPEG image")),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| {
        let kind = if format == ImageFormat::Png { "PNG" } else { "JPEG" };
        invalid(name, format!("unreadable or corrupt {kind} image: {}", one_line(e)))
    })?;
    Ok(convert(img.to_rgba8(), size, colour))
}

/// Composite on white, grey if asked, resize to `size × size`.
fn convert(rgba: RgbaImage, size: u32, colour: bool) -> Vec<u8> {
    let (w, h) = rgba.dimensions();
    let mut rgb = image::RgbImage::new(w, h);
    for (d, s) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = s.0[3] as u32;
        for c in 0..3 {
            // src·a + 255·(1 − a), rounded
            d.0[c] = ((s.0[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
        }
    }
    let filter = image::imageops::FilterType::Triangle;
    if colour {
        if (w, h) == (size, size) {
            return rgb.into_raw();
        }
        image::imageops::resize(&rgb, size, size, filter).into_raw()
    } else {
        let grey = DynamicImage::ImageRgb8(rgb).to_luma8();
        if (w, h) == (size, size) {
            return grey.into_raw();
        }
        image::imageops::resize(&grey, size, size, filter).into_raw()
    }
}

/// A zip archive being imported a few entries at a time ([`Importer::begin_zip`]).
pub struct ZipJob<R> {
    name: String,
    zip: zip::ZipArchive<R>,
    entries: Vec<(String, usize)>,
    next: usize,
}

impl<R> ZipJob<R> {
    /// Entries decoded so far and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.next, self.entries.len())
    }
}

/// Collects images from any number of inputs (the app: one call per uploaded
/// file), enforcing the [`ImportLimits`] across all of them.
pub struct Importer {
    opts: ImportOptions,
    out: ImportedImages,
    total_bytes: u64,
}

impl Importer {
    pub fn new(opts: ImportOptions) -> Result<Importer, DataError> {
        if opts.size == 0 || opts.size > MAX_SIZE {
            return Err(DataError::Invalid(format!("size {} is out of range (1 to {MAX_SIZE})", opts.size)));
        }
        Ok(Importer {
            out: ImportedImages { size: opts.size as usize, channels: opts.channels(), pixels: Vec::new(), names: Vec::new(), skipped: Vec::new() },
            opts,
            total_bytes: 0,
        })
    }

    /// Images so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Whether a file of `n` bytes still fits (per file and in all).
    fn precheck(&self, name: &str, n: u64) -> Result<(), DataError> {
        if n > self.opts.limits.max_file_bytes {
            return Err(invalid(name, format!("file too large: {n} bytes (limit {} bytes per file)", self.opts.limits.max_file_bytes)));
        }
        if self.total_bytes + n > self.opts.limits.max_total_bytes {
            return Err(invalid(name, format!("input too large: more than {} bytes in all", self.opts.limits.max_total_bytes)));
        }
        Ok(())
    }

    fn count_bytes(&mut self, name: &str, n: u64) -> Result<(), DataError> {
        self.precheck(name, n)?;
        self.total_bytes += n;
        Ok(())
    }

    fn check_count(&self, name: &str, more: usize) -> Result<(), DataError> {
        if self.out.len() + more > self.opts.limits.max_images {
            return Err(invalid(name, format!("too many images: more than {}", self.opts.limits.max_images)));
        }
        Ok(())
    }

    fn add(&mut self, name: String, pixels: Vec<u8>) {
        self.out.pixels.extend_from_slice(&pixels);
        self.out.names.push(name);
    }

    /// One input file's bytes: a PNG or JPEG image, a zip of them, or a
    /// `.npy` array (recognised by content).
    pub fn push(&mut self, name: &str, bytes: &[u8]) -> Result<(), DataError> {
        match sniff(bytes) {
            Some(InputKind::Png | InputKind::Jpeg) => self.push_image(name, bytes),
            Some(InputKind::Npy) => self.push_npy(name, bytes),
            Some(InputKind::Zip) => self.push_zip(name, std::io::Cursor::new(bytes), bytes.len() as u64),
            None => Err(invalid(name, "not a PNG, JPEG, zip or .npy file")),
        }
    }

    /// One PNG or JPEG.
    pub fn push_image(&mut self, name: &str, bytes: &[u8]) -> Result<(), DataError> {
        self.count_bytes(name, bytes.len() as u64)?;
        self.check_count(name, 1)?;
        let px = decode_image(name, bytes, self.opts.size, self.opts.colour)?;
        self.add(name.to_string(), px);
        Ok(())
    }

    /// A zip archive of PNG / JPEG files (stored or deflate). `archive_bytes`
    /// is the archive's size (it must not exceed the total limit).
    pub fn push_zip<R: Read + Seek>(&mut self, name: &str, reader: R, archive_bytes: u64) -> Result<(), DataError> {
        let mut job = self.begin_zip(name, reader, archive_bytes)?;
        while !self.zip_step(&mut job, usize::MAX)? {}
        Ok(())
    }

    /// Opens a zip archive and lists its images, decoding none yet: the app then calls
    /// [`zip_step`](Importer::zip_step) a few entries at a time and lets the page breathe
    /// in between. The image count limit is checked here, before any decoding.
    pub fn begin_zip<R: Read + Seek>(&mut self, name: &str, reader: R, archive_bytes: u64) -> Result<ZipJob<R>, DataError> {
        if archive_bytes > self.opts.limits.max_total_bytes {
            return Err(invalid(name, format!("input too large: {archive_bytes} bytes (limit {} bytes in all)", self.opts.limits.max_total_bytes)));
        }
        let mut zip = zip::ZipArchive::new(reader).map_err(|e| invalid(name, format!("unreadable or corrupt zip archive: {}", one_line(e))))?;
        let mut entries: Vec<(String, usize)> = Vec::new();
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i).map_err(|e| invalid(name, format!("corrupt zip archive: {}", one_line(e))))?;
            // Before the hidden-file rule: `..` starts with a dot, but it is no hidden file.
            if unsafe_path(f.name()) {
                let shown = memgen_core::text::neutralise(f.name());
                self.out.skipped.push(format!("{name}/{shown}: a path outside the archive"));
                continue;
            }
            if f.is_dir() || skipped(f.name()) {
                continue;
            }
            entries.push((f.name().to_string(), i));
        }
        entries.sort();
        self.check_count(name, entries.len())?;
        Ok(ZipJob { name: name.to_string(), zip, entries, next: 0 })
    }

    /// Decodes up to `max` more entries of `job`; `Ok(true)` once every entry is in.
    pub fn zip_step<R: Read + Seek>(&mut self, job: &mut ZipJob<R>, max: usize) -> Result<bool, DataError> {
        let end = job.entries.len().min(job.next.saturating_add(max));
        while job.next < end {
            let (entry, i) = job.entries[job.next].clone();
            job.next += 1;
            let full = format!("{}/{entry}", job.name);
            let f = job.zip.by_index(i).map_err(|e| invalid(&full, format!("unreadable zip entry: {}", one_line(e))))?;
            self.count_bytes(&full, f.size())?;
            let mut buf = Vec::with_capacity(f.size().min(self.opts.limits.max_file_bytes) as usize);
            // Never trust the declared size: read at most one byte past the limit.
            f.take(self.opts.limits.max_file_bytes + 1).read_to_end(&mut buf).map_err(|e| invalid(&full, format!("corrupt zip entry: {}", one_line(e))))?;
            if buf.len() as u64 > self.opts.limits.max_file_bytes {
                return Err(invalid(&full, format!("file too large: more than {} bytes", self.opts.limits.max_file_bytes)));
            }
            match sniff(&buf) {
                Some(InputKind::Png | InputKind::Jpeg) => {}
                _ => {
                    self.out.skipped.push(format!("{}: not a PNG or JPEG image", memgen_core::text::neutralise(&full)));
                    continue;
                }
            }
            let px = decode_image(&full, &buf, self.opts.size, self.opts.colour)?;
            self.add(full, px);
        }
        Ok(job.next >= job.entries.len())
    }

    /// A `.npy` array of images (see the module docs for shapes and dtypes).
    pub fn push_npy(&mut self, name: &str, bytes: &[u8]) -> Result<(), DataError> {
        if bytes.len() as u64 > self.opts.limits.max_total_bytes {
            return Err(invalid(name, format!("input too large: {} bytes (limit {} bytes in all)", bytes.len(), self.opts.limits.max_total_bytes)));
        }
        self.total_bytes += bytes.len() as u64;
        if self.total_bytes > self.opts.limits.max_total_bytes {
            return Err(invalid(name, "input too large in all"));
        }
        let arr = crate::npy::decode(bytes).map_err(|e| e.in_file(name))?;
        let (n, h, w, c) = match arr.shape[..] {
            [n, h, w] => (n, h, w, 1),
            [n, h, w, c] if matches!(c, 1 | 3 | 4) => (n, h, w, c),
            _ => return Err(invalid(name, format!("expected shape [n, h, w] or [n, h, w, c] with c = 1, 3 or 4, found {:?}", arr.shape))),
        };
        if n == 0 || h == 0 || w == 0 {
            return Err(invalid(name, format!("empty array of shape {:?}", arr.shape)));
        }
        if h > MAX_DECODED_SIDE as usize || w > MAX_DECODED_SIDE as usize {
            return Err(invalid(name, format!("images of {h}x{w} are too large")));
        }
        self.check_count(name, n)?;
        let values: Vec<u8> = match arr.data {
            crate::npy::NpyData::U8(v) => v,
            crate::npy::NpyData::F32(v) => floats_to_u8(name, v.iter().map(|&x| x as f64))?,
            crate::npy::NpyData::F64(v) => floats_to_u8(name, v.iter().copied())?,
        };
        let len = h * w * c;
        for (k, img) in values.chunks_exact(len).enumerate() {
            let mut rgba = RgbaImage::new(w as u32, h as u32);
            for (p, px) in rgba.pixels_mut().zip(img.chunks_exact(c)) {
                p.0 = match c {
                    1 => [px[0], px[0], px[0], 255],
                    3 => [px[0], px[1], px[2], 255],
                    _ => [px[0], px[1], px[2], px[3]],
                };
            }
            let out = convert(rgba, self.opts.size, self.opts.colour);
            self.add(format!("{name}[{k}]"), out);
        }
        Ok(())
    }

    /// The images; an error when there are none.
    pub fn finish(self, what: &str) -> Result<ImportedImages, DataError> {
        if self.out.is_empty() {
            let why = match self.out.skipped.len() {
                0 => String::new(),
                n => format!(" ({n} entries skipped, the first: {})", self.out.skipped[0]),
            };
            return Err(invalid(what, format!("no PNG or JPEG images found{why}")));
        }
        Ok(self.out)
    }
}

fn floats_to_u8(name: &str, v: impl Iterator<Item = f64> + Clone) -> Result<Vec<u8>, DataError> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for x in v.clone() {
        if !x.is_finite() {
            return Err(invalid(name, "the array holds NaN or infinite values"));
        }
        lo = lo.min(x);
        hi = hi.max(x);
    }
    let map: Box<dyn Fn(f64) -> f64> = if lo >= 0.0 && hi <= 1.0 {
        Box::new(|x| x * 255.0)
    } else if lo >= -1.0 && hi <= 1.0 {
        Box::new(|x| (x + 1.0) * 127.5)
    } else {
        Box::new(|x| x)
    };
    Ok(v.map(|x| map(x).round().clamp(0.0, 255.0) as u8).collect())
}

/// An archive entry whose path would land outside the folder it is unpacked into: absolute,
/// with a drive letter, or climbing with `..` (the zip-slip paths). The lab never writes entries
/// to disk, but such an entry is not what a user meant to upload, so it is skipped and named.
fn unsafe_path(path: &str) -> bool {
    path.starts_with(['/', '\\']) || path.contains(':') || path.split(['/', '\\']).any(|c| c == "..")
}

/// Hidden files and macOS archive metadata, skipped in folders and zips.
fn skipped(path: &str) -> bool {
    path.split(['/', '\\']).any(|c| c.starts_with('.') || c == "__MACOSX")
}

/// Import a folder (recursively), a zip archive, a `.npy` array or a single
/// PNG / JPEG file (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn import_path(path: &std::path::Path, opts: ImportOptions) -> Result<ImportedImages, DataError> {
    let mut imp = Importer::new(opts)?;
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, path, &mut files)?;
        files.sort();
        imp.check_count(&shown, files.len())?;
        for (_, full) in files {
            let name = full.display().to_string();
            let len = std::fs::metadata(&full).map_err(|e| DataError::io(&full, e))?.len();
            imp.precheck(&name, len)?;
            let bytes = std::fs::read(&full).map_err(|e| DataError::io(&full, e))?;
            match sniff(&bytes) {
                Some(InputKind::Png | InputKind::Jpeg) => imp.push_image(&name, &bytes)?,
                _ => return Err(invalid(&name, "not a PNG or JPEG image")),
            }
        }
        return imp.finish(&shown);
    }
    let mut head = [0u8; 8];
    let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let got = read_head(&mut f, &mut head).map_err(|e| DataError::io(path, e))?;
    match sniff(&head[..got]) {
        Some(InputKind::Zip) => {
            f.rewind().map_err(|e| DataError::io(path, e))?;
            imp.push_zip(&shown, std::io::BufReader::new(f), meta.len())?;
        }
        Some(InputKind::Npy) => {
            if meta.len() > opts.limits.max_total_bytes {
                return Err(invalid(&shown, format!("input too large: {} bytes (limit {})", meta.len(), opts.limits.max_total_bytes)));
            }
            let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
            imp.push_npy(&shown, &bytes)?;
        }
        Some(InputKind::Png | InputKind::Jpeg) => {
            imp.precheck(&shown, meta.len())?;
            let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
            imp.push_image(&shown, &bytes)?;
        }
        None => return Err(invalid(&shown, "not a folder, zip archive, .npy array, PNG or JPEG file")),
    }
    imp.finish(&shown)
}

#[cfg(not(target_arch = "wasm32"))]
fn read_head(f: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..])? {
            0 => break,
            k => got += k,
        }
    }
    Ok(got)
}

#[cfg(not(target_arch = "wasm32"))]
fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, std::path::PathBuf)>) -> Result<(), DataError> {
    let rd = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    for e in rd {
        let e = e.map_err(|e| DataError::io(dir, e))?;
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().into_owned();
        if skipped(&rel) {
            continue;
        }
        let ft = e.file_type().map_err(|e| DataError::io(&p, e))?;
        if ft.is_dir() {
            walk(root, &p, out)?;
        } else {
            out.push((rel, p));
        }
        if out.len() > 10_000_000 {
            return Err(invalid(&root.display().to_string(), "too many files"));
        }
    }
    Ok(())
}
