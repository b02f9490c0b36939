//! The files of a training run folder (see [`crate::training`]): their names, checked reading
//! and atomic writing, what a resumed run starts from, and the lock that keeps two trainings
//! out of one folder.
//!
//! # Faults
//! Every file of a run is written atomically, but a folder can still be damaged from outside
//! (a full disk, a copy cut short, a hand edit). Resuming checks everything it reads: a
//! truncated or corrupt checkpoint, optimizer state, `state.json` or `history.jsonl` is an
//! error naming the file, what is wrong with it, and the fix (rerun without `--resume` to start
//! over), never a panic. `state.json` records the SHA-256 of the checkpoint pair, so damage
//! inside the tensors' bytes is caught too. Lines of `history.jsonl` past the last finished
//! epoch (a crash between writing the history and `state.json`) are ignored.
//!
//! # Lock
//! `RunLock` holds `run.lock` (the holder's PID and start time) locked with `flock` while a
//! training runs. The kernel drops the lock when its process ends, however it ends (`kill -9`
//! included), so a lock file left behind never blocks the folder.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;

use super::adam::Adam;
use super::params::EpochRecord;
pub(crate) use super::weights::save_weights;
use super::weights::{fitting_weights, load_weights, read_tensors};
use crate::paths::{read_json, sha256_file, write_atomic, write_json};
use crate::{Error, Result};

/// Name of the lock file in a run folder.
pub(crate) const LOCK_NAME: &str = crate::paths::run_files::LOCK;

/// What every resume error ends with.
const START_OVER: &str = "rerun without --resume to start over";

/// Counters saved with the last checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunState {
    /// Finished epochs; the checkpoint pair on disk is this epoch's.
    pub(crate) epochs_done: usize,
    /// Adam steps taken.
    pub(crate) step: i64,
    /// Epoch of `best.safetensors` (0 before the first epoch).
    pub(crate) best_epoch: usize,
    /// Its validation loss (infinite, written `null`, before any finite one).
    #[serde(deserialize_with = "nullable_f64")]
    pub(crate) best_val_loss: f64,
    /// SHA-256 of `epoch-NNN.safetensors` (absent in folders written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) weights_sha256: Option<String>,
    /// SHA-256 of `epoch-NNN-optim.safetensors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) optim_sha256: Option<String>,
}

impl RunState {
    /// The state of a run that has not finished an epoch.
    pub(crate) fn fresh() -> RunState {
        RunState {
            epochs_done: 0,
            step: 0,
            best_epoch: 0,
            best_val_loss: f64::INFINITY,
            weights_sha256: None,
            optim_sha256: None,
        }
    }
}

/// serde_json writes infinities as `null`: read `null` back as infinity.
fn nullable_f64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

/// `epoch-NNN.safetensors`: the weights at the end of epoch `epoch`.
pub(crate) fn weights_name(epoch: usize) -> String {
    format!("epoch-{epoch:03}.safetensors")
}

/// `epoch-NNN-optim.safetensors`: Adam's state at the end of epoch `epoch`.
pub(crate) fn optim_name(epoch: usize) -> String {
    format!("epoch-{epoch:03}-optim.safetensors")
}

/// Files of ours in a run folder (the lock excepted).
fn is_run_file(name: &str) -> bool {
    matches!(
        name,
        crate::paths::run_files::STATE
            | crate::paths::run_files::HISTORY
            | crate::paths::run_files::BEST_WEIGHTS
            | crate::paths::run_files::BEST_RECORD
            | crate::paths::run_files::CONFIG
            | super::tensorboard::EVENTS_FILE
    ) || (name.starts_with("epoch-") && name.ends_with(".safetensors"))
}

/// Temporary files that an interrupted writer of a run file left (see
/// [`super::weights::tmp_path`] and
/// [`write_atomic`]).
fn is_leftover(name: &str) -> bool {
    let tensors = name.starts_with(".tmp") && name.ends_with(".safetensors");
    let json = name.strip_prefix('.').is_some_and(|rest| {
        rest.split_once(".tmp")
            .is_some_and(|(base, _)| is_run_file(base))
    });
    tensors || json
}

