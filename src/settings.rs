//! [`Settings`]: everything charlab takes from the environment, read once, at an entry point
//! (the CLI's `main`, a notebook's [`crate::notebook::start`], a test), and installed for the
//! process. Nothing outside this module reads a `CHARLAB_*` variable: [`crate::paths`],
//! [`crate::threads`] and [`crate::channels_last`] read the installed settings (or, in a copy
//! of the library where none were installed, the environment: see [`Settings::current`]).
//!
//! | variable | field | default |
//! | --- | --- | --- |
//! | `CHARLAB_ROOT` | [`Settings::root`] | the folder of charlab's `Cargo.toml` above the current one |
//! | `CHARLAB_OUT` | [`Settings::out`] | the root (or as [`Settings::route_outputs`] chooses) |
//! | `CHARLAB_THREADS` | [`Settings::threads`] | every core |
//! | `CHARLAB_CHANNELS_LAST` | [`Settings::channels_last`] | on (`0` turns it off) |
//! | `CHARLAB_QUICK` | [`Settings::profile`] | [`Profile::Full`] (anything but `0`: quick) |
//! | `CHARLAB_DATA` | [`Settings::data`] | the embedded default data set |
//! | `CHARLAB_CORPUS` | [`Settings::corpus`] | section 6.1's: the shared EMNIST folder, else generated |

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::Profile;

/// What the environment says (see the module documentation). `Default` is an empty
/// environment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// The project root, when given (`CHARLAB_ROOT`); else found from the current folder.
    pub root: Option<PathBuf>,
    /// Where outputs go instead of the root (`CHARLAB_OUT`).
    pub out: Option<PathBuf>,
    /// CPU threads for heavy work (`CHARLAB_THREADS`; `None`: every core).
    pub threads: Option<usize>,
    /// Whether the networks store convolution weights channels-last (`CHARLAB_CHANNELS_LAST`,
    /// on unless `0`): a speed setting that changes float rounding, not the model.
    pub channels_last: bool,
    /// Full or quick (`CHARLAB_QUICK`).
    pub profile: Profile,
    /// The data a notebook or a command without `--data` reads (`CHARLAB_DATA`): a
    /// `train.pkl`, an EMNIST folder or `default`.
    pub data: Option<String>,
    /// Section 6.1's pretraining corpus for the notebooks (`CHARLAB_CORPUS`).
    pub corpus: Option<String>,
}

