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
    let _ = root.fill(&WHITE);
    let (lo, hi) = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if !(lo > 0.0 && hi >= lo) {
        return;
    }
    let (lo, hi) = (lo / 1.4, hi * 1.4);
    let mut builder = ChartBuilder::on(&root);
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
    for s in series {
        let colour = s.colour;
        if let Ok(ann) = chart.draw_series(LineSeries::new(s.points.iter().map(|p| (p.0, p.1)), colour.stroke_width(2))) {
            ann.label(s.label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2)));
        }
        let _ = chart
            .draw_series(s.points.iter().map(|&(k, f, sd)| PathElement::new(vec![(k, (f - sd).max(0.0)), (k, (f + sd).min(1.0))], colour.stroke_width(1))));
        let _ = chart.draw_series(s.points.iter().map(|&(k, f, _)| Circle::new((k, f), 3, colour.filled())));
    }
    let _ = chart.configure_series_labels().position(SeriesLabelPosition::MiddleRight).background_style(WHITE.mix(0.85)).border_style(BLACK).draw();
    let _ = root.present();
}
