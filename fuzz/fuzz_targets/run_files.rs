//! The JSON files of run folders and of `report/results/`, read back: every input is parsed
//! as each of them (`serde_json::from_slice`, and through [`charlab::paths::read_json`] from a
//! file for two), and what parses goes through the code that reads those values.
//!
//! - `history.jsonl`: one [`EpochRecord`] per line, then [`history_table`];
//! - `normalizer.json` ([`Normalizer`]), `ensemble.json` ([`EnsembleSpec`]),
//!   `adjustment.json` ([`Adjustment`]), the `model` entry of `config.json` ([`CnnParams`],
//!   checked);
//! - the results files of `report/results/`: an input that parses as one of them replaces
//!   that file in a set of small valid results files (the seeds), and the report is rendered
//!   from the set ([`charlab::report::render`], [`charlab::report::to_html`]) and section 5
//!   reads it ([`results::collect`], [`results::summarize`] on a tiny data set, its
//!   figures' data); then once more with every file's `data_hash` set to that data set's, so
//!   that the summary gets past its check that the results come from the data; section 6.1's
//!   results also go through its table and text on their own.
//!
//! serde_json refuses nesting deeper than 128 levels, so deep inputs are a clean `Err`.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use charlab::data::{Dataset, Source};
use charlab::inference::{Adjustment, EnsembleSpec};
use charlab::models::cnn::CnnParams;
use charlab::paths::read_json;
use charlab::report::{self, levers_section, Writer};
use charlab::sections::baselines::BaselinesResults;
use charlab::sections::dataset::DatasetResults;
use charlab::sections::levers::{self, future_work, variants_table, LeversResults};
use charlab::sections::neural::{history_table, per_class_table, NeuralResults};
use charlab::sections::preprocessing::PreprocessingResults;
use charlab::sections::results::{ConfusionHeatmap, ResultsSummary};
use charlab::sections::{baselines, cnn, dataset, efficientnet, preprocessing, results};
use charlab::split::Normalizer;
use charlab::training::EpochRecord;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

/// The valid results files the report is rendered from (small copies of the committed ones).
const RESULTS: [(&str, &[u8]); 7] = [
    (
        charlab::paths::section::DATASET,
        include_bytes!("../seeds/run_files/results-dataset.json"),
    ),
    (
        charlab::paths::section::PREPROCESSING,
        include_bytes!("../seeds/run_files/results-preprocessing.json"),
    ),
    (
        charlab::paths::section::BASELINES,
        include_bytes!("../seeds/run_files/results-baselines.json"),
    ),
    (
        charlab::paths::section::CNN,
        include_bytes!("../seeds/run_files/results-cnn.json"),
    ),
    (
        charlab::paths::section::EFFICIENTNET,
        include_bytes!("../seeds/run_files/results-efficientnet.json"),
    ),
    (
        charlab::paths::section::RESULTS,
        include_bytes!("../seeds/run_files/results-summary.json"),
    ),
    (
        charlab::paths::section::LEVERS,
        include_bytes!("../seeds/run_files/results-levers.json"),
    ),
];

/// This process's own scratch folder (under `TMPDIR`; `make fuzz` points it into
/// `fuzz/target/`), also charlab's root and output root, holding `report/results/`.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("charlab-fuzz-json-{}", std::process::id()));
        std::fs::create_dir_all(d.join("report").join("results"))
            .expect("create the scratch folder");
        // Set once, on the first input, before anything reads them: results are read from
        // (and paths shown relative to) the scratch folder.
        std::env::set_var("CHARLAB_ROOT", &d);
        std::env::set_var("CHARLAB_OUT", &d);
        d
    })
}

fn result_path(section: &str) -> PathBuf {
    scratch()
        .join("report")
        .join("results")
        .join(format!("{section}.json"))
}

fn parse<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

/// The data set section 5's summary is computed on, and its content hash: four 2x2 images of
/// two classes, so that the seeds' 2x2 confusion matrices fit it (built once).
fn dataset() -> &'static (Dataset, String) {
    static DATA: OnceLock<(Dataset, String)> = OnceLock::new();
    DATA.get_or_init(|| {
        let images = vec![0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1];
        let source = Source::Synthetic { n: 4, seed: 0 };
        let data = Dataset::new(images, vec![0, 1, 0, 1], 2, 2, vec!['A', 'B'], source)
            .expect("a valid data set");
        let hash = data.content_hash();
        (data, hash)
    })
}

