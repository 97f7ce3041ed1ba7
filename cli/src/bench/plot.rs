//! `--plot FILE.svg`: the results against payload size, drawn with `plotters` (throughput in
//! one panel, round-trip latency in another, each only when measured).

use std::path::Path;

use plotters::prelude::*;

use crate::bench::report::Row;

/// One line of a panel: a name, a colour and its points (size, value).
struct Series {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
}

/// One chart: a title, the value axis's name, and its lines.
struct Panel {
    title: &'static str,
    y_desc: &'static str,
    series: Vec<Series>,
}

fn panels(rows: &[Row]) -> Vec<Panel> {
    let thr: Vec<&Row> = rows.iter().filter(|r| !r.is_latency()).collect();
    let lat: Vec<&Row> = rows.iter().filter(|r| r.latency.is_some()).collect();
    let mut panels = Vec::new();
    if !thr.is_empty() {
        let label = |r: &Row| format!("{} {} {}", r.pattern, r.transport, r.mechanism);
        let mut series = vec![Series {
            name: format!("{} (million msg/s)", label(thr[0])),
            color: BLUE,
            points: thr
                .iter()
                .map(|r| (r.size as f64, r.rate() / 1e6))
                .collect(),
        }];
        series.push(Series {
            name: "payload GB/s".into(),
            color: RED,
            points: thr.iter().map(|r| (r.size as f64, r.mbs() / 1e3)).collect(),
        });
        panels.push(Panel {
            title: "throughput",
            y_desc: "million msg/s  |  GB/s",
            series,
        });
    }
    if !lat.is_empty() {
        let points = |f: fn(&Row) -> f64| lat.iter().map(|r| (r.size as f64, f(r))).collect();
        panels.push(Panel {
            title: "REQ/REP round trip",
            y_desc: "microseconds",
            series: vec![
                Series {
                    name: "p50".into(),
                    color: BLUE,
                    points: points(|r| r.latency.map_or(0.0, |l| l.p50)),
                },
                Series {
                    name: "p99".into(),
                    color: RED,
                    points: points(|r| r.latency.map_or(0.0, |l| l.p99)),
                },
            ],
        });
    }
    panels
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, panel: &Panel)
where
    DB::ErrorType: 'static,
{
    let all = panel.series.iter().flat_map(|s| s.points.iter());
    let (mut x_min, mut x_max, mut y_max) = (f64::MAX, f64::MIN, 0.0f64);
    for &(x, y) in all {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_max = y_max.max(y);
    }
    // a log axis needs a positive range of some width
    let x_min = x_min.max(1.0);
    let x_max = x_max.max(x_min * 2.0);
    let y_max = if y_max > 0.0 { y_max * 1.15 } else { 1.0 };
    let chart = ChartBuilder::on(area)
        .caption(panel.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x_min / 1.5..x_max * 1.5).log_scale(), 0.0..y_max);
    let Ok(mut chart) = chart else { return };
    let _ = chart
        .configure_mesh()
        .x_desc("payload bytes")
        .y_desc(panel.y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw();
    for s in &panel.series {
        let color = s.color;
        let line = chart.draw_series(LineSeries::new(
            s.points.iter().copied(),
            color.stroke_width(2),
        ));
        if let Ok(line) = line {
            line.label(s.name.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
        }
        let _ = chart.draw_series(
            s.points
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
        );
    }
    let _ = chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw();
}

/// Draws the rows against payload size into an SVG file.
pub fn draw(rows: &[Row], path: &Path) -> Result<(), String> {
    let panels = panels(rows);
    if panels.is_empty() {
        return Err("nothing to plot".into());
    }
    let width = 640 * panels.len() as u32;
    let root = SVGBackend::new(path, (width, 440)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let areas = root.split_evenly((1, panels.len()));
    for (area, panel) in areas.iter().zip(&panels) {
        draw_panel(area, panel);
    }
    root.present()
        .map_err(|e| format!("writing {}: {e}", path.display()))
}
