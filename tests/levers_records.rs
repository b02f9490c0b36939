//! Section 6.1's run records (`report/results/06.1-levers/`): with the run folders gone (a
//! new machine), a resumed run trains nothing and gives the same results; with one fine-tuned
//! variant's record gone too, it trains exactly that variant and the pretraining run it starts
//! from (only the variant when that run's weights are committed), and still gives the same
//! results. On a quick run of the section.
//!
//! One test in its own binary: it installs its temporary root, which no other test in this
//! process may see.

mod common;

use std::path::Path;

use charlab::sections::levers::{self, LeversConfig};

/// The run folders under `dir` that hold a training history.
fn trained(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().join("history.jsonl").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `res` as JSON without its timings (a run trained again takes other seconds).
fn untimed(res: &levers::LeversResults) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in [
                    "seconds",
                    "phases",
                    "train_seconds",
                    "train_images_per_second",
                ] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(res).unwrap();
    strip(&mut v);
    v
}

#[test]
fn a_resumed_run_without_run_folders_trains_only_what_is_not_recorded() {
    let tmp = common::installed_root("levers-records");
    let (data, corpus) = common::levers_inputs();
    let config = LeversConfig::for_profile(charlab::Profile::Quick);
    let first = levers::run(&data, &corpus, &config, false, |_| {}).unwrap();
    assert_eq!(first.ensembles.len(), 2, "the CNN variants' votes");
    let records = tmp.path().join("report/results/06.1-levers");
    let runs = tmp.path().join("data/models/06.1-levers");
    let n_runs = first.pretraining.len() + first.variants.len() + first.repeats.len();
    // One record a run, and the votes.
    let n_records = std::fs::read_dir(&records).unwrap().count();
    assert_eq!(n_records, n_runs + 1);

    // A new machine: the run folders are gone, the records (committed) are not.
    std::fs::remove_dir_all(&runs).unwrap();
    let mut said = Vec::new();
    let again = levers::run(&data, &corpus, &config, true, |m| said.push(m.to_string())).unwrap();
    assert_eq!(again, first);
    assert_eq!(
        trained(&runs),
        Vec::<String>::new(),
        "nothing trains: {said:?}"
    );
    assert!(
        said.iter().any(|m| m.contains("its results from")),
        "{said:?}"
    );

    // One fine-tuned variant's record gone too: it trains again, from its pretraining run,
    // which trains again too (its weights are gone); the other variants fine-tuned from that
    // run keep their records, since the retrained run has the same history.
    std::fs::remove_dir_all(&runs).unwrap();
    let variant = "small-pretrained-aug-weighted";
    std::fs::remove_file(records.join(format!("{variant}.json"))).unwrap();
    let third = levers::run(&data, &corpus, &config, true, |_| {}).unwrap();
    assert_eq!(untimed(&third), untimed(&first));
    assert_eq!(trained(&runs), ["pretrain-small", variant]);

    // With the pretraining run's weights committed (`weights/06.1-levers/pretrain-small/`),
    // the same loss retrains the variant alone: it starts from the committed weights.
    let entry = charlab::weights::export_model(
        charlab::paths::section::LEVERS,
        &runs.join("pretrain-small"),
        "pretrain-small",
        "charlab levers --quick",
        charlab::channels_last(),
    )
    .unwrap();
    assert!(entry.folder().join("best.safetensors").is_file());
    std::fs::remove_dir_all(&runs).unwrap();
    std::fs::remove_file(records.join(format!("{variant}.json"))).unwrap();
    let fourth = levers::run(&data, &corpus, &config, true, |_| {}).unwrap();
    assert_eq!(untimed(&fourth), untimed(&first));
    assert_eq!(trained(&runs), [variant]);

    // A damaged record is a clear error naming it, not a retraining.
    std::fs::remove_dir_all(&runs).unwrap();
    let damaged = records.join("small-scratch.json");
    std::fs::write(&damaged, "{\"key\": 1").unwrap();
    let err = levers::run(&data, &corpus, &config, true, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("small-scratch.json"), "{err}");
}
