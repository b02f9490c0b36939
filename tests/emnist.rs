//! EMNIST IDX reading, transposition, conversion to the report's format, and bad folders.

mod common;

use charlab::data::emnist::{self, report_class};
use charlab::data::{DataSpec, Source};
use charlab::Error;
use common::fixture;

#[derive(serde::Deserialize)]
struct Expect {
    labels: Vec<usize>,
    upright_first: Vec<u8>,
}

#[test]
fn reads_idx_and_undoes_the_transposition() {
    let dir = common::emnist_fixture("emnist_ok");
    let raw = emnist::load(dir.path()).unwrap();
    let expect: Expect = serde_json::from_str(
        &std::fs::read_to_string(fixture("emnist_ok").join("expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(raw.len(), 4);
    assert_eq!((raw.rows, raw.cols), (28, 28));
    assert_eq!(raw.labels, expect.labels);
    assert_eq!(raw.chars.len(), 62);
    assert_eq!(&raw.images[..784], expect.upright_first.as_slice());
    // The 'L' is upright: a vertical bar on the left, the foot at the bottom.
    assert_eq!(raw.images[5 * 28 + 7], 255);
    assert_eq!(raw.images[22 * 28 + 18], 255);
    assert_eq!(raw.images[5 * 28 + 18], 0);
}

#[test]
fn converts_to_the_report_format() {
    let dir = common::emnist_fixture("emnist_ok");
    let raw = emnist::load(dir.path()).unwrap();
    let data = emnist::to_report_format(&raw).unwrap();
    // 'x' has no class in the report: dropped. 'L' -> 3, '1' -> 25, 'e' -> 14 (E).
    assert_eq!(data.labels(), &[3, 25, 14]);
    assert_eq!((data.height(), data.width()), (56, 56));
    assert!(data.images().iter().all(|&p| p <= 1));
    // Cropped and scaled: the longer side of the ink spans 52 pixels.
    for i in 0..data.len() {
        let img = data.image(i);
        let rows: Vec<usize> = (0..56)
            .filter(|r| img[r * 56..(r + 1) * 56].contains(&1))
            .collect();
        let cols: Vec<usize> = (0..56)
            .filter(|c| (0..56).any(|r| img[r * 56 + c] == 1))
            .collect();
        let h = rows.last().unwrap() - rows[0] + 1;
        let w = cols.last().unwrap() - cols[0] + 1;
        assert!(
            (50..=52).contains(&h.max(w)),
            "image {i}: ink spans {h}x{w}"
        );
    }
    assert!(matches!(
        data.source(),
        Source::Emnist {
            report_format: true,
            ..
        }
    ));
}

#[test]
fn class_mapping_merges_case() {
    assert_eq!(report_class('n'), Some(22));
    assert_eq!(report_class('N'), Some(22));
    assert_eq!(report_class('o'), Some(2));
    assert_eq!(report_class('0'), Some(10));
    assert_eq!(report_class('x'), None);
}

fn bad_dir(name: &str, needle: &str) {
    let dir = common::emnist_fixture(name);
    let err = emnist::load(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::BadData { .. }), "{name}: {msg}");
    assert!(
        msg.contains(needle),
        "{name}: expected `{needle}` in: {msg}"
    );
}

#[test]
fn refuses_bad_folders() {
    bad_dir("emnist_bad_magic", "wrong IDX magic");
    bad_dir("emnist_bad_count", "truncated");
    bad_dir("emnist_no_mapping", "mapping");
    bad_dir("emnist_truncated", "truncated");
    let missing = fixture("no_such_folder");
    let err = emnist::load(&missing).unwrap_err().to_string();
    assert!(
        err.contains("not a folder") && err.contains("no_such_folder"),
        "{err}"
    );
}

#[test]
fn data_spec_routes_folders_to_emnist() {
    let dir = common::emnist_fixture("emnist_ok");
    let spec = DataSpec::from_arg(Some(dir.path().to_str().unwrap()));
    assert!(matches!(
        spec,
        DataSpec::Emnist {
            report_format: true,
            ..
        }
    ));
    assert_eq!(spec.load().unwrap().len(), 3);
}

#[test]
fn reads_the_shared_emnist_rest() {
    let Some(dir) = common::shared("emnist-byclass-rest") else {
        return;
    };
    let raw = emnist::load(&dir).unwrap();
    assert_eq!(raw.len(), 81_192);
    assert_eq!(raw.chars.len(), 62);
    let data = emnist::to_report_format(&raw).unwrap();
    assert!(data.len() > 75_000 && data.len() < 81_192, "{}", data.len());
}
