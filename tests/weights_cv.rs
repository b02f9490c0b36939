//! Section 6.2's best fold vote in `weights/`: its fold models and the vote exported,
//! verified against the fold records and the recorded soft vote exactly, and a damaged file
//! is a clear error. On a quick run of the section.
//!
//! One test in its own binary: it installs its temporary root, which no other test in this
//! process may see.

mod common;

use charlab::data::synth::{self, SynthParams};
use charlab::sections::cv::{self, CvConfig};
use charlab::weights;

#[test]
fn section_6_2_fold_vote_exports_verifies_and_a_damaged_file_is_caught() {
    let tmp = common::installed_root("weights-cv");
    let data = synth::generate(&SynthParams::new(700, 13).unwrap()).unwrap();
    let config = CvConfig::for_profile(charlab::Profile::Quick);
    let res = cv::run(&data, &config, false, |_| {}).unwrap();
    let model = weights::best_network(&res).unwrap().to_string();
    let runs = tmp.path().join("data/models/06.2-cv");
    let entries = weights::export_fold_vote(&res, &runs, "charlab cv --quick").unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.model.as_str()).collect();
    let mut want: Vec<String> = (1..=config.folds)
        .map(|f| format!("{model}/fold-{f}"))
        .collect();
    want.push(format!("{model}/fold-vote"));
    assert_eq!(names, want);
    let manifest = weights::Manifest {
        models: entries.clone(),
    };
    charlab::paths::write_json(&weights::manifest_path(), &manifest).unwrap();
    // Without the run folders: the committed copies alone reproduce the records.
    std::fs::remove_dir_all(&runs).unwrap();
    let checks = weights::verify(&data).unwrap();
    let table = weights::table(&checks);
    assert_eq!(checks.len(), entries.len(), "{table}");
    assert!(checks.iter().all(|c| c.ok() && c.scored), "{table}");
    let vote = res
        .ensembles
        .iter()
        .find(|e| {
            e.run_dir
                .as_deref()
                .is_some_and(|d| d.ends_with("fold-vote"))
        })
        .unwrap();
    let last = checks.last().unwrap();
    assert!((last.got.0 - vote.test_accuracy).abs() < 1e-12, "{table}");
    let cards = weights::model_cards(&manifest).unwrap();
    assert!(cards.contains("each member's logits adjusted"), "{cards}");

    // A fold model whose weights were replaced: a bad hash, named with the fix.
    let e = &entries[0];
    let path = e.folder().join("best.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = weights::verify(&data).unwrap_err().to_string();
    assert!(
        err.contains("best.safetensors") && err.contains("SHA-256") && err.contains("git checkout"),
        "{err}"
    );
}
