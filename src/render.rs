//! Drawing: the CPU twin of `shaders/energy.wgsl`'s colouring, basin colours, and canvas
//! overlays (memories, attractors, trajectories).

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

const STOPS: [[f32; 3]; 5] = [[0.267, 0.005, 0.329], [0.231, 0.322, 0.545], [0.129, 0.569, 0.549], [0.369, 0.788, 0.384], [0.992, 0.906, 0.145]];

/// Piecewise-linear ramp through five viridis key colours (as `ramp` in the shader).
pub fn ramp(t: f32) -> [f32; 3] {
    let s = t.clamp(0.0, 1.0) * 4.0;
    let i = (s.floor() as usize).min(3);
    let f = s - i as f32;
    std::array::from_fn(|c| STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * f)
}

/// Colours an energy grid exactly as `colour_main` in `shaders/energy.wgsl`: the level
/// `sqrt((E − min)/(max − min))` through [`ramp`], darkened where the contour band changes
/// towards the right or lower neighbour.
pub fn colour_energies(energies: &[f32], width: usize, height: usize, levels: u32) -> Vec<u8> {
    let (lo, hi) = energies.iter().fold((f32::MAX, f32::MIN), |(a, b), &e| (a.min(e), b.max(e)));
    let span = (hi - lo).max(1e-20);
    let level = |e: f32| ((e - lo) / span).clamp(0.0, 1.0).sqrt();
    let n = levels as f32;
    let mut out = vec![0u8; width * height * 4];
    for row in 0..height {
        for col in 0..width {
            let idx = row * width + col;
            let t = level(energies[idx]);
            let mut c = ramp(t);
            let here = (t * n).floor();
            let right = (level(energies[row * width + (col + 1).min(width - 1)]) * n).floor();
            let below = (level(energies[(row + 1).min(height - 1) * width + col]) * n).floor();
            if here != right || here != below {
                c = c.map(|v| v * 0.45);
            }
            for k in 0..3 {
                out[4 * idx + k] = (c[k].clamp(0.0, 1.0) * 255.0).round() as u8;
            }
            out[4 * idx + 3] = 255;
        }
    }
    out
}

/// A distinct colour per attractor index; stored memories get saturated hues,
/// spurious states a hatched grey-magenta family, non-converged starts black.
pub fn attractor_colour(index: Option<usize>, spurious: bool) -> [u8; 3] {
    let Some(i) = index else { return [20, 20, 20] };
    let h = (i as f32 * 0.618_034) % 1.0;
    let (s, l) = if spurious { (0.25, 0.55) } else { (0.65, 0.55) };
    hsl(h, s, l)
}

fn hsl(h: f32, s: f32, l: f32) -> [u8; 3] {
    let a = s * l.min(1.0 - l);
    let f = |n: f32| {
        let k = (n + h * 12.0) % 12.0;
        let v = l - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0);
        (v * 255.0).round() as u8
    };
    [f(0.0), f(8.0), f(4.0)]
}

/// The 2-D context of a canvas.
pub fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into::<CanvasRenderingContext2d>().ok()
}

/// Puts RGBA pixels (`width·height·4`) on the canvas, scaled to fill it.
pub fn put_pixels(canvas: &HtmlCanvasElement, rgba: &[u8], width: u32, height: u32) {
    let Some(ctx) = context(canvas) else { return };
    let Ok(data) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width, height) else { return };
    if canvas.width() == width && canvas.height() == height {
        let _ = ctx.put_image_data(&data, 0.0, 0.0);
        return;
    }
    // Draw through an offscreen canvas so the picture scales to the visible one.
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(tmp) = doc.create_element("canvas") else { return };
    let Ok(tmp) = tmp.dyn_into::<HtmlCanvasElement>() else { return };
    tmp.set_width(width);
    tmp.set_height(height);
    if let Some(tctx) = context(&tmp) {
        let _ = tctx.put_image_data(&data, 0.0, 0.0);
        ctx.set_image_smoothing_enabled(false);
        let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(&tmp, 0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    }
}

