//! Line plots drawn with plotters on a canvas.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

/// One series of a plot.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// Points `(x, y)`.
    pub points: &'a [(f64, f64)],
    /// Line colour.
    pub colour: RGBColor,
}

/// Draws `series` against a log or linear x axis; y from `y_range`.
pub fn line_plot(canvas: &HtmlCanvasElement, title: &str, x_label: &str, log_x: bool, y_range: (f64, f64), series: &[Series<'_>]) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else { return };
    let root = backend.into_drawing_area();
    let _ = root.fill(&WHITE);
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if lo > hi {
        return;
    }
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo * 0.9, hi * 1.1 + 1e-9) };
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 14)).margin(8).x_label_area_size(32).y_label_area_size(44);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            // At most six x labels, written compactly (1500 → "1.5k"), so they never run together.
            let _ = chart.configure_mesh().x_desc(x_label).x_labels(6).x_label_formatter(&|v: &f64| tick(*v)).light_line_style(RGBColor(235, 235, 235)).draw();
            for s in series {
                let colour = s.colour;
                if let Ok(ann) = chart.draw_series(LineSeries::new(s.points.iter().copied(), colour.stroke_width(2))) {
                    ann.label(s.label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
                }
                // Markers only on short series (a loss curve has thousands of points).
                if s.points.len() <= 200 {
                    let _ = chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, colour.filled())));
                }
            }
            let _ = chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw();
        }};
    }
    if log_x && lo > 0.0 {
        if let Ok(c) = builder.build_cartesian_2d((lo..hi).log_scale(), y_range.0..y_range.1) {
            finish!(c);
        }
    } else if let Ok(c) = builder.build_cartesian_2d(lo..hi, y_range.0..y_range.1) {
        finish!(c);
    }
    let _ = root.present();
}

