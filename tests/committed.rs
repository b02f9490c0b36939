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
