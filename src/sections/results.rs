//! Section 5 of the report, Results: Table 1 (test accuracy and macro F1 of every model, beside
//! the report's), the row-normalised confusion matrix of the best model, its most confused
//! pairs with test images, and the per-class F1 of every model. Everything is read from the
//! results files of section 4 (whichever exist), which must all come from the same data.
//!
//! Outputs: `report/results/05-results.json`, `figures/05-confusion-matrix.{svg,png}`,
//! `figures/05-confused-pairs.{svg,png}`, `figures/05-per-class-f1.{svg,png}`.

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, Source};
use crate::metrics::{ClassMetrics, ConfusionMatrix};
use crate::plot::{self, DrawResult, Figure, PerClassBars};
use crate::sections::{baselines, cnn, efficientnet};
use crate::split::random_split;
use crate::{paths, Error, Result};

/// Name of this section in file names.
pub const SECTION: &str = "05-results";
/// Figure stem of the confusion matrix.
pub const CONFUSION_FIGURE: &str = "05-confusion-matrix";
/// Figure stem of the confused pairs.
pub const PAIRS_FIGURE: &str = "05-confused-pairs";
/// Figure stem of the per-class F1 of every model.
pub const F1_FIGURE: &str = "05-per-class-f1";

/// The models of Table 1: key, name in the table, the report's accuracy and macro F1 (%).
pub const MODELS: [(&str, &str, f64, f64); 4] = [
    ("logreg", "Logistic regression", 78.4, 67.9),
    ("svm", "RBF SVM", 87.8, 74.4),
    ("cnn", "CNN", 92.0, 79.0),
    ("efficientnet", "EfficientNet-b0", 95.0, 88.0),
];

/// Epochs the original report trained both networks for.
pub const ORIGINAL_EPOCHS: usize = 25;

/// What section 5 needs of one model's test results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOutcome {
    /// Key in [`MODELS`].
    pub key: String,
    /// Name in Table 1.
    pub name: String,
    /// The results file it comes from, relative to the project root.
    pub results_file: String,
    /// Hash of the data it was computed on.
    pub data_hash: String,
    /// Seed of the split whose test part it was evaluated on.
    pub split_seed: u64,
    /// Test accuracy.
    pub accuracy: f64,
    /// Test macro F1.
    pub macro_f1: f64,
    /// Per-class test metrics.
    pub per_class: Vec<ClassMetrics>,
    /// Confusion matrix, row-major `[truth, predicted]`.
    pub confusion: Vec<u64>,
    /// Predicted class of every test image (may be empty in old files).
    pub test_predictions: Vec<usize>,
}

/// Reads the outcome of every model of [`MODELS`] whose results file exists; also returns the
/// names of the missing ones.
pub fn collect() -> Result<(Vec<ModelOutcome>, Vec<String>)> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let rel = |s: &str| paths::relative(&paths::result(s));
    let base = paths::result(baselines::SECTION);
    let base: Option<baselines::BaselinesResults> = if base.exists() {
        Some(paths::read_json(&base)?)
    } else {
        None
    };
    for (key, name, _, _) in MODELS {
        let outcome = match key {
            "logreg" | "svm" => base.as_ref().and_then(|b| {
                b.model(key).map(|m| ModelOutcome {
                    key: key.into(),
                    name: name.into(),
                    results_file: rel(baselines::SECTION),
                    data_hash: b.data_hash.clone(),
                    split_seed: b.config.split_seed,
                    accuracy: m.accuracy,
                    macro_f1: m.macro_f1,
                    per_class: m.per_class.clone(),
                    confusion: m.confusion.clone(),
                    test_predictions: m.test_predictions.clone(),
                })
            }),
            "cnn" => neural_outcome::<cnn::CnnConfig>(key, name, cnn::SECTION, |c| c.split_seed)?,
            _ => neural_outcome::<efficientnet::EfficientNetConfig>(
                key,
                name,
                efficientnet::SECTION,
                |c| c.split_seed,
            )?,
        };
        match outcome {
            Some(o) => found.push(o),
            None => missing.push(name.to_string()),
        }
    }
    Ok((found, missing))
}

