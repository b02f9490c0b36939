//! The committed notebooks show the committed results: every number a notebook's outputs show
//! (printed lines and HTML tables) is checked against the matching value of
//! `report/results/*.json` (or `report/report.md`) at the precision it is shown with, so an
//! output left over from an earlier run fails here. Re-executing the notebooks
//! (`make notebooks-commit`) after the results change brings them back in line.
//!
//! Cells are found by a piece of their source, not by position, and a notebook whose checked
//! cells are all missing fails too, so the test cannot pass by checking nothing.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn results(name: &str) -> Value {
    read_json(&root().join("report/results").join(format!("{name}.json")))
}

/// `v` at JSON pointer `p` (e.g. `/models/0/accuracy`).
fn at<'a>(v: &'a Value, p: &str) -> &'a Value {
    v.pointer(p)
        .unwrap_or_else(|| panic!("results have no {p}"))
}

fn num(v: &Value, p: &str) -> f64 {
    at(v, p)
        .as_f64()
        .unwrap_or_else(|| panic!("{p} is not a number"))
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// The values filling the `{}` of `template` in `line`, or `None` when the line does not have
/// the template's shape.
fn fill(template: &str, line: &str) -> Option<Vec<String>> {
    let pieces: Vec<&str> = template.split("{}").collect();
    let mut rest = line.strip_prefix(pieces[0])?;
    let mut out = Vec::new();
    for (k, lit) in pieces.iter().enumerate().skip(1) {
        let end = if lit.is_empty() {
            if k == pieces.len() - 1 {
                rest.len()
            } else {
                return None;
            }
        } else {
            rest.find(lit)?
        };
        out.push(rest[..end].to_string());
        rest = &rest[end + lit.len()..];
    }
    rest.is_empty().then_some(out)
}

/// Whether `shown` (e.g. `44.9`, `59.00`, `9.997e-5`, `3,291`) is `value` written with the
/// precision `shown` has (half a unit of its last digit either way).
fn shows(shown: &str, value: f64) -> bool {
    let s = shown.trim().trim_end_matches('%').replace(',', "");
    let Ok(x) = s.parse::<f64>() else {
        return false;
    };
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s.as_str(), 0),
    };
    let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i32 - exp;
    let half_unit = 0.5 * 10f64.powi(-decimals);
    (x - value).abs() <= half_unit * (1.0 + 1e-9) + 1e-12 * value.abs()
}

/// An HTML table as its header and rows of cell texts (entities decoded).
fn html_table(html: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let decode = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    };
    let cells = |row: &str, tag: &str| -> Vec<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        row.split(open.as_str())
            .skip(1)
            .map(|c| decode(c.split(close.as_str()).next().unwrap_or_default()))
            .collect()
    };
    let mut rows = html.split("<tr>").skip(1);
    let header = rows.next().map(|r| cells(r, "th")).unwrap_or_default();
    (header, rows.map(|r| cells(r, "td")).collect())
}

/// The numbers in a text, in order (digits with an optional decimal part).
fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (c == '.' && !cur.is_empty()) {
            cur.push(c);
        } else if c == ',' && !cur.is_empty() {
            // thousands separator: 80,290
        } else if !cur.is_empty() {
            out.push(cur.trim_end_matches('.').to_string());
            cur.clear();
        }
    }
    out
}

/// One notebook's outputs, and what was found wrong with them.
struct Notebook {
    name: String,
    cells: Vec<Value>,
    problems: Vec<String>,
    compared: usize,
}

impl Notebook {
    fn open(name: &str) -> Notebook {
        let nb = read_json(&root().join("notebooks").join(name));
        Notebook {
            name: name.to_string(),
            cells: at(&nb, "/cells").as_array().cloned().unwrap_or_default(),
            problems: Vec::new(),
            compared: 0,
        }
    }

    /// The index of the one code cell whose source contains `needle`.
    fn cell(&mut self, needle: &str) -> Option<usize> {
        let found: Vec<usize> = (0..self.cells.len())
            .filter(|&i| {
                self.cells[i]["cell_type"] == "code"
                    && text_of(&self.cells[i]["source"]).contains(needle)
            })
            .collect();
        if found.len() != 1 {
            self.problems.push(format!(
                "{} code cells contain `{needle}` (expected one)",
                found.len()
            ));
            return None;
        }
        Some(found[0])
    }

