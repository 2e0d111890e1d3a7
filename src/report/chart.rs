//! The benchmark chart: seal throughput against message size, one line per cipher × backend,
//! both axes logarithmic. SVG, drawn with plotters; ready to paste into a design document.

use plotters::prelude::*;

use crate::facts::{Backend, BenchFacts, Cipher, Operation};

/// Colour per cipher, dash pattern per backend: a reader can follow either.
fn colour(c: Cipher) -> RGBColor {
    match c {
        Cipher::Aes128Gcm => RGBColor(31, 119, 180),
        Cipher::Aes256Gcm => RGBColor(214, 39, 40),
        Cipher::ChaCha20Poly1305 => RGBColor(44, 160, 44),
        Cipher::Aes128Ctr => RGBColor(148, 103, 189),
        Cipher::Aes256Ctr => RGBColor(255, 127, 14),
    }
}

fn marker_size(b: Backend) -> u32 {
    match b {
        Backend::Ring => 3,
        Backend::AwsLcRs => 5,
        Backend::RustCrypto => 2,
    }
}

/// The SVG document, or None when there is nothing to draw (no cipher results).
pub fn throughput_svg(b: &BenchFacts) -> Option<String> {
    let seal: Vec<_> = b
        .results
        .iter()
        .filter(|r| r.operation == Operation::Seal && r.throughput_mbps.median > 0.0)
        .collect();
    if seal.is_empty() {
        return None;
    }
    let (min_x, max_x) = seal.iter().fold((f64::MAX, 0f64), |(lo, hi), r| {
        (lo.min(r.size as f64), hi.max(r.size as f64))
    });
    let (min_y, max_y) = seal.iter().fold((f64::MAX, 0f64), |(lo, hi), r| {
        let v = r.throughput_mbps.median;
        (lo.min(v), hi.max(v))
    });
    let x_range = (min_x / 1.5).max(1.0)..(max_x * 1.5);
    let y_range = (min_y / 2.0).max(0.1)..(max_y * 2.0);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Seal throughput by message size (median MB/s, log-log)",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range.log_scale(), y_range.log_scale())
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("message size")
            .y_desc("MB/s")
            .x_label_formatter(&|x| decimal_size(*x))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .ok()?;

        let mut series: Vec<(Backend, Cipher)> =
            seal.iter().map(|r| (r.backend, r.cipher)).collect();
        series.sort();
        series.dedup();
        for (backend, cipher) in series {
            let mut points: Vec<(f64, f64)> = seal
                .iter()
                .filter(|r| r.backend == backend && r.cipher == cipher)
                .map(|r| (r.size as f64, r.throughput_mbps.median))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let col = colour(cipher);
            let width = if backend == Backend::AwsLcRs { 3 } else { 1 };
            let style = ShapeStyle::from(&col).stroke_width(width);
            let label = format!("{} · {}", cipher.label(), backend.label());
            // RustCrypto dashed, ring thin, aws-lc-rs thick: backends apart at a glance.
            let dashed = backend == Backend::RustCrypto;
            let series = if dashed {
                chart.draw_series(DashedLineSeries::new(points.clone(), 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(points.clone(), style))
            };
            series.ok()?.label(label).legend(move |(x, y)| {
                let s = ShapeStyle::from(&col).stroke_width(width);
                let end = if dashed { x + 6 } else { x + 18 };
                PathElement::new(vec![(x, y), (end, y)], s)
            });
            let m = marker_size(backend);
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, m, ShapeStyle::from(&col).filled())),
                )
                .ok()?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 12))
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

/// Axis ticks fall on powers of ten: 100 B, 1 kB, 10 kB, 1 MB.
fn decimal_size(x: f64) -> String {
    if x >= 1e6 {
        format!("{} MB", x / 1e6)
    } else if x >= 1e3 {
        format!("{} kB", x / 1e3)
    } else {
        format!("{x:.0} B")
    }
}

/// Where percentile `p` falls on the spectrum's axis: `-log10(1 - p/100)`, so 90, 99, 99.9 and
/// 99.99 are evenly spaced (HdrHistogram's plot); the maximum sits just right of 99.99.
fn spectrum_x(p: f64) -> f64 {
    if p >= 100.0 {
        4.5
    } else {
        (-(1.0 - p / 100.0).log10()).min(4.0)
    }
}

/// The load chart: latency (from the scheduled send time) by percentile, one line per suite.
/// None when no suite answered.
pub fn latency_svg(l: &crate::facts::LoadFacts) -> Option<String> {
    let runs: Vec<_> = l.runs.iter().filter(|r| !r.spectrum.is_empty()).collect();
    if runs.is_empty() {
        return None;
    }
    let max_y = runs
        .iter()
        .flat_map(|r| r.spectrum.iter().map(|p| p.ms))
        .fold(0f64, f64::max)
        .max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 480)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Latency by percentile (from the scheduled send time), per forced suite",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..4.6f64, 0f64..(max_y * 1.1))
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("ms")
            .x_labels(10)
            .x_label_formatter(&|x| match (*x * 2.0).round() as i64 {
                0 => "0%".into(),
                2 => "90%".into(),
                4 => "99%".into(),
                6 => "99.9%".into(),
                8 => "99.99%".into(),
                9 => "max".into(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .ok()?;
        for r in runs {
            let col = if r.cipher.contains("256") {
                RGBColor(214, 39, 40)
            } else {
                RGBColor(31, 119, 180)
            };
            let points: Vec<(f64, f64)> = r
                .spectrum
                .iter()
                .map(|p| (spectrum_x(p.percentile), p.ms))
                .collect();
            let style = ShapeStyle::from(&col).stroke_width(2);
            let label = format!(
                "{} ({})",
                r.cipher.to_uppercase(),
                r.negotiated
                    .iter()
                    .map(|n| n.suite.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            chart
                .draw_series(LineSeries::new(points.clone(), style))
                .ok()?
                .label(crate::facts::peer::visible(&label).into_owned())
                .legend(move |(x, y)| {
                    PathElement::new(
                        vec![(x, y), (x + 18, y)],
                        ShapeStyle::from(&col).stroke_width(2),
                    )
                });
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Circle::new(*p, 3, ShapeStyle::from(&col).filled())),
                )
                .ok()?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font(("sans-serif", 12))
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}
