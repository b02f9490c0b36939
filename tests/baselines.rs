//! Section 4.1: logistic regression and the RBF SVM on a small generated set, the two SVM
//! solvers against each other, parameter checks and determinism.

mod common;

use charlab::data::synth::{generate, SynthParams};
use charlab::data::Dataset;
use charlab::metrics::accuracy;
use charlab::models::logreg::{LogReg, LogRegParams, LogRegSolver, Precision};
use charlab::models::svm::{Gamma, SvmParams, SvmSolver};

use charlab::split::{random_split, Split};

fn small() -> (Dataset, Split) {
    let data = generate(&SynthParams::new(1_500, 0).unwrap()).unwrap();
    let split = random_split(data.len(), 0).unwrap();
    (data, split)
}

fn labels(data: &Dataset, idx: &[usize]) -> Vec<usize> {
    idx.iter().map(|&i| data.labels()[i]).collect()
}

#[test]
fn logistic_regression_learns_the_generated_glyphs() {
    let (data, split) = small();
    let fit = split.train_and_validation();
    let x = data.features(&fit);
    let model = LogRegParams::default()
        .fit(x.view(), &labels(&data, &fit), |_, _| {})
        .unwrap();
    let pred = model.predict(data.features(&split.test).view()).unwrap();
    let acc = accuracy(&labels(&data, &split.test), &pred).unwrap();
    // Measured: 0.892 (1,251 fitting images, 249 test).
    eprintln!("logreg test accuracy {acc}");
    assert!(acc > 0.8, "accuracy {acc}");
    assert!(model.report.converged, "{:?}", model.report);
    assert!(model.report.gradient_max <= 1e-4);
    // Deterministic: the same data gives the same model.
    let again = LogRegParams::default()
        .fit(x.view(), &labels(&data, &fit), |_, _| {})
        .unwrap();
    assert_eq!(
        again.predict(data.features(&split.test).view()).unwrap(),
        pred
    );
    assert_eq!(again.report, model.report);
}

/// Fits logistic regression on the small set with two settings and checks that both meet
/// scikit-learn's rule (max |gradient| <= 1e-4), predict at least 97% of the test images alike
/// and reach objectives within 5% (on this nearly separable problem the rule still leaves them
/// ~2% apart: measured 0.0430 and 0.0423 for linfa in f32 and f64).
fn assert_fits_agree(a: LogRegParams, b: LogRegParams) -> (LogReg, LogReg) {
    let (data, split) = small();
    let fit = split.train_and_validation();
    let x = data.features(&fit);
    let y = labels(&data, &fit);
    let xt = data.features(&split.test);
    let a = a.fit(x.view(), &y, |_, _| {}).unwrap();
    let b = b.fit(x.view(), &y, |_, _| {}).unwrap();
    assert!(a.report.converged && b.report.converged, "{a:?} {b:?}");
    let (pa, pb) = (a.predict(xt.view()).unwrap(), b.predict(xt.view()).unwrap());
    let same = pa.iter().zip(&pb).filter(|(p, q)| p == q).count();
    assert!(
        same as f64 >= 0.97 * pa.len() as f64,
        "{same} of {}",
        pa.len()
    );
    assert!(
        (a.report.objective - b.report.objective).abs() < 0.05 * b.report.objective,
        "{:?} {:?}",
        a.report,
        b.report
    );
    (a, b)
}

#[test]
fn sparse_and_linfa_solvers_agree() {
    let with = |solver| LogRegParams {
        solver,
        precision: Precision::F64,
        ..Default::default()
    };
    let (a, _) = assert_fits_agree(with(LogRegSolver::Sparse), with(LogRegSolver::Linfa));
    assert!(a.report.evaluations >= a.report.iterations);
}

#[test]
fn f32_and_f64_fits_agree() {
    let with = |precision| LogRegParams {
        precision,
        solver: LogRegSolver::Linfa,
        ..Default::default()
    };
    assert_fits_agree(with(Precision::F32), with(Precision::F64));
}

