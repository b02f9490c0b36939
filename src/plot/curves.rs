//! Learning curves: training and validation cross-entropy per epoch (left) and validation
//! accuracy per epoch (right), one colour per run, the epoch whose checkpoint is kept (lowest
//! validation loss) ringed.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Backend, DrawResult, Figure};
use crate::training::EpochRecord;

/// Learning curves of several models.
#[derive(Clone, Debug)]
pub struct LearningCurves {
    /// (model label, per-epoch history).
    pub runs: Vec<(String, Vec<EpochRecord>)>,
}

const COLORS: [RGBColor; 4] = [
    RGBColor(49, 110, 175),
    RGBColor(214, 96, 39),
    RGBColor(60, 150, 60),
    RGBColor(140, 80, 160),
];

impl Figure for LearningCurves {
    fn size(&self) -> (u32, u32) {
        (1400, 560)
    }

    fn draw<DB: Backend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        let root = root.titled("Learning curves", ("sans-serif", 28))?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
        let max_epoch = self
            .runs
            .iter()
            .map(|(_, h)| h.len())
            .max()
            .unwrap_or(1)
            .max(2) as f64;
        let all = || self.runs.iter().flat_map(|(_, h)| h.iter());
        let max_loss = all()
            .map(|r| r.train_loss.max(r.val_loss))
            .filter(|l| l.is_finite())
            .fold(0.0, f64::max)
            .max(1e-3)
            * 1.05;
        let min_acc = all().map(|r| r.val_accuracy).fold(1.0, f64::min);
        let acc_lo = ((min_acc * 100.0 - 2.0) / 5.0).floor().max(0.0) * 5.0;
        for (area, loss) in [(left, true), (right, false)] {
            let mut builder = ChartBuilder::on(&area);
            builder
                .caption(
                    if loss {
                        "cross-entropy: training (solid), validation (dashed)"
                    } else {
                        "validation accuracy"
                    },
                    ("sans-serif", 20),
                )
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(70);
            let y_range = if loss { 0.0..max_loss } else { acc_lo..100.0 };
            let mut chart = builder.build_cartesian_2d(0.5..max_epoch + 0.5, y_range)?;
            chart
                .configure_mesh()
                .light_line_style(RGBColor(235, 235, 235))
                .x_desc("epoch")
                .y_desc(if loss {
                    "cross-entropy (nats)"
                } else {
                    "accuracy (%)"
                })
                .x_labels((max_epoch as usize).min(13))
                .x_label_formatter(&|x| {
                    if (x - x.round()).abs() < 1e-6 {
                        format!("{}", x.round() as i64)
                    } else {
                        String::new()
                    }
                })
                .y_label_formatter(&|y| {
                    if loss {
                        format!("{y:.1}")
                    } else {
                        format!("{y:.0}")
                    }
                })
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 17))
                .draw()?;
            for (k, (label, history)) in self.runs.iter().enumerate() {
                let color = COLORS[k % COLORS.len()];
                let series = |f: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
                    history.iter().map(|r| (r.epoch as f64, f(r))).collect()
                };
                let main = if loss {
                    series(|r| r.train_loss)
                } else {
                    series(|r| 100.0 * r.val_accuracy)
                };
                let chosen = chosen_epoch(history);
                let name = match chosen {
                    Some(e) => format!("{label} (chosen epoch {e})"),
                    None => label.clone(),
                };
                chart
                    .draw_series(LineSeries::new(main.clone(), color.stroke_width(2)))?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                chart.draw_series(main.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
                if loss {
                    let val = series(|r| r.val_loss);
                    chart.draw_series(DashedLineSeries::new(
                        val.clone(),
                        8,
                        5,
                        color.stroke_width(2),
                    ))?;
                    chart.draw_series(val.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
                }
                // The checkpoint kept: the epoch of lowest validation loss, ringed on its curve.
                if let Some(e) = chosen {
                    let on = if loss {
                        series(|r| r.val_loss)
                    } else {
                        main.clone()
                    };
                    if let Some(&p) = on.iter().find(|p| p.0 == e as f64) {
                        chart.draw_series(std::iter::once(Circle::new(
                            p,
                            9,
                            color.stroke_width(3),
                        )))?;
                    }
                }
            }
            chart
                .configure_series_labels()
                .position(if loss {
                    SeriesLabelPosition::UpperRight
                } else {
                    SeriesLabelPosition::LowerRight
                })
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(180, 180, 180))
                .label_font(("sans-serif", 16))
                .draw()?;
        }
        Ok(())
    }
}

/// The epoch whose checkpoint training keeps: the lowest validation loss (the first of equal
/// ones), as [`crate::training::Fit`] picks it.
fn chosen_epoch(history: &[EpochRecord]) -> Option<usize> {
    history
        .iter()
        .filter(|r| r.val_loss.is_finite())
        .min_by(|a, b| {
            a.val_loss
                .total_cmp(&b.val_loss)
                .then(a.epoch.cmp(&b.epoch))
        })
        .map(|r| r.epoch)
}
