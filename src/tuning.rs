//! The report's hyper-parameter choices, made repeatable: the learning rate ("the largest that
//! keeps the curve stable") by a short sweep, and the CNN's conv layers, kernel sizes and
//! filters by a small search.
//!
//! # The learning-rate rule
//! Each rate trains a fresh model (same seed, same batches) for `batches` mini-batches. The
//! training loss is smoothed (exponential moving average, factor 0.9, bias-corrected). A rate
//! is **stable** when every loss is finite, the smoothed loss never rises more than
//! `rise_tolerance` (10%) above its lowest value since the warm-up (the first tenth of the
//! batches, at least 10: Adam's first steps often bump the loss) (no divergence, no growing
//! oscillation), and it ends below 90% of where it stood after the warm-up (the mean loss of
//! the next as many batches) (it learns: a rate
//! too large for Adam can spike the loss in the first steps and then sit at chance level,
//! `ln(n_classes)`, which is below the spike but no learning). The sweep picks the largest
//! stable rate whose validation cross-entropy after the sweep is within 10% of the lowest
//! among the stable rates: a curve can stay smooth for the sweep's batches at a rate that
//! already learns worse (on the stand-in, 1e-2 passed the curve rule, and a 2-block CNN then
//! sat at the majority class for 3 epochs).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::nn::{ModuleT, VarStore};

use crate::metrics::MeanStd;
use crate::training::{evaluate, train_step, Adam, TrainData, TrainParams};
use crate::{Error, Result};

/// Settings of a learning-rate sweep.
///
/// Defaults: rates 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2; 150 batches of 128; rise tolerance 0.1;
/// seed 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepParams {
    /// Rates to try (each > 0).
    pub rates: Vec<f64>,
    /// Mini-batches per rate (>= 10).
    pub batches: usize,
    /// Batch size (>= 1).
    pub batch_size: usize,
    /// Allowed rise of the smoothed loss above its running minimum (> 0).
    pub rise_tolerance: f64,
    /// Seed of the initialisation and the batches.
    pub seed: u64,
}

impl Default for SweepParams {
    fn default() -> Self {
        SweepParams {
            rates: vec![1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2],
            batches: 150,
            batch_size: 128,
            rise_tolerance: 0.1,
            seed: 0,
        }
    }
}