/// Removes the files of a previous run (only files this module writes) and the temporary
/// files interrupted writers left. Call with the folder's [`RunLock`] held.
pub(crate) fn remove_run_files(run_dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(run_dir).map_err(|e| Error::io(run_dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_run_file(&name) || is_leftover(&name) {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    Ok(())
}

/// Removes only the temporary files interrupted writers left (with the lock held, no writer of
/// this folder is running).
pub(crate) fn remove_leftovers(run_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(run_dir) {
        for entry in entries.flatten() {
            if is_leftover(&entry.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Writes the history, one JSON record a line, atomically.
pub(crate) fn write_history(path: &Path, history: &[EpochRecord]) -> Result<()> {
    let mut text = String::new();
    for r in history {
        let line = serde_json::to_string(r).map_err(|source| Error::Json {
            path: path.to_path_buf(),
            source,
        })?;
        text.push_str(&line);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())
}

/// The first `epochs` records of a history file, checked (numbered 1, 2, ...); lines after
/// them, complete or cut short, are ignored.
/// Every record of the history file at `path` (empty when it is missing or unreadable).
pub fn read_history_file(path: &Path) -> Vec<EpochRecord> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn read_history(path: &Path, epochs: usize) -> std::result::Result<Vec<EpochRecord>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    // Damage may cut a character short: it is then the damaged line's problem.
    let text = String::from_utf8_lossy(&bytes);
    let mut history = Vec::with_capacity(epochs);
    for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if i == epochs {
            break;
        }
        let record: EpochRecord = serde_json::from_str(line).map_err(|e| {
            if e.is_eof() {
                format!(
                    "line {} is cut short ({e}): it holds {i} complete epochs but state.json \
                     says {epochs} are done",
                    i + 1
                )
            } else {
                format!("line {} is corrupt ({e})", i + 1)
            }
        })?;
        if record.epoch != i + 1 {
            return Err(format!(
                "line {} is the record of epoch {}, not of epoch {}",
                i + 1,
                record.epoch,
                i + 1
            ));
        }
        history.push(record);
    }
    if history.len() < epochs {
        return Err(format!(
            "holds {} complete epochs but state.json says {epochs} are done",
            history.len()
        ));
    }
    Ok(history)
}

/// What is wrong with a file that [`read_json`] refused, without the file's name.
fn reason(e: &Error) -> String {
    match e {
        Error::Io { source, .. } => source.to_string(),
        Error::Json { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// A JSON file of a run being resumed; an unreadable one is an error naming it and the fix.
pub(crate) fn read_for_resume<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    read_json(path)
        .map_err(|e| cannot_resume(path, format!("is unreadable ({})", reason(&e)), None))
}

/// An error for the damaged file `path` of a run that cannot resume.
fn cannot_resume(path: &Path, what: impl std::fmt::Display, epoch: Option<usize>) -> Error {
    let from = epoch.map_or(String::new(), |e| format!(" from epoch {e}"));
    Error::bad_data(
        path,
        format!("{what}: the run cannot resume{from}; {START_OVER}"),
    )
}

/// A checkpoint file of epoch `epoch`, its SHA-256 checked against `expected` when recorded,
/// then loaded by `load`; every failure an error naming the file.
fn load_checked(
    path: &Path,
    expected: Option<&String>,
    epoch: usize,
    load: impl FnOnce(&Path) -> std::result::Result<(), String>,
) -> Result<()> {
    if !path.exists() {
        return Err(cannot_resume(path, "is missing", Some(epoch)));
    }
    if let Some(expected) = expected {
        let actual = sha256_file(path)?;
        if &actual != expected {
            // Say how when it shows.
            let why = read_tensors(path).err().unwrap_or_else(|| {
                "its SHA-256 is not the one state.json recorded when it was written".into()
            });
            return Err(cannot_resume(
                path,
                format!("is corrupt ({why})"),
                Some(epoch),
            ));
        }
    }
    load(path).map_err(|why| cannot_resume(path, format!("is corrupt ({why})"), Some(epoch)))
}

/// Reads back a run in `run_dir` (its config already checked): the state, the history of its
/// finished epochs, and the checkpoint of the last one into `vs` and `adam`. Damage is an
/// error naming the file; a damaged `best.safetensors` or `best.json` of the last epoch is
/// rewritten from the checkpoint and the history.
pub(crate) fn resume(
    run_dir: &Path,
    vs: &VarStore,
    adam: &mut Adam,
) -> Result<(RunState, Vec<EpochRecord>)> {
    let f = |name: &str| run_dir.join(name);
    let state_path = f(crate::paths::run_files::STATE);
    let state: RunState = read_for_resume(&state_path)?;
    let (done, best) = (state.epochs_done, state.best_epoch);
    if best > done || (done > 0 && best == 0) || state.step < 0 {
        let why = format!(
            "is inconsistent (best epoch {best}, {done} done, step {})",
            state.step
        );
        return Err(cannot_resume(&state_path, why, None));
    }
    if done > 0 {
        let weights = f(&weights_name(done));
        load_checked(&weights, state.weights_sha256.as_ref(), done, |p| {
            load_weights(vs, p)
        })?;
        let optim = f(&optim_name(done));
        load_checked(&optim, state.optim_sha256.as_ref(), done, |p| adam.load(p))?;
    }
    let history_path = f(crate::paths::run_files::HISTORY);
    let history = read_history(&history_path, done)
        .map_err(|why| cannot_resume(&history_path, why, Some(done)))?;
    if best > 0 {
        let best_path = f(crate::paths::run_files::BEST_WEIGHTS);
        if let Err(why) = fitting_weights(vs, &best_path) {
            if best != done {
                let what = format!("is corrupt ({why}); it held the best epoch, {best}");
                return Err(cannot_resume(&best_path, what, None));
            }
            // The best epoch is the last one: its weights are the checkpoint's.
            let bytes =
                std::fs::read(f(&weights_name(done))).map_err(|e| Error::io(&best_path, e))?;
            write_atomic(&best_path, &bytes)?;
        }
        if read_json::<EpochRecord>(&f(crate::paths::run_files::BEST_RECORD)).is_err() {
            if let Some(record) = history.get(best - 1) {
                write_json(&f(crate::paths::run_files::BEST_RECORD), record)?;
            }
        }
    }
    Ok((state, history))
}

/// Exclusive use of a run folder while a training writes to it: `run.lock`, locked with
/// `flock` and holding the holder's PID and start time, removed when the guard is dropped.
/// The kernel releases the lock of a process that ends in any way, so a folder is never left
/// stuck.
#[derive(Debug)]
pub(crate) struct RunLock {
    file: std::fs::File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `run_dir` (which must exist), or fails at once with
    /// [`Error::InUse`] naming the holder's PID and start time.
    pub(crate) fn acquire(run_dir: &Path) -> Result<RunLock> {
        let path = run_dir.join(LOCK_NAME);
        for _ in 0..32 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::InUse {
                        path: run_dir.to_path_buf(),
                        holder: holder(&mut file),
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
            // The previous holder removes the file as it lets go: the lock may be on a file
            // that is no longer there, and the next process would lock a new one.
            if same_file(&file, &path) {
                let secs = unix_now();
                let note = format!("{}\n{secs}\n", std::process::id());
                file.set_len(0)
                    .and_then(|()| file.write_all(note.as_bytes()))
                    .and_then(|()| file.flush())
                    .map_err(|e| Error::io(&path, e))?;
                return Ok(RunLock { file, path });
            }
        }
        Err(Error::InUse {
            path: run_dir.to_path_buf(),
            holder: "other processes (its lock file keeps changing)".into(),
        })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked; the lock goes when `file` is closed, after this.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `file` is the file now at `path`.
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "PID N (started YYYY-MM-DD HH:MM:SS UTC, S s ago)" from a lock file's content.
fn holder(file: &mut std::fs::File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let mut lines = text.lines();
    let pid = lines.next().and_then(|l| l.trim().parse::<u32>().ok());
    let started = lines.next().and_then(|l| l.trim().parse::<u64>().ok());
    match (pid, started) {
        (Some(pid), Some(t)) => format!(
            "PID {pid} (started {}, {} s ago)",
            utc(t),
            unix_now().saturating_sub(t)
        ),
        (Some(pid), None) => format!("PID {pid}"),
        _ => "another process (it is starting)".into(),
    }
}

/// `secs` since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian calendar).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_599), "2025-12-31 23:59:59 UTC");
    }

    #[test]
    fn leftovers_are_only_temporary_run_files() {
        assert!(is_leftover(".tmp12.0-epoch-003.safetensors"));
        assert!(is_leftover(".state.json.tmp12"));
        assert!(is_leftover(".history.jsonl.tmp99.3"));
        assert!(!is_leftover(".normalizer.json.tmp12"));
        assert!(!is_leftover("state.json"));
        assert!(!is_leftover("run.lock"));
    }
}