/// An axis value in a few characters: 0.25, 40, 1.5k, 2M.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e3 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 1.0 || a == 0.0 {
        trim(format!("{v:.1}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

/// One curve of [`fractions_plot`]: `(K, fraction, std)` per point.
pub struct ErrorSeries<'a> {
    pub label: &'a str,
    pub points: Vec<(f64, f64, f64)>,
    pub colour: RGBColor,
}

/// Fractions against K on a log axis with ±1 std error bars, vertical markers (e.g. the MC,
/// SC and GC estimates) and an optional highlighted K.
pub fn fractions_plot(canvas: &HtmlCanvasElement, title: &str, series: &[ErrorSeries<'_>], markers: &[(&str, f64)], highlight: Option<f64>) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else {
        return;
    };
    let root = backend.into_drawing_area();
    draw_fractions(&root, title, series, markers, highlight);
    let _ = root.present();
}

/// [`fractions_plot`] as an SVG document of `width` × `height` (the figure's export).
pub fn fractions_svg(width: u32, height: u32, title: &str, series: &[ErrorSeries<'_>], markers: &[(&str, f64)], highlight: Option<f64>) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
        draw_fractions(&root, title, series, markers, highlight);
        let _ = root.present();
    }
    out
}

fn draw_fractions<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &[ErrorSeries<'_>],
    markers: &[(&str, f64)],
    highlight: Option<f64>,
) {
    let _ = root.fill(&WHITE);
    let (lo, hi) = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if !(lo > 0.0 && hi >= lo) {
        return;
    }
    let (lo, hi) = (lo / 1.4, hi * 1.4);
    let mut builder = ChartBuilder::on(root);
    builder.caption(title, ("sans-serif", 14)).margin(10).x_label_area_size(34).y_label_area_size(44);
    let Ok(mut chart) = builder.build_cartesian_2d((lo..hi).log_scale(), -0.02f64..1.02) else {
        return;
    };
    let _ = chart.configure_mesh().x_desc("training-set size K (log)").y_desc("fraction of S_eval").light_line_style(RGBColor(235, 235, 235)).draw();
    if let Some(k) = highlight {
        let _ = chart.draw_series(std::iter::once(Rectangle::new([(k / 1.12, -0.02), (k * 1.12, 1.02)], RGBColor(255, 236, 179).filled())));
    }
    for (name, k) in markers {
        let grey = RGBColor(120, 120, 120);
        let _ = chart.draw_series(std::iter::once(PathElement::new(vec![(*k, 0.0), (*k, 1.0)], grey.stroke_width(1))));
        let _ = chart.draw_series(std::iter::once(Text::new(name.to_string(), (*k, 1.0), ("sans-serif", 12).into_font().color(&grey))));
    }
    // Each label has its own marker shape as well as its colour (circle, triangle, square by
    // series index mod 3), so the curves are told apart without colour too.
    for (i, s) in series.iter().enumerate() {
        let colour = s.colour;
        if let Ok(ann) = chart.draw_series(LineSeries::new(s.points.iter().map(|p| (p.0, p.1)), colour.stroke_width(2))) {
            ann.label(s.label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        let _ = chart
            .draw_series(s.points.iter().map(|&(k, f, sd)| PathElement::new(vec![(k, (f - sd).max(0.0)), (k, (f + sd).min(1.0))], colour.stroke_width(1))));
        match i % 3 {
            0 => {
                let _ = chart.draw_series(s.points.iter().map(|&(k, f, _)| Circle::new((k, f), 3, colour.filled())));
            }
            1 => {
                let _ = chart.draw_series(s.points.iter().map(|&(k, f, _)| TriangleMarker::new((k, f), 4, colour.filled())));
            }
            _ => {
                let _ = chart.draw_series(s.points.iter().map(|&(k, f, _)| EmptyElement::at((k, f)) + Rectangle::new([(-3, -3), (3, 3)], colour.filled())));
            }
        }
    }
    let _ = chart.configure_series_labels().position(SeriesLabelPosition::MiddleRight).background_style(WHITE.mix(0.85)).border_style(BLACK).draw();
}

/// One box of [`box_plot`]: the values at `x` (a K), drawn as their quartile box and range,
/// their mean (a dot) and a 95% interval of the mean (a thick bar).
pub struct BoxGroup {
    pub x: f64,
    pub colour: RGBColor,
    /// The values, sorted ascending (at least one).
    pub values: Vec<f64>,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let (i, f) = (pos.floor() as usize, pos.fract());
    if i + 1 < v.len() {
        v[i] * (1.0 - f) + v[i + 1] * f
    } else {
        v[i]
    }
}

/// Box plots against a log x axis (K), groups side by side at each x; `legend` names the
/// colours.
pub fn box_plot(canvas: &HtmlCanvasElement, title: &str, y_label: &str, groups: &[BoxGroup], legend: &[(&str, RGBColor)]) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else { return };
    let root = backend.into_drawing_area();
    let _ = root.fill(&WHITE);
    let groups: Vec<&BoxGroup> = groups.iter().filter(|g| !g.values.is_empty() && g.x > 0.0).collect();
    if groups.is_empty() {
        let _ = root.present();
        return;
    }
    let (xlo, xhi) = groups.iter().fold((f64::MAX, f64::MIN), |(a, b), g| (a.min(g.x), b.max(g.x)));
    let (ylo, yhi) = groups.iter().flat_map(|g| g.values.iter().chain([&g.lo, &g.hi])).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let pad = ((yhi - ylo) * 0.08).max(1e-6);
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 14)).margin(10).x_label_area_size(34).y_label_area_size(56);
    let Ok(mut chart) = builder.build_cartesian_2d((xlo / 1.6..xhi * 1.6).log_scale(), (ylo - pad)..(yhi + pad)) else { return };
    let _ = chart.configure_mesh().x_desc("training-set size K (log)").y_desc(y_label).light_line_style(RGBColor(235, 235, 235)).draw();
    for g in &groups {
        let (c, w) = (g.colour, 1.07);
        let (q1, q3) = (quantile_sorted(&g.values, 0.25), quantile_sorted(&g.values, 0.75));
        let (min, max) = (g.values[0], g.values[g.values.len() - 1]);
        let _ = chart.draw_series(std::iter::once(PathElement::new(vec![(g.x, min), (g.x, max)], c.stroke_width(1))));
        let _ = chart.draw_series(std::iter::once(Rectangle::new([(g.x / w, q1), (g.x * w, q3)], c.mix(0.25).filled())));
        let _ = chart.draw_series(std::iter::once(Rectangle::new([(g.x / w, q1), (g.x * w, q3)], c.stroke_width(1))));
        let _ = chart.draw_series(std::iter::once(PathElement::new(vec![(g.x, g.lo), (g.x, g.hi)], c.stroke_width(4))));
        let _ = chart.draw_series(std::iter::once(Circle::new((g.x, g.mean), 4, BLACK.filled())));
    }
    for (name, c) in legend {
        let c = *c;
        if let Ok(ann) = chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>()) {
            ann.label(*name).legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
    }
    let _ = chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw();
    let _ = root.present();
}

