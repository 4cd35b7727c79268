//! Cutting sprites out of an emoji sprite sheet (emoji-datasource layout) and
//! flattening them onto white.
//!
//! The sheet is a grid of cells; each cell holds a `cell`×`cell` sprite with
//! `padding` transparent pixels on every side, so the pitch between cells is
//! `cell + 2 * padding` (34 px for the 32 px sheets). Cell `(sheet_x,
//! sheet_y)` has its sprite's top-left pixel at `(sheet_x * pitch + padding,
//! sheet_y * pitch + padding)`.

use crate::DataError;

/// Geometry of a sprite sheet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SheetGeometry {
    /// Side of one sprite in pixels (32).
    pub cell: usize,
    /// Transparent pixels on each side of a sprite (1).
    pub padding: usize,
    /// Columns and rows in the grid.
    pub cols: usize,
    pub rows: usize,
}

impl SheetGeometry {
    /// Distance between the starts of two neighbouring cells.
    pub fn pitch(&self) -> usize {
        self.cell + 2 * self.padding
    }

    /// Work out the grid from the sheet's size and the largest `sheet_x` /
    /// `sheet_y` used, and check that `cell + 2 * padding` tiles the sheet
    /// exactly with `max + 1` cells in each direction.
    pub fn infer(
        sheet_width: usize,
        sheet_height: usize,
        max_sheet_x: usize,
        max_sheet_y: usize,
        cell: usize,
        padding: usize,
    ) -> Result<SheetGeometry, DataError> {
        let pitch = cell + 2 * padding;
        if pitch == 0 || !sheet_width.is_multiple_of(pitch) || !sheet_height.is_multiple_of(pitch) {
            return Err(DataError::Sprite(format!(
                "sheet of {sheet_width}x{sheet_height} px is not a whole number of {pitch} px cells \
                 ({cell} px sprites with {padding} px padding on each side)"
            )));
        }
        let (cols, rows) = (sheet_width / pitch, sheet_height / pitch);
        if max_sheet_x >= cols || max_sheet_y >= rows {
            return Err(DataError::Sprite(format!("sprite coordinates reach ({max_sheet_x}, {max_sheet_y}) but the sheet has only {cols}x{rows} cells")));
        }
        if max_sheet_x + 1 != cols || max_sheet_y + 1 != rows {
            return Err(DataError::Sprite(format!(
                "sheet has {cols}x{rows} cells of {pitch} px but the sprites use only {}x{} cells: \
                 the cell geometry is probably wrong",
                max_sheet_x + 1,
                max_sheet_y + 1
            )));
        }
        Ok(SheetGeometry { cell, padding, cols, rows })
    }
}

/// Composite one RGBA pixel over white, returning RGB (rounded).
#[inline]
pub fn over_white(r: u8, g: u8, b: u8, a: u8) -> [u8; 3] {
    let a = a as u32;
    let f = |c: u8| ((c as u32 * a + 255 * (255 - a) + 127) / 255) as u8;
    [f(r), f(g), f(b)]
}

/// Cut sprite `(sheet_x, sheet_y)` out of an RGBA sheet (`sheet_width` ×
/// `sheet_height`, 4 bytes a pixel, row-major) and composite it over white:
/// `cell * cell * 3` RGB bytes, row-major.
pub fn extract_sprite_rgb(
    sheet_rgba: &[u8],
    sheet_width: usize,
    sheet_height: usize,
    geometry: &SheetGeometry,
    sheet_x: usize,
    sheet_y: usize,
) -> Result<Vec<u8>, DataError> {
    if sheet_rgba.len() != sheet_width * sheet_height * 4 {
        return Err(DataError::Sprite(format!("{} bytes is not a {sheet_width}x{sheet_height} RGBA image", sheet_rgba.len())));
    }
    if sheet_x >= geometry.cols || sheet_y >= geometry.rows {
        return Err(DataError::Sprite(format!("cell ({sheet_x}, {sheet_y}) is outside the {}x{} grid", geometry.cols, geometry.rows)));
    }
    let pitch = geometry.pitch();
    let (x0, y0) = (sheet_x * pitch + geometry.padding, sheet_y * pitch + geometry.padding);
    if x0 + geometry.cell > sheet_width || y0 + geometry.cell > sheet_height {
        return Err(DataError::Sprite(format!("cell ({sheet_x}, {sheet_y}) extends past the sheet")));
    }
    let mut out = Vec::with_capacity(geometry.cell * geometry.cell * 3);
    for y in y0..y0 + geometry.cell {
        let row = &sheet_rgba[(y * sheet_width + x0) * 4..(y * sheet_width + x0 + geometry.cell) * 4];
        for p in row.chunks_exact(4) {
            out.extend_from_slice(&over_white(p[0], p[1], p[2], p[3]));
        }
    }
    Ok(out)
}