fn neural_outcome<C: serde::de::DeserializeOwned>(
    key: &str,
    name: &str,
    section: &str,
    seed: impl Fn(&C) -> u64,
) -> Result<Option<ModelOutcome>> {
    let path = paths::result(section);
    if !path.exists() {
        return Ok(None);
    }
    let r: crate::sections::neural::NeuralResults<C> = paths::read_json(&path)?;
    Ok(Some(ModelOutcome {
        key: key.into(),
        name: name.into(),
        results_file: paths::relative(&path),
        data_hash: r.data_hash,
        split_seed: seed(&r.config),
        accuracy: r.test_accuracy,
        macro_f1: r.test_macro_f1,
        per_class: r.per_class,
        confusion: r.confusion,
        test_predictions: r.test_predictions,
    }))
}

/// One row of Table 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table1Row {
    /// Model name.
    pub model: String,
    /// Test accuracy, %.
    pub accuracy: f64,
    /// Test macro F1, %.
    pub macro_f1: f64,
    /// The report's accuracy, %.
    pub report_accuracy: f64,
    /// The report's macro F1, %.
    pub report_macro_f1: f64,
}

/// A confused pair, with the class characters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfusedPair {
    /// True class and its character.
    pub truth: (usize, char),
    /// Predicted class and its character.
    pub predicted: (usize, char),
    /// Test images of `truth` predicted as `predicted`.
    pub count: u64,
    /// `count` / test images of `truth`.
    pub rate: f64,
}

/// A pair of classes the model confused in either direction, counted once: `L` read as `1`
/// and `1` read as `L` are one pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairConfusion {
    /// The two classes (index, character), the class of the larger direction first.
    pub classes: [(usize, char); 2],
    /// Test images of either class read as the other: both directions summed.
    pub count: u64,
    /// Each direction with at least one image, the larger first.
    pub directions: Vec<ConfusedPair>,
}

/// The `k` pairs of classes most often confused in `cm`, each unordered pair once with both
/// directions summed, most images first (ties: the higher rate of a direction, then the lower
/// class indices). `chars` names the classes (`'?'` beyond it).
pub fn confused_pairs(cm: &ConfusionMatrix, chars: &[char], k: usize) -> Vec<PairConfusion> {
    let n = cm.n_classes();
    let ch = |c: usize| chars.get(c).copied().unwrap_or('?');
    let rows: Vec<u64> = (0..n).map(|t| (0..n).map(|p| cm.get(t, p)).sum()).collect();
    let direction = |t: usize, p: usize| {
        let count = cm.get(t, p);
        (count > 0).then(|| ConfusedPair {
            truth: (t, ch(t)),
            predicted: (p, ch(p)),
            count,
            rate: count as f64 / rows[t].max(1) as f64,
        })
    };
    let mut pairs: Vec<PairConfusion> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .filter_map(|(a, b)| {
            let mut directions: Vec<ConfusedPair> = [direction(a, b), direction(b, a)]
                .into_iter()
                .flatten()
                .collect();
            directions.sort_by(|x, y| {
                y.count
                    .cmp(&x.count)
                    .then(y.rate.total_cmp(&x.rate))
                    .then(x.truth.0.cmp(&y.truth.0))
            });
            let first = directions.first()?;
            Some(PairConfusion {
                classes: [first.truth, first.predicted],
                count: directions.iter().map(|d| d.count).sum(),
                directions,
            })
        })
        .collect();
    let top_rate = |p: &PairConfusion| p.directions.first().map_or(0.0, |d| d.rate);
    let low = |p: &PairConfusion| {
        let (a, b) = (p.classes[0].0, p.classes[1].0);
        (a.min(b), a.max(b))
    };
    pairs.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then(top_rate(y).total_cmp(&top_rate(x)))
            .then(low(x).cmp(&low(y)))
    });
    pairs.truncate(k);
    pairs
}

