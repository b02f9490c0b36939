//! The committed report is what the committed results give: `report/report.md` equals the
//! report rendered from `report/results/*.json`, with no number that is not theirs, and every
//! figure it links is committed.

#[test]
fn committed_report_matches_committed_results() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_var("CHARLAB_ROOT", &root);
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
