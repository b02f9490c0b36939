//! Every path charlab reads or writes, in one place (cookiecutter-data-science style).
//!
//! All paths are relative to the project root, found by walking up from the current
//! directory to the folder holding charlab's `Cargo.toml` (so notebooks, run from
//! `notebooks/`, and the CLI, run from anywhere inside the repository, agree). Outside a
//! checkout the current directory is the root. The installed [`crate::Settings`] can name
//! another root (`CHARLAB_ROOT`) and another folder for the outputs (`CHARLAB_OUT`); this
//! module reads no environment variable itself.

use std::path::{Path, PathBuf};

/// The project root (see the module documentation): the installed settings' root, else
/// [`find_root`].
pub fn root() -> PathBuf {
    crate::Settings::current().root.unwrap_or_else(find_root)
}

pub use crate::settings::find_root;

/// Where outputs go: the installed settings' `out` (`CHARLAB_OUT`), else the project root.
pub fn out_root() -> PathBuf {
    let s = crate::Settings::current();
    s.out.or(s.root).unwrap_or_else(find_root)
}

/// The content hash of the data set the committed results come from (`data_hash` of the
/// project's `report/results/02-dataset.json`), if there is one.
pub fn committed_data_hash() -> Option<String> {
    crate::settings::committed_data_hash_in(&root())
}

/// `figures/`: every figure of the report, as SVG and PNG.
pub fn figures_dir() -> PathBuf {
    out_root().join("figures")
}

/// `report/results/`: one JSON file per report section.
pub fn results_dir() -> PathBuf {
    out_root().join("report").join("results")
}

/// `data/`: git-ignored working data (model checkpoints, caches). Raw inputs are never written.
pub fn data_dir() -> PathBuf {
    out_root().join("data")
}

/// `figures/<stem>` without extension; [`crate::plot`] adds `.svg` and `.png`.
pub fn figure(stem: &str) -> PathBuf {
    figures_dir().join(stem)
}

/// `data/models/`: the run folders of every section.
pub fn models_dir() -> PathBuf {
    data_dir().join("models")
}

/// `weights/` under the project root: the committed weights of the reported networks.
pub fn weights_dir() -> PathBuf {
    root().join("weights")
}

/// The run folder (or folder of run folders) of `section` in `profile`:
/// `data/models/<section>/`, or `data/models/quick/<section>/` for a quick reproduction.
pub fn run_dir(section: &str, profile: crate::Profile) -> PathBuf {
    let sub = profile.models_subdir();
    if sub.is_empty() {
        models_dir().join(section)
    } else {
        models_dir().join(sub).join(section)
    }
}

/// File names inside a run folder (`data/models/<section>/...`), written by
/// [`crate::training`] and the sections, read back by [`crate::inference`] and on resume.
pub mod run_files {
    /// The run's configuration (what trained; its model kind, see `inference::ModelConfig`).
    pub const CONFIG: &str = "config.json";
    /// The training part's normalisation statistics.
    pub const NORMALIZER: &str = "normalizer.json";
    /// The best-validation-loss weights.
    pub const BEST_WEIGHTS: &str = "best.safetensors";
    /// The epoch record of the best weights.
    pub const BEST_RECORD: &str = "best.json";
    /// Where a resumable run stands (last finished epoch, checkpoint hashes).
    pub const STATE: &str = "state.json";
    /// One line per finished epoch.
    pub const HISTORY: &str = "history.jsonl";
    /// The logit adjustment chosen on validation.
    pub const ADJUSTMENT: &str = "adjustment.json";
    /// An ensemble folder's members and vote.
    pub const ENSEMBLE: &str = "ensemble.json";
    /// The lock of a run being written.
    pub const LOCK: &str = "run.lock";
}