/// `report/results/05-results.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsSummary {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// Hash of the data (every model's results come from it).
    pub data_hash: String,
    /// Table 1, in [`MODELS`] order (models without results left out).
    pub table1: Vec<Table1Row>,
    /// Models without a results file.
    pub missing: Vec<String>,
    /// The model with the highest test accuracy (ties: macro F1).
    pub best_model: String,
    /// The best model's most frequent confusions, one direction each (`L` read as `1` and `1`
    /// read as `L` are two entries), most frequent first.
    pub most_confused: Vec<ConfusedPair>,
    /// The best model's most confused pairs of classes, each pair once with both directions
    /// summed, most images first (empty in files written before it was recorded).
    #[serde(default)]
    pub confused_pairs: Vec<PairConfusion>,
    /// Classes without a test image in any model's test set: their F1 is undefined, not 0
    /// (empty in files written before it was recorded).
    #[serde(default)]
    pub absent_classes: Vec<usize>,
    /// Per-class test F1 of every model: (model, F1 per class).
    pub per_class_f1: Vec<(String, Vec<f64>)>,
    /// Results files read.
    pub inputs: Vec<String>,
}

/// Table 1 as a DataFrame: model, accuracy %, macro F1 %, and the report's two numbers.
pub fn table1(rows: &[Table1Row]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    Ok(df!(
        "model" => rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
        "accuracy_%" => rows.iter().map(|r| r.accuracy).collect::<Vec<_>>(),
        "macro_f1_%" => rows.iter().map(|r| r.macro_f1).collect::<Vec<_>>(),
        "report_accuracy_%" => rows.iter().map(|r| r.report_accuracy).collect::<Vec<_>>(),
        "report_macro_f1_%" => rows.iter().map(|r| r.report_macro_f1).collect::<Vec<_>>(),
    )?)
}

/// Table 1 as Markdown (numbers to one decimal, as in the report).
pub fn table1_markdown(rows: &[Table1Row]) -> String {
    let mut s = String::from(
        "| Model | Accuracy % | Macro F1 % | Report: accuracy % | Report: macro F1 % |\n\
         |---|---|---|---|---|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.model, r.accuracy, r.macro_f1, r.report_accuracy, r.report_macro_f1
        ));
    }
    s
}

/// Builds the summary of `outcomes` (all computed on `data`).
pub fn summarize(
    data: &Dataset,
    outcomes: &[ModelOutcome],
    missing: Vec<String>,
    n_pairs: usize,
) -> Result<ResultsSummary> {
    let hash = data.content_hash();
    if let Some(o) = outcomes.iter().find(|o| o.data_hash != hash) {
        return Err(Error::results(
            &o.results_file,
            format!(
                "comes from other data (hash {}) than {} (hash {}); rerun its section on this \
                 data first",
                o.data_hash.get(..16).unwrap_or(&o.data_hash),
                data.source(),
                hash.get(..16).unwrap_or(&hash)
            ),
            "charlab reproduce",
        ));
    }
    let best = outcomes
        .iter()
        .max_by(|a, b| {
            a.accuracy
                .total_cmp(&b.accuracy)
                .then(a.macro_f1.total_cmp(&b.macro_f1))
        })
        .ok_or_else(|| {
            Error::results(
                paths::relative(&paths::result(baselines::SECTION)),
                "no model results yet (section 4.1, 4.2 or 4.3)",
                "charlab baselines` or `charlab train cnn",
            )
        })?;
    let chars = data.class_chars();
    let cm = ConfusionMatrix::from_counts(chars.len(), best.confusion.clone())?;
    let most_confused = cm
        .most_confused(n_pairs)
        .into_iter()
        .map(|c| ConfusedPair {
            truth: (c.truth, chars[c.truth]),
            predicted: (c.predicted, chars[c.predicted]),
            count: c.count,
            rate: c.rate,
        })
        .collect();
    let table1 = outcomes
        .iter()
        .filter_map(|o| {
            MODELS.iter().find(|m| m.0 == o.key).map(|m| Table1Row {
                model: o.name.clone(),
                accuracy: 100.0 * o.accuracy,
                macro_f1: 100.0 * o.macro_f1,
                report_accuracy: m.2,
                report_macro_f1: m.3,
            })
        })
        .collect();
    let mut inputs: Vec<String> = outcomes.iter().map(|o| o.results_file.clone()).collect();
    inputs.dedup();
    let absent_classes = (0..chars.len())
        .filter(|&c| {
            outcomes
                .iter()
                .all(|o| o.per_class.get(c).is_none_or(|m| m.support == 0))
        })
        .collect();
    Ok(ResultsSummary {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: hash,
        table1,
        missing,
        best_model: best.name.clone(),
        most_confused,
        confused_pairs: confused_pairs(&cm, chars, n_pairs),
        absent_classes,
        per_class_f1: outcomes
            .iter()
            .map(|o| (o.name.clone(), o.per_class.iter().map(|m| m.f1).collect()))
            .collect(),
        inputs,
    })
}

