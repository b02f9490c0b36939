//! Rich display of tables in notebooks, and the tables of library values that the notebooks
//! and sections show: a network's layers ([`net_table`]), a training history
//! ([`history_table`]), per-class metrics ([`per_class_table`]), a data set's classes
//! ([`class_table`]) and two splits' per-class counts ([`split_table`]).
//!
//! evcxr shows a value through its `evcxr_display` method; [`Html`] prints `text/html`, so a
//! DataFrame shows as a real table with every row (polars' own text format elides rows).

use polars::prelude::{df, AnyValue, DataFrame};

use crate::data::Dataset;
use crate::metrics::ClassMetrics;
use crate::models::Net;
use crate::split::SplitSummary;
use crate::training::EpochRecord;
use crate::Result;

/// An HTML fragment shown as such in a notebook (and as text elsewhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Html(pub String);

impl Html {
    /// evcxr's rich-display hook.
    pub fn evcxr_display(&self) {
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n{}\nEVCXR_END_CONTENT",
            self.0
        );
    }
}

impl std::fmt::Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A plain-text table as the commands print it: `header`, then `line(row)` for every row, each
/// on a line of its own.
pub fn text_table<T>(header: &str, rows: &[T], line: impl Fn(&T) -> String) -> String {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(&line(r));
        s.push('\n');
    }
    s
}

/// Every row of `df` as an HTML table, floats rounded by [`TableFormat::default`]'s rules.
pub fn table(df: &DataFrame) -> Html {
    TableFormat::default().html(df)
}

/// How [`table`] rounds the float columns of a DataFrame.
///
/// Every value of a float column is shown with the same number of decimals (so the column
/// lines up), chosen per column in this order:
/// 1. the decimals set for that column with [`TableFormat::decimals`];
/// 2. [`TableFormat::percent_decimals`] (default 1) when the column's name contains `%`;
/// 3. enough decimals for [`TableFormat::significant`] (default 4) significant digits of the
///    column's largest value (`44.907` -> `44.91`, `0.35285` -> `0.3529`, `521.62` -> `521.6`),
///    at most 4.
///
/// Rules 2 and 3 never show more decimals than the column's values have: a column already
/// rounded to one decimal shows one (`0.5`, not `0.50`), a column of whole numbers none.
///
/// ```
/// use charlab::display::TableFormat;
/// use polars::prelude::*;
/// let df = df!("model" => ["svm"], "accuracy_%" => [82.36], "fit_s" => [9.20981]).unwrap();
/// let html = TableFormat::default().decimals("fit_s", 1).html(&df).0;
/// assert!(html.contains("<td>82.4</td><td>9.2</td>"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFormat {
    columns: Vec<(String, usize)>,
    percent_decimals: usize,
    significant: usize,
}

impl Default for TableFormat {
    fn default() -> Self {
        TableFormat {
            columns: Vec::new(),
            percent_decimals: 1,
            significant: 4,
        }
    }
}

/// The most decimals rule 3 of [`TableFormat`] shows.
const MAX_DECIMALS: usize = 4;

impl TableFormat {
    /// Shows column `name` with exactly `decimals` decimals.
    pub fn decimals(mut self, name: &str, decimals: usize) -> Self {
        self.columns.retain(|(n, _)| n != name);
        self.columns.push((name.to_string(), decimals));
        self
    }

    /// Decimals of columns whose name contains `%` (default 1).
    pub fn percent_decimals(mut self, decimals: usize) -> Self {
        self.percent_decimals = decimals;
        self
    }

    /// Significant digits of a float column's largest value (default 4).
    pub fn significant(mut self, digits: usize) -> Self {
        self.significant = digits;
        self
    }

    /// The decimals a float column named `name` with `values` is shown with.
    pub fn column_decimals(&self, name: &str, values: &[f64]) -> usize {
        if let Some((_, d)) = self.columns.iter().find(|(n, _)| n == name) {
            return *d;
        }
        let rule = if name.contains('%') {
            self.percent_decimals
        } else {
            let largest = values
                .iter()
                .filter(|x| x.is_finite())
                .fold(0.0f64, |m, x| m.max(x.abs()));
            let whole_digits = if largest >= 1.0 {
                largest.log10().floor() as usize + 1
            } else {
                0
            };
            self.significant
                .saturating_sub(whole_digits)
                .min(MAX_DECIMALS)
        };
        let needed = values.iter().map(|&x| decimals_in(x)).max().unwrap_or(0);
        rule.min(needed)
    }

