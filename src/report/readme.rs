//! The README's generated blocks, each between two marker lines, rewritten by `charlab report`:
//! its copy of Table 1 and the table of how long each section took.

/// Marker lines around the README's copy of Table 1.
pub const README_TABLE1: (&str, &str) = (
    "<!-- table1: charlab report writes it -->",
    "<!-- /table1 -->",
);

/// Table 1 (its Markdown table lines) from the rendered report `text`.
pub fn table1_markdown(text: &str) -> String {
    let mut out = String::new();
    for line in text
        .lines()
        .skip_while(|l| !l.starts_with("| Model |"))
        .take_while(|l| l.starts_with('|'))
    {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Marker lines around the README's table of section times ([`timings_markdown`]).
pub const README_TIMINGS: (&str, &str) = (
    "<!-- timings: charlab report writes it -->",
    "<!-- /timings -->",
);

/// `readme` with the lines between its [`README_TABLE1`] markers replaced by `table`; an error
/// naming what is missing when the markers are not there, in order, once each.
pub fn readme_with_table1(readme: &str, table: &str) -> std::result::Result<String, String> {
    readme_with_block(readme, README_TABLE1, table)
}

/// `readme` with the lines between the `markers` replaced by `block` (the same checks as
/// [`readme_with_table1`]).
pub fn readme_with_block(
    readme: &str,
    (open, close): (&str, &str),
    block: &str,
) -> std::result::Result<String, String> {
    let (Some(a), Some(b)) = (readme.find(open), readme.find(close)) else {
        return Err(format!("has no `{open}` ... `{close}` markers"));
    };
    if b < a || readme.matches(open).count() != 1 || readme.matches(close).count() != 1 {
        return Err(format!("needs `{open}` once, before `{close}` once"));
    }
    let head = &readme[..a + open.len()];
    Ok(format!("{head}\n\n{block}\n{}", &readme[b..]))
}

/// A duration as a reader wants it: seconds under two minutes, minutes under two hours, else
/// hours.
fn duration(w: &mut super::Writer, s: f64) -> String {
    if s < 120.0 {
        format!("{} s", w.num(s, 0))
    } else if s < 7200.0 {
        format!("{} min", w.num(s / 60.0, 0))
    } else {
        format!("{} h", w.num(s / 3600.0, 1))
    }
}

/// The README's table of section times, from the results files that exist: what each
/// section's runs took when they were made (on the machines that made them, with whatever else
/// those machines ran), and the total.
pub fn timings_markdown(w: &mut super::Writer) -> String {
    use crate::paths::{read_json, result};
    use crate::sections::{baselines, cnn, cnn_tuning, cv, efficientnet, levers, neural};
    let mut rows: Vec<(String, f64, String)> = Vec::new();
    if let Ok(b) = read_json::<baselines::BaselinesResults>(&result(baselines::SECTION)) {
        let total: f64 = b
            .models
            .iter()
            .map(|m| m.fit_seconds + m.predict_seconds)
            .sum();
        let parts: Vec<String> = b
            .models
            .iter()
            .map(|m| {
                let (f, p) = (w.num(m.fit_seconds, 1), w.num(m.predict_seconds, 1));
                format!("{} {f} s fit, {p} s prediction", baselines::display_name(m))
            })
            .collect();
        rows.push(("4.1 baselines".into(), total, parts.join("; ")));
    }
    for (label, section) in [
        ("4.2 CNN", cnn::SECTION),
        ("4.3 EfficientNet-b0", efficientnet::SECTION),
    ] {
        if let Ok(r) = read_json::<neural::NeuralResults<serde_json::Value>>(&result(section)) {
            let epochs = r.history.len();
            let per = r.train_seconds / epochs.max(1) as f64;
            let what = format!("{} epochs, {} s per epoch", w.int(epochs), w.num(per, 0));
            rows.push((label.into(), r.train_seconds, what));
        }
    }
    if let Ok(t) = read_json::<cnn_tuning::TuningResults>(&result(cnn_tuning::SECTION)) {
        let what = format!(
            "learning-rate sweep {}, architecture search {}",
            duration(w, t.seconds.0),
            duration(w, t.seconds.1)
        );
        rows.push(("4.2 tuning".into(), t.seconds.0 + t.seconds.1, what));
    }
    if let Ok(l) = read_json::<levers::LeversResults>(&result(levers::SECTION)) {
        let pre: f64 = l.pretraining.iter().map(|p| p.seconds).sum();
        let var: f64 = l.variants.iter().map(|v| v.train_seconds).sum();
        let what = format!(
            "{} pretraining runs {}, {} variants {}",
            w.int(l.pretraining.len()),
            duration(w, pre),
            w.int(l.variants.len()),
            duration(w, var)
        );
        rows.push(("6.1 levers".into(), pre + var, what));
    }
    if let Ok(c) = read_json::<cv::CvResults>(&result(cv::SECTION)) {
        let folds: f64 = c
            .models
            .iter()
            .flat_map(|m| m.folds.iter().map(|f| f.seconds))
            .sum();
        let grid: f64 = c
            .grid
            .logreg
            .iter()
            .chain(&c.grid.svm)
            .map(|p| p.seconds)
            .chain(c.grid.cnn.iter().map(|p| p.seconds))
            .sum();
        let what = format!(
            "{} models x {} folds {}, grid searches {}",
            w.int(c.models.len()),
            w.int(c.config.folds),
            duration(w, folds),
            duration(w, grid)
        );
        rows.push(("6.2 cross-validation".into(), folds + grid, what));
    }
    let mut s = String::from("| section | recorded time | what it covers |\n| --- | --- | --- |\n");
    let mut total = 0.0;
    for (label, secs, what) in &rows {
        total += secs;
        s.push_str(&format!("| {label} | {} | {what} |\n", duration(w, *secs)));
    }
    s.push_str(&format!(
        "| all of the above | {} | |\n",
        duration(w, total)
    ));
    s
}
