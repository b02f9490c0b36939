//! Section 6.1's parts: augmentation (seeded, binary, no flips), class weights, corpus
//! de-duplication, logit adjustment, and the section end to end in quick mode.

mod common;

use charlab::augment::{augment, AugmentParams};
use charlab::data::dedupe;
use charlab::data::synth::{self, SynthParams};
use charlab::inference::{adjusted_predictions, log_prior};
use charlab::sections::levers::{self, LeversConfig, LeversResults};
use charlab::split;
use charlab::tch::{Device, Kind, Tensor};
use charlab::training::class_weights;

fn images(n: i64) -> Tensor {
    let data = synth::generate(&SynthParams::new(n as usize, 3).unwrap()).unwrap();
    let idx: Vec<usize> = (0..n as usize).collect();
    let norm = split::Normalizer::fit(&data, &idx).unwrap();
    norm.tensors(&data, &idx, Device::Cpu).unwrap().0
}

fn levels(x: &Tensor) -> (f64, f64) {
    (x.min().double_value(&[]), x.max().double_value(&[]))
}

#[test]
fn augmentation_is_seeded_binary_and_changes_images() {
    let x = images(40);
    let lv = levels(&x);
    let p = AugmentParams::default();
    let a = augment(&x, &p, lv, 7, 1, 0).unwrap();
    let b = augment(&x, &p, lv, 7, 1, 0).unwrap();
    assert_eq!(a.size(), x.size());
    assert!(
        a.equal(&b),
        "same (seed, epoch, batch) must give the same images"
    );
    let c = augment(&x, &p, lv, 7, 1, 1).unwrap();
    assert!(!a.equal(&c), "another batch index draws other transforms");
    // Still binary: every value is the background or the ink level.
    let is_bg = a.eq(lv.0).to_kind(Kind::Int64);
    let is_ink = a.eq(lv.1).to_kind(Kind::Int64);
    assert_eq!((is_bg + is_ink).min().int64_value(&[]), 1);
    // Changed, but not beyond recognition: most ink pixels stay near the original.
    let diff = a.ne_tensor(&x).to_kind(Kind::Float).mean(Kind::Float);
    let d = diff.double_value(&[]);
    assert!(d > 0.005 && d < 0.5, "fraction of changed pixels {d}");
}

#[test]
fn augmentation_with_zero_ranges_is_the_identity() {
    let x = images(40);
    let p = AugmentParams {
        rotation_deg: 0.0,
        scale: 0.0,
        shear: 0.0,
        shift_px: 0.0,
        elastic_px: 0.0,
        ..Default::default()
    };
    let a = augment(&x, &p, levels(&x), 1, 1, 0).unwrap();
    assert!(a.equal(&x));
    // Probability 0 leaves every image as it is, whatever the ranges.
    let off = AugmentParams {
        probability: 0.0,
        ..Default::default()
    };
    assert!(augment(&x, &off, levels(&x), 1, 1, 0).unwrap().equal(&x));
}

#[test]
fn augmentation_never_flips() {
    // An image with ink in its left half only stays mostly left after any draw.
    let mut v = vec![0f32; 56 * 56];
    for r in 10..46 {
        for c in 8..20 {
            v[r * 56 + c] = 1.0;
        }
    }
    let x = Tensor::from_slice(&v)
        .view([1, 1, 56, 56])
        .repeat([32, 1, 1, 1]);
    let a = augment(&x, &AugmentParams::default(), (0.0, 1.0), 3, 1, 0).unwrap();
    let left = a.narrow(3, 0, 28).sum(Kind::Float).double_value(&[]);
    let right = a.narrow(3, 28, 28).sum(Kind::Float).double_value(&[]);
    assert!(left > 10.0 * right.max(1.0), "left {left}, right {right}");
}

#[test]
fn augmentation_ranges_are_checked() {
    for bad in [
        AugmentParams {
            rotation_deg: 90.0,
            ..Default::default()
        },
        AugmentParams {
            probability: 1.5,
            ..Default::default()
        },
        AugmentParams {
            elastic_grid: 1,
            ..Default::default()
        },
    ] {
        let err = bad.check().unwrap_err().to_string();
        assert!(err.contains("outside"), "{err}");
    }
}

