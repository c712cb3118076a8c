//! The PNG plot of a run: latency over time (p50 and p99 per second) above, the latency
//! distribution by percentile (0 to 99.99..% on a "nines" axis) below.
//!
//! plotters draws lines and the bitmap; text is drawn here from font8x8's built-in 8x8 glyphs,
//! because plotters' own text needs a TrueType font from the system (font-kit) and this must
//! build and render on a machine with no fonts at all. So plotters is used without its text
//! features, and nothing here calls a plotters text API (which would panic without them).

use std::path::Path;

use font8x8::legacy::BASIC_LEGACY;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::LoadgenError;
use crate::report::Report;

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 800;
/// Room right of the panels for the last axis label.
const RIGHT: i32 = 60;
const P50: RGBColor = RGBColor(31, 119, 180);
const P99: RGBColor = RGBColor(214, 39, 40);
const GRID: RGBColor = RGBColor(225, 225, 225);
const INK: RGBColor = RGBColor(40, 40, 40);

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Writes the plot of `report` to `path` (PNG).
pub fn write_png(report: &Report, path: &Path) -> Result<(), LoadgenError> {
    let out = |detail: String| LoadgenError::Output {
        path: path.display().to_string(),
        detail,
    };
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| out(e.to_string()))?;
    draw(&root, report).map_err(out)?;
    root.present().map_err(|e| out(e.to_string()))
}

fn draw(root: &Area<'_>, report: &Report) -> Result<(), String> {
    let half = (HEIGHT / 2) as i32;
    let c = &report.config;
    let title = format!(
        "hnsfleet-loadgen  {:?} {}  {} answered, {:.0} q/s, p50 {:.3} ms, p99 {:.3} ms, {} timeouts, {} errors",
        c.transport,
        c.target,
        report.totals.answered,
        report.qps,
        report.latency_ms.p50,
        report.latency_ms.p99,
        report.totals.timeouts,
        report.totals.errors,
    )
    .to_lowercase();
    text(root, 10, 8, &title, INK, 1)?;

    // Latency over time.
    let seconds: Vec<(f64, f64, f64)> = report
        .series
        .iter()
        .filter(|p| p.answered > 0)
        .map(|p| (f64::from(p.second), p.p50_ms, p.p99_ms))
        .collect();
    let x_max = report.series.len().max(1) as f64 + 0.5;
    let y_max = nice_max(seconds.iter().map(|s| s.2).fold(0.0, f64::max));
    let top = (80, 40, WIDTH as i32 - RIGHT, half - 40);
    text(root, 80, 24, "latency over time (ms), per second", INK, 1)?;
    legend(root, WIDTH as i32 - 200, 24)?;
    let panel = Panel::new(top, (0.0, x_max), (0.0, y_max));
    panel.axes(
        root,
        &ticks(x_max, |v| format!("{v:.0}s")),
        &ticks(y_max, fmt_ms),
    )?;
    panel.line(root, seconds.iter().map(|s| (s.0, s.1)), P50)?;
    panel.line(root, seconds.iter().map(|s| (s.0, s.2)), P99)?;

    // Distribution.
    let mut points: Vec<(f64, f64)> = Vec::with_capacity(report.distribution.len());
    for q in &report.distribution {
        let last = points.last().map_or(0.0, |p| p.0);
        let x = if q.percentile >= 100.0 {
            last + 0.5
        } else {
            nines(q.percentile)
        };
        points.push((x, q.latency_ms));
    }
    let x_max = points
        .iter()
        .map(|p| p.0)
        .fold(1.0, f64::max)
        .ceil()
        .max(1.0);
    let y_max = nice_max(points.iter().map(|p| p.1).fold(0.0, f64::max));
    let bottom = (80, half + 40, WIDTH as i32 - RIGHT, HEIGHT as i32 - 40);
    text(root, 80, half + 24, "latency by percentile (ms)", INK, 1)?;
    let panel = Panel::new(bottom, (0.0, x_max), (0.0, y_max));
    let x_ticks: Vec<(f64, String)> = (0..=x_max as u32)
        .map(|n| (f64::from(n), percentile_label(n)))
        .collect();
    panel.axes(root, &x_ticks, &ticks(y_max, fmt_ms))?;
    panel.line(root, points.iter().copied(), P99)?;
    if points.is_empty() {
        text(root, 400, half + 200, "no answers", INK, 2)?;
    }
    Ok(())
}

/// A rectangle of the canvas mapped to data ranges.
struct Panel {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
    x: (f64, f64),
    y: (f64, f64),
}

impl Panel {
    fn new(rect: (i32, i32, i32, i32), x: (f64, f64), y: (f64, f64)) -> Panel {
        Panel {
            left: rect.0,
            top: rect.1,
            right: rect.2,
            bottom: rect.3,
            x,
            y,
        }
    }

