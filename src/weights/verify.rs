//! `charlab verify`: every committed weights folder re-scored on the data it was trained on,
//! its files checked against the manifest's hashes first.

use std::time::Instant;

use super::{adjusted, manifest_path, scored_in, Entry, Manifest};
use crate::data::Dataset;
use crate::metrics::ConfusionMatrix;
use crate::sections::neural::NeuralResults;
use crate::training::Trained;
use crate::{paths, split, Error, Result};

/// What [`verify`] found for one entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The entry's section.
    pub section: String,
    /// Expected test accuracy and macro F1 (the results file's).
    pub expected: (f64, f64),
    /// What the weights give now.
    pub got: (f64, f64),
    /// Test images whose label differs from the results file's.
    pub differing: usize,
    /// Seconds to check the hashes, load and label.
    pub seconds: f64,
    /// Whether it was scored (a pretraining run is only loaded).
    pub scored: bool,
}

impl Check {
    /// Whether the weights reproduce the results exactly.
    pub fn ok(&self) -> bool {
        self.differing == 0 && self.expected == self.got
    }
}

/// Checks every entry of the manifest on `data` (the data set they were trained on): each
/// file's SHA-256, then the network loaded from its folder labels the test part of the split
/// its configuration names, and accuracy, macro F1 and every label are compared with the
/// results file. A missing file, a bad hash or other data is an error naming the file; a
/// mismatch is a [`Check`] that is not [`Check::ok`].
pub fn verify(data: &Dataset) -> Result<Vec<Check>> {
    let manifest: Manifest = paths::read_json(&manifest_path())?;
    if manifest.models.is_empty() {
        return Err(Error::bad_data(manifest_path(), "lists no weights"));
    }
    let mut out = Vec::new();
    for e in &manifest.models {
        let t = Instant::now();
        let folder = e.folder();
        for (name, want) in &e.files {
            let path = folder.join(name);
            if !path.exists() {
                return Err(Error::bad_data(
                    &path,
                    "missing; restore it with `git checkout`",
                ));
            }
            let got = paths::sha256_file(&path)?;
            if &got != want {
                return Err(Error::bad_data(
                    &path,
                    format!(
                        "SHA-256 is {got}, the manifest says {want}: the file is damaged or was \
                         replaced; restore it with `git checkout`, or retrain with `{}`",
                        e.command
                    ),
                ));
            }
        }
        if data.content_hash() != e.data_hash {
            return Err(Error::bad_data(
                data.source().to_string(),
                format!(
                    "is not the data {} was trained on (hash {}); give --data the stand-in",
                    e.name(),
                    e.data_hash.get(..16).unwrap_or(&e.data_hash)
                ),
            ));
        }
        if !e.model.is_empty() {
            let mut c = verify_model(e, data)?;
            c.seconds = t.elapsed().as_secs_f64();
            out.push(c);
            continue;
        }
        let res: NeuralResults<serde_json::Value> =
            paths::read_json(&paths::root().join(&e.results))?;
        let seed = res
            .config
            .get("split_seed")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let split = split::random_split(data.len(), seed)?;
        let pred = Trained::load_as(&folder, e.channels_last)?.predict(data, &split.test)?;
        let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &pred, data.n_classes())?;
        let differing = pred
            .iter()
            .zip(&res.test_predictions)
            .filter(|(a, b)| a != b)
            .count()
            + pred.len().abs_diff(res.test_predictions.len());
        out.push(Check {
            section: e.section.clone(),
            expected: (res.test_accuracy, res.test_macro_f1),
            got: (cm.accuracy(), cm.macro_f1()),
            differing,
            seconds: t.elapsed().as_secs_f64(),
            scored: true,
        });
    }
    Ok(out)
}

/// [`verify`] of a model of a section of several: a pretraining run is loaded; a variant or
/// a vote labels the test part and is compared with its adjusted scores and predictions.
fn verify_model(e: &Entry, data: &Dataset) -> Result<Check> {
    let folder = e.folder();
    let check = |expected, got, differing, scored| Check {
        section: e.name(),
        expected,
        got,
        differing,
        seconds: 0.0,
        scored,
    };
    if e.test_images == 0 {
        Trained::load_as(&folder, e.channels_last)?;
        return Ok(check((0.0, 0.0), (0.0, 0.0), 0, false));
    }
    if e.section == paths::section::CV {
        let (expected, want) = super::cv::expected(e)?;
        let test = super::cv::test_part(data)?;
        let p = crate::inference::Predictor::load_as(&folder, e.channels_last)?;
        let pred = p.predict(&data.subset(&test)?)?;
        let cm = ConfusionMatrix::new(&data.labels_at(&test), &pred, data.n_classes())?;
        let differing = pred.iter().zip(&want).filter(|(a, b)| a != b).count()
            + pred.len().abs_diff(want.len());
        return Ok(check(
            expected,
            (cm.accuracy(), cm.macro_f1()),
            differing,
            true,
        ));
    }
    let results_path = paths::root().join(&e.results);
    let res: serde_json::Value = paths::read_json(&results_path)?;
    let scored = scored_in(&res, &e.model).ok_or_else(|| {
        Error::bad_data(
            &results_path,
            format!(
                "has no model `{}`, which weights/manifest.json lists: re-export the weights \
                 (`charlab export-weights`)",
                e.model
            ),
        )
    })?;
    let (acc, f1, want) = adjusted(scored);
    let seed = res
        .pointer("/config/split_seed")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let split = split::random_split(data.len(), seed)?;
    let p = crate::inference::Predictor::load_as(&folder, e.channels_last)?;
    let pred = p.predict(&data.subset(&split.test)?)?;
    let cm = ConfusionMatrix::new(&data.labels_at(&split.test), &pred, data.n_classes())?;
    let differing =
        pred.iter().zip(&want).filter(|(a, b)| a != b).count() + pred.len().abs_diff(want.len());
    Ok(check(
        (acc, f1),
        (cm.accuracy(), cm.macro_f1()),
        differing,
        true,
    ))
}

/// The table `charlab verify` prints: model, expected and got (accuracy / macro F1, %),
/// labels that differ, seconds, verdict.
pub fn table(checks: &[Check]) -> String {
    let mut s = format!(
        "{:<44} {:>17} {:>17} {:>9} {:>8}  verdict\n",
        "model", "expected acc/F1", "got acc/F1", "differ", "seconds"
    );
    for c in checks {
        if !c.scored {
            s.push_str(&format!(
                "{:<44} {:>17} {:>17} {:>9} {:>8.1}  ok (hashes, loads)\n",
                c.section, "-", "-", "-", c.seconds
            ));
            continue;
        }
        s.push_str(&format!(
            "{:<44} {:>8.2}/{:<8.2} {:>8.2}/{:<8.2} {:>9} {:>8.1}  {}\n",
            c.section,
            100.0 * c.expected.0,
            100.0 * c.expected.1,
            100.0 * c.got.0,
            100.0 * c.got.1,
            c.differing,
            c.seconds,
            if c.ok() { "ok" } else { "MISMATCH" }
        ));
    }
    s
}
