//! Figures: one [`Figure`] trait, drawn twice (SVG and PNG) with an embedded font, and shown
//! inline in notebooks.
//!
//! Text in PNGs is rendered with DejaVu Sans embedded in the binary (the `dejavu` crate and
//! plotters' `ab_glyph` backend), so it renders on a machine without system fonts or
//! fontconfig. The font is registered on every draw: evcxr does not keep static state between
//! notebook cells.

mod colour;
mod curves;
mod dataset;
mod gallery;
mod heatmap;

pub use colour::{centered, text_color_on, viridis};
pub use curves::LearningCurves;
pub use dataset::{ClassDistribution, SampleGrid};
pub use gallery::Gallery;
pub use heatmap::ConfusionHeatmap;

use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::paths::write_atomic;
use crate::{Error, Result};

/// Error type of drawing code (plotters' errors are generic over the backend).
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// A plotters backend a figure can draw on: any whose errors can be boxed into a
/// [`DrawResult`] (both [`SVGBackend`] and [`BitMapBackend`]).
pub trait Backend: DrawingBackend<ErrorType: 'static> {}

impl<DB: DrawingBackend> Backend for DB where DB::ErrorType: 'static {}

/// Something drawable as a figure of the report.
pub trait Figure {
    /// Size in pixels (width, height).
    fn size(&self) -> (u32, u32);

    /// Draws the figure on `root`, which has already been filled white.
    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
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

/// Draws `title` centred across `root` at height `y`, in sans-serif of `size` pixels.
pub fn draw_title<DB: Backend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y: i32,
    size: u32,
) -> DrawResult {
    let width = root.dim_in_pixel().0 as i32;
    root.draw(&Text::new(
        title.to_string(),
        (width / 2, y),
        ("sans-serif", size).into_text_style(root).pos(centered()),
    ))?;
    Ok(())
}

