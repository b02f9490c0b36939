//! Section 6.2: folds of the pool (test part untouched, every pool image held out once), the
//! one-image class, hard votes, and the section end to end in quick mode, resumed without
//! refitting anything.

mod common;

use charlab::data::synth::{self, SynthParams};
use charlab::metrics::MeanStd;
use charlab::sections::cv::{self, CvConfig, CvResults};
use charlab::split;
use charlab::split::PoolFolds;

#[test]
fn folds_cover_the_pool_once_and_never_touch_test() {
    let data = synth::generate(&SynthParams::new(900, 5).unwrap()).unwrap();
    let f = PoolFolds::new(&data, 0, 5, 0).unwrap();
    let split = split::random_split(data.len(), 0).unwrap();
    assert_eq!(f.test, split.test);
    let mut held: Vec<usize> = f.folds.iter().flat_map(|x| x.test.clone()).collect();
    held.sort_unstable();
    let mut pool = f.pool.clone();
    pool.sort_unstable();
    assert_eq!(held, pool, "every pool image is held out exactly once");
    for fold in &f.folds {
        assert_eq!(fold.train.len() + fold.test.len(), f.pool.len());
        assert!(fold.train.iter().all(|i| !fold.test.contains(i)));
        assert!(fold
            .train
            .iter()
            .chain(&fold.test)
            .all(|i| !f.test.contains(i)));
    }
}

#[test]
fn a_one_image_class_is_held_out_in_one_fold_only() {
    let mut data = synth::generate(&SynthParams::new(600, 6).unwrap()).unwrap();
    // Relabel all but one image of the last class: it becomes a one-image class.
    let last = data.n_classes() - 1;
    let members: Vec<usize> = (0..data.len())
        .filter(|&i| data.labels()[i] == last)
        .collect();
    let split = split::random_split(data.len(), 0).unwrap();
    let pool = split.train_and_validation();
    let keep = *members.iter().find(|i| pool.contains(i)).unwrap();
    let labels: Vec<usize> = data
        .labels()
        .iter()
        .enumerate()
        .map(|(i, &l)| if l == last && i != keep { 0 } else { l })
        .collect();
    data = charlab::data::Dataset::new(
        data.images().to_vec(),
        labels,
        data.height(),
        data.width(),
        data.class_chars().to_vec(),
        data.source().clone(),
    )
    .unwrap();
    let f = PoolFolds::new(&data, 0, 5, 0).unwrap();
    let tiny = f.tiny_classes(&data);
    let t = tiny.iter().find(|t| t.class == last).unwrap();
    assert_eq!(t.images, 1);
    assert_eq!(t.held_out_in.len(), 1);
    assert_eq!(t.test_images, 0);
    // Every class with at least as many pool images as folds is left out.
    assert!(tiny.iter().all(|t| t.images < 5));
}

#[test]
fn majority_vote_counts_and_breaks_ties_by_rank() {
    let a = [0, 1, 2, 3];
    let b = [0, 2, 2, 4];
    let c = [1, 2, 0, 5];
    // Image 0: 0 wins 2-1; image 1: 2 wins 2-1; image 2: 2 wins 2-1; image 3: a three-way tie
    // goes to the first member's 3.
    assert_eq!(
        charlab::inference::majority_of_labels(&[&a, &b, &c], 6),
        vec![0, 2, 2, 3]
    );
    assert_eq!(
        charlab::inference::majority_of_labels(&[&c, &b, &a], 6),
        vec![0, 2, 2, 5]
    );
}

#[test]
fn mean_and_sample_std() {
    let m = MeanStd::of(&[0.8, 0.9, 1.0]);
    assert!((m.mean - 0.9).abs() < 1e-12);
    assert!((m.std - 0.1).abs() < 1e-12);
    assert_eq!(m.n, 3);
    assert_eq!(MeanStd::of(&[0.5]).std, 0.0);
}

