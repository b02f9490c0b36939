//! What each finished fold and grid point of section 6.2 leaves in `report/results/06.2-cv/`
//! (committed with the section's results file): a copy of its scores file (`fold.json`,
//! `point.json`) at the same place relative to the section's run folder, and each soft vote's
//! test predictions (`soft-vote.json`), which need the fold models' test logits at once. No
//! weights and no logits.
//!
//! The section takes 3 to 7 hours on 2 cores, longer than a machine may live, and its run
//! folders (`data/models/06.2-cv/`) are not committed. With these records a run continued on
//! another machine fits only what is not recorded: a scores file is read from the run folder
//! when it is there, else from its record, and the key inside decides, as before, whether it
//! is the fold or point asked for.

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{run_root, SECTION};
use crate::{paths, Result};

/// The records' folder: `report/results/06.2-cv/` (or the results folder in use).
pub(crate) fn dir() -> PathBuf {
    paths::results_dir().join(SECTION)
}

/// The record of `file` (a file under the section's run folder).
pub(crate) fn record_of(file: &Path) -> PathBuf {
    match file.strip_prefix(run_root()) {
        Ok(rel) => dir().join(rel),
        Err(_) => dir().join(file.file_name().unwrap_or_default()),
    }
}

/// `file` read from the run folder (as before: an unreadable one counts as absent), else from
/// its record; `None` when neither is there. An unreadable record is an error naming it
/// (delete it to fit again).
pub(crate) fn read<T: DeserializeOwned>(file: &Path) -> Result<Option<T>> {
    if let Ok(v) = paths::read_json(file) {
        return Ok(Some(v));
    }
    let rec = record_of(file);
    if !rec.is_file() {
        return Ok(None);
    }
    paths::read_json(&rec).map(Some)
}

/// Whether `file` or its record is there.
pub(crate) fn exists(file: &Path) -> bool {
    file.is_file() || record_of(file).is_file()
}

/// Writes `value` to `file` in the run folder and to its record.
pub(crate) fn write<T: Serialize>(file: &Path, value: &T) -> Result<()> {
    paths::write_json(file, value)?;
    paths::write_json(&record_of(file), value)
}

/// A soft vote's test predictions, under the keys of its members (in order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SoftVote {
    members: String,
    test_predictions: Vec<usize>,
}

fn soft_vote_path(name: &str) -> PathBuf {
    dir().join(name).join("soft-vote.json")
}

/// The recorded test predictions of the soft vote `name` over members whose keys digest to
/// `members`.
pub(crate) fn soft_vote(name: &str, members: &str) -> Result<Option<Vec<usize>>> {
    let p = soft_vote_path(name);
    if !p.is_file() {
        return Ok(None);
    }
    let v: SoftVote = paths::read_json(&p)?;
    Ok((v.members == members).then_some(v.test_predictions))
}

/// Records the soft vote `name`'s test predictions over members whose keys digest to
/// `members`.
pub(crate) fn write_soft_vote(name: &str, members: &str, pred: &[usize]) -> Result<()> {
    let v = SoftVote {
        members: members.to_string(),
        test_predictions: pred.to_vec(),
    };
    paths::write_json_if_changed(&soft_vote_path(name), &v)
}

/// The recorded test predictions of soft vote `name`, whatever members they were for, and
/// the record's path.
pub(crate) fn soft_vote_predictions(name: &str) -> Result<(PathBuf, Option<Vec<usize>>)> {
    let p = soft_vote_path(name);
    if !p.is_file() {
        return Ok((p, None));
    }
    let v: SoftVote = paths::read_json(&p)?;
    Ok((p, Some(v.test_predictions)))
}
