//! Section 4.2's hyper-parameter choices, made repeatable: the learning-rate sweep
//! ([`crate::tuning::lr_sweep`], the report's "largest rate that keeps the curve stable") on
//! the default CNN, then the architecture search ([`crate::tuning::cnn_search`]) over conv
//! blocks, kernel sizes and filters, every candidate trained a few epochs at the picked rate.
//!
//! Outputs: `report/results/04.2-cnn-tuning.json` and the search runs under
//! `data/models/04.2-cnn-tuning/NN/` (resumable).

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::Device;

use crate::data::{Dataset, Source};
use crate::models::cnn::{cnn, CnnParams};
use crate::training::{TrainData, TrainParams};
use crate::tuning::{self, SearchResult, SweepParams, SweepPoint};
use crate::{paths, split, Error, Result};

/// Name of this section in file names ([`crate::paths::section`]).
pub(crate) const SECTION: &str = crate::paths::section::CNN_TUNING;

/// Everything that defines a tuning run. Defaults: [`SweepParams::default`] on
/// [`CnnParams::default`]; the search trains [`tuning::cnn_candidates`] for 3 epochs each
/// ([`TrainParams::default`] otherwise, learning rate from the sweep); split seed 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuningConfig {
    /// The learning-rate sweep.
    pub sweep: SweepParams,
    /// Training of each search candidate (its learning rate is replaced by the sweep's pick).
    pub search: TrainParams,
    /// The architectures searched.
    pub candidates: Vec<CnnParams>,
    /// Seed of the train / validation / test split.
    pub split_seed: u64,
}

impl Default for TuningConfig {
    fn default() -> Self {
        TuningConfig {
            sweep: SweepParams::default(),
            search: TrainParams {
                epochs: 3,
                ..TrainParams::default()
            },
            candidates: tuning::cnn_candidates(),
            split_seed: 0,
        }
    }
}

impl TuningConfig {
    /// The configuration of `profile`: the default (the report's) or [`TuningConfig::quick`].
    pub(crate) fn for_profile(profile: crate::Profile) -> Self {
        match profile {
            crate::Profile::Full => TuningConfig::default(),
            crate::Profile::Quick => TuningConfig::quick(),
        }
    }

    /// About a minute on a laptop: rates 1e-3 and 3e-3 over 50 batches of 32, the first two
    /// candidates for 1 epoch.
    pub(crate) fn quick() -> Self {
        let full = TuningConfig::default();
        TuningConfig {
            sweep: SweepParams {
                rates: vec![1e-3, 3e-3],
                batches: 50,
                batch_size: 32,
                ..full.sweep
            },
            search: TrainParams {
                epochs: 1,
                ..full.search
            },
            candidates: full.candidates.into_iter().take(2).collect(),
            split_seed: 0,
        }
    }
}

/// `report/results/04.2-cnn-tuning.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TuningResults {
    /// Section name.
    pub section: String,
    /// Where the data came from.
    pub source: Source,
    /// [`Dataset::content_hash`].
    pub data_hash: String,
    /// The run's configuration.
    pub config: TuningConfig,
    /// Every rate of the sweep, with its loss curve.
    pub sweep: Vec<SweepPoint>,
    /// The largest stable rate (the search's learning rate).
    pub picked_rate: f64,
    /// The candidates, best validation loss first.
    pub search: Vec<SearchResult>,
    /// Wall time of the sweep and of the search, seconds.
    pub seconds: (f64, f64),
}

/// The search runs' folder: `data/models/04.2-cnn-tuning/`.
pub(crate) fn run_dir() -> PathBuf {
    paths::run_dir(SECTION, crate::Profile::Full)
}

/// Runs the sweep and the search on `data` (the report's split; search candidates resume from
/// their folders when `resume`) and writes the results file.
pub(crate) fn run(data: &Dataset, config: &TuningConfig, resume: bool) -> Result<TuningResults> {
    let split = split::random_split(data.len(), config.split_seed)?;
    let train_data = TrainData::new(data, &split, Device::cuda_if_available())?;
    let t = Instant::now();
    let default = CnnParams::default();
    let sweep = tuning::lr_sweep(&train_data, &config.sweep, |vs| cnn(&vs.root(), &default))?;
    let sweep_s = t.elapsed().as_secs_f64();
    let picked_rate = tuning::pick_rate(&sweep).ok_or_else(|| {
        let why: Vec<String> = sweep
            .iter()
            .map(|p| format!("{}: {}", p.learning_rate, p.reason))
            .collect();
        Error::param(
            "rates",
            format!(
                "no learning rate of the sweep was stable ({}); try smaller rates or more batches",
                why.join("; ")
            ),
        )
    })?;
    let train = TrainParams {
        learning_rate: picked_rate,
        ..config.search.clone()
    };
    let t = Instant::now();
    let search = tuning::cnn_search(&train_data, &config.candidates, &train, &run_dir(), resume)?;
    let res = TuningResults {
        section: SECTION.into(),
        source: data.source().clone(),
        data_hash: data.content_hash(),
        config: config.clone(),
        sweep,
        picked_rate,
        search,
        seconds: (sweep_s, t.elapsed().as_secs_f64()),
    };
    paths::write_json(&paths::result(SECTION), &res)?;
    Ok(res)
}

/// The sweep as a table: learning rate, stable, final smoothed loss, validation loss, reason.
pub(crate) fn sweep_table(points: &[SweepPoint]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    Ok(df!(
        "learning_rate" => points.iter().map(|p| p.learning_rate).collect::<Vec<_>>(),
        "stable" => points.iter().map(|p| p.stable).collect::<Vec<_>>(),
        "final_smoothed_loss" => points.iter().map(|p| p.final_smoothed).collect::<Vec<_>>(),
        "val_loss" => points.iter().map(|p| p.val_loss).collect::<Vec<_>>(),
        "why_not" => points.iter().map(|p| p.reason.clone()).collect::<Vec<_>>(),
    )?)
}

/// The search as a table, best first: conv blocks (filters/kernel), parameters, best
/// validation loss and accuracy (%), best epoch, seconds.
pub fn search_table(results: &[SearchResult]) -> Result<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let blocks = |m: &CnnParams| {
        m.blocks
            .iter()
            .map(|b| format!("{}@{}x{}", b.filters, b.kernel, b.kernel))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(df!(
        "conv_blocks" => results.iter().map(|r| blocks(&r.model)).collect::<Vec<_>>(),
        "parameters" => results.iter().map(|r| r.parameters).collect::<Vec<_>>(),
        "best_val_loss" => results.iter().map(|r| r.best_val_loss).collect::<Vec<_>>(),
        "best_val_accuracy_%" => results.iter().map(|r| 100.0 * r.best_val_accuracy).collect::<Vec<_>>(),
        "best_epoch" => results.iter().map(|r| r.best_epoch as u32).collect::<Vec<_>>(),
        "seconds" => results.iter().map(|r| r.seconds).collect::<Vec<_>>(),
    )?)
}

/// The text `charlab tune cnn` prints: the sweep's table, the picked rate, the search's table
/// and the time each took.
pub(crate) fn summary(res: &TuningResults) -> Result<String> {
    Ok(format!(
        "{}\npicked learning rate: {}\n{}\nsweep {:.0} s, search {:.0} s; wrote \
         report/results/{SECTION}.json\n",
        sweep_table(&res.sweep)?,
        res.picked_rate,
        search_table(&res.search)?,
        res.seconds.0,
        res.seconds.1,
    ))
}
