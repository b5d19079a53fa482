//! The report's few non-time charts (grouped bars) drawn as SVG with plotters (SVG backend only: the browser lays
//! out the text, so no fonts are bundled), the colours every chart shares, and thinning of long series.

use plotters::prelude::*;

/// Tableau's ten colours: distinct for the few series a chart carries, and readable in print.
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

#[must_use]
pub fn colour(index: usize) -> RGBColor {
    COLOURS[index % COLOURS.len()]
}

/// One line of a chart.
pub struct Line {
    pub label: String,
    pub colour: RGBColor,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 320;

/// At most `limit` points, averaging (or keeping the largest of) neighbours, so a run of a million seconds
/// still draws a chart a browser opens.
#[must_use]
pub fn downsample(points: &[(f64, f64)], limit: usize, keep_max: bool) -> Vec<(f64, f64)> {
    let points: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if points.len() <= limit || limit == 0 {
        return points;
    }
    let per = points.len().div_ceil(limit);
    points
        .chunks(per)
        .map(|chunk| {
            #[allow(clippy::cast_precision_loss)]
            let n = chunk.len() as f64;
            let x = chunk.iter().map(|p| p.0).sum::<f64>() / n;
            let y = if keep_max {
                chunk.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)
            } else {
                chunk.iter().map(|p| p.1).sum::<f64>() / n
            };
            (x, y)
        })
        .collect()
}

/// An axis from `low` to `high`, at least `min_span` long and never of zero or infinite length in f64: plotters
/// maps a point through `(v - low) / (high - low)` into an `i32`, and overflows (a panic in a debug build) when that
/// is infinite. None when no such axis exists (values near f64's limits): no chart rather than a wrong one.
fn axis(low: f64, high: f64, min_span: f64) -> Option<(f64, f64)> {
    let mut high = high.max(low + min_span);
    if high <= low {
        // past 2^53 a span of a few seconds is lost in rounding
        high = low + low.abs() * 1e-9;
    }
    (high > low && (high - low).is_finite()).then_some((low, high))
}

/// The y axis of values from `lowest` to `highest`: from 0 (or below, for negative values) to a little above.
fn y_axis(lowest: f64, highest: f64, headroom: f64) -> Option<(f64, f64)> {
    let low = if lowest < 0.0 { lowest * headroom } else { 0.0 };
    let high = if highest > 0.0 { highest * headroom } else { 1.0 };
    axis(low, high, 0.0)
}

/// One group of bars: its label, one value per series, and a colour that replaces the last series' own for this
/// group (a significant change marked on the "now" bar).
pub struct BarGroup {
    pub label: String,
    pub values: Vec<f64>,
    pub mark: Option<RGBColor>,
}

/// Grouped bars: for each group (an endpoint's percentile), one bar per series (baseline, now).
pub fn bar_chart(title: &str, y_desc: &str, groups: &[BarGroup], series: &[(&str, RGBColor)]) -> Option<String> {
    if groups.is_empty() {
        return None;
    }
    let values = || groups.iter().flat_map(|g| &g.values).copied().filter(|v| v.is_finite());
    let (y0, y1) = y_axis(values().fold(0.0, f64::min), values().fold(0.0, f64::max), 1.15)?;
    #[allow(clippy::cast_precision_loss)]
    let x1 = groups.len() as f64;
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + 40)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(70)
            .y_label_area_size(62)
            .build_cartesian_2d(0.0..x1, y0..y1)?;
        let label_of = |x: &f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let index = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 {
                labels.get(index).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(y_desc)
            .x_labels(groups.len() * 2 + 1)
            .x_label_formatter(&label_of)
            .y_label_formatter(&|y| format_number(*y))
            .light_line_style(RGBColor(238, 238, 238))
            .label_style(("sans-serif", 13))
            .draw()?;
        #[allow(clippy::cast_precision_loss)]
        let width = 0.8 / series.len().max(1) as f64;
        for (s, &(name, colour)) in series.iter().enumerate() {
            let last = s + 1 == series.len();
            let bars = groups.iter().enumerate().filter_map(move |(g, group)| {
                let value = *group.values.get(s)?;
                #[allow(clippy::cast_precision_loss)]
                let left = g as f64 + 0.1 + width * s as f64;
                let fill = group.mark.filter(|_| last).unwrap_or(colour);
                Some(Rectangle::new(
                    [(left, 0.0), (left + width * 0.95, value)],
                    fill.filled(),
                ))
            });
            chart
                .draw_series(bars)?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 13))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    drawn.ok()?;
    Some(svg)
}

/// `1234.5` → "1234.5", `0.25` → "0.25", `1500000` → "1.5M": axis labels that stay short.
#[must_use]
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 100.0 || value == 0.0 {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

/// "1:05" for 65 seconds into the run.
#[must_use]
pub fn format_elapsed(seconds: f64) -> String {
    #[allow(clippy::cast_possible_truncation)]
    let whole = seconds.round() as i64;
    let sign = if whole < 0 { "-" } else { "" };
    let whole = whole.abs();
    if whole >= 3600 {
        format!("{sign}{}:{:02}:{:02}", whole / 3600, whole / 60 % 60, whole % 60)
    } else {
        format!("{sign}{}:{:02}", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_values_and_labels_draw() {
        let bars = bar_chart(
            "b",
            "ms",
            &[BarGroup {
                label: "p99".to_owned(),
                values: vec![-5.0, 3.0],
                mark: None,
            }],
            &[("a", colour(0)), ("b", colour(1))],
        );
        assert!(bars.unwrap().starts_with("<svg"));
        let bars = bar_chart(
            "p99",
            "ms",
            &[BarGroup {
                label: "GET /x p99".to_owned(),
                values: vec![1.0, 2.0],
                mark: Some(colour(3)),
            }],
            &[("baseline", colour(7)), ("now", colour(0))],
        )
        .unwrap();
        assert!(bars.contains("<rect") && bars.contains("GET /x p99") && bars.contains("#D62728"));
    }

    #[test]
    fn helpers() {
        assert_eq!(
            downsample(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0)], 2, false),
            vec![(0.5, 2.0), (2.5, 6.0)]
        );
        assert_eq!(downsample(&[(0.0, 1.0), (1.0, 3.0)], 1, true), vec![(0.5, 3.0)]);
        assert_eq!(format_elapsed(65.0), "1:05");
        assert_eq!(format_elapsed(3725.0), "1:02:05");
        assert_eq!(format_number(12_500.0), "12k");
    }
}