#[test]
fn quick_section_runs_end_to_end_and_resumes_without_refitting() {
    let tmp = common::installed_root("cv");
    let data = synth::generate(&SynthParams::new(700, 13).unwrap()).unwrap();
    let config = CvConfig::for_profile(charlab::Profile::Quick);
    let res = cv::run(&data, &config, false, |_| {}).unwrap();
    let saved: CvResults =
        charlab::paths::read_json(&charlab::paths::result(charlab::paths::section::CV)).unwrap();
    assert_eq!(saved, res);
    assert_eq!(res.fold_sizes.iter().sum::<usize>(), res.pool_images);
    assert!(res.models.len() >= config.models.len());
    for m in &res.models {
        assert_eq!(m.folds.len(), config.folds, "{}", m.model.name);
        for f in &m.folds {
            assert!(f.heldout_accuracy > 0.0 && f.heldout_accuracy <= 1.0);
            assert!(f.test_accuracy > 0.0 && f.test_accuracy <= 1.0);
            let l = f.heldout_macro_f1_learnable.unwrap();
            assert!((0.0..=1.0).contains(&l), "{}: {l}", m.model.name);
        }
        assert!(m.heldout_macro_f1_learnable.is_some(), "{}", m.model.name);
    }
    assert_eq!(res.grid.logreg.len(), config.grid.logreg_c.len());
    assert_eq!(
        res.grid.svm.len(),
        config.grid.svm_c.len() * config.grid.svm_gamma_factor.len()
    );
    // One majority vote per model, one soft vote per network, the top 3 across models.
    let nets = 1;
    assert_eq!(res.ensembles.len(), res.models.len() + nets + 1);
    for e in &res.ensembles {
        assert_eq!(e.per_class_f1.len(), data.n_classes());
    }
    // The network's soft fold vote is a folder `charlab predict` loads, and it labels the test
    // part exactly as the vote was scored.
    let folds = PoolFolds::new(&data, 0, config.folds, config.fold_seed).unwrap();
    let test = data.subset(&folds.test).unwrap();
    let soft: Vec<_> = res.ensembles.iter().filter(|e| e.rule == "soft").collect();
    assert_eq!(soft.len(), nets);
    for e in soft {
        let dir = tmp
            .path()
            .join(e.run_dir.as_ref().expect("a soft fold vote has a folder"));
        let p = charlab::inference::Predictor::load(&dir).unwrap();
        let acc = charlab::inference::agreement(&test, &p.predict(&test).unwrap());
        assert!(
            (acc - e.test_accuracy).abs() < 1e-9,
            "{acc} vs {}",
            e.test_accuracy
        );
    }
    // The report's section 6.2 from these results: every number in it comes from them, and it
    // names the fold vote's folder.
    let mut w = charlab::report::Writer::default();
    charlab::report::cv_section(&mut w, &res);
    let stray = charlab::report::unrecorded_numbers(&w.text, &w.numbers);
    assert!(
        stray.is_empty(),
        "numbers not from the results: {stray:?}\n{}",
        w.text
    );
    assert!(w.text.contains("fold-vote"), "{}", w.text);
    for fig in ["06-cv", "06-grid-svm"] {
        assert!(charlab::paths::figure(fig).with_extension("png").exists());
    }
    // Resumed: no fold or grid point is computed again (their files are not rewritten), and
    // the results are the same.
    let stamps = || {
        let mut out = Vec::new();
        let mut dirs = vec![tmp
            .path()
            .join("data/models")
            .join(charlab::paths::section::CV)];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "json")
                    && ["fold.json", "point.json"].iter().any(|n| p.ends_with(n))
                {
                    out.push((
                        p.clone(),
                        std::fs::metadata(&p).unwrap().modified().unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    };
    let before = stamps();
    let n_points = res.models.len() * config.folds
        + config.grid.folds * (res.grid.logreg.len() + res.grid.svm.len())
        + res.grid.cnn.len();
    assert_eq!(before.len(), n_points);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = cv::run(&data, &config, true, |_| {}).unwrap();
    assert_eq!(stamps(), before);
    assert_eq!(again.models, res.models);
    assert_eq!(again.grid, res.grid);
    assert_eq!(again.ensembles, res.ensembles);
    // Notebook 06.2's steps, one library call at a time, give the section's results exactly.
    let grid = config.grid_search(&data, |_| {}).unwrap();
    let folds = PoolFolds::new(&data, config.split_seed, config.folds, config.fold_seed).unwrap();
    let scores = config
        .models_with(&grid)
        .into_iter()
        .map(|m| {
            let s = (0..config.folds)
                .map(|f| config.fold(&data, &folds, &m, f).unwrap())
                .collect();
            (m, s)
        })
        .collect();
    assert_eq!(cv::record(&data, &config, grid, scores).unwrap(), res);
    assert_eq!(
        stamps(),
        before,
        "the notebook's steps refit nothing either"
    );
}
