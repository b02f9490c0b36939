//! Section 6.2's records (`report/results/06.2-cv/`): with the run folders gone (a new
//! machine), a resumed run fits nothing and gives the same results, soft votes included; with
//! one network fold's record gone too, it fits exactly that fold again. On a quick run.
//!
//! One test in its own binary: it installs its temporary root, which no other test in this
//! process may see.

mod common;

use std::path::{Path, PathBuf};

use charlab::data::synth::{self, SynthParams};
use charlab::sections::cv::{self, CvConfig};

/// Every file named `name` below `dir`.
fn files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn a_resumed_run_without_run_folders_fits_only_what_is_not_recorded() {
    let tmp = common::installed_root("cv-records");
    let data = synth::generate(&SynthParams::new(700, 13).unwrap()).unwrap();
    let config = CvConfig::for_profile(charlab::Profile::Quick);
    let first = cv::run(&data, &config, false, |_| {}).unwrap();
    let runs = tmp.path().join("data/models/06.2-cv");
    let records = tmp.path().join("report/results/06.2-cv");
    let folds = files(&runs, "fold.json");
    assert!(!folds.is_empty());
    // Every scores file has its record, and the network's soft vote is recorded.
    for f in folds.iter().chain(&files(&runs, "point.json")) {
        let rel = f.strip_prefix(&runs).unwrap();
        assert!(records.join(rel).is_file(), "{}", rel.display());
    }
    assert_eq!(files(&records, "soft-vote.json").len(), 1);

    // A new machine: the run folders are gone, the records (committed) are not.
    std::fs::remove_dir_all(&runs).unwrap();
    let again = cv::run(&data, &config, true, |_| {}).unwrap();
    assert_eq!(again, first);
    assert_eq!(files(&runs, "fold.json"), Vec::<PathBuf>::new());
    assert_eq!(files(&runs, "history.jsonl"), Vec::<PathBuf>::new());

    // One network fold's record gone too: that fold alone is fitted again; the soft vote over
    // it and the other folds (whose logits are not here) is the recorded one.
    let net = first
        .models
        .iter()
        .find(|m| matches!(m.model.kind, cv::CvKind::Net { .. }))
        .unwrap();
    let fold = format!("{}/fold-2", net.model.name);
    std::fs::remove_file(records.join(&fold).join("fold.json")).unwrap();
    let third = cv::run(&data, &config, true, |_| {}).unwrap();
    assert_eq!(
        third.ensembles, first.ensembles,
        "the votes, from the records"
    );
    let refit: Vec<PathBuf> = files(&runs, "fold.json")
        .into_iter()
        .map(|p| p.strip_prefix(&runs).unwrap().to_path_buf())
        .collect();
    assert_eq!(refit, [Path::new(&fold).join("fold.json")]);

    // A damaged record is a clear error naming it.
    std::fs::remove_dir_all(&runs).unwrap();
    let damaged = records.join(&fold).join("fold.json");
    std::fs::write(&damaged, "{").unwrap();
    let err = cv::run(&data, &config, true, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("fold-2"), "{err}");
}
