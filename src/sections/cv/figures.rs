//! Section 6.2's figures: each model's fold scores with their mean and spread
//! (`figures/06-cv.{svg,png}`) and the SVM grid as a heat-map (`figures/06-grid-svm`).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{CvResults, GridResults};
use crate::plot::{self, Backend, DrawResult, Figure, Png, SERIES_COLORS};
use crate::{paths, Result};

/// File stem of the fold-scores figure.
pub(crate) const CV_FIGURE: &str = "06-cv";
/// File stem of the SVM grid heat-map.
pub(crate) const SVM_GRID_FIGURE: &str = "06-grid-svm";

/// One model's strip: label, held-out accuracies and macro F1s (percent), and whether each
/// fold is marked.
type Strip = (String, Vec<f64>, Vec<f64>, Vec<bool>);

/// Held-out accuracy and macro F1 of every fold, per model (percent).
struct FoldStrips {
    /// One strip per model.
    models: Vec<Strip>,
    folds: usize,
    /// Legend of the marked folds' rings (those that hold out a class with fewer images than
    /// folds), if any.
    marked: Option<String>,
}

impl Figure for FoldStrips {
    fn size(&self) -> (u32, u32) {
        (220 + 170 * self.models.len().max(1) as u32, 600)
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let all = self.models.iter().flat_map(|m| m.1.iter().chain(&m.2));
        let lo = all.fold(100.0f64, |a, &b| a.min(b));
        let lo = ((lo - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
        let n = self.models.len().max(1);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Stratified {}-fold cross-validation: each dot one held-out fold, bar = mean +/- std",
                    self.folds
                ),
                ("sans-serif", 20),
            )
            .margin(16)
            .x_label_area_size(90)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..100.0f64)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&|_| String::new())
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("held-out score (%)")
            .y_label_style(("sans-serif", 14))
            .draw()?;
        // Model names under the axis, one line per comma-separated part.
        let style =
            TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, (label, ..)) in self.models.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, lo));
            for (k, part) in label.split(", ").enumerate() {
                root.draw(&Text::new(
                    part.to_string(),
                    (px, py + 8 + 18 * k as i32),
                    style.clone(),
                ))?;
            }
        }
        for (s, (name, colour)) in [
            ("accuracy", SERIES_COLORS[0]),
            ("macro F1", SERIES_COLORS[1]),
        ]
        .iter()
        .enumerate()
        {
            let dx = if s == 0 { -0.15 } else { 0.15 };
            let values = |i: usize| -> &Vec<f64> {
                if s == 0 {
                    &self.models[i].1
                } else {
                    &self.models[i].2
                }
            };
            let mut first = true;
            for i in 0..self.models.len() {
                let v = values(i);
                let ms = crate::metrics::MeanStd::of(v);
                let x = i as f64 + dx;
                let dots = chart.draw_series(
                    v.iter()
                        .map(|&y| Circle::new((x, y), 4, colour.mix(0.7).filled())),
                )?;
                if first {
                    let c = *colour;
                    dots.label(*name)
                        .legend(move |(lx, ly)| Circle::new((lx + 8, ly), 5, c.filled()));
                    first = false;
                }
                let rings = v.iter().zip(&self.models[i].3).filter(|(_, &m)| m);
                chart.draw_series(
                    rings.map(|(&y, _)| Circle::new((x, y), 8, BLACK.stroke_width(2))),
                )?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x + 0.07, ms.mean - ms.std), (x + 0.07, ms.mean + ms.std)],
                    colour.stroke_width(2),
                )))?;
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(x + 0.03, ms.mean), (x + 0.11, ms.mean)],
                    colour.stroke_width(3),
                )))?;
            }
        }
        if let Some(note) = &self.marked {
            chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(note.as_str())
                .legend(|(lx, ly)| Circle::new((lx + 8, ly), 7, BLACK.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()?;
        Ok(())
    }
}

/// Writes `figures/06-cv.{svg,png}` from the models cross-validated so far.
pub fn cv_figure(res: &CvResults) -> Result<Png> {
    let marked: Vec<usize> = res
        .tiny_classes
        .iter()
        .flat_map(|t| t.held_out_in.iter().copied())
        .collect();
    let note = (!res.tiny_classes.is_empty()).then(|| {
        let held: Vec<String> = res
            .tiny_classes
            .iter()
            .map(|t| {
                let folds: Vec<String> =
                    t.held_out_in.iter().map(|f| (f + 1).to_string()).collect();
                format!(
                    "fold {} holds out class {} ('{}', {} image{})",
                    folds.join(", "),
                    t.class,
                    t.character,
                    t.images,
                    if t.images == 1 { "" } else { "s" }
                )
            })
            .collect();
        held.join("; ")
    });
    let fig = FoldStrips {
        marked: note,
        models: res
            .models
            .iter()
            .map(|m| {
                (
                    m.model.label.clone(),
                    m.folds.iter().map(|f| 100.0 * f.heldout_accuracy).collect(),
                    m.folds.iter().map(|f| 100.0 * f.heldout_macro_f1).collect(),
                    m.folds.iter().map(|f| marked.contains(&f.fold)).collect(),
                )
            })
            .collect(),
        folds: res.config.folds,
    };
    plot::save(&fig, &paths::figure(CV_FIGURE))
}

/// The SVM grid: mean held-out macro F1 per (C, gamma), accuracy in each cell too.
struct Heat {
    c: Vec<f64>,
    g: Vec<f64>,
    /// (macro F1, accuracy) percent, C-major.
    cells: Vec<(f64, f64)>,
    best: usize,
    folds: usize,
}

impl Figure for Heat {
    fn size(&self) -> (u32, u32) {
        (
            160 + 150 * self.g.len() as u32,
            140 + 90 * self.c.len() as u32,
        )
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled(
            &format!(
                "RBF SVM grid: mean macro F1 / accuracy (%) over {} folds",
                self.folds
            ),
            ("sans-serif", 18),
        )?;
        let (left, right) = root.split_horizontally(120);
        let (grid, bottom) = right.split_vertically(90 * self.c.len() as u32 + 20);
        let lo = self.cells.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
        let hi = self
            .cells
            .iter()
            .map(|c| c.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let cells = grid
            .margin(10, 10, 0, 20)
            .split_evenly((self.c.len(), self.g.len()));
        for (i, cell) in cells.iter().enumerate() {
            let Some(&(f1, acc)) = self.cells.get(i) else {
                continue;
            };
            let t = if hi > lo { (f1 - lo) / (hi - lo) } else { 1.0 };
            let colour = plot::viridis(t);
            cell.fill(&colour)?;
            let (w, h) = cell.dim_in_pixel();
            let ink = if t > 0.6 { BLACK } else { WHITE };
            let mark = if i == self.best { " *" } else { "" };
            cell.draw(&Text::new(
                format!("{f1:.1}{mark}"),
                (w as i32 / 2 - 28, h as i32 / 2 - 18),
                ("sans-serif", 20).into_font().color(&ink),
            ))?;
            cell.draw(&Text::new(
                format!("acc {acc:.1}"),
                (w as i32 / 2 - 30, h as i32 / 2 + 6),
                ("sans-serif", 16).into_font().color(&ink),
            ))?;
        }
        let rows = left
            .margin(10, 0, 0, 0)
            .split_vertically(90 * self.c.len() as u32 + 10);
        let labels = rows.0.split_evenly((self.c.len(), 1));
        for (area, c) in labels.iter().zip(&self.c) {
            area.draw(&Text::new(format!("C = {c}"), (10, 35), ("sans-serif", 16)))?;
        }
        let cols = bottom.margin(0, 0, 10, 20).split_evenly((1, self.g.len()));
        for (area, g) in cols.iter().zip(&self.g) {
            area.draw(&Text::new(
                format!("gamma {g} x scale"),
                (10, 5),
                ("sans-serif", 15),
            ))?;
        }
        bottom.draw(&Text::new(
            "* chosen (highest mean macro F1)",
            (10, 32),
            ("sans-serif", 14),
        ))?;
        Ok(())
    }
}

/// Writes `figures/06-grid-svm.{svg,png}`.
pub fn svm_grid_figure(grid: &GridResults) -> Result<Png> {
    let mut c: Vec<f64> = Vec::new();
    let mut g: Vec<f64> = Vec::new();
    for p in &grid.svm {
        if !c.contains(&p.c) {
            c.push(p.c);
        }
        let f = p.gamma_factor.unwrap_or(1.0);
        if !g.contains(&f) {
            g.push(f);
        }
    }
    let best = grid
        .best_svm()
        .and_then(|b| grid.svm.iter().position(|p| p == b))
        .unwrap_or(0);
    let fig = Heat {
        cells: grid
            .svm
            .iter()
            .map(|p| (100.0 * p.macro_f1.mean, 100.0 * p.accuracy.mean))
            .collect(),
        folds: grid.svm.first().map_or(0, |p| p.macro_f1.n),
        c,
        g,
        best,
    };
    plot::save(&fig, &paths::figure(SVM_GRID_FIGURE))
}