/// One rate of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The learning rate.
    pub learning_rate: f64,
    /// Training loss of every batch (JSON writes a non-finite loss as `null`; it reads back
    /// as NaN).
    #[serde(deserialize_with = "nan_if_null_vec")]
    pub losses: Vec<f64>,
    /// Smoothed loss after the last batch (`None` for an unstable rate).
    pub final_smoothed: Option<f64>,
    /// Validation cross-entropy after the last batch (`null` in JSON when not finite).
    #[serde(deserialize_with = "nan_if_null")]
    pub val_loss: f64,
    /// Whether the rule calls it stable.
    pub stable: bool,
    /// Why not, when it is not.
    pub reason: String,
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn nan_if_null_vec<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f64>, D::Error> {
    let v = Vec::<Option<f64>>::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

/// Applies the stability rule to a loss curve: `Ok(final smoothed loss)` or `Err(reason)`.
pub fn stability(losses: &[f64], rise_tolerance: f64) -> std::result::Result<f64, String> {
    if losses.is_empty() {
        return Err("no loss recorded".into());
    }
    if let Some(i) = losses.iter().position(|l| !l.is_finite()) {
        return Err(format!("loss not finite at batch {}", i + 1));
    }
    let mut ema = 0.0;
    let mut smoothed = Vec::with_capacity(losses.len());
    for (i, &l) in losses.iter().enumerate() {
        ema = 0.9 * ema + 0.1 * l;
        smoothed.push(ema / (1.0 - 0.9f64.powi(i as i32 + 1)));
    }
    let warmup = (losses.len() / 10).max(10);
    let mut low = f64::INFINITY;
    for (i, &s) in smoothed.iter().enumerate().skip(warmup) {
        low = low.min(s);
        if s > low * (1.0 + rise_tolerance) {
            return Err(format!(
                "smoothed loss rose to {s:.3} at batch {} from a low of {low:.3}",
                i + 1
            ));
        }
    }
    let last = *smoothed.last().unwrap_or(&f64::NAN);
    // Where the curve stood after the warm-up: the raw losses of the next `warmup` batches
    // (the moving average still remembers the warm-up's spikes).
    let after = &losses[warmup.min(losses.len() - 1)..(2 * warmup).min(losses.len())];
    let start = after.iter().sum::<f64>() / after.len() as f64;
    if last.is_nan() || last >= 0.9 * start {
        return Err(format!(
            "smoothed loss went from {start:.3} after the warm-up to {last:.3}: not learning"
        ));
    }
    Ok(last)
}

/// Runs the sweep: for every rate, a model from `build` (in a fresh variable store, libtorch
/// seeded with `params.seed`) trained on the same `params.batches` batches of `data`.
pub fn lr_sweep<M, B>(data: &TrainData, params: &SweepParams, build: B) -> Result<Vec<SweepPoint>>
where
    M: ModuleT,
    B: Fn(&VarStore) -> Result<M>,
{
    if params.rates.is_empty() || params.rates.iter().any(|r| !(*r > 0.0 && r.is_finite())) {
        return Err(Error::param(
            "rates",
            "give at least one positive learning rate",
        ));
    }
    if params.batches < 10 || params.batch_size == 0 {
        return Err(Error::param(
            "batches",
            "at least 10 batches of at least 1 image",
        ));
    }
    if params.rise_tolerance.is_nan() || params.rise_tolerance <= 0.0 {
        return Err(Error::param("rise_tolerance", "must be positive"));
    }
    tch::set_num_threads(crate::threads() as i32);
    let n = data.y_train.size()[0] as usize;
    let device = data.x_train.device();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut order: Vec<i64> = Vec::new();
    while order.len() < params.batches * params.batch_size {
        let mut epoch: Vec<i64> = (0..n as i64).collect();
        epoch.shuffle(&mut rng);
        order.extend(epoch);
    }
    let bar =
        crate::progress::Progress::new((params.rates.len() * params.batches) as u64, "lr sweep");
    let mut out = Vec::new();
    for &rate in &params.rates {
        tch::manual_seed(params.seed as i64);
        let vs = VarStore::new(device);
        let model = build(&vs)?;
        let mut adam = Adam::new(&vs);
        let train = TrainParams {
            learning_rate: rate,
            ..TrainParams::default()
        };
        let mut losses = Vec::with_capacity(params.batches);
        for chunk in order.chunks(params.batch_size).take(params.batches) {
            let l = train_step(&model, &mut adam, data, chunk, &train);
            losses.push(l);
            bar.inc(1);
            if !l.is_finite() {
                break;
            }
        }
        let (val_loss, _, _) = evaluate(&model, &data.x_val, &data.y_val, 1024)?;
        let verdict = stability(&losses, params.rise_tolerance);
        out.push(SweepPoint {
            learning_rate: rate,
            final_smoothed: verdict.as_ref().ok().copied(),
            val_loss,
            stable: verdict.is_ok(),
            reason: verdict.err().unwrap_or_default(),
            losses,
        });
    }
    bar.finish();
    Ok(out)
}

/// The largest stable rate of a sweep whose validation loss is within 10% of the lowest
/// validation loss of the stable rates (see the module documentation).
pub fn pick_rate(points: &[SweepPoint]) -> Option<f64> {
    let stable = || points.iter().filter(|p| p.stable && p.val_loss.is_finite());
    let lowest = stable().map(|p| p.val_loss).fold(f64::INFINITY, f64::min);
    stable()
        .filter(|p| p.val_loss <= 1.1 * lowest)
        .map(|p| p.learning_rate)
        .fold(None, |best, r| Some(best.map_or(r, |b: f64| b.max(r))))
}

/// One point of the logistic regression or SVM grid, cross-validated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    /// `C`.
    pub c: f64,
    /// `gamma` as a multiple of scikit-learn's `"scale"` (SVM only).
    pub gamma_factor: Option<f64>,
    /// `gamma` itself (SVM only).
    pub gamma: Option<f64>,
    /// Held-out accuracy over the folds (fraction).
    pub accuracy: MeanStd,
    /// Held-out macro F1 over the folds (fraction).
    pub macro_f1: MeanStd,
    /// Seconds to fit, summed over the folds.
    pub seconds: f64,
}

