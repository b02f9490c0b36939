//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// `../shared/data/<rel>` beside the project, if present. When it is absent the test is skipped
/// with a note, unless `CHARLAB_REQUIRE_SHARED=1` (set by CI), where absence fails the test.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("shared")
        .join("data")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CHARLAB_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("{} is missing and CHARLAB_REQUIRE_SHARED=1", p.display());
    }
    eprintln!("skipped: {} not present", p.display());
    None
}