/// Draws a binary image (`[rows, cols]`, 0/1) in black on white, filling `area`, as one
/// rectangle per horizontal run of ink (compact in SVG).
pub fn draw_glyph<DB: Backend>(
    area: &DrawingArea<DB, Shift>,
    image: &[u8],
    rows: usize,
    cols: usize,
) -> DrawResult {
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

/// The name of class `class` on an axis or in a table: its character, followed by its index
/// when an earlier class has the same character, so that no two classes look alike. The
/// report's class 30, a second 'N' (one image, as in the original data), is `N (30)`; a class
/// beyond `chars` is its index.
pub fn class_label(chars: &[char], class: usize) -> String {
    match chars.get(class) {
        Some(&c) if chars[..class].contains(&c) => format!("{c} ({class})"),
        Some(c) => c.to_string(),
        None => class.to_string(),
    }
}

/// [`class_label`] of every class, by class index.
pub fn class_labels(chars: &[char]) -> Vec<String> {
    (0..chars.len()).map(|c| class_label(chars, c)).collect()
}

/// The label at position `v` of a class axis whose positions `0, 1, ...` carry `labels`, when
/// `v` is a whole number, else an empty label (for the in-between ticks plotters may ask for).
pub fn class_tick<T: std::fmt::Display>(labels: &[T], v: f64) -> String {
    let i = v.round();
    if (v - i).abs() < 1e-6 && i >= 0.0 {
        labels
            .get(i as usize)
            .map(|c| c.to_string())
            .unwrap_or_default()
    } else {
        String::new()
    }
}

/// A class name split for a crowded x axis: the character, and the `(index)` that
/// [`class_label`] adds to a repeated character (empty when there is none), drawn on a second
/// line by [`draw_x_second_lines`].
pub fn split_label(label: &str) -> (&str, &str) {
    match label.find(" (") {
        Some(i) => (&label[..i], &label[i + 1..]),
        None => (label, ""),
    }
}

/// Draws on `area` (the area `chart` was built on) the second line of every class name of an x
/// axis whose positions `0, 1, ...` carry `labels` (see [`split_label`]), under the first line
/// that the mesh drew `below` pixels under the axis.
pub fn draw_x_second_lines<DB: Backend>(
    area: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    labels: &[String],
    below: i32,
    font_size: u32,
) -> DrawResult {
    let y_range = chart.y_range();
    let (bx, by) = area.get_base_pixel();
    for (pos, label) in labels.iter().enumerate() {
        let (_, second) = split_label(label);
        if second.is_empty() {
            continue;
        }
        let (x, y) = chart.backend_coord(&(pos as f64, y_range.start));
        area.draw(&Text::new(
            second.to_string(),
            (x - bx, y - by + below),
            TextStyle::from(("sans-serif", font_size).into_font())
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    Ok(())
}

/// Class indices in character order (digits, then letters; ties by index), the order of the
/// class axes of every per-class figure, so that look-alikes such as 0/O sit together.
pub fn char_order(classes: &[char]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..classes.len()).collect();
    order.sort_by_key(|&i| (classes[i], i));
    order
}

/// The y axis description of every per-class F1 chart (one spelling for all of them).
pub const F1_AXIS: &str = "F1, %";

/// Text shown on the classes that have no test image, whose F1 is undefined (not 0).
pub const NO_TEST_IMAGES: &str = "no test images";

/// Fill of the classes without test images, on every per-class figure.
pub const ABSENT_FILL: RGBColor = RGBColor(228, 228, 228);

/// Colour of the text on [`ABSENT_FILL`].
pub const ABSENT_TEXT: RGBColor = RGBColor(95, 95, 95);

/// Grouped bars, one group per class and one bar per series (e.g. per-class F1 of several
/// models), values in `[0, 1]` drawn as percentages on a 0-100 axis; classes in character
/// order. A value of 0 is drawn as a dot on the axis (a bar of height 0 would not show), and a
/// class in `absent` as a grey band saying it has no test images, so the two never look alike.
/// The legend sits above the chart, outside the bars.
#[derive(Clone, Debug)]
pub struct PerClassBars {
    /// Title over the chart.
    pub title: String,
    /// Character of each class, by class index; the x axis names each class by
    /// [`class_label`].
    pub classes: Vec<char>,
    /// `(name, value per class)` for each series, in legend order.
    pub series: Vec<(String, Vec<f64>)>,
    /// y axis description ([`F1_AXIS`] for F1).
    pub y_desc: String,
    /// Classes without test images (their values are not defined; drawn as a grey band).
    pub absent: Vec<usize>,
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

/// One entry of a legend drawn by [`draw_legend`].
#[derive(Clone, Debug)]
pub enum LegendKey {
    /// A filled square of a colour (a bar series).
    Swatch(RGBColor),
    /// A filled dot of a colour.
    Dot(RGBColor),
    /// A square filled with [`ABSENT_FILL`].
    Absent,
}

/// Where [`draw_legend`] puts each of `items` on `area`: `(x, line)` of every item, the
/// items flowing left to right from `x0` and wrapping before the right margin (`x0` wide).
pub fn legend_layout<DB: Backend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(LegendKey, String)],
    x0: i32,
    font_size: u32,
) -> std::result::Result<Vec<(i32, i32)>, Box<dyn std::error::Error>> {
    let font: TextStyle = ("sans-serif", font_size).into_font().into();
    let width = area.dim_in_pixel().0 as i32;
    let key = font_size as i32;
    let (mut x, mut line) = (x0, 0);
    let mut out = Vec::with_capacity(items.len());
    for (_, text) in items {
        let (tw, _) = area.estimate_text_size(text, &font)?;
        let item_w = key + 8 + tw as i32 + 26;
        if x > x0 && x + item_w > width - x0 {
            x = x0;
            line += 1;
        }
        out.push((x, line));
        x += item_w;
    }
    Ok(out)
}

/// Draws `items` as a legend on `area` at the places [`legend_layout`] gives, lines
/// `line_height` pixels apart from `y0`.
pub fn draw_legend<DB: Backend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(LegendKey, String)],
    (x0, y0): (i32, i32),
    font_size: u32,
    line_height: i32,
) -> DrawResult {
    let font: TextStyle = ("sans-serif", font_size).into_font().into();
    let key = font_size as i32;
    let places = legend_layout(area, items, x0, font_size)?;
    for ((mark, text), (x, line)) in items.iter().zip(places) {
        let mid = y0 + line * line_height + line_height / 2;
        let square = [(x, mid - key / 2), (x + key, mid + key / 2)];
        match mark {
            LegendKey::Swatch(c) => area.draw(&Rectangle::new(square, c.filled()))?,
            LegendKey::Dot(c) => area.draw(&Circle::new((x + key / 2, mid), 5, c.filled()))?,
            LegendKey::Absent => {
                area.draw(&Rectangle::new(square, ABSENT_FILL.filled()))?;
                area.draw(&Rectangle::new(square, ABSENT_TEXT.stroke_width(1)))?;
            }
        }
        area.draw(&Text::new(
            text.clone(),
            (x + key + 8, mid),
            font.clone().pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

impl PerClassBars {
    fn legend_items(&self) -> Vec<(LegendKey, String)> {
        let mut items: Vec<(LegendKey, String)> = self
            .series
            .iter()
            .enumerate()
            .map(|(s, (name, _))| {
                (
                    LegendKey::Swatch(SERIES_COLORS[s % SERIES_COLORS.len()]),
                    name.clone(),
                )
            })
            .collect();
        let zero = self.series.iter().any(|(_, v)| {
            v.iter()
                .enumerate()
                .any(|(c, &f)| f == 0.0 && !self.absent.contains(&c))
        });
        if zero {
            items.push((
                LegendKey::Dot(RGBColor(60, 60, 60)),
                "0: F1 of 0 (none of the class's test images read correctly)".into(),
            ));
        }
        if !self.absent.is_empty() {
            items.push((LegendKey::Absent, NO_TEST_IMAGES.into()));
        }
        items
    }
}

impl Figure for PerClassBars {
    fn size(&self) -> (u32, u32) {
        (1400, 600)
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let k = self.classes.len();
        let root = root.titled(&self.title, ("sans-serif", 26))?;
        // The legend above the chart, so that no bar hides behind it and the axis ends at 100.
        let items = self.legend_items();
        let lines = legend_layout(&root, &items, 82, 17)?
            .last()
            .map_or(0, |&(_, line)| line + 1);
        let (legend, plot_area) = root.split_vertically((lines * 28 + 8) as u32);
        draw_legend(&legend, &items, (82, 2), 17, 28)?;
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(12)
            .margin_top(6)
            .x_label_area_size(62)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(k as f64 - 0.5), 0f64..100f64)?;
        let order = char_order(&self.classes);
        let labels = class_labels(&self.classes);
        let ticks: Vec<String> = order.iter().map(|&i| labels[i].clone()).collect();
        let first_lines: Vec<&str> = ticks.iter().map(|t| split_label(t).0).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_labels(k)
            .x_label_formatter(&|x| class_tick(&first_lines, *x))
            .x_desc("class")
            .y_labels(11)
            .y_desc(self.y_desc.as_str())
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()?;
        draw_x_second_lines(&plot_area, &chart, &ticks, 24, 14)?;
        // Classes without test images: a grey band with the reason, in place of bars.
        let absent_pos: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, c)| self.absent.contains(c))
            .map(|(pos, _)| pos)
            .collect();
        chart.draw_series(absent_pos.iter().map(|&pos| {
            let x = pos as f64;
            Rectangle::new([(x - 0.45, 0.0), (x + 0.45, 100.0)], ABSENT_FILL.filled())
        }))?;
        chart.draw_series(absent_pos.iter().map(|&pos| {
            Text::new(
                NO_TEST_IMAGES,
                (pos as f64, 50.0),
                ("sans-serif", 16)
                    .into_font()
                    .color(&ABSENT_TEXT)
                    .transform(FontTransform::Rotate270)
                    .pos(centered()),
            )
        }))?;
        let m = self.series.len().max(1) as f64;
        let width = 0.8 / m;
        // Zeros: dots as wide as a bar (so that neighbouring zeros stay apart), 2-5 px radius.
        let bar_px = chart.backend_coord(&(width, 0.0)).0 - chart.backend_coord(&(0.0, 0.0)).0;
        let radius = ((bar_px - 1) / 2).clamp(2, 5);
        for (s, (_, values)) in self.series.iter().enumerate() {
            let color = SERIES_COLORS[s % SERIES_COLORS.len()];
            let left = -0.4 + s as f64 * width;
            let shown = || {
                order
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !self.absent.contains(c))
                    .filter_map(|(pos, &c)| values.get(c).map(|&v| (pos as f64 + left, v)))
            };
            chart.draw_series(shown().filter(|&(_, v)| v > 0.0).map(|(x0, v)| {
                Rectangle::new([(x0, 0.0), (x0 + width, 100.0 * v)], color.filled())
            }))?;
            // A zero: a dot on the axis, where the bar would stand.
            chart.draw_series(shown().filter(|&(_, v)| v <= 0.0).map(|(x0, _)| {
                EmptyElement::at((x0 + width / 2.0, 0.0))
                    + Circle::new((0, -radius - 1), radius, color.filled())
            }))?;
        }
        // Over every run of neighbouring zeros of a class, a "0" (the dots alone are small).
        let zero = |c: usize, s: usize| {
            self.series[s].1.get(c).is_some_and(|&v| v <= 0.0) && !self.absent.contains(&c)
        };
        let mut runs = Vec::new();
        for (pos, &c) in order.iter().enumerate() {
            let mut s = 0;
            while s < self.series.len() {
                if zero(c, s) {
                    let start = s;
                    while s < self.series.len() && zero(c, s) {
                        s += 1;
                    }
                    let mid = -0.4 + width * (start + s) as f64 / 2.0;
                    runs.push(pos as f64 + mid);
                } else {
                    s += 1;
                }
            }
        }
        chart.draw_series(runs.into_iter().map(|x| {
            EmptyElement::at((x, 0.0))
                + Text::new(
                    "0",
                    (0, -2 * radius - 4),
                    ("sans-serif", 15)
                        .into_font()
                        .color(&RGBColor(60, 60, 60))
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
        }))?;
        Ok(())
    }
}