    fn at(&self, x: f64, y: f64) -> (i32, i32) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0).max(f64::MIN_POSITIVE);
        let fy = (y - self.y.0) / (self.y.1 - self.y.0).max(f64::MIN_POSITIVE);
        let px = self.left as f64 + fx.clamp(0.0, 1.0) * f64::from(self.right - self.left);
        let py = self.bottom as f64 - fy.clamp(0.0, 1.0) * f64::from(self.bottom - self.top);
        (px.round() as i32, py.round() as i32)
    }

    fn axes(
        &self,
        root: &Area<'_>,
        x_ticks: &[(f64, String)],
        y_ticks: &[(f64, String)],
    ) -> Result<(), String> {
        for (v, label) in x_ticks {
            let (px, _) = self.at(*v, self.y.0);
            segment(root, (px, self.top), (px, self.bottom), GRID)?;
            let width = label.len() as i32 * 8;
            text(root, px - width / 2, self.bottom + 6, label, INK, 1)?;
        }
        for (v, label) in y_ticks {
            let (_, py) = self.at(self.x.0, *v);
            segment(root, (self.left, py), (self.right, py), GRID)?;
            let width = label.len() as i32 * 8;
            text(root, self.left - width - 6, py - 4, label, INK, 1)?;
        }
        segment(
            root,
            (self.left, self.bottom),
            (self.right, self.bottom),
            INK,
        )?;
        segment(root, (self.left, self.top), (self.left, self.bottom), INK)
    }

    fn line(
        &self,
        root: &Area<'_>,
        points: impl Iterator<Item = (f64, f64)>,
        color: RGBColor,
    ) -> Result<(), String> {
        let pixels: Vec<(i32, i32)> = points.map(|(x, y)| self.at(x, y)).collect();
        if pixels.len() == 1 {
            let (x, y) = pixels[0];
            return root
                .draw(&Circle::new((x, y), 3, color.filled()))
                .map_err(|e| e.to_string());
        }
        root.draw(&PathElement::new(pixels, color.stroke_width(2)))
            .map_err(|e| e.to_string())
    }
}

fn legend(root: &Area<'_>, x: i32, y: i32) -> Result<(), String> {
    for (i, (name, color)) in [("p50", P50), ("p99", P99)].into_iter().enumerate() {
        let x = x + i as i32 * 80;
        root.draw(&Rectangle::new([(x, y), (x + 16, y + 8)], color.filled()))
            .map_err(|e| e.to_string())?;
        text(root, x + 22, y, name, color, 1)?;
    }
    Ok(())
}

fn segment(root: &Area<'_>, a: (i32, i32), b: (i32, i32), color: RGBColor) -> Result<(), String> {
    root.draw(&PathElement::new(vec![a, b], color.stroke_width(1)))
        .map_err(|e| e.to_string())
}

/// Draws `s` (ASCII) with its top-left corner at (`x`, `y`), each glyph pixel `scale` wide.
fn text(
    root: &Area<'_>,
    x: i32,
    y: i32,
    s: &str,
    color: RGBColor,
    scale: i32,
) -> Result<(), String> {
    for (i, ch) in s.chars().enumerate() {
        let glyph = BASIC_LEGACY
            .get(ch as usize)
            .copied()
            .unwrap_or(BASIC_LEGACY[usize::from(b'?')]);
        let gx = x + i as i32 * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    let px = gx + col * scale;
                    let py = y + row as i32 * scale;
                    if scale == 1 {
                        root.draw_pixel((px, py), &color)
                            .map_err(|e| e.to_string())?;
                    } else {
                        root.draw(&Rectangle::new(
                            [(px, py), (px + scale - 1, py + scale - 1)],
                            color.filled(),
                        ))
                        .map_err(|e| e.to_string())?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Nines of a percentile: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3, at most 6.5 (the plot puts 100
/// half a nine beyond the point before it).
fn nines(percentile: f64) -> f64 {
    let rest = 1.0 - percentile / 100.0;
    if rest <= 1e-7 {
        6.5
    } else {
        (-rest.log10()).clamp(0.0, 6.5)
    }
}

fn percentile_label(nines: u32) -> String {
    match nines {
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        n => format!("99.{}%", "9".repeat(n as usize - 2)),
    }
}

/// A round upper bound above `max` (1, 2 or 5 times a power of ten), 1 if `max` is 0.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let step = nice_step(max / 5.0);
    (max / step).ceil() * step
}

fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.log10().floor());
    let f = raw / power;
    power
        * if f <= 1.0 {
            1.0
        } else if f <= 2.0 {
            2.0
        } else if f <= 5.0 {
            5.0
        } else {
            10.0
        }
}

fn ticks(max: f64, label: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    let step = nice_step(max / 5.0);
    (0..=((max / step).round() as u32))
        .map(|i| {
            let v = f64::from(i) * step;
            (v, label(v))
        })
        .collect()
}

fn fmt_ms(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_helpers_round_and_label() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.37), 0.4);
        assert_eq!(nice_max(7.3), 8.0);
        assert_eq!(percentile_label(0), "0%");
        assert_eq!(percentile_label(1), "90%");
        assert_eq!(percentile_label(2), "99%");
        assert_eq!(percentile_label(4), "99.99%");
        assert!((nines(99.0) - 2.0).abs() < 1e-9);
        assert_eq!(nines(100.0), 6.5);
        assert_eq!(fmt_ms(0.25), "0.25");
    }
}