/// The outcome of `summary`'s best model.
pub fn best<'a>(
    outcomes: &'a [ModelOutcome],
    summary: &ResultsSummary,
) -> Result<&'a ModelOutcome> {
    outcomes
        .iter()
        .find(|o| o.name == summary.best_model)
        .ok_or_else(|| {
            Error::param(
                "results",
                format!("no outcome of {} among the results", summary.best_model),
            )
        })
}

/// The row-normalised confusion matrix as a heatmap (rows: true class, columns: predicted
/// class), with a colour bar. Every cell on the diagonal and every other cell of at least
/// [`ConfusionHeatmap::LABEL_MIN`] carries its percentage, in black or white, whichever reads
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
    pub const LABEL_MIN: f64 = 0.02;

    /// The heatmap of `outcome`'s confusion matrix, classes in character order (digits, then
    /// letters), so that look-alikes such as 0/O and 1/I/L are easy to find.
    pub fn of(outcome: &ModelOutcome, classes: &[char]) -> Result<Self> {
        let n = classes.len();
        let cm = ConfusionMatrix::from_counts(n, outcome.confusion.clone())?;
        let rates = cm.normalized();
        let order = plot::char_order(classes);
        let labels = plot::class_labels(classes);
        Ok(ConfusionHeatmap {
            title: format!(
                "{}: confusion matrix on the test set (row-normalised)",
                outcome.name
            ),
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
        })
    }
}