/// Each report section's id: the name of its results file (`report/results/<id>.json`), its
/// run folder (`data/models/<id>/`), its committed weights (`weights/<id>/`) and its step in
/// `charlab reproduce`.
pub mod section {
    /// Section 2, the data.
    pub const DATASET: &str = "02-dataset";
    /// Section 3, preprocessing and the split.
    pub const PREPROCESSING: &str = "03-preprocessing";
    /// Section 4.1, logistic regression and the RBF SVM.
    pub const BASELINES: &str = "04.1-baselines";
    /// Section 4.2, the CNN.
    pub const CNN: &str = "04.2-cnn";
    /// Section 4.2's tuning of the CNN.
    pub const CNN_TUNING: &str = "04.2-cnn-tuning";
    /// Section 4.3, EfficientNet-b0.
    pub const EFFICIENTNET: &str = "04.3-efficientnet";
    /// Section 5, the results.
    pub const RESULTS: &str = "05-results";
    /// Section 6.1, pretraining, imbalance and augmentation.
    pub const LEVERS: &str = "06.1-levers";
    /// Section 6.2, cross-validation, grid search and votes.
    pub const CV: &str = "06.2-cv";
}

/// `figures/<stem>.svg` and `figures/<stem>.png`, the two files of a figure.
pub fn figure_files(stem: &str) -> [PathBuf; 2] {
    let f = figure(stem);
    [f.with_extension("svg"), f.with_extension("png")]
}

/// `report/results/<section>.json`.
pub fn result(section: &str) -> PathBuf {
    results_dir().join(format!("{section}.json"))
}

/// Where the shared stand-in data lives for developers and CI (`../shared/data/...`
/// beside the project root). Users do not have it.
pub fn shared_standin() -> PathBuf {
    root()
        .join("..")
        .join("shared")
        .join("data")
        .join("alphamoon-standin")
        .join("train.pkl")
}

/// The shared EMNIST images that are not in the stand-in (`../shared/data/emnist-byclass-rest`
/// beside the project root): section 6.1's pretraining corpus for developers and CI.
pub fn shared_emnist_rest() -> PathBuf {
    let rel = Path::new("..")
        .join("shared")
        .join("data")
        .join("emnist-byclass-rest");
    // Relative to the current folder when it is inside the project (a notebook's is
    // `notebooks/`), so that results and notebooks name no machine's absolute path.
    let root = root();
    let cwd = std::env::current_dir().unwrap_or_else(|_| root.clone());
    match cwd.strip_prefix(&root) {
        Ok(inside) => inside
            .components()
            .fold(PathBuf::new(), |p, _| p.join(".."))
            .join(rel),
        Err(_) => root.join(rel),
    }
}

/// `path` relative to the project root when it is inside it (for messages and notebook
/// outputs that should not show a machine's absolute paths), else `path` as it is.
pub fn relative(path: &Path) -> String {
    let root = root();
    let root = root.canonicalize().unwrap_or(root);
    let full = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    match full.strip_prefix(&root) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename,
/// so that an interrupted run never leaves a half-written output. Creates parent folders.
/// When writing or renaming fails, the temporary file is removed and the error names the path
/// that could not be written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    // Unique per process and call: two threads writing the same file do not share one.
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.tmp{}.{n}", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(|e| crate::Error::io(path, e))?;
    let written = file.write_all(bytes).and_then(|_| file.sync_all());
    drop(file);
    written
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            crate::Error::io(path, e)
        })
}

/// Reads a JSON file into `T`; errors name the file.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> crate::Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| crate::Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| crate::Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Serialises `value` as pretty JSON and writes it atomically to `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> crate::Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| crate::Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// [`write_json`], unless `path` already holds `value` (then it is left as it is, its
/// modification time included).
pub fn write_json_if_changed<T>(path: &Path, value: &T) -> crate::Result<()>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq,
{
    if read_json::<T>(path).is_ok_and(|old| &old == value) {
        return Ok(());
    }
    write_json(path, value)
}

/// SHA-256 of a file's bytes, as lowercase hex (an error names the file).
pub fn sha256_file(path: &Path) -> crate::Result<String> {
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    Ok(sha256_bytes(&bytes))
}

/// The SHA-256 of `bytes`, in hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