    /// Every row of `df` as an HTML table.
    pub fn html(&self, df: &DataFrame) -> Html {
        let columns = df.columns();
        let decimals: Vec<Option<usize>> = columns
            .iter()
            .map(|c| {
                let values: Vec<f64> = (0..df.height())
                    .filter_map(|i| match c.get(i) {
                        Ok(AnyValue::Float64(x)) => Some(x),
                        Ok(AnyValue::Float32(x)) => Some(x as f64),
                        _ => None,
                    })
                    .collect();
                c.dtype()
                    .is_float()
                    .then(|| self.column_decimals(c.name(), &values))
            })
            .collect();
        let mut s = String::from("<table class=\"charlab\">\n<thead><tr>");
        for c in columns {
            s.push_str(&format!("<th>{}</th>", escape(c.name())));
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        for i in 0..df.height() {
            s.push_str("<tr>");
            for (c, d) in columns.iter().zip(&decimals) {
                let cell = match c.get(i) {
                    Ok(v) => match v {
                        AnyValue::Float64(x) => format_float(x, d.unwrap_or(MAX_DECIMALS)),
                        AnyValue::Float32(x) => format_float(x as f64, d.unwrap_or(MAX_DECIMALS)),
                        AnyValue::String(t) => t.to_string(),
                        AnyValue::Null => String::new(),
                        other => other.to_string(),
                    },
                    Err(_) => String::new(),
                };
                s.push_str(&format!("<td>{}</td>", escape(&cell)));
            }
            s.push_str("</tr>\n");
        }
        s.push_str(&format!(
            "</tbody>\n</table>\n<p><small>{} rows x {} columns</small></p>",
            df.height(),
            df.width()
        ));
        Html(s)
    }
}

/// The decimals `x` needs to be written exactly, up to [`MAX_DECIMALS`] (more counts as that).
fn decimals_in(x: f64) -> usize {
    if !x.is_finite() {
        return 0;
    }
    (0..MAX_DECIMALS)
        .find(|&d| {
            let scaled = x * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() <= 1e-9 * scaled.abs().max(1.0)
        })
        .unwrap_or(MAX_DECIMALS)
}

fn format_float(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    let s = format!("{x:.decimals$}");
    // No "-0.0": a value that rounds to zero is shown as zero.
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// A training history as a table: epoch, train loss, validation loss, validation accuracy
/// (%), seconds.
pub fn history_table(history: &[EpochRecord]) -> Result<DataFrame> {
    Ok(df!(
        "epoch" => history.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
        "train_loss" => history.iter().map(|r| r.train_loss).collect::<Vec<_>>(),
        "val_loss" => history.iter().map(|r| r.val_loss).collect::<Vec<_>>(),
        "val_accuracy_%" => history.iter().map(|r| 100.0 * r.val_accuracy).collect::<Vec<_>>(),
        "seconds" => history.iter().map(|r| r.seconds).collect::<Vec<_>>(),
    )?)
}

/// Per-class test metrics as a table (class, character, precision, recall, F1, support).
pub fn per_class_table(per_class: &[ClassMetrics], chars: &[char]) -> Result<DataFrame> {
    Ok(df!(
        "class" => (0..per_class.len() as u32).collect::<Vec<_>>(),
        "character" => chars.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "precision" => per_class.iter().map(|m| m.precision).collect::<Vec<_>>(),
        "recall" => per_class.iter().map(|m| m.recall).collect::<Vec<_>>(),
        "f1" => per_class.iter().map(|m| m.f1).collect::<Vec<_>>(),
        "support" => per_class.iter().map(|m| m.support).collect::<Vec<_>>(),
    )?)
}

/// A network's layers (the CNN) or stages (EfficientNet) as a table: name, what it does,
/// output shape without the batch dimension, trainable parameters (counted on a network built
/// on the CPU). ResNet is listed as one row.
pub fn net_table(net: &Net) -> Result<DataFrame> {
    let (names, does, outputs, params): (Vec<String>, Vec<String>, Vec<String>, Vec<i64>) =
        match net {
            Net::Cnn(p) => {
                let layers = p.layers()?;
                (
                    layers.iter().map(|l| l.name.clone()).collect(),
                    layers.iter().map(|l| l.kind.clone()).collect(),
                    layers.iter().map(|l| format!("{:?}", l.output)).collect(),
                    layers.iter().map(|l| l.parameters).collect(),
                )
            }
            Net::Efficientnet(p) => {
                let stages = p.stages()?;
                let vs = tch::nn::VarStore::new(tch::Device::Cpu);
                net.build(&vs)?;
                let vars = vs.variables();
                let count = |prefix: &str| -> i64 {
                    vars.iter()
                        .filter(|(n, t)| t.requires_grad() && n.starts_with(&format!("{prefix}.")))
                        .map(|(_, t)| t.numel() as i64)
                        .sum()
                };
                (
                    stages.iter().map(|s| s.name.clone()).collect(),
                    stages.iter().map(|s| s.kind.clone()).collect(),
                    stages.iter().map(|s| format!("{:?}", s.output)).collect(),
                    stages.iter().map(|s| count(&s.name)).collect(),
                )
            }
            Net::Resnet(p) => (
                vec![net.label()],
                vec![format!("residual stages {:?}", p.layers)],
                vec![format!("[{}]", p.n_classes)],
                vec![net.parameter_count()?],
            ),
        };
    Ok(df!(
        "layer" => names,
        "does" => does,
        "output" => outputs,
        "parameters" => params,
    )?)
}

/// The class table of `data`: one row per class with `class`, `character`, `count` and `share` (%).
pub fn class_table(data: &Dataset) -> Result<DataFrame> {
    let counts = data.class_counts();
    let total = data.len().max(1) as f64;
    let df = df!(
        "class" => (0..counts.len() as u32).collect::<Vec<u32>>(),
        "character" => data.class_chars().iter().map(|c| c.to_string()).collect::<Vec<String>>(),
        "count" => counts.iter().map(|&c| c as u32).collect::<Vec<u32>>(),
        "share" => counts.iter().map(|&c| (1000.0 * c as f64 / total).round() / 10.0).collect::<Vec<f64>>(),
    )?;
    Ok(df)
}

/// Per-class counts of the random and stratified splits as one table.
pub fn split_table(
    data: &Dataset,
    random: &SplitSummary,
    strat: &SplitSummary,
) -> Result<DataFrame> {
    let k = data.n_classes();
    let col = |s: &SplitSummary, f: fn(&(usize, usize, usize)) -> usize| -> Vec<u32> {
        s.per_class.iter().map(|t| f(t) as u32).collect()
    };
    Ok(df!(
        "class" => (0..k as u32).collect::<Vec<u32>>(),
        "character" => data.class_chars().iter().map(|c| c.to_string()).collect::<Vec<String>>(),
        "images" => data.class_counts().iter().map(|&c| c as u32).collect::<Vec<u32>>(),
        "train" => col(random, |t| t.0),
        "validation" => col(random, |t| t.1),
        "test" => col(random, |t| t.2),
        "strat_train" => col(strat, |t| t.0),
        "strat_validation" => col(strat, |t| t.1),
        "strat_test" => col(strat, |t| t.2),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(html: &Html) -> Vec<String> {
        html.0
            .split("<td>")
            .skip(1)
            .map(|c| c.split("</td>").next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn percents_get_one_decimal_and_times_four_significant_digits() {
        let df = df!(
            "model" => ["logreg", "svm"],
            "accuracy_%" => [59.0, 82.36],
            "macro_f1_%" => [49.29016957547767, 69.2577],
            "fit_s" => [44.907, 9.2098],
            "predict_s" => [0.05953, 5.3251],
        )
        .unwrap();
        assert_eq!(
            cells(&table(&df)),
            ["logreg", "59.0", "49.3", "44.91", "0.060", "svm", "82.4", "69.3", "9.21", "5.325"]
        );
    }

    #[test]
    fn a_rounded_column_keeps_its_decimals_and_whole_numbers_have_none() {
        let df = df!("share" => [0.5, 10.9, 1.0], "train s" => [384.0, 1151.0, 557.0]).unwrap();
        assert_eq!(
            cells(&table(&df)),
            ["0.5", "384", "10.9", "1151", "1.0", "557"]
        );
    }

    #[test]
    fn small_values_and_overrides() {
        let df = df!("val_loss" => [0.35285895, 0.5426], "seconds" => [479.319, 61.4161]).unwrap();
        assert_eq!(cells(&table(&df)), ["0.3529", "479.3", "0.5426", "61.4"]);
        let f = TableFormat::default()
            .decimals("val_loss", 2)
            .significant(2);
        assert_eq!(cells(&f.html(&df)), ["0.35", "479", "0.54", "61"]);
        let pct = df!("acc %" => [88.5234]).unwrap();
        assert_eq!(
            cells(&TableFormat::default().percent_decimals(2).html(&pct)),
            ["88.52"]
        );
    }

    #[test]
    fn integers_strings_and_odd_floats() {
        let df = df!(
            "class" => [0u32, 1],
            "character" => ["<a>", "b"],
            "x" => [f64::NAN, -0.00001],
        )
        .unwrap();
        assert_eq!(
            cells(&table(&df)),
            ["0", "&lt;a&gt;", "NaN", "1", "b", "0.0000"]
        );
    }
}
