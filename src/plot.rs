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
            let _ = chart.configure_mesh().x_desc(x_label).light_line_style(RGBColor(235, 235, 235)).draw();
            for s in series {
                let colour = s.colour;
                if let Ok(ann) = chart.draw_series(LineSeries::new(s.points.iter().copied(), colour.stroke_width(2))) {
                    ann.label(s.label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
                }
                let _ = chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, colour.filled())));
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
