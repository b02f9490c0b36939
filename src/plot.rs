//! Figures: one [`Figure`] trait, drawn twice (SVG and PNG) with an embedded font, and shown
//! inline in notebooks.
//!
//! Text in PNGs is rendered with DejaVu Sans embedded in the binary (the `dejavu` crate and
//! plotters' `ab_glyph` backend), so it renders on a machine without system fonts or
//! fontconfig. The font is registered on every draw: evcxr does not keep static state between
//! notebook cells.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::paths::write_atomic;
use crate::{Error, Result};

/// Error type of drawing code (plotters' errors are generic over the backend).
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// Something drawable as a figure of the report.
pub trait Figure {
    /// Size in pixels (width, height).
    fn size(&self) -> (u32, u32);

    /// Draws the figure on `root`, which has already been filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Registers the embedded DejaVu Sans as plotters' `sans-serif`, `serif` and `monospace`.
pub fn register_fonts() {
    for family in ["sans-serif", "serif", "monospace"] {
        let _ = plotters::style::register_font(family, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(family, FontStyle::Bold, dejavu::sans::bold());
        let _ = plotters::style::register_font(family, FontStyle::Italic, dejavu::sans::oblique());
    }
}

/// A PNG image in memory. In a notebook, a value of this type displays as the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Png {
    /// Encoded PNG bytes.
    pub bytes: Vec<u8>,
    /// Where the figure was saved, if it was.
    pub path: Option<PathBuf>,
}

impl Png {
    /// evcxr's rich-display hook: prints the image as `image/png`.
    pub fn evcxr_display(&self) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.bytes);
        println!("EVCXR_BEGIN_CONTENT image/png\n{b64}\nEVCXR_END_CONTENT");
    }
}

fn plot_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Plot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Draws `fig` into an SVG document.
pub fn render_svg<F: Figure>(fig: &F) -> Result<String> {
    register_fonts();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, fig.size()).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(Path::new("svg"), e))?;
        fig.draw(&root).map_err(|e| plot_err(Path::new("svg"), e))?;
        root.present().map_err(|e| plot_err(Path::new("svg"), e))?;
    }
    Ok(svg)
}

/// Draws `fig` into a PNG image.
pub fn render_png<F: Figure>(fig: &F) -> Result<Png> {
    register_fonts();
    let (w, h) = fig.size();
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| plot_err(Path::new("png"), e))?;
        fig.draw(&root).map_err(|e| plot_err(Path::new("png"), e))?;
        root.present().map_err(|e| plot_err(Path::new("png"), e))?;
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| plot_err(Path::new("png"), e))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| plot_err(Path::new("png"), e))?;
    }
    Ok(Png { bytes, path: None })
}

/// Saves `fig` as `<stem>.svg` and `<stem>.png` (atomically) and returns the PNG, so a
/// notebook cell can both save and show a figure.
pub fn save<F: Figure>(fig: &F, stem: &Path) -> Result<Png> {
    let svg = render_svg(fig)?;
    let mut png = render_png(fig)?;
    let svg_path = stem.with_extension("svg");
    let png_path = stem.with_extension("png");
    write_atomic(&svg_path, svg.as_bytes())?;
    write_atomic(&png_path, &png.bytes)?;
    png.path = Some(png_path);
    Ok(png)
}

/// Draws a binary image (`[rows, cols]`, 0/1) in black on white, filling `area`, as one
/// rectangle per horizontal run of ink (compact in SVG).
pub fn draw_glyph<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    image: &[u8],
    rows: usize,
    cols: usize,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let cell = (w as f64 / cols as f64).min(h as f64 / rows as f64);
    let ox = (w as f64 - cell * cols as f64) / 2.0;
    let oy = (h as f64 - cell * rows as f64) / 2.0;
    let px = |c: usize, r: usize| ((ox + c as f64 * cell) as i32, (oy + r as f64 * cell) as i32);
    area.draw(&Rectangle::new(
        [px(0, 0), px(cols, rows)],
        RGBColor(200, 200, 200).stroke_width(1),
    ))?;
    for r in 0..rows {
        let row = &image[r * cols..(r + 1) * cols];
        let mut c = 0;
        while c < cols {
            if row[c] == 1 {
                let start = c;
                while c < cols && row[c] == 1 {
                    c += 1;
                }
                area.draw(&Rectangle::new(
                    [px(start, r), px(c, r + 1)],
                    BLACK.filled(),
                ))?;
            } else {
                c += 1;
            }
        }
    }
    Ok(())
}

/// The character of class `v` for an axis tick at `v` when `v` is a whole number, else an
/// empty label (for the in-between ticks plotters may ask for).
pub fn class_tick(chars: &[char], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 {
        chars
            .get(i as usize)
            .map(|c| c.to_string())
            .unwrap_or_default()
    } else {
        String::new()
    }
}

/// Class indices in character order (digits, then letters; ties by index), the order of the
/// class axes of every per-class figure, so that look-alikes such as 0/O sit together.
pub fn char_order(classes: &[char]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by_key(|&i| (classes[i], i));
    order
}

/// Grouped bars, one group per class and one bar per series (e.g. per-class F1 of several
/// models), values in `[0, 1]` drawn as percentages; classes in character order.
#[derive(Clone, Debug)]
pub struct PerClassBars {
    /// Title over the chart.
    pub title: String,
    /// Label of each class (its character), on the x axis.
    pub classes: Vec<char>,
    /// `(name, value per class)` for each series, in legend order.
    pub series: Vec<(String, Vec<f64>)>,
    /// y axis description.
    pub y_desc: String,
}

/// Colours of successive series (colour-blind safe, Okabe-Ito).
pub const SERIES_COLORS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];

impl Figure for PerClassBars {
    fn size(&self) -> (u32, u32) {
        (1400, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let k = self.classes.len();
        let m_len = self.series.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 26))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(70)
            // Headroom above 100% for the legend.
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), 0f64..(100.0 + 9.0 * m_len))?;
        let order = char_order(&self.classes);
        let chars: Vec<char> = order.iter().map(|&i| self.classes[i]).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(235, 235, 235))
            .x_labels(k)
            .x_label_formatter(&|x| class_tick(&chars, *x))
            .x_desc("class")
            .y_desc(self.y_desc.as_str())
            .y_label_formatter(&|y| {
                if *y <= 100.0 {
                    format!("{y:.0}")
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()?;
        let m = self.series.len().max(1) as f64;
        let width = 0.8 / m;
        for (s, (name, values)) in self.series.iter().enumerate() {
            let color = SERIES_COLORS[s % SERIES_COLORS.len()];
            let left = -0.4 + s as f64 * width;
            chart
                .draw_series(order.iter().enumerate().map(|(pos, &c)| {
                    let v = values.get(c).copied().unwrap_or(0.0);
                    let x0 = pos as f64 + left;
                    Rectangle::new([(x0, 0.0), (x0 + width, 100.0 * v)], color.filled())
                }))?
                .label(name.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 17))
            .draw()?;
        Ok(())
    }
}