/// Many thin curves (each `(x, y)` points, drawn in its colour) on linear x and a linear or
/// log y axis; `legend` names the colours.
pub fn curves_plot(
    canvas: &HtmlCanvasElement,
    title: &str,
    (x_label, y_label): (&str, &str),
    log_y: bool,
    curves: &[(RGBColor, u32, Vec<(f64, f64)>)],
    legend: &[(&str, RGBColor)],
) {
    let Some(backend) = CanvasBackend::with_canvas_object(canvas.clone()) else { return };
    let root = backend.into_drawing_area();
    let _ = root.fill(&WHITE);
    let pts = curves.iter().flat_map(|c| c.2.iter()).filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0));
    let (xlo, xhi, ylo, yhi) = pts.fold((f64::MAX, f64::MIN, f64::MAX, f64::MIN), |(a, b, c, d), p| (a.min(p.0), b.max(p.0), c.min(p.1), d.max(p.1)));
    if xlo > xhi || ylo > yhi {
        let _ = root.present();
        return;
    }
    let (xhi, yhi) = (if xhi > xlo { xhi } else { xlo + 1.0 }, if yhi > ylo { yhi } else { ylo + 1.0 });
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 14)).margin(10).x_label_area_size(34).y_label_area_size(56);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            let _ = chart.configure_mesh().x_desc(x_label).y_desc(y_label).light_line_style(RGBColor(235, 235, 235)).draw();
            for (c, w, p) in curves {
                let keep = p.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0));
                let _ = chart.draw_series(LineSeries::new(keep, c.stroke_width(*w)));
            }
            for (name, c) in legend {
                let c = *c;
                if let Ok(ann) = chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>()) {
                    ann.label(*name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
                }
            }
            if !legend.is_empty() {
                let _ = chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw();
            }
        }};
    }
    if log_y {
        if let Ok(c) = builder.build_cartesian_2d(xlo..xhi, (ylo * 0.8..yhi * 1.25).log_scale()) {
            finish!(c);
        }
    } else if let Ok(c) = builder.build_cartesian_2d(xlo..xhi, (ylo - 0.02 * (yhi - ylo))..(yhi + 0.02 * (yhi - ylo))) {
        finish!(c);
    }
    let _ = root.present();
}

/// A loss curve in words (its canvas's text alternative): steps, and the mean loss at the
/// start and at the end.
pub fn loss_description(losses: &[f32]) -> String {
    if losses.is_empty() {
        return "Training loss: no step trained yet.".to_string();
    }
    let mean = |w: &[f32]| w.iter().map(|v| *v as f64).sum::<f64>() / w.len().max(1) as f64;
    let w = losses.len().min(25);
    format!(
        "Training loss over {} steps: mean of the first {w} steps {:.3}, of the last {w} steps {:.3}.",
        losses.len(),
        mean(&losses[..w]),
        mean(&losses[losses.len() - w..])
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn ticks_are_short() {
        let t: Vec<String> = [0.0, 0.25, 1.0, 40.0, 500.0, 1000.0, 1500.0, 20_000.0, 2_000_000.0, -1500.0].iter().map(|&v| super::tick(v)).collect();
        assert_eq!(t, ["0", "0.25", "1", "40", "500", "1k", "1.5k", "20k", "2M", "-1.5k"]);
    }

    use super::*;

    #[test]
    fn the_fractions_figure_exports_as_svg_with_its_curves_and_markers() {
        let series = [
            ErrorSeries { label: "memorized", points: vec![(2.0, 0.9, 0.01), (16.0, 0.1, 0.02)], colour: RGBColor(33, 102, 172) },
            ErrorSeries { label: "generalized", points: vec![(2.0, 0.1, 0.01), (16.0, 0.9, 0.02)], colour: RGBColor(26, 152, 80) },
        ];
        let svg = fractions_svg(640, 360, "mnist", &series, &[("MC", 4.0)], Some(16.0));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("width=\"640\"") && svg.contains("height=\"360\""));
        for text in ["memorized", "generalized", "MC", "mnist", "training-set size K (log)"] {
            assert!(svg.contains(text), "no {text:?} in the SVG");
        }
        // Two points per curve: circles for the first series, triangles (polygons) for the second.
        assert!(svg.matches("<circle").count() >= 2);
        assert!(svg.contains("<polygon"));
        assert_eq!(fractions_svg(100, 100, "empty", &[], &[], None).matches("<circle").count(), 0);
    }

    #[test]
    fn loss_description_gives_the_first_and_last_means() {
        assert_eq!(loss_description(&[]), "Training loss: no step trained yet.");
        let l: Vec<f32> = (0..50).map(|i| if i < 25 { 2.0 } else { 1.0 }).collect();
        assert_eq!(loss_description(&l), "Training loss over 50 steps: mean of the first 25 steps 2.000, of the last 25 steps 1.000.");
        assert_eq!(loss_description(&[3.0]), "Training loss over 1 steps: mean of the first 1 steps 3.000, of the last 1 steps 3.000.");
    }
}