#[test]
fn class_weights_favour_rare_classes() {
    let y = Tensor::from_slice(&[0i64, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2]);
    let w = Vec::<f32>::try_from(&class_weights(&y, 4, 1.0).unwrap()).unwrap();
    assert!(w[2] > w[1] && w[1] > w[0], "{w:?}");
    assert_eq!(w[3], 0.0, "a class without images weighs nothing");
    let mean = (w[0] + w[1] + w[2]) / 3.0;
    assert!(
        (mean - 1.0).abs() < 1e-5,
        "mean over present classes {mean}"
    );
    let flat = Vec::<f32>::try_from(&class_weights(&y, 4, 0.0).unwrap()).unwrap();
    assert!(
        flat[..3].iter().all(|&v| (v - 1.0).abs() < 1e-6),
        "{flat:?}"
    );
}

#[test]
fn dedupe_drops_exactly_the_held_out_copies() {
    let data = synth::generate(&SynthParams::new(200, 5).unwrap()).unwrap();
    let corpus = synth::generate(&SynthParams::new(300, 6).unwrap()).unwrap();
    let (kept, dropped) = dedupe(&corpus, &data, &[0, 1, 2]);
    assert_eq!(kept.len() + dropped, 300);
    // The data itself as corpus: the held-out images go, and nothing else unless identical.
    let (kept, dropped) = dedupe(&data, &data, &[0, 1, 2]);
    assert!(dropped >= 3);
    assert!(!kept.contains(&0) && !kept.contains(&1) && !kept.contains(&2));
}

#[test]
fn logit_adjustment_moves_predictions_to_rare_classes() {
    // Class 0 is frequent, class 1 rare; the logits slightly prefer class 0.
    let labels: Vec<usize> = std::iter::repeat_n(0, 99).chain([1]).collect();
    let prior = log_prior(&labels, 2);
    let logits = Tensor::from_slice(&[1.0f32, 0.5]).view([1, 2]);
    assert_eq!(adjusted_predictions(&logits, &prior, 0.0).unwrap(), vec![0]);
    assert_eq!(adjusted_predictions(&logits, &prior, 1.0).unwrap(), vec![1]);
}

