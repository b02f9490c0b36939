//! `train.pkl`: the restricted unpickler on the bytes as they are
//! ([`charlab::data::pickle::read_xy`]), then, when it yields two arrays, the whole loader with
//! its dtype, shape and label checks ([`charlab::data::load_pickle`], through a file).
//!
//! Any input must give `Ok` or a clean `Err`: a panic, an abort, a stack overflow or an
//! out-of-memory is a finding.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A file in this process's own scratch folder (under `TMPDIR`; `make fuzz` points it into
/// `fuzz/target/`).
fn scratch(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("charlab-fuzz-pickle-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch folder");
        d
    });
    dir.join(name)
}

fuzz_target!(|data: &[u8]| {
    let decoded = charlab::data::pickle::read_xy(Path::new("fuzz.pkl"), data);
    if let Ok((x, y)) = &decoded {
        // What the loader's messages compute from any decoded array.
        for a in [x, y] {
            let _ = (
                a.len(),
                a.is_empty(),
                a.dtype.describe(),
                a.to_i64(),
                a.to_f64(),
            );
        }
        let path = scratch("train.pkl");
        std::fs::write(&path, data).expect("write the scratch file");
        if let Ok(ds) = charlab::data::load_pickle(&path) {
            let _ = (ds.class_counts(), ds.content_hash());
        }
    }
});