/// A sequential colour map (viridis, 5 stops, linear in between), `v` in `[0, 1]`.
pub fn viridis(v: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let v = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = v * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let t = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * t).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black or white, whichever contrasts more with `background` (WCAG relative luminance).
pub fn text_color_on(background: RGBColor) -> RGBColor {
    let lin = |c: u8| {
        let c = c as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * lin(background.0) + 0.7152 * lin(background.1) + 0.0722 * lin(background.2);
    // Contrast with black (l + 0.05) / 0.05 beats contrast with white 1.05 / (l + 0.05)
    // above l = 0.179.
    if l > 0.179 {
        BLACK
    } else {
        WHITE
    }
}

fn centered() -> plotters::style::text_anchor::Pos {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    Pos::new(HPos::Center, VPos::Center)
}

impl Figure for ConfusionHeatmap {
    fn size(&self) -> (u32, u32) {
        (1500, 1470)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
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

/// One direction of a confused pair in [`ConfusedPairs`]: test images of the true class that
/// the model read as the other, and reference images of the class they were read as.
#[derive(Clone, Debug)]
pub struct MisreadRow {
    /// The direction: true class, the class it was read as, images, rate.
    pub direction: ConfusedPair,
    /// Test images of `direction.truth` read as `direction.predicted` (`[height * width]` 0/1).
    pub misread: Vec<Vec<u8>>,
    /// Images of `direction.predicted`: test images the model read correctly, then (when
    /// there are too few) images of the class from the rest of the data.
    pub reference: Vec<Vec<u8>>,
}

/// The most confused pairs of classes, each pair counted once (both directions summed): per
/// pair a header with the total, then one row per direction with the misread test images
/// beside reference images of the class they were read as, as the original report showed
/// both classes side by side.
#[derive(Clone, Debug)]
pub struct ConfusedPairs {
    /// Title over the figure.
    pub title: String,
    /// Each pair with one [`MisreadRow`] per direction.
    pub rows: Vec<(PairConfusion, Vec<MisreadRow>)>,
    /// Name of every class by index ([`plot::class_label`]).
    pub labels: Vec<String>,
    /// Image height and width.
    pub shape: (usize, usize),
    /// Misread images per direction at most.
    pub per_row: usize,
    /// Reference images per direction at most.
    pub references: usize,
}

impl ConfusedPairs {
    /// Reference images per direction drawn by [`ConfusedPairs::of`].
    pub const REFERENCES: usize = 3;

    /// The confused pairs of `summary` (or, for a summary written before they were recorded,
    /// of the best model's confusion matrix) with up to `per_row` misread test images per
    /// direction and [`Self::REFERENCES`] reference images, from `data` and the best model's
    /// test predictions.
    pub fn of(
        data: &Dataset,
        summary: &ResultsSummary,
        best: &ModelOutcome,
        per_row: usize,
    ) -> Result<Self> {
        let split = random_split(data.len(), best.split_seed)?;
        if best.test_predictions.len() != split.test.len() {
            let command = super::SECTIONS
                .iter()
                .find(|s| best.results_file.ends_with(&format!("{}.json", s.id)))
                .map_or("charlab reproduce", |s| s.command);
            return Err(Error::results(
                &best.results_file,
                format!(
                    "holds {} test predictions for {} test images (written before they were \
                     recorded); rerun its section to record them",
                    best.test_predictions.len(),
                    split.test.len()
                ),
                command,
            ));
        }
        let chars = data.class_chars();
        let pairs = if summary.confused_pairs.is_empty() {
            let cm = ConfusionMatrix::from_counts(chars.len(), best.confusion.clone())?;
            confused_pairs(&cm, chars, summary.most_confused.len())
        } else {
            summary.confused_pairs.clone()
        };
        let labels = data.labels();
        let test = || {
            split
                .test
                .iter()
                .copied()
                .zip(best.test_predictions.iter().copied())
        };
        let references = Self::REFERENCES;
        let rows = pairs
            .into_iter()
            .map(|pair| {
                let directions = pair
                    .directions
                    .iter()
                    .map(|d| {
                        let (t, p) = (d.truth.0, d.predicted.0);
                        let misread = test()
                            .filter(|&(i, q)| labels[i] == t && q == p)
                            .take(per_row)
                            .map(|(i, _)| data.image(i).to_vec())
                            .collect();
                        let read_right = test().filter(|&(i, q)| labels[i] == p && q == p);
                        let elsewhere = split
                            .train_and_validation()
                            .into_iter()
                            .filter(|&i| labels[i] == p)
                            .map(|i| (i, p));
                        let reference = read_right
                            .chain(elsewhere)
                            .take(references)
                            .map(|(i, _)| data.image(i).to_vec())
                            .collect();
                        MisreadRow {
                            direction: d.clone(),
                            misread,
                            reference,
                        }
                    })
                    .collect();
                (pair, directions)
            })
            .collect();
        Ok(ConfusedPairs {
            title: format!(
                "{}: the most confused pairs of classes on the test set",
                best.name
            ),
            rows,
            labels: plot::class_labels(chars),
            shape: (data.height(), data.width()),
            per_row,
            references,
        })
    }

    fn label(&self, class: usize) -> String {
        self.labels
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string())
    }
}

const PAIRS_LABEL_W: i32 = 330;
const PAIRS_CELL: i32 = 112;
const PAIRS_GAP: i32 = 80;
const PAIRS_HEADER_H: i32 = 40;
const PAIRS_ROW_H: i32 = 120;
const PAIRS_TOP: i32 = 112;

impl Figure for ConfusedPairs {
    fn size(&self) -> (u32, u32) {
        let rows: i32 = self
            .rows
            .iter()
            .map(|(_, d)| PAIRS_HEADER_H + PAIRS_ROW_H * d.len() as i32)
            .sum();
        let w =
            PAIRS_LABEL_W + PAIRS_CELL * (self.per_row + self.references) as i32 + PAIRS_GAP + 16;
        (
            w.max(900) as u32,
            (PAIRS_TOP + rows.max(PAIRS_ROW_H) + 10) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let grey = RGBColor(90, 90, 90);
        let rule = RGBColor(190, 190, 190);
        let width = root.dim_in_pixel().0 as i32;
        let refs_x = PAIRS_LABEL_W + PAIRS_CELL * self.per_row as i32 + PAIRS_GAP;
        root.draw(&Text::new(
            self.title.clone(),
            (width / 2, 22),
            ("sans-serif", 26).into_text_style(root).pos(centered()),
        ))?;
        root.draw(&Text::new(
            "each pair counted once: its images misread in either direction, summed",
            (width / 2, 52),
            ("sans-serif", 18).into_font().color(&grey).pos(centered()),
        ))?;
        let head = ("sans-serif", 17).into_font().color(&grey);
        root.draw(&Text::new(
            "misread test images",
            (PAIRS_LABEL_W + 6, 90),
            head.clone(),
        ))?;
        root.draw(&Text::new(
            "the class they were read as",
            (refs_x + 6, 80),
            head.clone(),
        ))?;
        root.draw(&Text::new(
            "(test images the model read correctly)",
            (refs_x + 6, 99),
            head.clone(),
        ))?;
        let mut y = PAIRS_TOP;
        for (pair, directions) in &self.rows {
            let (a, b) = (self.label(pair.classes[0].0), self.label(pair.classes[1].0));
            root.draw(&PathElement::new(
                vec![(10, y + 2), (width - 10, y + 2)],
                rule.stroke_width(1),
            ))?;
            let header = match directions.as_slice() {
                [only] => format!(
                    "{a} and {b}: {} test image{} confused, all {} read as {}",
                    pair.count,
                    if pair.count == 1 { "" } else { "s" },
                    self.label(only.direction.truth.0),
                    self.label(only.direction.predicted.0)
                ),
                _ => format!(
                    "{a} and {b}: {} test images confused in either direction",
                    pair.count
                ),
            };
            root.draw(&Text::new(
                header,
                (12, y + 12),
                ("sans-serif", 21).into_font(),
            ))?;
            y += PAIRS_HEADER_H;
            for d in directions {
                let dir = &d.direction;
                let (t, p) = (self.label(dir.truth.0), self.label(dir.predicted.0));
                root.draw(&Text::new(
                    format!("{t} read as {p}"),
                    (28, y + PAIRS_ROW_H / 2 - 24),
                    ("sans-serif", 21).into_font(),
                ))?;
                root.draw(&Text::new(
                    format!(
                        "{} image{}, {:.1}% of the test images of '{t}'",
                        dir.count,
                        if dir.count == 1 { "" } else { "s" },
                        100.0 * dir.rate
                    ),
                    (28, y + PAIRS_ROW_H / 2 + 6),
                    ("sans-serif", 16).into_font().color(&grey),
                ))?;
                let cell = |x: i32| {
                    root.clone().shrink(
                        (x + 5, y + 4),
                        ((PAIRS_CELL - 10) as u32, (PAIRS_ROW_H - 8) as u32),
                    )
                };
                for (k, img) in d.misread.iter().enumerate() {
                    let area = cell(PAIRS_LABEL_W + PAIRS_CELL * k as i32);
                    plot::draw_glyph(&area, img, self.shape.0, self.shape.1)?;
                }
                // The reference images, behind a faint rule and led by their class's name.
                root.draw(&PathElement::new(
                    vec![
                        (refs_x - PAIRS_GAP + 4, y + 8),
                        (refs_x - PAIRS_GAP + 4, y + PAIRS_ROW_H - 8),
                    ],
                    rule.stroke_width(1),
                ))?;
                root.draw(&Text::new(
                    p.clone(),
                    (refs_x - PAIRS_GAP / 2, y + PAIRS_ROW_H / 2),
                    ("sans-serif", 24).into_text_style(root).pos(centered()),
                ))?;
                for (k, img) in d.reference.iter().enumerate() {
                    let area = cell(refs_x + PAIRS_CELL * k as i32);
                    plot::draw_glyph(&area, img, self.shape.0, self.shape.1)?;
                }
                y += PAIRS_ROW_H;
            }
        }
        Ok(())
    }
}

/// Per-class F1 of every model in `summary`, as grouped bars (legend: model and macro F1;
/// classes without test images marked as such).
pub fn per_class_f1_bars(summary: &ResultsSummary, classes: &[char]) -> PerClassBars {
    PerClassBars {
        title: "Per-class F1 on the test set".into(),
        classes: classes.to_vec(),
        series: summary
            .per_class_f1
            .iter()
            .map(|(name, f1)| {
                let macro_f1 = summary.table1.iter().find(|r| &r.model == name);
                let name = match macro_f1 {
                    Some(r) => format!("{name} (macro F1 {:.1}%)", r.macro_f1),
                    None => name.clone(),
                };
                (name, f1.clone())
            })
            .collect(),
        y_desc: plot::F1_AXIS.into(),
        absent: summary.absent_classes.clone(),
    }
}

/// Runs section 5 on `data`: reads the section 4 results, draws the three figures and writes
/// `report/results/05-results.json`.
pub fn run(data: &Dataset) -> Result<ResultsSummary> {
    let (outcomes, missing) = collect()?;
    let summary = summarize(data, &outcomes, missing, 4)?;
    let best = best(&outcomes, &summary)?;
    let chars = data.class_chars();
    plot::save(
        &ConfusionHeatmap::of(best, chars)?,
        &paths::figure(CONFUSION_FIGURE),
    )?;
    plot::save(
        &ConfusedPairs::of(data, &summary, best, 5)?,
        &paths::figure(PAIRS_FIGURE),
    )?;
    plot::save(
        &per_class_f1_bars(&summary, chars),
        &paths::figure(F1_FIGURE),
    )?;
    paths::write_json(&paths::result(SECTION), &summary)?;
    Ok(summary)
}

/// The text `charlab results` prints: Table 1, the models without results, the best model's
/// most confused pairs, and the files written.
pub fn summary(res: &ResultsSummary) -> String {
    let mut s = format!("{}\n", table1_markdown(&res.table1));
    if !res.missing.is_empty() {
        s.push_str(&format!("no results yet for: {}\n", res.missing.join(", ")));
    }
    s.push_str(&format!(
        "best model: {}; most confused pairs:\n",
        res.best_model
    ));
    for p in &res.most_confused {
        s.push_str(&format!(
            "  true {} -> predicted {}: {} images ({:.1}%)\n",
            p.truth.1,
            p.predicted.1,
            p.count,
            100.0 * p.rate
        ));
    }
    s.push_str(&format!(
        "wrote report/results/{SECTION}.json, figures/{CONFUSION_FIGURE}, {PAIRS_FIGURE}, \
         {F1_FIGURE}\n"
    ));
    s
}
