//! The colour set: emoji from an emoji-datasource sprite sheet, 32×32 RGB on
//! white, labelled by emoji category.

use serde::Deserialize;

use crate::packed::{DatasetInfo, PackedDataset};
use crate::sprite::{extract_sprite_rgb, SheetGeometry};
use crate::DataError;

/// The fields of one `emoji.json` entry that the build uses.
#[derive(Clone, Debug, Deserialize)]
pub struct EmojiEntry {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub unified: String,
    pub sheet_x: usize,
    pub sheet_y: usize,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub sort_order: i64,
    #[serde(default)]
    pub has_img_google: bool,
    #[serde(default)]
    pub skin_variations: Option<std::collections::BTreeMap<String, SkinVariation>>,
}

/// A skin-tone variant of an emoji (excluded unless asked for).
#[derive(Clone, Debug, Deserialize)]
pub struct SkinVariation {
    #[serde(default)]
    pub unified: String,
    pub sheet_x: usize,
    pub sheet_y: usize,
    #[serde(default)]
    pub has_img_google: bool,
}

/// Which sprites to take and how the sheet is laid out.
#[derive(Clone, Debug)]
pub struct EmojiOptions {
    /// Sprite side (32 for `sheets/32.png`).
    pub cell: usize,
    /// Padding on each side of a sprite (1).
    pub padding: usize,
    /// Include skin-tone variants (off by default: base designs only).
    pub include_skin_variations: bool,
}

impl Default for EmojiOptions {
    fn default() -> Self {
        EmojiOptions { cell: 32, padding: 1, include_skin_variations: false }
    }
}

/// Build the emoji dataset from a decoded RGBA sheet and the bytes of
/// `emoji.json`. Only entries with `has_img_google` are used, in
/// `sort_order`; skin-tone variants follow their base emoji when included.
/// Classes are the categories, ordered by the smallest `sort_order` in each
/// (Smileys & Emotion first, Flags last). `info.class_names` is overwritten.
pub fn build_emoji_dataset(
    sheet_rgba: &[u8],
    sheet_width: usize,
    sheet_height: usize,
    emoji_json: &[u8],
    options: &EmojiOptions,
    mut info: DatasetInfo,
) -> Result<PackedDataset, DataError> {
    let mut entries: Vec<EmojiEntry> = serde_json::from_slice(emoji_json).map_err(|e| DataError::Header(format!("emoji.json: {e}")))?;
    entries.sort_by_key(|e| e.sort_order);
    // Geometry: check against all coordinates in the file, variants included.
    let (mut max_x, mut max_y) = (0, 0);
    for e in &entries {
        max_x = max_x.max(e.sheet_x);
        max_y = max_y.max(e.sheet_y);
        for v in e.skin_variations.iter().flat_map(|m| m.values()) {
            max_x = max_x.max(v.sheet_x);
            max_y = max_y.max(v.sheet_y);
        }
    }
    let geometry = SheetGeometry::infer(sheet_width, sheet_height, max_x, max_y, options.cell, options.padding)?;
    let mut categories: Vec<(i64, String)> = Vec::new();
    for e in entries.iter().filter(|e| e.has_img_google) {
        match categories.iter_mut().find(|(_, c)| *c == e.category) {
            Some(slot) => slot.0 = slot.0.min(e.sort_order),
            None => categories.push((e.sort_order, e.category.clone())),
        }
    }
    categories.sort();
    if categories.len() > 256 {
        return Err(DataError::Invalid(format!("{} categories do not fit u8 labels", categories.len())));
    }
    let class_names: Vec<String> = categories.into_iter().map(|(_, c)| c).collect();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for e in entries.iter().filter(|e| e.has_img_google) {
        let label = class_names.iter().position(|c| *c == e.category).expect("category listed") as u8;
        pixels.extend(extract_sprite_rgb(sheet_rgba, sheet_width, sheet_height, &geometry, e.sheet_x, e.sheet_y)?);
        labels.push(label);
        if options.include_skin_variations {
            for v in e.skin_variations.iter().flat_map(|m| m.values()).filter(|v| v.has_img_google) {
                pixels.extend(extract_sprite_rgb(sheet_rgba, sheet_width, sheet_height, &geometry, v.sheet_x, v.sheet_y)?);
                labels.push(label);
            }
        }
    }
    if labels.is_empty() {
        return Err(DataError::Invalid("emoji.json lists no emoji with a Google image".into()));
    }
    info.class_names = class_names;
    PackedDataset::new(info, options.cell, options.cell, 3, pixels, Some(labels))
}