/// `bytes` with its top-level `data_hash` replaced by `hash` (as is when it has none).
fn with_hash(bytes: &[u8], hash: &str) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut v) if v.get("data_hash").is_some() => {
            v["data_hash"] = hash.into();
            serde_json::to_vec(&v).expect("serialise a JSON value")
        }
        _ => bytes.to_vec(),
    }
}

/// Writes the results files, with `data` as the one of `section`, every `data_hash` replaced
/// by `hash` when given.
fn write_results(section: &str, data: &[u8], hash: Option<&str>) {
    for (s, bytes) in RESULTS {
        let bytes = if s == section { data } else { bytes };
        let bytes = hash.map_or_else(|| bytes.to_vec(), |h| with_hash(bytes, h));
        std::fs::write(result_path(s), bytes).expect("write a scratch file");
    }
}

/// Section 5 from the results files: the summary, its best model and its figures' data.
fn section5() {
    let Ok((outcomes, missing)) = results::collect() else {
        return;
    };
    let (data, _) = dataset();
    let Ok(summary) = results::summarize(data, &outcomes, missing, 3) else {
        return;
    };
    let _ = results::best(&outcomes, &summary);
    let _ = results::per_class_f1_bars(&summary, data.class_chars());
    for o in &outcomes {
        let _ = ConfusionHeatmap::of(o, data.class_chars());
    }
}

/// The report and section 5 with `data` as the results file of `section`, the others valid.
fn render_with(section: &str, data: &[u8]) {
    write_results(section, data, None);
    if let Ok(w) = report::render() {
        let _ = report::to_html(&w.text);
        let _ = report::unrecorded_numbers(&w.text, &w.numbers);
    }
    section5();
    write_results(section, data, Some(&dataset().1));
    section5();
}

fn neural<C>(r: &NeuralResults<C>) {
    let _ = history_table(&r.history);
    let chars: Vec<char> = ('0'..='9').chain('A'..='Z').collect();
    let _ = per_class_table(&r.per_class, &chars);
    let _ = r.source.to_string();
    let _ = r.normalizer.levels();
}

fn history_jsonl(data: &[u8]) {
    // As the training loop reads it: UTF-8, one record per non-empty line.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let history: Result<Vec<EpochRecord>, _> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect();
    if let Ok(h) = history {
        let _ = history_table(&h);
    }
}

fuzz_target!(|data: &[u8]| {
    history_jsonl(data);
    if let Some(n) = parse::<Normalizer>(data) {
        let _ = n.levels();
    }
    let _ = parse::<EnsembleSpec>(data);
    let _ = parse::<Adjustment>(data);
    if let Some(p) = parse::<CnnParams>(data) {
        let _ = p.check();
    }
    if let Some(r) = parse::<cnn::NeuralResults>(data) {
        neural(&r);
        render_with(charlab::paths::section::CNN, data);
    }
    if let Some(r) = parse::<efficientnet::NeuralResults>(data) {
        neural(&r);
        render_with(charlab::paths::section::EFFICIENTNET, data);
    }
    if let Some(r) = parse::<BaselinesResults>(data) {
        let _ = r.model("svm");
        let _ = r.source.to_string();
        render_with(charlab::paths::section::BASELINES, data);
    }
    if let Some(r) = parse::<LeversResults>(data) {
        let mut w = Writer::default();
        levers_section(&mut w, &r);
        let _ = future_work(&r);
        let _ = variants_table(&r);
        render_with(charlab::paths::section::LEVERS, data);
    }
    if parse::<DatasetResults>(data).is_some() {
        render_with(charlab::paths::section::DATASET, data);
    }
    if parse::<PreprocessingResults>(data).is_some() {
        render_with(charlab::paths::section::PREPROCESSING, data);
    }
    if parse::<ResultsSummary>(data).is_some() {
        render_with(charlab::paths::section::RESULTS, data);
    }
    // The file reader (UTF-8 check first, then serde_json::from_str).
    let path = scratch().join("file.json");
    std::fs::write(&path, data).expect("write the scratch file");
    let _ = read_json::<Normalizer>(&path);
    let _ = read_json::<LeversResults>(&path);
});