/// One point of the CNN grid, scored on the report's validation part.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CnnPoint {
    /// Dropout after each convolution block.
    pub conv_dropout: f64,
    /// Dropout before the classifier.
    pub hidden_dropout: f64,
    /// Adam learning rate.
    pub learning_rate: f64,
    /// Epoch with the lowest validation loss.
    pub best_epoch: usize,
    /// That lowest validation loss.
    pub val_loss: f64,
    /// Validation accuracy at that epoch (fraction).
    pub val_accuracy: f64,
    /// Validation macro F1 at that epoch (fraction).
    pub val_macro_f1: f64,
    /// Seconds of training.
    pub seconds: f64,
}

/// Every grid's points so far (section 6.2's grid searches).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GridResults {
    /// Logistic regression, one point per `C`.
    pub logreg: Vec<GridPoint>,
    /// The SVM, `C`-major.
    pub svm: Vec<GridPoint>,
    /// The CNN.
    pub cnn: Vec<CnnPoint>,
}

impl GridResults {
    /// The logistic regression point with the highest mean macro F1 (ties: accuracy).
    pub(crate) fn best_logreg(&self) -> Option<&GridPoint> {
        best(&self.logreg)
    }

    /// The SVM point with the highest mean macro F1 (ties: accuracy).
    pub(crate) fn best_svm(&self) -> Option<&GridPoint> {
        best(&self.svm)
    }

    /// The CNN point with the highest validation macro F1.
    pub(crate) fn best_cnn(&self) -> Option<&CnnPoint> {
        self.cnn
            .iter()
            .max_by(|a, b| a.val_macro_f1.total_cmp(&b.val_macro_f1))
    }
}

fn best(points: &[GridPoint]) -> Option<&GridPoint> {
    points.iter().max_by(|a, b| {
        a.macro_f1
            .mean
            .total_cmp(&b.macro_f1.mean)
            .then(a.accuracy.mean.total_cmp(&b.accuracy.mean))
    })
}

#[cfg(test)]
mod tests {
    use super::{pick_rate, stability, SweepPoint};

    #[test]
    fn pick_rate_needs_a_validation_loss_near_the_best() {
        let point = |learning_rate: f64, val_loss: f64, stable: bool| SweepPoint {
            learning_rate,
            losses: Vec::new(),
            final_smoothed: Some(1.0),
            val_loss,
            stable,
            reason: String::new(),
        };
        // 1e-2 is stable but validates 30% worse than 3e-3; 3e-2 is unstable.
        let points = [
            point(1e-3, 1.05, true),
            point(3e-3, 1.0, true),
            point(1e-2, 1.3, true),
            point(3e-2, 0.5, false),
        ];
        assert_eq!(pick_rate(&points), Some(3e-3));
        let points = [point(1e-3, 1.05, true), point(3e-3, 1.09, true)];
        assert_eq!(pick_rate(&points), Some(3e-3));
        assert_eq!(pick_rate(&[point(1e-3, 1.0, false)]), None);
        // A diverged rate survives a JSON round trip (serde_json writes NaN as null).
        let mut bad = point(10.0, f64::NAN, false);
        bad.losses = vec![2.0, f64::INFINITY];
        bad.final_smoothed = None;
        let json = serde_json::to_string(&bad).unwrap();
        let back: SweepPoint = serde_json::from_str(&json).unwrap();
        assert!(back.val_loss.is_nan() && back.losses[1].is_nan() && back.final_smoothed.is_none());
    }