#[test]
fn quick_section_runs_end_to_end_and_predict_loads_the_best_run() {
    let tmp = common::installed_root("levers");
    let (data, corpus) = common::levers_inputs();
    let config = LeversConfig::for_profile(charlab::Profile::Quick);
    let mut seen = Vec::new();
    let res = levers::run(&data, &corpus, &config, false, |m| seen.push(m.to_string())).unwrap();
    assert_eq!(res.variants.len(), config.variants.len());
    // The corpus's pretraining, the glyphs' (as many glyphs as the corpus has images), and the
    // glyphs' again at the repeat's seed.
    let names: Vec<&str> = res.pretraining.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["small", "small-glyphs", "small-glyphs-seed1"]);
    assert!(res.pretraining.iter().all(|p| p.corpus_images == 600));
    // The repeats: each repeated variant once more at seed 1, trained with that seed.
    let repeated: Vec<(&str, u64)> = res
        .repeats
        .iter()
        .map(|r| (r.variant.name.as_str(), r.variant.train.seed))
        .collect();
    assert_eq!(
        repeated,
        [("small-scratch-seed1", 1), ("small-glyphs-seed1", 1)]
    );
    assert_ne!(
        res.repeats[0].scored.raw_test_predictions, res.variants[0].scored.raw_test_predictions,
        "another seed trains another network"
    );
    // Spreads and effects are computed from those scores, seed by seed, in points.
    assert_eq!(res.spreads.len(), 2);
    let sp = &res.spreads[0];
    assert_eq!(
        (sp.variant.as_str(), sp.seeds.clone()),
        ("small-scratch", vec![0, 1])
    );
    let accs = [
        100.0 * res.variants[0].scored.test.accuracy,
        100.0 * res.repeats[0].scored.test.accuracy,
    ];
    assert!((sp.test.accuracy.mean - (accs[0] + accs[1]) / 2.0).abs() < 1e-9);
    let glyph = &res.effects[0];
    assert_eq!(glyph.pair.lever, "glyph pretraining (transfer)");
    assert_eq!(glyph.seeds, [0, 1]);
    let d0 = 100.0
        * (res.variants[2].scored.test.adjusted_macro_f1
            - res.variants[0].scored.test.adjusted_macro_f1);
    assert!((glyph.test.adjusted_macro_f1.differences[0] - d0).abs() < 1e-9);
    assert_eq!(glyph.mcnemar_raw_p.len(), 2);
    assert!(glyph
        .mcnemar_adjusted_p
        .iter()
        .all(|p| (0.0..=1.0).contains(p)));
    // The other effect's "with" side was not repeated: one seed, no t-test.
    assert_eq!(res.effects[1].seeds, [0]);
    assert_eq!(res.effects[1].test.adjusted_accuracy.t_test_p, None);
    assert!(seen.iter().any(|m| m.starts_with("pretraining")));
    let n_test = split::random_split(data.len(), 0).unwrap().test.len();
    for v in &res.variants {
        assert!(config.tau_grid.contains(&v.scored.tau));
        assert_eq!(v.scored.test_predictions.len(), n_test);
        assert!(v.scored.test.adjusted_accuracy > 0.0 && v.scored.test.adjusted_accuracy <= 1.0);
        assert_eq!(v.scored.pairs.len(), 4);
        // The most frequent confusions: off the diagonal, most frequent first, no more than
        // the errors there are.
        let c = &v.scored.top_confusions;
        assert!(c.len() <= charlab::inference::TOP_CONFUSIONS);
        assert!(c.windows(2).all(|w| w[0].count >= w[1].count));
        assert!(c.iter().all(|x| x.truth != x.predicted && x.count > 0));
        let errors = (n_test as f64 * (1.0 - v.scored.test.adjusted_accuracy)).round() as u64;
        assert!(c.iter().map(|x| x.count).sum::<u64>() <= errors);
    }
    assert_eq!(res.class_chars, data.class_chars());
    let saved: LeversResults =
        charlab::paths::read_json(&charlab::paths::result(charlab::paths::section::LEVERS))
            .unwrap();
    assert_eq!(saved, res);
    let best = res.best.clone().unwrap();
    // Two variants give two ensembles; the best (variant or ensemble) is a folder that
    // `predict` loads, and it labels the test images as the results say.
    assert_eq!(res.ensembles.len(), 2);
    let split = split::random_split(data.len(), 0).unwrap();
    let expected = res
        .variants
        .iter()
        .find(|v| v.variant.name == best.model)
        .map(|v| v.scored.test_predictions.clone())
        .or_else(|| {
            res.ensembles
                .iter()
                .find(|e| e.name == best.model)
                .map(|e| e.scored.test_predictions.clone())
        })
        .unwrap();
    for name in ["soft-vote", "majority-vote", "small-scratch"] {
        let dir = tmp.path().join("data/models/06.1-levers").join(name);
        let p = charlab::inference::Predictor::load(&dir).unwrap();
        let all = p.predict(&data).unwrap();
        let on_test: Vec<usize> = split.test.iter().map(|&i| all[i]).collect();
        let want = match name {
            "small-scratch" => res.variants[0].scored.test_predictions.clone(),
            n => res
                .ensembles
                .iter()
                .find(|e| e.name == n)
                .unwrap()
                .scored
                .test_predictions
                .clone(),
        };
        assert_eq!(on_test, want, "{name}");
        if name == best.model {
            assert_eq!(on_test, expected);
        }
    }
    let p = charlab::inference::Predictor::load(&tmp.path().join(&best.run_dir)).unwrap();
    assert_eq!(p.predict(&data).unwrap().len(), data.len());
    // The report's section 6.1 from these results: every number in it comes from them.
    let mut w = charlab::report::Writer::default();
    charlab::report::levers_section(&mut w, &res);
    assert!(
        w.text.contains("Table 6.1") && w.text.contains(&best.model),
        "{}",
        w.text
    );
    let stray = charlab::report::unrecorded_numbers(&w.text, &w.numbers);
    assert!(
        stray.is_empty(),
        "numbers not from the results: {stray:?}\n{}",
        w.text
    );
    // Resuming reuses the finished runs: same results, no training.
    let again = levers::run(&data, &corpus, &config, true, |_| {}).unwrap();
    assert_eq!(again.variants[0].history, res.variants[0].history);
    assert_eq!(again.best, res.best);
    // Notebook 06.1's steps, one library call at a time, give the section's results exactly.
    assert_eq!(notebook_steps(&data, &corpus, &config, &res), res);
}

