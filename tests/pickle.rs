//! The `train.pkl` reader: valid files of every accepted flavour, every kind of bad input, and
//! the real stand-in file.

mod common;

use charlab::data::{load_pickle, REPORT_COUNTS};
use charlab::Error;
use common::fixture;

#[derive(serde::Deserialize)]
struct Expect {
    n: usize,
    side: usize,
    labels: Vec<usize>,
    pixels: Vec<u8>,
}

#[test]
fn reads_every_accepted_flavour() {
    for name in [
        "ok_p2_np1_list_fortran.pkl",
        "ok_p3_bigendian_y.pkl",
        "ok_p4_np2_bool_3d.pkl",
        "ok_p4_np1.pkl",
        "ok_p5_np1_uint8_y.pkl",
        "ok_p5_np2_fortran.pkl",
    ] {
        let path = fixture(name);
        let expect: Expect = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        let data = load_pickle(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(data.len(), expect.n, "{name}");
        assert_eq!(
            (data.height(), data.width()),
            (expect.side, expect.side),
            "{name}"
        );
        assert_eq!(data.labels(), expect.labels.as_slice(), "{name}");
        assert_eq!(
            data.images(),
            expect.pixels.as_slice(),
            "{name}: pixels differ"
        );
        assert_eq!(data.n_classes(), 36);
    }
}

/// Loads a bad fixture and returns the message, checking it is a `BadData` naming the file.
fn bad(name: &str) -> String {
    let path = fixture(name);
    match load_pickle(&path) {
        Ok(_) => panic!("{name} was accepted"),
        Err(e @ Error::BadData { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains(name),
                "{name}: message does not name the file: {msg}"
            );
            msg
        }
        Err(other) => panic!("{name}: wrong error kind: {other}"),
    }
}

#[test]
fn refuses_bad_input_with_clear_messages() {
    let cases = [
        ("bad_empty.pkl", "empty"),
        ("bad_truncated.pkl", "truncated"),
        ("bad_garbage.pkl", "pickle"),
        ("bad_text.pkl", "not a pickle"),
        ("bad_wrong_shape.pkl", "not a square"),
        ("bad_row_mismatch.pkl", "6 rows but y has 5"),
        ("bad_negative_label.pkl", "-3"),
        ("bad_label_out_of_range.pkl", "36 is outside 0..35"),
        ("bad_nan_labels.pkl", "NaN"),
        ("bad_float_images.pkl", "float64"),
        ("bad_grey_images.pkl", "binary"),
        ("bad_object_array.pkl", "object"),
        ("bad_dict.pkl", "dict"),
        ("bad_single_array.pkl", "tuple or list"),
        ("bad_three_items.pkl", "3 items"),
        ("bad_y_2d.pkl", "y has shape"),
        ("bad_evil_global.pkl", "os.system"),
        ("bad_huge_claim.pkl", "truncated"),
        ("bad_protocol_0.pkl", "protocol"),
        ("bad_out_of_band.pkl", "out-of-band"),
    ];
    for (name, needle) in cases {
        let msg = bad(name);
        assert!(
            msg.contains(needle),
            "{name}: expected `{needle}` in: {msg}"
        );
    }
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = load_pickle(&fixture("no_such_file.pkl")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("no_such_file.pkl"));
}

#[test]
fn reads_the_standin() {
    let Some(path) = common::shared("alphamoon-standin/train.pkl") else {
        return;
    };
    let data = load_pickle(&path).unwrap();
    assert_eq!(data.len(), 30_134);
    assert_eq!((data.height(), data.width()), (56, 56));
    assert_eq!(data.n_classes(), 36);
    assert_eq!(data.class_counts(), REPORT_COUNTS.to_vec());
    assert_eq!(data.class_counts()[30], 1);
    assert_eq!(data.class_chars()[30], 'N');
}