/// Maps plane coordinates to canvas pixels for a view `[cx, cy, half]`.
pub fn to_canvas(view: [f64; 3], size: f64, p: [f64; 2]) -> (f64, f64) {
    let [cx, cy, half] = view;
    ((p[0] - (cx - half)) / (2.0 * half) * size, ((cy + half) - p[1]) / (2.0 * half) * size)
}

/// Maps canvas pixels back to plane coordinates.
pub fn from_canvas(view: [f64; 3], size: f64, x: f64, y: f64) -> [f64; 2] {
    let [cx, cy, half] = view;
    [cx - half + x / size * 2.0 * half, cy + half - y / size * 2.0 * half]
}

/// Draws memories (white dots), spurious attractors (magenta crosses) and a trajectory.
pub fn draw_overlay(canvas: &HtmlCanvasElement, view: [f64; 3], memories: &[[f64; 2]], spurious: &[[f64; 2]], trajectory: Option<&[[f64; 2]]>) {
    let Some(ctx) = context(canvas) else { return };
    let size = canvas.width() as f64;
    let r = if memories.len() > 200 { 1.5 } else { 4.0 };
    ctx.set_line_width(1.5);
    for m in memories {
        let (x, y) = to_canvas(view, size, *m);
        ctx.begin_path();
        let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
        ctx.set_fill_style_str("#ffffff");
        ctx.fill();
        ctx.set_stroke_style_str("#111111");
        ctx.stroke();
    }
    ctx.set_stroke_style_str("#ff3df2");
    ctx.set_line_width(2.5);
    for s in spurious {
        let (x, y) = to_canvas(view, size, *s);
        ctx.begin_path();
        ctx.move_to(x - 6.0, y - 6.0);
        ctx.line_to(x + 6.0, y + 6.0);
        ctx.move_to(x + 6.0, y - 6.0);
        ctx.line_to(x - 6.0, y + 6.0);
        ctx.stroke();
    }
    if let Some(path) = trajectory {
        ctx.set_stroke_style_str("#ff8c00");
        ctx.set_line_width(2.0);
        ctx.begin_path();
        for (i, p) in path.iter().enumerate() {
            let (x, y) = to_canvas(view, size, *p);
            if i == 0 {
                ctx.move_to(x, y);
            } else {
                ctx.line_to(x, y);
            }
        }
        ctx.stroke();
        for (i, p) in path.iter().enumerate() {
            let (x, y) = to_canvas(view, size, *p);
            ctx.begin_path();
            let _ = ctx.arc(x, y, if i == 0 { 5.0 } else { 2.5 }, 0.0, std::f64::consts::TAU);
            ctx.set_fill_style_str("#ff8c00");
            ctx.fill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_hits_its_end_stops() {
        assert_eq!(ramp(0.0), STOPS[0]);
        assert_eq!(ramp(1.0), STOPS[4]);
        assert_eq!(ramp(-3.0), STOPS[0]);
    }

    #[test]
    fn colouring_draws_one_contour_per_band_edge() {
        // A left-to-right ramp of energies 0..63: sqrt levels cross the 8 band edges
        // (1/8 … 7/8 and the top level 1.0) once per row, and rows are equal.
        let w = 64;
        let e: Vec<f32> = (0..w * 2).map(|i| (i % w) as f32).collect();
        let rgba = colour_energies(&e, w, 2, 8);
        let darkened = (0..w)
            .filter(|&c| {
                let t = (c as f32 / 63.0).sqrt();
                let plain = ramp(t).map(|v| (v * 255.0).round() as u8);
                rgba[4 * c..4 * c + 3] != plain[..]
            })
            .count();
        assert_eq!(darkened, 8);
        assert!(rgba.chunks(4).all(|p| p[3] == 255));
    }

    #[test]
    fn canvas_mapping_round_trips() {
        let v = [0.3, -0.2, 1.7];
        let (x, y) = to_canvas(v, 512.0, [0.9, 0.4]);
        let p = from_canvas(v, 512.0, x, y);
        assert!((p[0] - 0.9).abs() < 1e-12 && (p[1] - 0.4).abs() < 1e-12);
    }
}
