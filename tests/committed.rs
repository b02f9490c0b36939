//! The committed report is what the committed results give: `report/report.md` equals the
//! report rendered from `report/results/*.json`, with no number that is not theirs, and every
//! figure it links is committed.

#[test]
fn committed_report_matches_committed_results() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    charlab::Settings {
        root: Some(root.clone()),
        ..charlab::Settings::current()
    }
    .install();
    let rendered = charlab::report::render().unwrap();
    let on_disk = std::fs::read_to_string(root.join("report/report.md")).unwrap();
    assert!(
        on_disk == rendered.text,
        "report/report.md is stale: run `charlab report` after changing results or the report's \
         code"
    );
    let stray = charlab::report::unrecorded_numbers(&on_disk, &rendered.numbers);
    assert!(stray.is_empty(), "numbers not from the results: {stray:?}");
    for line in on_disk.lines().filter(|l| l.starts_with("![")) {
        let target = line.split("](../").nth(1).unwrap().trim_end_matches(')');
        assert!(
            root.join(target).exists(),
            "{target} is linked but not committed"
        );
    }
}

#[test]
fn readme_table1_is_the_reports() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    charlab::Settings {
        root: Some(root.clone()),
        ..charlab::Settings::current()
    }
    .install();
    let rendered = charlab::report::render().unwrap();
    let table = charlab::report::table1_markdown(&rendered.text);
    assert!(
        table.lines().count() >= 6,
        "Table 1 not found in the report"
    );
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let expected = charlab::report::readme_with_table1(&readme, &table).unwrap();
    assert!(
        readme == expected,
        "README.md's Table 1 is stale: run `charlab report`"
    );
    let timings = charlab::report::timings_markdown(&mut charlab::report::Writer::default());
    assert!(timings.contains("| 4.2 CNN |"), "{timings}");
    let expected =
        charlab::report::readme_with_block(&readme, charlab::report::README_TIMINGS, &timings)
            .unwrap();
    assert!(
        readme == expected,
        "README.md's table of section times is stale: run `charlab report`"
    );
}

#[test]
fn readme_table1_markers_are_checked() {
    let table = "| Model |\n|---|\n";
    let (open, close) = charlab::report::README_TABLE1;
    let ok = format!("a\n{open}\nold\n{close}\nb\n");
    let new = charlab::report::readme_with_table1(&ok, table).unwrap();
    assert_eq!(new, format!("a\n{open}\n\n{table}\n{close}\nb\n"));
    assert_eq!(
        charlab::report::readme_with_table1(&new, table).unwrap(),
        new
    );
    for bad in [
        "no markers".to_string(),
        format!("{close}\n{open}\n"),
        format!("{open}\n{open}\n{close}\n"),
    ] {
        let err = charlab::report::readme_with_table1(&bad, table).unwrap_err();
        assert!(err.contains("table1"), "{err}");
    }
}

/// Scores typed into prose go stale when a run is redone: outside the blocks `charlab report`
/// generates (between `<!-- name: ... -->` and `<!-- /name -->`) and outside code, the README,
/// `docs/results.md`, `docs/data.md` and `notebooks/README.md` hold no percentage with decimals
/// (an accuracy or a macro F1). Those numbers live in the results files and the report.
#[test]
fn no_typed_scores_in_the_prose() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in [
        "README.md",
        "docs/results.md",
        "docs/data.md",
        "notebooks/README.md",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let mut generated = false;
        let mut fenced = false;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if t.starts_with("<!-- /") {
                generated = false;
                continue;
            }
            if t.starts_with("<!-- ") && t.contains(':') {
                generated = true;
                continue;
            }
            if generated || fenced {
                continue;
            }
            // Code spans are commands and paths, not scores.
            let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
            if let Some(score) = typed_score(&prose) {
                found.push(format!("{file}:{}: {score}", i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "typed scores (generate them from the results, or point to the report): {found:?}"
    );
}

/// The first `12.3%` or `12.3 %` in `s`.
fn typed_score(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let rest = s[i..].trim_start();
                if rest.starts_with('%') {
                    return Some(s[start..i].to_string() + "%");
                }
            }
        }
        i += 1;
    }
    None
}

#[test]
fn typed_score_finds_decimal_percentages_only() {
    assert_eq!(typed_score("reached 91.6% accuracy"), Some("91.6%".into()));
    assert_eq!(typed_score("a 12.25 % gain"), Some("12.25%".into()));
    assert_eq!(typed_score("section 6.1 and 5% of cells, v0.26"), None);
}

/// Section 6.2 cross-validates section 6.1's best single network: the variant whose adjusted
/// validation macro F1, averaged over its seeds (the configured run and its repeats in
/// `06.1-levers.json`), is the highest. Chosen on validation only, never on test.
#[test]
fn cross_validated_six_one_model_is_the_best_on_validation() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(root.join("report/results").join(name)).unwrap(),
        )
        .unwrap()
    };
    let (levers, cv) = (read("06.1-levers.json"), read("06.2-cv.json"));
    let mut by_variant: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for key in ["variants", "repeats"] {
        for v in levers[key].as_array().into_iter().flatten() {
            let name = v["variant"]["name"].as_str().unwrap();
            let base = name.split("-seed").next().unwrap().to_string();
            let f1 = v["validation"]["adjusted_macro_f1"].as_f64().unwrap();
            by_variant.entry(base).or_default().push(f1);
        }
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let best = by_variant
        .iter()
        .max_by(|a, b| mean(a.1).total_cmp(&mean(b.1)))
        .map(|(n, _)| n.clone())
        .unwrap();
    let cross_validated: Vec<&str> = cv["config"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["pretrained"].is_string())
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        cross_validated,
        vec![best.as_str()],
        "section 6.2 should cross-validate 6.1's best network on validation (seed means: \
         {by_variant:?})"
    );
}
