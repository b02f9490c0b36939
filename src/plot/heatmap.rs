//! A model's row-normalised confusion matrix as a heatmap (section 5's figure).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{self as plot, centered, text_color_on, viridis, Backend, DrawResult, Figure};
use crate::metrics::ConfusionMatrix;

/// The row-normalised confusion matrix as a heatmap (rows: true class, columns: predicted
/// class), with a colour bar. Every cell on the diagonal and every other cell of at least
/// `ConfusionHeatmap::LABEL_MIN` carries its percentage, in black or white, whichever reads
/// better on the cell's colour; a row without test images is grey and says so.
#[derive(Clone, Debug)]
pub struct ConfusionHeatmap {
    /// Title over the chart.
    pub title: String,
    /// Name of each row and column ([`plot::class_label`]), in drawing order.
    pub labels: Vec<String>,
    /// Row-normalised cells in that order, row-major `[truth, predicted]`, in `[0, 1]`.
    pub rates: Vec<f64>,
    /// Whether each row, in drawing order, has no test image (its rates are not defined).
    pub empty_rows: Vec<bool>,
}

impl ConfusionHeatmap {
    /// Off-diagonal cells below this share of their row carry no number.
    pub(crate) const LABEL_MIN: f64 = 0.02;

    /// The heatmap of `model`'s confusion matrix `cm` (classes `classes`), in character order
    /// (digits, then letters), so that look-alikes such as 0/O and 1/I/L are easy to find.
    pub fn new(model: &str, cm: &ConfusionMatrix, classes: &[char]) -> Self {
        let n = classes.len();
        let rates = cm.normalized();
        let order = plot::char_order(classes);
        let labels = plot::class_labels(classes);
        ConfusionHeatmap {
            title: format!("{model}: confusion matrix on the test set (row-normalised)"),
            labels: order.iter().map(|&c| labels[c].clone()).collect(),
            rates: order
                .iter()
                .flat_map(|&t| order.iter().map(move |&p| (t, p)))
                .map(|(t, p)| rates[t * n + p])
                .collect(),
            empty_rows: order
                .iter()
                .map(|&t| (0..n).all(|p| cm.get(t, p) == 0))
                .collect(),
        }
    }
}

impl Figure for ConfusionHeatmap {
    fn size(&self) -> (u32, u32) {
        (1500, 1470)
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let n = self.labels.len();
        let (_, root) = root.split_vertically(8);
        let root = root.titled(&self.title, ("sans-serif", 28))?;
        root.draw(&Text::new(
            format!(
                "numbers: % of the true class's test images, on the diagonal and wherever {:.0}% \
                 or more",
                100.0 * Self::LABEL_MIN
            ),
            (root.dim_in_pixel().0 as i32 / 2, 12),
            ("sans-serif", 18)
                .into_font()
                .color(&RGBColor(80, 80, 80))
                .pos(centered()),
        ))?;
        let (_, root) = root.split_vertically(30);
        let (w, _) = root.dim_in_pixel();
        let (main, bar) = root.split_horizontally(w - 140);
        let first_lines: Vec<&str> = self.labels.iter().map(|l| plot::split_label(l).0).collect();
        let label = move |v: &f64| plot::class_tick(&first_lines, *v);
        let labels_y = self.labels.clone();
        // Row 0 at the top.
        let label_y = move |v: &f64| plot::class_tick(&labels_y, n as f64 - 1.0 - v);
        let mut chart = ChartBuilder::on(&main)
            .margin(10)
            .x_label_area_size(78)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), -0.5f64..(n as f64 - 0.5))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n)
            .y_labels(n)
            .x_label_formatter(&label)
            .y_label_formatter(&label_y)
            .x_desc("predicted class")
            .y_desc("true class")
            .label_style(("sans-serif", 17))
            .axis_desc_style(("sans-serif", 20))
            .draw()?;
        plot::draw_x_second_lines(&main, &chart, &self.labels, 26, 14)?;
        let empty = |t: usize| self.empty_rows.get(t).copied().unwrap_or(false);
        let rate = |cell: usize| self.rates.get(cell).copied().unwrap_or(0.0);
        chart.draw_series((0..n * n).map(|cell| {
            let (t, p) = (cell / n, cell % n);
            let (x, y) = (p as f64, (n - 1 - t) as f64);
            let fill = if empty(t) {
                plot::ABSENT_FILL
            } else {
                viridis(rate(cell))
            };
            Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], fill.filled())
        }))?;
        // The diagonal and the off-diagonal cells of at least LABEL_MIN: their percentage, so
        // that confusions are read, not guessed from a colour.
        chart.draw_series(
            (0..n * n)
                .filter(|&cell| {
                    let (t, p) = (cell / n, cell % n);
                    !empty(t) && (t == p || rate(cell) >= Self::LABEL_MIN)
                })
                .map(|cell| {
                    let (t, p) = (cell / n, cell % n);
                    let v = rate(cell);
                    Text::new(
                        format!("{:.0}", 100.0 * v),
                        (p as f64, (n - 1 - t) as f64),
                        ("sans-serif", 16)
                            .into_font()
                            .color(&text_color_on(viridis(v)))
                            .pos(centered()),
                    )
                }),
        )?;
        chart.draw_series((0..n).filter(|&t| empty(t)).map(|t| {
            Text::new(
                plot::NO_TEST_IMAGES,
                ((n as f64 - 1.0) / 2.0, (n - 1 - t) as f64),
                ("sans-serif", 16)
                    .into_font()
                    .color(&plot::ABSENT_TEXT)
                    .pos(centered()),
            )
        }))?;
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(10)
            .margin_bottom(88)
            .margin_right(10)
            .y_label_area_size(75)
            .build_cartesian_2d(0f64..1f64, 0f64..100f64)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("share of the true class, %")
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 17))
            .axis_desc_style(("sans-serif", 18))
            .draw()?;
        cb.draw_series((0..100).map(|i| {
            Rectangle::new(
                [(0.0, i as f64), (1.0, i as f64 + 1.0)],
                viridis((i as f64 + 0.5) / 100.0).filled(),
            )
        }))?;
        Ok(())
    }
}