    fn stdout(&self, i: usize) -> String {
        self.cells[i]["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["output_type"] == "stream" && o["name"] == "stdout")
            .map(|o| text_of(&o["text"]))
            .collect()
    }

    fn html(&self, i: usize) -> String {
        self.cells[i]["outputs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| text_of(&o["data"]["text/html"]))
            .collect()
    }

    /// The values of the printed line of cell `i` that has the shape of `template`.
    fn line(&mut self, i: usize, template: &str) -> Option<Vec<String>> {
        let out = self.stdout(i);
        let found = out.lines().find_map(|l| fill(template, l));
        if found.is_none() {
            self.problems.push(format!(
                "cell {i}: no printed line of the form `{template}`"
            ));
        }
        found
    }

    fn num(&mut self, i: usize, what: &str, shown: &str, value: f64) {
        self.compared += 1;
        if !shows(shown, value) {
            self.problems.push(format!(
                "cell {i}: {what} is shown as {shown}, the results say {value}"
            ));
        }
    }

    fn text(&mut self, i: usize, what: &str, shown: &str, value: &str) {
        self.compared += 1;
        if shown != value {
            self.problems.push(format!(
                "cell {i}: {what} is shown as {shown:?}, the results say {value:?}"
            ));
        }
    }

    /// The HTML table of cell `i`, checked to have `rows` rows and the header `columns`.
    fn table(&mut self, i: usize, columns: &[&str], rows: usize) -> Vec<Vec<String>> {
        let (header, body) = html_table(&self.html(i));
        if header != columns {
            self.problems.push(format!(
                "cell {i}: table columns {header:?}, expected {columns:?}"
            ));
            return Vec::new();
        }
        if body.len() != rows {
            self.problems.push(format!(
                "cell {i}: table has {} rows, the results {rows}",
                body.len()
            ));
        }
        body
    }

    /// Compares every column of `row` (table row `r` of cell `i`) with `values`, `None` meaning
    /// a column not from the results.
    fn row(&mut self, i: usize, r: usize, row: &[String], values: &[Option<Value>]) {
        for (c, (shown, v)) in row.iter().zip(values).enumerate() {
            let what = format!("row {r}, column {c}");
            match v {
                Some(Value::Number(n)) => self.num(i, &what, shown, n.as_f64().unwrap_or(f64::NAN)),
                Some(Value::String(s)) => self.text(i, &what, shown, s),
                Some(Value::Bool(b)) => self.text(i, &what, shown, &b.to_string()),
                _ => {}
            }
        }
    }

    fn finish(self) -> Vec<String> {
        let mut out: Vec<String> = self
            .problems
            .into_iter()
            .map(|p| format!("{}: {p}", self.name))
            .collect();
        if self.compared == 0 {
            out.push(format!("{}: no number was compared", self.name));
        }
        out
    }
}

fn f(x: f64) -> Option<Value> {
    serde_json::Number::from_f64(x).map(Value::Number)
}

fn j(v: &Value) -> Option<Value> {
    Some(v.clone())
}

fn data_lines(nb: &mut Notebook, i: usize, res: &Value) {
    if let Some(v) = nb.line(i, "images:  {} of {}x{} pixels, {} classes") {
        nb.num(i, "images", &v[0], num(res, "/images"));
        nb.num(i, "height", &v[1], num(res, "/image_size/0"));
        nb.num(i, "width", &v[2], num(res, "/image_size/1"));
        nb.num(i, "classes", &v[3], num(res, "/classes"));
    }
    if let Some(v) = nb.line(i, "hash:    {}") {
        let hash = at(res, "/data_hash").as_str().unwrap_or_default();
        nb.text(i, "data hash", &v[0], hash.get(..16).unwrap_or(hash));
    }
}

fn check_dataset() -> Vec<String> {
    let res = results("02-dataset");
    let mut nb = Notebook::open("02-dataset.ipynb");
    if let Some(i) = nb.cell("charlab::notebook::start(Profile::Full)") {
        data_lines(&mut nb, i, &res);
    }
    if let Some(i) = nb.cell("display::class_table") {
        let rows = nb.table(i, &["class", "character", "count", "share"], 36);
        for (r, row) in rows.iter().enumerate() {
            let t = at(&res, &format!("/table/{r}")).clone();
            nb.row(
                i,
                r,
                row,
                &[
                    j(&t["class"]),
                    j(&t["character"]),
                    j(&t["count"]),
                    j(&t["share"]),
                ],
            );
        }
    }
    if let Some(i) = nb.cell("res.largest") {
        let chars =
            |k: &str| at(&res, &format!("/table/{}/character", num(&res, k) as usize)).clone();
        if let Some(v) = nb.line(i, "largest class:  {} ('{}') with {} images") {
            nb.num(i, "largest class", &v[0], num(&res, "/largest/0"));
            nb.text(
                i,
                "its character",
                &v[1],
                chars("/largest/0").as_str().unwrap_or_default(),
            );
            nb.num(i, "its images", &v[2], num(&res, "/largest/1"));
        }
        if let Some(v) = nb.line(i, "smallest class: {} ('{}') with {} image(s)") {
            nb.num(i, "smallest class", &v[0], num(&res, "/smallest/0"));
            nb.text(
                i,
                "its character",
                &v[1],
                chars("/smallest/0").as_str().unwrap_or_default(),
            );
            nb.num(i, "its images", &v[2], num(&res, "/smallest/1"));
        }
        if let Some(v) = nb.line(i, "ratio {}:1; ink covers {}% of all pixels") {
            nb.num(i, "imbalance ratio", &v[0], num(&res, "/imbalance_ratio"));
            nb.num(i, "ink %", &v[1], 100.0 * num(&res, "/ink_fraction"));
        }
    }
    nb.finish()
}

fn check_preprocessing() -> Vec<String> {
    let res = results("03-preprocessing");
    let mut nb = Notebook::open("03-preprocessing.ipynb");
    for (needle, kind) in [
        ("split::random_split", "random"),
        ("split::stratified_split", "stratified"),
    ] {
        if let Some(i) = nb.cell(needle) {
            if let Some(v) = nb.line(i, "train {}, validation {}, test {}") {
                for (k, part) in v.iter().enumerate() {
                    nb.num(
                        i,
                        &format!("{kind} part {k}"),
                        part,
                        num(&res, &format!("/{kind}/sizes/{k}")),
                    );
                }
            }
        }
    }
    if let Some(i) = nb.cell("display::split_table") {
        let columns = [
            "class",
            "character",
            "images",
            "train",
            "validation",
            "test",
            "strat_train",
            "strat_validation",
            "strat_test",
        ];
        let n = at(&res, "/random/per_class").as_array().map_or(0, Vec::len);
        let rows = nb.table(i, &columns, n);
        for (r, row) in rows.iter().enumerate() {
            let part = |kind: &str, k: usize| j(at(&res, &format!("/{kind}/per_class/{r}/{k}")));
            let total: f64 = (0..3)
                .map(|k| num(&res, &format!("/random/per_class/{r}/{k}")))
                .sum();
            let values = [
                f(r as f64),
                None,
                f(total),
                part("random", 0),
                part("random", 1),
                part("random", 2),
                part("stratified", 0),
                part("stratified", 1),
                part("stratified", 2),
            ];
            nb.row(i, r, row, &values);
        }
    }
    if let Some(i) = nb.cell("split::stratified_kfold") {
        let out = nb.stdout(i);
        let folds: Vec<Vec<String>> = out
            .lines()
            .filter_map(|l| fill("fold {}: train {}, test {}", l))
            .collect();
        let sizes = at(&res, "/kfold_test_sizes")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if folds.len() != sizes.len() {
            nb.problems.push(format!(
                "cell {i}: {} folds shown, {} in the results",
                folds.len(),
                sizes.len()
            ));
        }
        for (k, (v, size)) in folds.iter().zip(&sizes).enumerate() {
            nb.num(
                i,
                &format!("fold {k} test size"),
                &v[2],
                size.as_f64().unwrap_or(f64::NAN),
            );
        }
    }
    if let Some(i) = nb.cell("Normalizer::fit") {
        if let Some(v) = nb.line(i, "mean {}, std {}") {
            nb.num(i, "mean", &v[0], num(&res, "/normalizer/mean"));
            nb.num(i, "std", &v[1], num(&res, "/normalizer/std"));
        }
        if let Some(v) = nb.line(i, "validation after normalisation: mean {}, std {}") {
            nb.num(
                i,
                "validation mean",
                &v[0],
                num(&res, "/validation_after/0"),
            );
            nb.num(i, "validation std", &v[1], num(&res, "/validation_after/1"));
        }
    }
    nb.finish()
}

/// The printed `{:#?}` fields of a report struct (`name: value,` lines).
fn check_baselines() -> Vec<String> {
    let res = results("04.1-baselines");
    let mut nb = Notebook::open("04.1-baselines.ipynb");
    let model = |name: &str| -> Value {
        at(&res, "/models")
            .as_array()
            .and_then(|m| m.iter().find(|x| x["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no model {name} in the results"))
    };
    for (needle, name) in [
        ("logreg.predict(", "logreg"),
        ("svm.predict(", "svm"),
        ("svm_conv.predict(", "svm-converged"),
    ] {
        let m = model(name);
        let Some(i) = nb.cell(needle) else { continue };
        let template = "fit {} s, predict {} s: test accuracy {}%, macro F1 {}%";
        if let Some(v) = nb.line(i, template) {
            nb.num(i, &format!("{name} fit s"), &v[0], num(&m, "/fit_seconds"));
            nb.num(
                i,
                &format!("{name} predict s"),
                &v[1],
                num(&m, "/predict_seconds"),
            );
            nb.num(
                i,
                &format!("{name} accuracy %"),
                &v[2],
                100.0 * num(&m, "/accuracy"),
            );
            nb.num(
                i,
                &format!("{name} macro F1 %"),
                &v[3],
                100.0 * num(&m, "/macro_f1"),
            );
        }
    }
    if let Some(i) = nb.cell("config.logreg.fit_with_progress") {
        let m = model("logreg");
        if let Some(v) = nb.line(i, "{} iterations, converged: {}, objective {}") {
            nb.num(
                i,
                "logreg iterations",
                &v[0],
                num(&m, "/fit_report/iterations"),
            );
            let converged = m["fit_report"]["converged"].to_string();
            nb.text(i, "logreg converged", &v[1], &converged);
            nb.num(
                i,
                "logreg objective",
                &v[2],
                num(&m, "/fit_report/objective"),
            );
        }
    }
    for (needle, name, template) in [
        (
            "config.svm.fit_with_progress",
            "svm",
            "{} pairs, {} converged within the cap, {} support vectors",
        ),
        (
            "svm_uncapped().fit_with_progress",
            "svm-converged",
            "{} pairs, {} converged, {} support vectors",
        ),
    ] {
        let m = model(name);
        let Some(i) = nb.cell(needle) else { continue };
        if let Some(v) = nb.line(i, template) {
            nb.num(
                i,
                &format!("{name} pairs"),
                &v[0],
                num(&m, "/fit_report/pairs"),
            );
            let conv = num(&m, "/fit_report/converged_pairs");
            nb.num(i, &format!("{name} converged pairs"), &v[1], conv);
            let sv = num(&m, "/fit_report/support_vectors");
            nb.num(i, &format!("{name} support vectors"), &v[2], sv);
        }
    }
    if let Some(i) = nb.cell("baselines::table") {
        let n = at(&res, "/models").as_array().map_or(0, Vec::len);
        let rows = nb.table(
            i,
            &["model", "accuracy_%", "macro_f1_%", "fit_s", "predict_s"],
            n,
        );
        for (r, row) in rows.iter().enumerate() {
            let m = at(&res, &format!("/models/{r}")).clone();
            let values = [
                j(&m["name"]),
                f(100.0 * num(&m, "/accuracy")),
                f(100.0 * num(&m, "/macro_f1")),
                j(&m["fit_seconds"]),
                j(&m["predict_seconds"]),
            ];
            nb.row(i, r, row, &values);
        }
    }
    nb.finish()
}

/// Sections 4.2 and 4.3: the run's summary lines, history and per-class tables.
fn check_network(
    notebook: &str,
    section: &str,
    per_class_call: &str,
    history_call: &str,
) -> Vec<String> {
    let res = results(section);
    let mut nb = Notebook::open(notebook);
    if let Some(i) = nb.cell("fit.run(&TrainData::new(") {
        if let Some(v) = nb.line(i, "{} parameters, best epoch {} of {}") {
            nb.num(i, "parameters", &v[0], num(&res, "/parameters"));
            nb.num(i, "best epoch", &v[1], num(&res, "/best_epoch"));
            let epochs = at(&res, "/history").as_array().map_or(0, Vec::len);
            nb.num(i, "epochs", &v[2], epochs as f64);
        }
    }
    if let Some(i) = nb.cell("trained.predict(&data, &split.test)") {
        if let Some(v) = nb.line(i, "test accuracy {}%, macro F1 {}%") {
            let acc = 100.0 * num(&res, "/test_accuracy");
            nb.num(i, "test accuracy %", &v[0], acc);
            let f1 = 100.0 * num(&res, "/test_macro_f1");
            nb.num(i, "test macro F1 %", &v[1], f1);
        }
    }
    if let Some(i) = nb.cell(history_call) {
        let n = at(&res, "/history").as_array().map_or(0, Vec::len);
        let rows = nb.table(
            i,
            &[
                "epoch",
                "train_loss",
                "val_loss",
                "val_accuracy_%",
                "seconds",
            ],
            n,
        );
        for (r, row) in rows.iter().enumerate() {
            let h = at(&res, &format!("/history/{r}")).clone();
            let values = [
                j(&h["epoch"]),
                j(&h["train_loss"]),
                j(&h["val_loss"]),
                f(100.0 * num(&h, "/val_accuracy")),
                j(&h["seconds"]),
            ];
            nb.row(i, r, row, &values);
        }
    }
    if let Some(i) = nb.cell(per_class_call) {
        let n = at(&res, "/per_class").as_array().map_or(0, Vec::len);
        let columns = ["class", "character", "precision", "recall", "f1", "support"];
        let rows = nb.table(i, &columns, n);
        for (r, row) in rows.iter().enumerate() {
            let m = at(&res, &format!("/per_class/{r}")).clone();
            let values = [
                f(r as f64),
                None,
                j(&m["precision"]),
                j(&m["recall"]),
                j(&m["f1"]),
                j(&m["support"]),
            ];
            nb.row(i, r, row, &values);
        }
    }
    if section == "04.2-cnn" {
        check_tuning(&mut nb);
    }
    nb.finish()
}

fn check_tuning(nb: &mut Notebook) {
    let res = results("04.2-cnn-tuning");
    let Some(i) = nb.cell("cnn_tuning::search_table") else {
        return;
    };
    if let Some(v) = nb.line(i, "picked learning rate: {} (sweep {} s, search {} s)") {
        nb.num(i, "picked rate", &v[0], num(&res, "/picked_rate"));
        nb.num(i, "sweep s", &v[1], num(&res, "/seconds/0"));
        nb.num(i, "search s", &v[2], num(&res, "/seconds/1"));
    }
    let n = at(&res, "/search").as_array().map_or(0, Vec::len);
    let columns = [
        "conv_blocks",
        "parameters",
        "best_val_loss",
        "best_val_accuracy_%",
        "best_epoch",
        "seconds",
    ];
    let rows = nb.table(i, &columns, n);
    for (r, row) in rows.iter().enumerate() {
        let s = at(&res, &format!("/search/{r}")).clone();
        let blocks: Vec<String> = s["model"]["blocks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| format!("{}@{}x{}", b["filters"], b["kernel"], b["kernel"]))
            .collect();
        let values = [
            Some(Value::String(blocks.join(" "))),
            j(&s["parameters"]),
            j(&s["best_val_loss"]),
            f(100.0 * num(&s, "/best_val_accuracy")),
            j(&s["best_epoch"]),
            j(&s["seconds"]),
        ];
        nb.row(i, r, row, &values);
    }
}

fn report_md() -> String {
    std::fs::read_to_string(root().join("report/report.md")).unwrap_or_default()
}

fn check_results() -> Vec<String> {
    let res = results("05-results");
    let mut nb = Notebook::open("05-results.ipynb");
    let table1 = at(&res, "/table1").as_array().cloned().unwrap_or_default();
    if let Some(i) = nb.cell("results::table1(") {
        let columns = [
            "model",
            "accuracy_%",
            "macro_f1_%",
            "report_accuracy_%",
            "report_macro_f1_%",
        ];
        let rows = nb.table(i, &columns, table1.len());
        for (r, (row, t)) in rows.iter().zip(&table1).enumerate() {
            let values = [
                j(&t["model"]),
                j(&t["accuracy"]),
                j(&t["macro_f1"]),
                j(&t["report_accuracy"]),
                j(&t["report_macro_f1"]),
            ];
            nb.row(i, r, row, &values);
        }
    }
    if let Some(i) = nb.cell("println!(\"best model: {}\", summary.best_model)") {
        if let Some(v) = nb.line(i, "best model: {}") {
            nb.text(
                i,
                "best model",
                &v[0],
                at(&res, "/best_model").as_str().unwrap_or_default(),
            );
        }
    }
    if let Some(i) =
        nb.cell("ConfusionMatrix::new(&data.labels_at(&split.test), &o.test.predictions")
    {
        let out = nb.stdout(i);
        for t in &table1 {
            let model = t["model"].as_str().unwrap_or_default();
            let line = out
                .lines()
                .find(|l| l.starts_with(model) && l.contains("accuracy"));
            let Some(line) = line else {
                nb.problems
                    .push(format!("cell {i}: no scores printed for {model}"));
                continue;
            };
            let shown = numbers(line.trim_start_matches(model));
            // "accuracy 59.00%, macro F1 49.29%": the first number and the last.
            match (shown.first(), shown.last()) {
                (Some(acc), Some(f1)) if shown.len() >= 2 => {
                    nb.num(i, &format!("{model} accuracy"), acc, num(t, "/accuracy"));
                    nb.num(i, &format!("{model} macro F1"), f1, num(t, "/macro_f1"));
                }
                _ => nb.problems.push(format!("cell {i}: {model}: {line:?}")),
            }
        }
    }
    if let Some(i) = nb.cell("differ from the recorded predictions") {
        let out = nb.stdout(i);
        let differ = out.lines().find_map(|l| {
            fill(
                "{}: {} test images labelled, {} differ from the recorded predictions",
                l,
            )
        });
        match differ {
            Some(v) => nb.text(i, "labels that differ", &v[2], "0"),
            None => nb
                .problems
                .push(format!("cell {i}: no relabelling line: {out:?}")),
        }
    }
    if let Some(i) = nb.cell("confused_pairs(&best_cm") {
        let out = nb.stdout(i);
        let shown: Vec<Vec<String>> = out
            .lines()
            .filter_map(|l| fill("{} / {}: {} test images ({}", l))
            .collect();
        let pairs = at(&res, "/confused_pairs")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if shown.len() != pairs.len() {
            nb.problems.push(format!(
                "cell {i}: {} confused pairs printed, {} in the results",
                shown.len(),
                pairs.len()
            ));
        }
        for (r, (v, p)) in shown.iter().zip(&pairs).enumerate() {
            for k in 0..2 {
                nb.text(
                    i,
                    &format!("pair {r} class {k}"),
                    &v[k],
                    p["classes"][k][1].as_str().unwrap_or_default(),
                );
            }
            nb.num(i, &format!("pair {r} images"), &v[2], num(p, "/count"));
        }
    }
    nb.finish()
}

fn check_levers() -> Vec<String> {
    let res = results("06.1-levers");
    let fw = results("06-future-work");
    let mut nb = Notebook::open("06.1-levers.ipynb");
    if let Some(i) = nb.cell("levers::run(") {
        let out = nb.stdout(i);
        let shown: Vec<Vec<String>> = out
            .lines()
            .filter_map(|l| fill("pretraining {}: {} corpus images, {} dropped as identical to a validation or test image", l))
            .collect();
        let pre = at(&res, "/pretraining")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if shown.len() != pre.len() {
            nb.problems.push(format!(
                "cell {i}: {} pretraining runs printed, {} in the results",
                shown.len(),
                pre.len()
            ));
        }
        for (v, p) in shown.iter().zip(&pre) {
            let name = p["name"].as_str().unwrap_or_default();
            nb.text(i, "pretraining run", &v[0], name);
            nb.num(
                i,
                &format!("{name} corpus images"),
                &v[1],
                num(p, "/corpus_images"),
            );
            nb.num(
                i,
                &format!("{name} dropped"),
                &v[2],
                num(p, "/dropped_duplicates"),
            );
        }
        if let Some(v) = nb.line(i, "{} variants and {} votes scored") {
            let len = |p: &str| at(&res, p).as_array().map_or(0, Vec::len) as f64;
            nb.num(i, "variants", &v[0], len("/variants"));
            nb.num(i, "votes", &v[1], len("/ensembles"));
        }
    }
    if let Some(i) = nb.cell("levers::variants_table") {
        let variants = at(&fw, "/variants").as_array().cloned().unwrap_or_default();
        let columns = [
            "variant",
            "init",
            "augment",
            "imbalance",
            "epochs",
            "val F1 %",
            "test acc %",
            "test F1 %",
            "train s",
        ];
        let rows = nb.table(i, &columns, variants.len());
        for (r, (row, v)) in rows.iter().zip(&variants).enumerate() {
            let values = [
                j(&v["model"]),
                j(&v["initialisation"]),
                j(&v["augmentation"]),
                j(&v["imbalance"]),
                j(&v["epochs"]),
                j(&v["validation_macro_f1"]),
                j(&v["test_accuracy"]),
                j(&v["test_macro_f1"]),
                j(&v["train_seconds"]),
            ];
            nb.row(i, r, row, &values);
        }
    }
    if let Some(i) = nb.cell("charlab::report::levers_section") {
        // The same generator writes the report's section 6.1: the numbers must be the same.
        let report = report_md();
        let section = report
            .split("### 6.1")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .and_then(|s| s.split("\n### ").next())
            .unwrap_or_default();
        let html = nb.html(i);
        let mut text = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    text.push(' ');
                }
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let (shown, expected) = (
            numbers(&text),
            numbers(&without_figures(
                section.split_once('\n').map_or("", |s| s.1),
            )),
        );
        nb.compared += shown.len();
        if shown != expected {
            let k = shown
                .iter()
                .zip(&expected)
                .take_while(|(a, b)| a == b)
                .count();
            nb.problems.push(format!(
                "cell {i}: the numbers of section 6.1 differ from report/report.md's from number {k} on: shown {:?}, the report has {:?}",
                shown.get(k..(k + 5).min(shown.len())),
                expected.get(k..(k + 5).min(expected.len()))
            ));
        }
    }
    nb.finish()
}

/// `mean ± std` in percent with one decimal, as `cv::pm` shows it.
fn pm(v: &Value) -> String {
    format!(
        "{:.1} ± {:.1}",
        100.0 * num(v, "/mean"),
        100.0 * num(v, "/std")
    )
}

/// A report section without its image lines, as a notebook's fragment shows it (it keeps the
/// captions; the notebook shows the figures themselves).
fn without_figures(md: &str) -> String {
    md.lines()
        .filter(|l| !l.starts_with("!["))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of an HTML fragment without its tags.
fn untagged(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

fn check_cv() -> Vec<String> {
    let res = results("06.2-cv");
    let mut nb = Notebook::open("06.2-cv.ipynb");
    let models = at(&res, "/models").as_array().cloned().unwrap_or_default();
    if let Some(i) = nb.cell("cv::cv_table") {
        let columns = [
            "model",
            "folds",
            "held-out accuracy (%)",
            "held-out macro F1 (%)",
            "test accuracy (%)",
            "test macro F1 (%)",
            "fit s per fold",
        ];
        let rows = nb.table(i, &columns, models.len());
        for (r, (row, m)) in rows.iter().zip(&models).enumerate() {
            let folds = m["folds"].as_array().map_or(0, Vec::len);
            let values = [
                j(&m["model"]["label"]),
                f(folds as f64),
                Some(Value::String(pm(&m["heldout_accuracy"]))),
                Some(Value::String(pm(&m["heldout_macro_f1"]))),
                Some(Value::String(pm(&m["test_accuracy"]))),
                Some(Value::String(pm(&m["test_macro_f1"]))),
                None,
            ];
            nb.row(i, r, row, &values);
        }
    }
    if let Some(i) = nb.cell("cv::ensembles_table") {
        let ens = at(&res, "/ensembles")
            .as_array()
            .cloned()
            .unwrap_or_default();
        let columns = [
            "ensemble",
            "test accuracy (%)",
            "test macro F1 (%)",
            "best member",
            "its accuracy (%)",
            "its macro F1 (%)",
        ];
        let rows = nb.table(i, &columns, ens.len());
        for (r, (row, e)) in rows.iter().zip(&ens).enumerate() {
            let values = [
                j(&e["name"]),
                f(100.0 * num(e, "/test_accuracy")),
                f(100.0 * num(e, "/test_macro_f1")),
                j(&e["best_member"]),
                f(100.0 * num(e, "/best_member_test_accuracy")),
                f(100.0 * num(e, "/best_member_test_macro_f1")),
            ];
            nb.row(i, r, row, &values);
        }
    }
    if let Some(i) = nb.cell("Predictor::load(&dir)") {
        // The fold vote loaded back from its folder labels the test part as the vote was scored;
        // a machine without the folder says so, naming the vote and the folder.
        let out = nb.stdout(i);
        let absent = out.lines().find_map(|l| {
            let (name, dir) = l
                .strip_suffix(" is not on this machine; `charlab cv --resume` makes it")?
                .rsplit_once(": ")?;
            Some((name.to_string(), dir.to_string()))
        });
        let loaded = absent.is_none();
        let shown = match absent {
            Some(v) => Some(v),
            None => match (nb.line(i, "vote:   {}"), nb.line(i, "folder: {}")) {
                (Some(v), Some(d)) => Some((v[0].clone(), d[0].clone())),
                _ => None,
            },
        };
        if let Some((name, folder)) = shown {
            let ens = at(&res, "/ensembles")
                .as_array()
                .cloned()
                .unwrap_or_default();
            match ens.iter().find(|e| e["name"] == name.as_str()) {
                Some(e) => {
                    let dir = e["run_dir"].as_str().unwrap_or_default();
                    nb.text(i, "the vote's folder", &folder, dir);
                    let accuracy = "test accuracy {}% (the vote as scored above: {}%)";
                    if let Some(a) = loaded.then(|| nb.line(i, accuracy)).flatten() {
                        let acc = 100.0 * num(e, "/test_accuracy");
                        nb.num(i, "the loaded vote's test accuracy", &a[0], acc);
                        nb.num(i, "the vote's test accuracy", &a[1], acc);
                    }
                }
                None => nb
                    .problems
                    .push(format!("cell {i}: no vote named {name:?} in the results")),
            }
        }
    }
    if let Some(i) = nb.cell("charlab::report::cv_section") {
        // The same generator writes the report's section 6.2: the numbers must be the same.
        let report = report_md();
        let section = report
            .split("### 6.2")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_default();
        let text = untagged(&nb.html(i));
        let (shown, expected) = (
            numbers(&text),
            numbers(&without_figures(
                section.split_once('\n').map_or("", |s| s.1),
            )),
        );
        nb.compared += shown.len();
        if shown != expected {
            let k = shown
                .iter()
                .zip(&expected)
                .take_while(|(a, b)| a == b)
                .count();
            nb.problems.push(format!(
                "cell {i}: the numbers of section 6.2 differ from report/report.md's from number {k} on: shown {:?}, the report has {:?}",
                shown.get(k..(k + 5).min(shown.len())),
                expected.get(k..(k + 5).min(expected.len()))
            ));
        }
    }
    nb.finish()
}

#[test]
fn committed_notebooks_show_the_committed_results() {
    let mut problems = Vec::new();
    problems.extend(check_dataset());
    problems.extend(check_preprocessing());
    problems.extend(check_baselines());
    problems.extend(check_network(
        "04.2-cnn.ipynb",
        "04.2-cnn",
        "table(&per_class_table(",
        "table(&history_table(",
    ));
    problems.extend(check_network(
        "04.3-efficientnet.ipynb",
        "04.3-efficientnet",
        "table(&per_class_table(",
        "table(&history_table(",
    ));
    problems.extend(check_results());
    problems.extend(check_levers());
    problems.extend(check_cv());
    assert!(
        problems.is_empty(),
        "{} committed notebook output(s) do not show the committed results (re-run `make \
         notebooks-commit`):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn shown_precision_is_respected() {
    assert!(shows("44.9", 44.907));
    assert!(!shows("44.9", 43.21652268));
    assert!(shows("59.00%", 59.0));
    assert!(shows("262", 261.75642420923685));
    assert!(!shows("786", 791.2248918528103));
    assert!(shows("3,291", 3291.0));
    assert!(!shows("3291.0", 3291.4));
    assert!(shows("9.997013724669496e-5", 9.997013724669496e-5));
    assert!(!shows("9.99e-5", 9.997013724669496e-5));
    assert!(!shows("n/a", 1.0));
}

#[test]
fn templates_and_tables_parse() {
    assert_eq!(
        fill(
            "fit {} s, predict {} s: test accuracy {}%",
            "fit 9.2 s, predict 5.33 s: test accuracy 82.36%"
        ),
        Some(vec!["9.2".into(), "5.33".into(), "82.36".into()])
    );
    assert_eq!(fill("fit {} s", "fitted 9.2 s"), None);
    assert_eq!(
        fill("best model: {}", "best model: CNN"),
        Some(vec!["CNN".into()])
    );
    let (h, rows) = html_table("<table><thead><tr><th>a</th><th>b %</th></tr></thead><tbody>\n<tr><td>x&lt;y</td><td>1.5</td></tr>\n</tbody></table>");
    assert_eq!(h, ["a", "b %"]);
    assert_eq!(rows, [vec!["x<y".to_string(), "1.5".to_string()]]);
    assert_eq!(
        numbers("80,290 images, 8 epochs in 9.5 min."),
        ["80290", "8", "9.5"]
    );
}

/// A stale number in a notebook is found: the 04.1 table with one accuracy changed.
#[test]
fn a_stale_output_is_found() {
    let res = results("04.1-baselines");
    let acc = 100.0 * num(&res, "/models/0/accuracy");
    let mut nb = Notebook {
        name: "t.ipynb".into(),
        cells: vec![serde_json::json!({
            "cell_type": "code",
            "source": "table(&baselines::table(&res)?)",
            "outputs": [{"output_type": "display_data", "data": {"text/html": format!(
                "<table><thead><tr><th>model</th><th>accuracy_%</th></tr></thead><tbody>\n\
                 <tr><td>logreg</td><td>{:.1}</td></tr>\n</tbody></table>", acc + 0.2)}}],
        })],
        problems: Vec::new(),
        compared: 0,
    };
    let i = nb.cell("baselines::table").unwrap_or(usize::MAX);
    let rows = nb.table(i, &["model", "accuracy_%"], 1);
    nb.row(i, 0, &rows[0], &[j(&res["models"][0]["name"]), f(acc)]);
    let problems = nb.finish();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("row 0, column 1"), "{problems:?}");
}
