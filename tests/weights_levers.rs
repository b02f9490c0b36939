//! Section 6.1's best model in `weights/`: exported with the pretraining run it was fine-tuned
//! from (and, for a vote, its members and the vote), verified against the results file
//! exactly, and a damaged file is a clear error. On a quick run of the section.
//!
//! One test in its own binary: it installs its temporary root, which no other test in this
//! process may see.

mod common;

use charlab::sections::levers::{self, LeversConfig};
use charlab::weights;

#[test]
fn section_6_1_best_model_exports_verifies_and_a_damaged_file_is_caught() {
    let tmp = common::installed_root("weights-levers");
    let (data, corpus) = common::levers_inputs();
    let config = LeversConfig::for_profile(charlab::Profile::Quick);
    let res = levers::run(&data, &corpus, &config, false, |_| {}).unwrap();
    let best = res.best.clone().unwrap();
    let runs = tmp.path().join("data/models/06.1-levers");
    let entries = weights::export_levers_best(&res, &runs, "charlab levers --quick").unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.model.as_str()).collect();
    // The best model last; every network it needs before it, pretraining runs first.
    assert_eq!(names.last(), Some(&best.model.as_str()), "{names:?}");
    let vote = res.ensembles.iter().find(|e| e.name == best.model);
    for m in vote.map(|v| v.members.clone()).unwrap_or_default() {
        assert!(names.contains(&m.as_str()), "{m} missing from {names:?}");
    }
    assert!(
        names.iter().any(|n| n.starts_with("pretrain-")),
        "{names:?}"
    );
    let manifest = weights::Manifest {
        models: entries.clone(),
    };
    charlab::paths::write_json(&weights::manifest_path(), &manifest).unwrap();

    let checks = weights::verify(&data).unwrap();
    let table = weights::table(&checks);
    assert!(checks.iter().all(|c| c.ok()), "{table}");
    let last = checks.last().unwrap();
    assert!(
        last.scored && last.section.ends_with(&best.model),
        "{table}"
    );
    assert!(
        (100.0 * last.got.0 - best.test_accuracy).abs() < 1e-9,
        "{table}"
    );
    let cards = weights::model_cards(&manifest).unwrap();
    for e in &entries {
        assert!(cards.contains(&format!("## {}", e.name())), "{cards}");
    }

    // A network whose logit adjustment was edited: a bad hash, named with the fix.
    let e = entries
        .iter()
        .find(|e| e.files.contains_key("adjustment.json"))
        .unwrap();
    let path = e.folder().join("adjustment.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"tau\":", "\"tau\": 2.0, \"was\":", 1),
    )
    .unwrap();
    let err = weights::verify(&data).unwrap_err().to_string();
    assert!(
        err.contains("adjustment.json") && err.contains("SHA-256") && err.contains("git checkout"),
        "{err}"
    );
}