    #[test]
    fn stability_rule() {
        let falling: Vec<f64> = (0..100).map(|i| 3.0 * (-(i as f64) / 30.0).exp()).collect();
        assert!(stability(&falling, 0.1).is_ok());
        let mut diverging = falling.clone();
        diverging.extend((0..50).map(|i| 0.2 + i as f64 * 0.1));
        assert!(stability(&diverging, 0.1).unwrap_err().contains("rose"));
        let flat = vec![3.58; 100];
        assert!(stability(&flat, 0.1).unwrap_err().contains("not learning"));
        // Spiked by a too-large rate, then stuck at chance level (ln 36 = 3.58): far below
        // the first losses, but not learning.
        let mut stuck = vec![40.0, 30.0, 20.0, 10.0, 5.0];
        stuck.extend((0..145).map(|i| 3.58 + 0.01 * (i % 3) as f64));
        assert!(stability(&stuck, 0.1).unwrap_err().contains("not learning"));
        // A bump during the warm-up (Adam's first steps) is allowed.
        let mut bump = falling.clone();
        bump[3] = 9.0;
        bump[4] = 12.0;
        assert!(stability(&bump, 0.1).is_ok());
        let mut nan = falling;
        nan[50] = f64::NAN;
        assert!(stability(&nan, 0.1).unwrap_err().contains("batch 51"));
    }
}

/// One candidate of an architecture search, trained a few epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The architecture.
    pub model: crate::models::cnn::CnnParams,
    /// Trainable parameters.
    pub parameters: i64,
    /// Lowest validation cross-entropy over the epochs.
    pub best_val_loss: f64,
    /// Validation accuracy at that epoch.
    pub best_val_accuracy: f64,
    /// That epoch (from 1).
    pub best_epoch: usize,
    /// Training wall time, seconds.
    pub seconds: f64,
}

/// The report's manual search made systematic: 2, 3 or 4 conv blocks, 3x3 or 5x5 kernels, and
/// 16 or 32 filters in the first block, doubling block by block (12 candidates; the other
/// settings are [`crate::models::cnn::CnnParams::default`]'s).
pub fn cnn_candidates() -> Vec<crate::models::cnn::CnnParams> {
    use crate::models::cnn::{CnnParams, ConvBlock};
    let mut out = Vec::new();
    for layers in 2..=4 {
        for kernel in [3, 5] {
            for base in [16, 32] {
                out.push(CnnParams {
                    blocks: (0..layers)
                        .map(|i| ConvBlock {
                            filters: base << i,
                            kernel,
                        })
                        .collect(),
                    ..CnnParams::default()
                });
            }
        }
    }
    out
}

/// Trains every candidate with `train` (a few epochs) on `data`, each in its own resumable
/// run folder `run_root/NN`, and returns them ranked by best validation loss.
pub fn cnn_search(
    data: &TrainData,
    candidates: &[crate::models::cnn::CnnParams],
    train: &TrainParams,
    run_root: &std::path::Path,
    resume: bool,
) -> Result<Vec<SearchResult>> {
    let mut out = Vec::new();
    for (i, model) in candidates.iter().enumerate() {
        tch::manual_seed(train.seed as i64);
        let mut vs = VarStore::new(data.x_train.device());
        let net = crate::models::cnn::cnn(&vs.root(), model)?;
        let mut config = serde_json::json!({ "model": model, "train": train });
        crate::models::Net::Cnn(model.clone()).tag(&mut config);
        let outcome = crate::training::train(
            &net,
            &mut vs,
            data,
            train,
            &config,
            &run_root.join(format!("{i:02}")),
            resume,
        )?;
        let best = outcome
            .history
            .iter()
            .find(|r| r.epoch == outcome.best_epoch)
            .cloned()
            .ok_or_else(|| Error::param("epochs", "the search trained no epoch"))?;
        out.push(SearchResult {
            model: model.clone(),
            parameters: crate::models::parameter_count(&vs),
            best_val_loss: best.val_loss,
            best_val_accuracy: best.val_accuracy,
            best_epoch: best.epoch,
            seconds: outcome.history.iter().map(|r| r.seconds).sum(),
        });
    }
    out.sort_by(|a, b| a.best_val_loss.total_cmp(&b.best_val_loss));
    Ok(out)
}
