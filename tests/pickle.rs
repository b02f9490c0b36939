//! The `train.pkl` reader: valid files of every accepted flavour, every kind of bad input, and
//! the real stand-in file.

mod common;

use std::path::Path;

use charlab::data::pickle::{read_xy, MAX_NESTING};
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

// Deeply nested pickles (issue 13): a crafted file of lists or tuples nested hundreds of
// thousands deep used to abort the process with a stack overflow (the recursive drop of the
// nested values). Each is built here in memory, 1,000,000 levels deep.

/// How deep the crafted pickles below try to nest.
const DEEP: usize = 1_000_000;

/// `PROTO 4` followed by `body`.
fn pickle(body: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0x80, 4];
    for part in body {
        out.extend_from_slice(part);
    }
    out
}

/// `bytes` repeated `n` times.
fn times(bytes: &[u8], n: usize) -> Vec<u8> {
    bytes.repeat(n)
}

/// Runs `read_xy` on `buf` on a thread with a 256 KiB stack (an eighth of a spawned thread's
/// default), and returns the message of the `BadData` error it must give, naming the file.
fn refused(buf: Vec<u8>) -> String {
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || read_xy(Path::new("deep.pkl"), &buf).map(|_| ()))
        .unwrap()
        .join()
        .expect("the reader panicked");
    match result {
        Ok(()) => panic!("a crafted pickle was accepted"),
        Err(e @ Error::BadData { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("deep.pkl"),
                "message does not name the file: {msg}"
            );
            msg
        }
        Err(other) => panic!("wrong error kind: {other}"),
    }
}

/// Checks `msg` is the nesting error, at byte `at`.
fn assert_nesting(what: &str, msg: &str, at: usize) {
    assert!(
        msg.contains(&format!("nesting deeper than {MAX_NESTING} levels")),
        "{what}: not the nesting error: {msg}"
    );
    assert!(
        msg.contains(&format!("(at byte {at})")),
        "{what}: expected byte {at} in: {msg}"
    );
}

#[test]
fn refuses_lists_nested_by_append() {
    // EMPTY_LIST x N, APPEND x (N - 1): the k-th APPEND makes a list k + 1 deep.
    let buf = pickle(&[&times(b"]", DEEP), &times(b"a", DEEP - 1), b"."]);
    let msg = refused(buf);
    assert_nesting("EMPTY_LIST + APPEND", &msg, 2 + DEEP + MAX_NESTING - 1);
}

#[test]
fn refuses_lists_nested_by_appends() {
    // EMPTY_LIST, (MARK EMPTY_LIST) x (N - 1), APPENDS x (N - 1).
    let buf = pickle(&[b"]", &times(b"(]", DEEP - 1), &times(b"e", DEEP - 1), b"."]);
    let msg = refused(buf);
    assert_nesting(
        "MARK + APPENDS",
        &msg,
        2 + 1 + 2 * (DEEP - 1) + MAX_NESTING - 1,
    );
}

#[test]
fn refuses_tuples_and_lists_nested_by_mark() {
    // MARK x N, then TUPLE (or LIST) x N: the k-th one makes a container k deep.
    for (what, close) in [("MARK + TUPLE", b"t"), ("MARK + LIST", b"l")] {
        let buf = pickle(&[&times(b"(", DEEP), &times(close, DEEP), b"."]);
        let msg = refused(buf);
        assert_nesting(what, &msg, 2 + DEEP + MAX_NESTING);
    }
}

#[test]
fn refuses_tuples_nested_by_tuple1_and_tuple2() {
    // NONE, TUPLE1 x N.
    let buf = pickle(&[b"N", &times(&[0x85], DEEP), b"."]);
    assert_nesting("TUPLE1", &refused(buf), 2 + 1 + MAX_NESTING);
    // NONE, (NONE TUPLE2) x N: the k-th TUPLE2 sits at byte 2 + 1 + 2k - 1.
    let buf = pickle(&[b"N", &times(&[b'N', 0x86], DEEP), b"."]);
    assert_nesting("TUPLE2", &refused(buf), 2 + 2 * (MAX_NESTING + 1));
    // (NONE, NONE) x ... with TUPLE3: NONE NONE, (NONE TUPLE3 NONE) x N.
    let buf = pickle(&[b"NN", &times(&[b'N', 0x87, b'N'], DEEP), b"."]);
    assert_nesting("TUPLE3", &refused(buf), 2 + 2 + 3 * MAX_NESTING + 1);
}

#[test]
fn refuses_lists_nested_through_the_memo() {
    // EMPTY_LIST BINPUT 0, then N x (EMPTY_LIST BINGET 0 APPEND BINPUT 0 POP): memo 0 holds a
    // list one level deeper after each round; the i-th round's APPEND sits at 5 + 7(i - 1) + 3.
    let buf = pickle(&[b"]q\x00", &times(b"]h\x00aq\x000", DEEP), b"h\x00."]);
    let msg = refused(buf);
    assert_nesting("memo PUT/GET", &msg, 5 + 7 * (MAX_NESTING - 1) + 3);

    // The same with MEMOIZE and LONG_BINGET (protocol 4): memo i holds a list i + 1 deep.
    let mut rounds = Vec::new();
    for i in 0..DEEP as u32 {
        rounds.push(b']');
        rounds.push(b'j');
        rounds.extend_from_slice(&i.to_le_bytes());
        rounds.extend_from_slice(b"a\x940");
    }
    let buf = pickle(&[b"]\x94", &rounds, b"."]);
    let msg = refused(buf);
    assert_nesting("MEMOIZE/LONG_BINGET", &msg, 4 + 9 * (MAX_NESTING - 1) + 6);
}