/// Section 6.1 as notebook 06.1 runs it: the second variant by hand (the de-duplicated images
/// of the pretraining run it starts from, `pretrain_fit`, `variant_fit`, `score`), which must
/// score as the section does, then every run through `Steps` and `levers::record`.
fn notebook_steps(
    data: &charlab::data::Dataset,
    corpus: &charlab::data::Dataset,
    config: &LeversConfig,
    res: &LeversResults,
) -> LeversResults {
    use charlab::inference::{score, Eval};
    use charlab::sections::levers::{PretrainImages, Steps};
    use charlab::training::TrainData;
    let split = split::random_split(data.len(), config.split_seed).unwrap();
    let (specs, runs) = config.runs();
    let v = &config.variants[1];
    let spec = specs
        .iter()
        .find(|p| v.pretrained.as_ref() == Some(&p.name))
        .unwrap();
    let source = PretrainImages::default().of(spec, corpus).unwrap().clone();
    let (kept, _) = dedupe(&source, data, &split.validation_and_test());
    let td = TrainData::with_training_images(data, &split, &source, &kept, Device::Cpu).unwrap();
    let pretrained = config.pretrain_fit(spec, data, &source).run(&td).unwrap();
    let recorded = res
        .pretraining
        .iter()
        .find(|p| p.name == spec.name)
        .unwrap();
    assert_eq!(pretrained.history, recorded.history);
    let td = TrainData::new(data, &split, Device::Cpu).unwrap();
    let t = config.variant_fit(v, data).unwrap().run(&td).unwrap();
    let e = Eval::new(data, &split, &charlab::data::LOOK_ALIKE_PAIRS);
    let val = t.logits(data, &split.validation).unwrap();
    let test = t.logits(data, &split.test).unwrap();
    let scored = score(&e, &val, &test, &config.tau_grid).unwrap();
    assert_eq!(scored, res.variants[1].scored, "{} by hand", v.name);

    let steps = Steps::new(data, config, true).unwrap();
    let mut images = PretrainImages::default();
    let pretraining: Vec<_> = specs
        .iter()
        .map(|spec| {
            let source = images.of(spec, corpus).unwrap();
            steps.pretraining(spec, source).unwrap()
        })
        .collect();
    let (mut variants, mut logits, mut repeats) = (Vec::new(), Vec::new(), Vec::new());
    for (i, v) in runs.iter().enumerate() {
        let (r, l) = steps.variant(v, &pretraining).unwrap();
        if i < config.variants.len() {
            variants.push(r);
            logits.push(l);
        } else {
            repeats.push(r);
        }
    }
    levers::record(
        data,
        corpus,
        config,
        pretraining,
        variants,
        &logits,
        repeats,
    )
    .unwrap()
}

#[test]
fn repeats_and_effects_must_name_configured_variants() {
    let mut config = LeversConfig::for_profile(charlab::Profile::Quick);
    let data = synth::generate(&SynthParams::new(200, 1).unwrap()).unwrap();
    let mut bad = config.clone();
    bad.effects[0].with = "no-such-variant".into();
    let err = levers::run(&data, &data, &bad, false, |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-variant") && err.contains("small-scratch"),
        "{err}"
    );
    config.repeats.as_mut().unwrap().seeds = vec![0];
    let err = levers::run(&data, &data, &config, false, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("seed 0"), "{err}");
}

/// When a vote is the best on validation, the report's section 6.1 still describes it: its
/// members, scores, look-alike pairs and errors (the committed stand-in results, with the best
/// moved to their majority vote).
#[test]
fn report_describes_a_vote_that_is_best() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("report/results/06.1-levers.json");
    let mut res: LeversResults = charlab::paths::read_json(&path).unwrap();
    let vote = res
        .ensembles
        .iter()
        .find(|e| e.name == "majority-vote")
        .unwrap()
        .clone();
    let best = res.best.as_mut().unwrap();
    best.model = vote.name.clone();
    best.test_accuracy = 100.0 * vote.scored.test.adjusted_accuracy;
    best.test_macro_f1 = 100.0 * vote.scored.test.adjusted_macro_f1;
    let mut w = charlab::report::Writer::default();
    charlab::report::levers_section(&mut w, &res);
    let members: Vec<String> = vote.members.iter().map(|m| format!("`{m}`")).collect();
    let said = format!(
        "The best model on validation is `majority-vote` (a vote of {})",
        members.join(" and ")
    );
    assert!(w.text.contains(&said), "{}", w.text);
    assert!(w.text.contains("Where the best model's"), "{}", w.text);
    assert!(w.text.contains("06-augmentation"), "{}", w.text);
    let stray = charlab::report::unrecorded_numbers(&w.text, &w.numbers);
    assert!(stray.is_empty(), "numbers not from the results: {stray:?}");
}
