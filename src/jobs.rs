//! Work split into independent units for a scheduler (a Slurm job array, a Kubernetes Indexed
//! Job): a *plan* lists the units of a section (one grid point, one model's fold, one
//! pretraining run, one variant), each with its run folder, its key and what it depends on;
//! a unit runs alone by its index (`charlab cv run --unit N`), safe to requeue since every unit
//! resumes its keyed, locked folder; a *collect* step reads the finished units into the same
//! results as the single-machine run.
//!
//! The plan is JSON lines, one [`Unit`] a line, in index order; units of a later [`Unit::stage`]
//! depend only on units of earlier stages, and the units of one stage have consecutive indices,
//! so that a stage is one array (`--array=FIRST-LAST`) started after the previous one
//! (`--dependency=afterok`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{paths, Error, Result};

/// One unit of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Position in the plan (the array task id that runs it).
    pub index: usize,
    /// Name, unique in the plan: the unit's folder relative to the section's run folder
    /// (`grid/svm-c10-g0.5`, `logreg/fold-2`, `pretrain-cnn4`).
    pub id: String,
    /// What it computes, in words.
    pub what: String,
    /// Its run folder, relative to the project (where its results and lock live).
    pub run_dir: String,
    /// Digest of everything its result depends on (`None` when it is only known once its
    /// dependencies have finished, e.g. a setting a grid chooses).
    pub key: Option<String>,
    /// Ids of the units (of this plan, or `section:id` of another section's) it needs finished.
    pub depends_on: Vec<String>,
    /// 0 for units without dependencies in this plan, else one more than the latest stage
    /// of what it depends on.
    pub stage: usize,
}

/// Which work one pass over a section does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pass<'a> {
    /// Everything, in order (the single-machine run); finished units are reused when `resume`.
    All {
        /// Reuse finished units and continue started ones.
        resume: bool,
    },
    /// Only the unit with this id (resumed when started, reused when finished); the others are
    /// read when finished and skipped when not.
    Unit(&'a str),
    /// Nothing computed: finished units are read, the others listed as missing.
    Collect,
}

impl Pass<'_> {
    /// Whether the pass computes unit `id` when it is not finished.
    pub fn computes(&self, id: &str) -> bool {
        match self {
            Pass::All { .. } => true,
            Pass::Unit(u) => *u == id,
            Pass::Collect => false,
        }
    }

    /// Whether finished work is reused (always, but in a run started afresh).
    pub fn resume(&self) -> bool {
        match self {
            Pass::All { resume } => *resume,
            Pass::Unit(_) | Pass::Collect => true,
        }
    }

    /// Whether the pass writes the section's results and figures as it goes (only the
    /// single-machine run: a unit never writes them, so parallel units do not race).
    pub fn writes_results(&self) -> bool {
        matches!(self, Pass::All { .. })
    }
}

/// Sets each unit's `index` (its position) and `stage` (from its dependencies inside the
/// plan), and orders the units by stage, keeping their order within a stage. Errors on a
/// duplicate id or a dependency that comes later than the unit in `units`.
pub fn number(mut units: Vec<Unit>) -> Result<Vec<Unit>> {
    let mut stage_of: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for u in &mut units {
        let mut stage = 0;
        for d in &u.depends_on {
            if let Some(s) = stage_of.get(d) {
                stage = stage.max(*s + 1);
            } else if !d.contains(':') {
                return Err(Error::param(
                    "plan",
                    format!(
                        "{} depends on {d}, which is not before it in the plan",
                        u.id
                    ),
                ));
            }
        }
        u.stage = stage;
        if stage_of.insert(u.id.clone(), stage).is_some() {
            return Err(Error::param(
                "plan",
                format!("two units are named {}", u.id),
            ));
        }
    }
    units.sort_by_key(|u| u.stage);
    for (i, u) in units.iter_mut().enumerate() {
        u.index = i;
    }
    Ok(units)
}

/// Each stage with the first and last index of its units.
pub fn stages(units: &[Unit]) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    for u in units {
        match out.last_mut() {
            Some((s, _, last)) if *s == u.stage => *last = u.index,
            _ => out.push((u.stage, u.index, u.index)),
        }
    }
    out
}

/// The plan as JSON lines.
pub fn to_jsonl(units: &[Unit]) -> Result<String> {
    let mut out = String::new();
    for u in units {
        let line = serde_json::to_string(u).map_err(|source| Error::Json {
            path: "plan".into(),
            source,
        })?;
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// Writes the plan to `path` (atomically).
pub fn write_plan(path: &Path, units: &[Unit]) -> Result<()> {
    paths::write_atomic(path, to_jsonl(units)?.as_bytes())
}

/// Reads a plan written by [`write_plan`].
pub fn read_plan(path: &Path) -> Result<Vec<Unit>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|source| Error::Json {
                path: path.to_path_buf(),
                source,
            })
        })
        .collect()
}

/// The unit at `index`, or an error saying how many there are.
pub fn unit_at(units: &[Unit], index: usize, section: &str) -> Result<Unit> {
    units.get(index).cloned().ok_or_else(|| {
        Error::param(
            "unit",
            format!(
                "{section}'s plan has {} units (0 to {}); {index} is not one of them: \
                 write the plan again (`plan`) and size the array to it",
                units.len(),
                units.len().saturating_sub(1)
            ),
        )
    })
}

/// The error of a collect step that finds units unfinished: names them (the first dozen) and
/// the commands that run one (`run_one`) and collect (`collect`).
pub fn missing_error(run_root: &Path, missing: &[String], run_one: &str, collect: &str) -> Error {
    let shown: Vec<&str> = missing.iter().take(12).map(String::as_str).collect();
    let more = if missing.len() > shown.len() {
        format!(" and {} more", missing.len() - shown.len())
    } else {
        String::new()
    };
    Error::Results {
        path: run_root.to_path_buf(),
        problem: format!(
            "{} unit(s) of the plan not finished: {}{more}",
            missing.len(),
            shown.join(", ")
        ),
        command: format!("{run_one}` for each (N: the unit's index in the plan), then `{collect}"),
    }
}
