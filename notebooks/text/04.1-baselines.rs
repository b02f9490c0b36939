// %% [markdown]
// # 4.1 Baselines: logistic regression and an RBF SVM on raw pixels
//
// The report's classical models see the 3,136 binary pixels as they are (no normalisation), are fitted on the
// training and validation parts merged and are scored on the test part, with at most 1,000 iterations. Here:
//
// * **Logistic regression** (`LogRegParams`) minimises scikit-learn's multinomial objective (`C = 1`) with
//   charlab's L-BFGS and SciPy's stopping rules (largest gradient component <= 1e-4), on the pixels stored as runs
//   of dark pixels: one fused pass gives the loss and its gradient. `linfa-logistic` fits the same problem with
//   `LogRegSolver::Linfa`; it is much slower here (see `charlab::models::logreg`).
// * **The SVM** (`SvmParams`) is one-vs-one over the class pairs, gamma `"scale"`, `C = 1`, tolerance 1e-3,
//   libsvm's vote. Its binary problems are solved by libsvm's SMO on a kernel computed from bit-packed images (the
//   squared distance of two binary images is the popcount of their XOR); `linfa-svm` solves the same problems,
//   hours slower (`make bench-baselines` times both).
//
// Each model is built from its parameters in one cell, fitted in the next, and scored with the metric functions
// after. **Schedule**: the cell under *Setup*; `Profile::Quick` (or `CHARLAB_QUICK=1`, the test command) fits on
// 1,500 images (the embedded default's, or a sample of your `CHARLAB_DATA`) with a lower iteration cap, in seconds; its numbers are not the report's.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::sections::baselines;
use std::time::Instant;

// %% [markdown]
// ## Setup

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;

// %% [markdown]
// ## Data and split
// The report's random split (seed 0); the models are fitted on train + validation. The pixel models take the
// images as 0/1 features (`Dataset::features`, `[n, 3136]` f32) or as packed bytes (`Dataset::pixel_rows`).

// %%
let mut config = baselines::BaselinesConfig::default();
config.logreg.max_iter = lab.profile.logreg_max_iter(config.logreg.max_iter);
let split = random_split(data.len(), config.split_seed)?;
let fit_idx = split.train_and_validation();
let (y_fit, y_test) = (data.labels_at(&fit_idx), data.labels_at(&split.test));
println!("fitting on {} images (train + validation), testing on {}", fit_idx.len(), split.test.len());

// %% [markdown]
// ## Logistic regression
// The parameters (defaults in `LogRegParams`' documentation):

// %%
println!("{:#?}", config.logreg);

// %%
let t = Instant::now();
let logreg = config.logreg.fit_with_progress(data.features(&fit_idx).view(), &y_fit)?;
let logreg_fit_s = t.elapsed().as_secs_f64();
println!("{} iterations, converged: {}, objective {:.4}",
    logreg.report.iterations, logreg.report.converged, logreg.report.objective);

// %%
let t = Instant::now();
let logreg_pred = logreg.predict(data.features(&split.test).view())?;
let logreg_pred_s = t.elapsed().as_secs_f64();
println!("fit {:.1} s, predict {:.3} s: test accuracy {:.2}%, macro F1 {:.2}%", logreg_fit_s, logreg_pred_s,
    100.0 * accuracy(&y_test, &logreg_pred)?, 100.0 * macro_f1(&y_test, &logreg_pred)?);

// %% [markdown]
// A linear model on raw pixels: every class is one template of ink weights, so shifted or slanted strokes of the
// same character fall outside it. It is the weakest model of Table 1.
//
// ## RBF SVM
// First as the report ran it, with at most 1,000 SMO iterations per class pair (scikit-learn's `max_iter` applies to
// each pair), then without the cap, to convergence.

// %%
println!("{:#?}", config.svm);

// %%
let (x_fit, x_test) = (data.pixel_rows(&fit_idx), data.pixel_rows(&split.test));
let t = Instant::now();
let svm = config.svm.fit_with_progress(&x_fit, data.pixels(), &y_fit, "svm")?;
let svm_fit_s = t.elapsed().as_secs_f64();
let r = svm.report();
println!("{} pairs, {} converged within the cap, {} support vectors", r.pairs, r.converged_pairs, r.support_vectors);

// %%
let t = Instant::now();
let svm_pred = svm.predict(&x_test)?;
let svm_pred_s = t.elapsed().as_secs_f64();
println!("fit {:.1} s, predict {:.2} s: test accuracy {:.2}%, macro F1 {:.2}%", svm_fit_s, svm_pred_s,
    100.0 * accuracy(&y_test, &svm_pred)?, 100.0 * macro_f1(&y_test, &svm_pred)?);

// %% [markdown]
// The RBF kernel compares whole images by how many pixels differ, so it tolerates small shifts that defeat the
// linear model. Without the iteration cap:

// %%
let t = Instant::now();
let svm_conv = config.svm_uncapped().fit_with_progress(&x_fit, data.pixels(), &y_fit, "svm-converged")?;
let conv_fit_s = t.elapsed().as_secs_f64();
let r = svm_conv.report();
println!("{} pairs, {} converged, {} support vectors", r.pairs, r.converged_pairs, r.support_vectors);

// %%
let t = Instant::now();
let conv_pred = svm_conv.predict(&x_test)?;
let conv_pred_s = t.elapsed().as_secs_f64();
println!("fit {:.1} s, predict {:.2} s: test accuracy {:.2}%, macro F1 {:.2}%", conv_fit_s, conv_pred_s,
    100.0 * accuracy(&y_test, &conv_pred)?, 100.0 * macro_f1(&y_test, &conv_pred)?);

// %% [markdown]
// When every pair converges within the cap the two fits are the same model; the cap only matters for pairs
// that need more iterations.
//
// ## The Table 1 rows
// The section's results file records each model (`baselines::model_result`: its scores, per-class metrics and
// confusion matrix from `ConfusionMatrix`, the times), and the table shows accuracy and macro F1 (%) and the times:

// %%
let models = vec![
    baselines::model_result("logreg", &data, &split, &logreg_pred, (logreg_fit_s, logreg_pred_s), &config.logreg, &logreg.report)?,
    baselines::model_result("svm", &data, &split, &svm_pred, (svm_fit_s, svm_pred_s), &config.svm, &svm.report())?,
    baselines::model_result("svm-converged", &data, &split, &conv_pred, (conv_fit_s, conv_pred_s), &config.svm_uncapped(), &svm_conv.report())?,
];
let res = baselines::collect(&data, &config, models)?;
table(&baselines::table(&res)?)

// %% [markdown]
// The SVM is well ahead of logistic regression on both measures; macro F1 trails accuracy for both, since the
// rare classes are read worse and count as much as the frequent ones in the average.
//
// ## Per-class F1
// Saved with the results as `figures/04-baselines-f1.{svg,png}` and `report/results/04.1-baselines.json`:

// %%
baselines::save(&res, data.class_chars())?

// %% [markdown]
// The classes with the lowest F1 are the look-alikes and the rarest classes (class 30 has a single image in the
// report's data and in the stand-in).