#[test]
fn refuses_lists_nested_by_dup() {
    // EMPTY_LIST, (DUP APPEND) x N: appending a list to a copy of itself nests it one deeper.
    let buf = pickle(&[b"]", &times(b"2a", DEEP), b"."]);
    assert_nesting(
        "DUP + APPEND",
        &refused(buf),
        2 + 1 + 2 * (MAX_NESTING - 1) + 1,
    );
}

#[test]
fn refuses_nested_dicts_and_sets_at_the_first_one() {
    // Dicts, sets and frozensets are never built, so they cannot nest: the first one is refused.
    let cases: [(&str, Vec<u8>, &str, usize); 5] = [
        (
            "EMPTY_DICT + SETITEM",
            pickle(&[
                b"}",
                &times(b"K\x00}", DEEP - 1),
                &times(b"s", DEEP - 1),
                b".",
            ]),
            "found a dict",
            2,
        ),
        (
            "MARK + DICT",
            pickle(&[&times(b"(", DEEP), &times(b"d", DEEP), b"."]),
            "found a dict",
            2 + DEEP,
        ),
        (
            "lists around a dict",
            pickle(&[&times(b"]", DEEP), b"}", &times(b"a", DEEP), b"."]),
            "found a dict",
            2 + DEEP,
        ),
        (
            "EMPTY_SET + ADDITEMS",
            pickle(&[&times(&[0x8f, b'('], DEEP), &times(&[0x90], DEEP), b"."]),
            "unsupported opcode 0x8f",
            2,
        ),
        (
            "MARK + FROZENSET",
            pickle(&[&times(b"(", DEEP), &times(&[0x91], DEEP), b"."]),
            "unsupported opcode 0x91",
            2 + DEEP,
        ),
    ];
    for (what, buf, needle, at) in cases {
        let msg = refused(buf);
        assert!(
            msg.contains(needle),
            "{what}: expected `{needle}` in: {msg}"
        );
        assert!(
            msg.contains(&format!("(at byte {at})")),
            "{what}: expected byte {at} in: {msg}"
        );
    }
}

#[test]
fn nesting_up_to_the_limit_is_read_as_far_as_it_goes() {
    // A list MAX_NESTING deep is fine: the pickle is refused only for holding one item.
    let buf = pickle(&[
        &times(b"]", MAX_NESTING),
        &times(b"a", MAX_NESTING - 1),
        b".",
    ]);
    let msg = refused(buf);
    assert!(msg.contains("sequence of 1 items"), "{msg}");

    let buf = pickle(&[&times(b"(", MAX_NESTING), &times(b"t", MAX_NESTING), b"."]);
    let msg = refused(buf);
    assert!(msg.contains("sequence of 1 items"), "{msg}");

    // (L, 0) with L a list MAX_NESTING - 1 deep: a pair, refused because X is not an array.
    let pair =
        |depth: usize| pickle(&[&times(b"]", depth), &times(b"a", depth - 1), b"K\x00\x86."]);
    let msg = refused(pair(MAX_NESTING - 1));
    assert!(msg.contains("X is a list, not a numpy array"), "{msg}");
    // One level more and the pair itself is too deep, refused at its TUPLE2.
    let buf = pair(MAX_NESTING);
    let at = buf.len() - 2;
    assert_nesting("(L, 0) one level too deep", &refused(buf), at);

    // A list MAX_NESTING deep fetched from the memo into a tuple is one level too deep.
    let buf = pickle(&[
        &times(b"]", MAX_NESTING),
        &times(b"a", MAX_NESTING - 1),
        b"q\x000h\x00\x85.",
    ]);
    let at = buf.len() - 2;
    assert_nesting("memo GET into TUPLE1", &refused(buf), at);
}

#[test]
fn a_deep_pickle_file_is_refused_by_load_pickle() {
    // The file: EMPTY_LIST x 200,000, APPEND x 199,999, STOP, read from disk.
    let tmp = common::TempDir::new("deep");
    let path = tmp.path().join("deep.pkl");
    let n = 200_000;
    std::fs::write(&path, pickle(&[&times(b"]", n), &times(b"a", n - 1), b"."])).unwrap();
    let msg = match load_pickle(&path) {
        Ok(_) => panic!("a crafted pickle was accepted"),
        Err(e @ Error::BadData { .. }) => e.to_string(),
        Err(other) => panic!("wrong error kind: {other}"),
    };
    assert!(msg.contains("deep.pkl"), "{msg}");
    assert_nesting("load_pickle", &msg, 2 + n + MAX_NESTING - 1);
}
