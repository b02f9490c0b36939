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

/// A fresh empty folder under `target/test-tmp/`, removed when dropped. (A std-only stand-in
/// for `tempfile`: a dev-dependency would unify other features into shared dependencies and
/// make `cargo build` rebuild what `cargo test` just built.)
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `target/test-tmp/<name>-<pid>-<n>`.
    pub fn new(name: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("test-tmp")
            .join(format!(
                "{name}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The folder.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The EMNIST fixture `name` (committed as `images.gz`, `labels.gz`, `mapping.txt`) laid out in
/// a fresh folder under the official file names, as a user's EMNIST download would be.
pub fn emnist_fixture(name: &str) -> TempDir {
    let src = fixture(name);
    let dir = TempDir::new(name);
    for (from, to) in [
        ("images.gz", "emnist-byclass-test-images-idx3-ubyte.gz"),
        ("labels.gz", "emnist-byclass-test-labels-idx1-ubyte.gz"),
        ("mapping.txt", "emnist-byclass-mapping.txt"),
    ] {
        if src.join(from).exists() {
            std::fs::copy(src.join(from), dir.path().join(to)).unwrap();
        }
    }
    dir
}

/// A fresh [`TempDir`] installed as the library's project root, on one thread: for a test that
/// writes results files and run folders in process (one such test per test binary: the
/// settings are the process's).
pub fn installed_root(name: &str) -> TempDir {
    let tmp = TempDir::new(name);
    charlab::Settings {
        root: Some(tmp.path().to_path_buf()),
        threads: Some(1),
        ..charlab::Settings::current()
    }
    .install();
    tmp
}

/// Section 6.1's quick inputs as its tests use them: 800 images of the embedded generator
/// (seed 11) and a corpus of 600 (seed 12).
pub fn levers_inputs() -> (charlab::data::Dataset, charlab::data::Dataset) {
    use charlab::data::synth::{generate, SynthParams};
    (
        generate(&SynthParams::new(800, 11).unwrap()).unwrap(),
        generate(&SynthParams::new(600, 12).unwrap()).unwrap(),
    )
}