#[test]
fn svm_learns_the_generated_glyphs_and_is_deterministic() {
    let (data, split) = small();
    let fit = split.train_and_validation();
    let x = data.pixel_rows(&fit);
    let y = labels(&data, &fit);
    let params = SvmParams::default();
    let model = params.fit(&x, data.pixels(), &y, &|_, _| {}).unwrap();
    let xt = data.pixel_rows(&split.test);
    let pred = model.predict(&xt).unwrap();
    let acc = accuracy(&labels(&data, &split.test), &pred).unwrap();
    // Measured: 0.867.
    eprintln!("svm test accuracy {acc}");
    assert!(acc > 0.8, "accuracy {acc}");
    let report = model.report();
    assert_eq!(report.pairs, 36 * 35 / 2);
    assert_eq!(report.converged_pairs, report.pairs);
    // gamma "scale" = 1 / (features * pixel variance).
    let p = x.iter().filter(|&&v| v == 1).count() as f64 / x.len() as f64;
    assert!((report.gamma - 1.0 / (3136.0 * (p - p * p))).abs() < 1e-12);
    let again = params.fit(&x, data.pixels(), &y, &|_, _| {}).unwrap();
    assert_eq!(again.predict(&xt).unwrap(), pred);
}

#[test]
fn popcount_solver_matches_linfa_svm() {
    let (data, split) = small();
    let fit = split.train_and_validation();
    let x = data.pixel_rows(&fit);
    let y = labels(&data, &fit);
    let xt = data.pixel_rows(&split.test);
    // O/0 and E/N, the pairs the issue timed linfa-svm on.
    let pair = [(2, 10), (14, 22)];
    for solver_pair in pair {
        let dec = |solver| {
            SvmParams {
                solver,
                ..Default::default()
            }
            .fit_pairs(&x, data.pixels(), &y, Some(&[solver_pair]), &|_, _| {})
            .unwrap()
            .decision_function(&xt)
            .unwrap()
        };
        let (a, b) = (dec(SvmSolver::Popcount), dec(SvmSolver::Linfa));
        let diff = a
            .iter()
            .zip(b.iter())
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        // Both stop at a maximal KKT violation below 1e-3.
        assert!(diff < 2e-2, "pair {solver_pair:?}: max difference {diff}");
        let agree = a
            .iter()
            .zip(b.iter())
            .filter(|(p, q)| (**p > 0.0) == (**q > 0.0))
            .count();
        assert!(agree as f64 >= 0.99 * a.len() as f64);
    }
}

#[test]
fn iteration_cap_is_reported() {
    let (data, split) = small();
    let fit = split.train_and_validation();
    let x = data.pixel_rows(&fit);
    let y = labels(&data, &fit);
    let capped = SvmParams {
        max_iter: Some(5),
        ..Default::default()
    }
    .fit(&x, data.pixels(), &y, &|_, _| {})
    .unwrap();
    let r = capped.report();
    assert_eq!(r.max_iterations, 5);
    assert!(r.converged_pairs < r.pairs);
}

#[test]
fn bad_hyperparameters_are_clear_errors() {
    let msg = |e: charlab::Error| e.to_string();
    let lr = |f: fn(&mut LogRegParams)| {
        let mut p = LogRegParams::default();
        f(&mut p);
        msg(p.check().unwrap_err())
    };
    assert!(lr(|p| p.c = 0.0).contains("C"));
    assert!(lr(|p| p.c = -1.0).contains("positive"));
    assert!(lr(|p| p.max_iter = 0).contains("max_iter"));
    assert!(lr(|p| p.tol = f64::NAN).contains("tol"));
    let svm = |f: fn(&mut SvmParams)| {
        let mut p = SvmParams::default();
        f(&mut p);
        msg(p.check().unwrap_err())
    };
    assert!(svm(|p| p.c = 0.0).contains("C"));
    assert!(svm(|p| p.gamma = Gamma::Value(0.0)).contains("gamma"));
    assert!(svm(|p| p.gamma = Gamma::Value(-2.0)).contains("gamma"));
    assert!(svm(|p| p.max_iter = Some(0)).contains("max_iter"));
    assert!(svm(|p| {
        p.solver = SvmSolver::Linfa;
        p.max_iter = Some(10);
    })
    .contains("linfa"));
    // Fitting checks too, and rejects grey images.
    let p = SvmParams {
        c: -1.0,
        ..Default::default()
    };
    assert!(p.fit(&[0, 1, 1, 0], 2, &[0, 1], &|_, _| {}).is_err());
    let e = SvmParams::default()
        .fit(&[0, 7, 1, 0], 2, &[0, 1], &|_, _| {})
        .unwrap_err();
    assert!(msg(e).contains("binary"));
}
