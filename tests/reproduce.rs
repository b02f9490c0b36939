//! `charlab reproduce --quick` end to end on 1,500 images of the embedded default: every figure and results
//! file of the report, the report itself (its numbers checked against the results files), a
//! second run that does no work, and a corrupted results file that is recomputed.
//!
//! One test in its own binary: it points the library at its temporary root through
//! `CHARLAB_ROOT`, which no other test in this process may see.

mod common;

use std::path::Path;
use std::process::Command;

fn reproduce(root: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_charlab"))
        // The quick profile's embedded data (charlab::profile::QUICK_DATA_SIZE, as notebook 05).
        .args(["reproduce", "--quick"])
        .env("CHARLAB_ROOT", root)
        .env_remove("CHARLAB_DATA")
        .output()
        .expect("run charlab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PNG of at least `min` pixels each way, or an SVG document of reasonable size.
fn assert_figure(root: &Path, stem: &str) {
    let png = std::fs::read(root.join(format!("figures/{stem}.png")))
        .unwrap_or_else(|e| panic!("figures/{stem}.png: {e}"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png is not a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert!(
        (400..=4000).contains(&w) && (300..=4000).contains(&h),
        "{stem}.png is {w}x{h}"
    );
    let svg = std::fs::read_to_string(root.join(format!("figures/{stem}.svg"))).unwrap();
    assert!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "{stem}.svg"
    );
    assert!(svg.len() > 2_000, "{stem}.svg is only {} bytes", svg.len());
}

#[test]
fn quick_reproduction_writes_everything_reuses_it_and_recomputes_what_is_corrupted() {
    let tmp = common::TempDir::new("reproduce");
    let root = tmp.path();
    let first = reproduce(root);
    assert!(first.contains("0 of 11 steps reused"), "{first}");
    for stem in [
        "02-samples",
        "02-class-distribution",
        "04-baselines-f1",
        "04-learning-curves",
        "05-confusion-matrix",
        "05-confused-pairs",
        "05-per-class-f1",
        "06-augmentation",
        "06-cv",
        "06-grid-svm",
    ] {
        assert_figure(root, stem);
    }
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("report/results/05-results.json")).unwrap(),
    )
    .unwrap();
    let table1 = results["table1"].as_array().unwrap();
    assert_eq!(table1.len(), 4, "{results}");
    // 1,500 images split in the report's proportions (2,500 and 5,000 of 30,134, rounded).
    let pre: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("report/results/03-preprocessing.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pre["random"]["sizes"], serde_json::json!([1127, 124, 249]));

    // The report: exactly what the results files give, and no number that is not theirs.
    charlab::Settings {
        root: Some(root.to_path_buf()),
        ..charlab::Settings::current()
    }
    .install();
    let rendered = charlab::report::render().unwrap();
    let on_disk = std::fs::read_to_string(root.join("report/report.md")).unwrap();
    assert_eq!(on_disk, rendered.text, "report.md differs from its results");
    let stray = charlab::report::unrecorded_numbers(&on_disk, &rendered.numbers);
    assert!(stray.is_empty(), "numbers not from the results: {stray:?}");
    for row in table1 {
        let acc = format!("{:.1}", row["accuracy"].as_f64().unwrap());
        assert!(on_disk.contains(&acc), "Table 1 accuracy {acc} missing");
    }
    let html = std::fs::read_to_string(root.join("report/report.html")).unwrap();
    // One self-contained file: every figure is inlined as SVG, none is linked.
    assert!(
        html.contains("<table>")
            && html.contains("data-src=\"../figures/05-confusion-matrix.svg\"")
    );
    assert_eq!(html.matches("<svg").count(), on_disk.matches("![").count());
    assert!(!html.contains("<img"));

    // Nothing changed: nothing is done.
    let second = reproduce(root);
    assert!(second.contains("11 of 11 steps reused"), "{second}");

    // A corrupted results file is detected and recomputed (with what reads it).
    let path = root.join("report/results/05-results.json");
    std::fs::write(&path, b"{\"section\": \"05-res").unwrap();
    let third = reproduce(root);
    assert!(third.contains("10 of 11 steps reused"), "{third}");
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(again["table1"], results["table1"]);
}