static INSTALLED: RwLock<Option<Settings>> = RwLock::new(None);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Reads the `CHARLAB_*` variables of the module documentation (an entry point calls
    /// this once).
    pub fn from_env() -> Settings {
        Settings {
            root: var("CHARLAB_ROOT").map(PathBuf::from),
            out: var("CHARLAB_OUT").map(PathBuf::from),
            threads: var("CHARLAB_THREADS")
                .and_then(|s| s.parse().ok())
                .filter(|&n| n > 0),
            channels_last: var("CHARLAB_CHANNELS_LAST").is_none_or(|v| v != "0"),
            profile: Profile::from_flag(var("CHARLAB_QUICK").is_some_and(|v| v != "0")),
            data: var("CHARLAB_DATA"),
            corpus: var("CHARLAB_CORPUS"),
        }
    }

    /// Makes these the process's settings (replacing any installed before).
    pub fn install(self) {
        let mut slot = INSTALLED.write().unwrap_or_else(|e| e.into_inner());
        *slot = Some(self);
    }

    /// The installed settings; when none were installed in this copy of the library, those
    /// of the environment ([`Settings::from_env`]). evcxr links the library anew into every
    /// notebook cell, so a cell after [`crate::notebook::start`] sees no installed settings and
    /// reads the ones `start` exported ([`Settings::export`]).
    pub fn current() -> Settings {
        let slot = INSTALLED.read().unwrap_or_else(|e| e.into_inner());
        slot.clone().unwrap_or_else(Settings::from_env)
    }

    /// Writes these settings to the process environment (the `CHARLAB_*` variables of the
    /// module documentation), so that code linked separately in the same process reads them
    /// too: a notebook's later cells, which evcxr compiles with their own copy of the library
    /// and its statics. Only [`crate::notebook::start`] calls it, once; the CLI installs.
    pub fn export(&self) {
        fn put(name: &str, value: Option<String>) {
            match value {
                Some(v) => std::env::set_var(name, v),
                None => std::env::remove_var(name),
            }
        }
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        put("CHARLAB_ROOT", path(&self.root));
        put("CHARLAB_OUT", path(&self.out));
        put("CHARLAB_THREADS", self.threads.map(|n| n.to_string()));
        put(
            "CHARLAB_CHANNELS_LAST",
            Some(if self.channels_last { "1" } else { "0" }.into()),
        );
        put(
            "CHARLAB_QUICK",
            Some(if self.profile.is_quick() { "1" } else { "0" }.into()),
        );
        put("CHARLAB_DATA", self.data.clone());
        put("CHARLAB_CORPUS", self.corpus.clone());
    }

    /// CPU threads for heavy work: [`Settings::threads`], else every core.
    pub fn thread_count(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Keeps the committed `figures/` and `report/` for the data set they come from: a quick
    /// run writes under `target/quick/`, a run on any other data set than the committed one
    /// under `target/runs/<hash>/` (the first 16 hex digits of its content hash), by setting
    /// [`Settings::out`]. Nothing changes when `root` or `out` is set already, or for a full
    /// run on the committed data set (committing results stays an explicit act). Returns the
    /// new output folder, if any; the caller installs the settings.
    pub fn route_outputs(&mut self, data_hash: &str) -> Option<PathBuf> {
        if self.root.is_some() || self.out.is_some() {
            return None;
        }
        let root = find_root();
        let target = root.join("target");
        let out = if self.profile.is_quick() {
            target.join("quick")
        } else if committed_data_hash_in(&root).is_none_or(|h| h == data_hash) {
            return None;
        } else {
            target
                .join("runs")
                .join(data_hash.get(..16).unwrap_or(data_hash))
        };
        self.out = Some(out.clone());
        Some(out)
    }
}

/// The folder holding charlab's `Cargo.toml` at or above the current folder (else the current
/// folder).
pub fn find_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    for dir in cwd.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            if text.contains("name = \"charlab\"") {
                return dir.to_path_buf();
            }
        }
    }
    cwd
}

/// The content hash of the data set the committed results of the project at `root` come from
/// (`data_hash` of its `report/results/02-dataset.json`), if there is one.
pub fn committed_data_hash_in(root: &Path) -> Option<String> {
    let path = root.join("report").join("results").join("02-dataset.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v.get("data_hash")?.as_str().map(str::to_string)
}

/// Number of CPU threads to use for heavy work: the installed settings' (`CHARLAB_THREADS` at
/// the entry point), else all cores.
pub fn threads() -> usize {
    Settings::current().thread_count()
}

/// Whether the networks store their convolution weights channels-last
/// ([`crate::models::to_channels_last`]): the installed settings' (on unless
/// `CHARLAB_CHANNELS_LAST` is `0` at the entry point). A speed setting, like [`threads`]: it
/// changes float rounding, not the model; results record it.
pub fn channels_last() -> bool {
    Settings::current().channels_last
}

/// Makes glibc's allocator keep freed memory for reuse instead of returning large blocks to
/// the system. libtorch allocates each batch's activations anew (the CNN's first block alone
/// is 51 MB at batch 128); glibc serves blocks above 32 MB with `mmap` and unmaps them when
/// freed, so without this every training step page-faults its activations in again. Only the
/// allocator changes, not the arithmetic: the losses are the same. What it saves (page faults,
/// CPU time) is measured in `docs/measurements.md`. The CLI calls this first; a no-op off
/// glibc. Memory freed by the process then stays mapped until it exits.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread is
    // started by this process.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_runs_are_routed_under_target_and_given_folders_are_kept() {
        let mut s = Settings {
            profile: Profile::Quick,
            ..Settings::default()
        };
        let out = s.route_outputs("abc").unwrap_or_default();
        assert!(out.ends_with("target/quick"), "{}", out.display());
        assert_eq!(s.out.as_ref(), Some(&out));
        let mut given = Settings {
            out: Some("elsewhere".into()),
            profile: Profile::Quick,
            ..Settings::default()
        };
        assert_eq!(given.route_outputs("abc"), None);
        assert_eq!(given.out, Some(PathBuf::from("elsewhere")));
    }
}
