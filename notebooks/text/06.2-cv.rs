// -*- coding: utf-8 -*-
// %% [markdown]
// # 6.2 How sure are the numbers: cross-validation, grid search, votes
//
// Table 1 compares models on one split: 5,000 test images, where 0.24 points of accuracy are 12 images.
// This section asks which differences are real, with the tools the original report names as future work:
//
// - **stratified 5-fold cross-validation** of every Table 1 model and of section 6.1's best model, over the
//   training and validation images (the *pool*); the test part is never used to fit or to choose;
// - a **grid search** scored by cross-validation (logistic regression's C, the SVM's C x gamma) or on
//   validation (the CNN's dropout and learning rate);
// - **ensembles by vote** over the fold models: a hard majority (the report's proposal) and a soft vote.
//
// Every fold and grid point is kept in `data/models/06.2-cv/`, so re-running this notebook reuses them.

// %%
// :dep charlab = { path = "..", default-features = false }

// %%
use charlab::prelude::*;
use charlab::sections::cv::{self, CvConfig};

// %% [markdown]
// ## Data and folds
// The pool is the report's split's training and validation parts; its folds keep every class's share.

// %%
let (lab, data) = charlab::notebook::start(Profile::Full)?;
let quick = lab.is_quick();
let config = CvConfig::for_profile(lab.profile);
let folds = charlab::split::PoolFolds::new(&data, config.split_seed, config.folds, config.fold_seed)?;
println!("pool {} images in {} folds of {:?}; test {} images", folds.pool.len(), folds.folds.len(),
    folds.folds.iter().map(|f| f.test.len()).collect::<Vec<_>>(), folds.test.len());
for t in folds.tiny_classes(&data) {
    println!("class {} ('{}'): {} pool image(s), held out in fold {:?} only, {} test image(s)", t.class, t.character,
        t.images, t.held_out_in.iter().map(|f| f + 1).collect::<Vec<_>>(), t.test_images);
}

// %% [markdown]
// A class with fewer images than folds cannot be stratified: class 30, the single second 'N', is held out in one
// fold, where no model has seen it and its F1 of 0 enters that fold's macro F1, and trained on in the others.
//
// ## The models
// Table 1's four models as the report runs them, and section 6.1's best; the grids' chosen logistic regression
// and SVM are added as their own rows when they differ from Table 1's.

// %%
for m in &config.models {
    println!("{:<30} {}", m.name, m.label);
}

// %% [markdown]
// ## Running, or reading what has run
// The networks' folds take hours on 2 cores, so this cell shows the results file when it was made from this data and
// configuration, and runs (resuming finished folds and grid points, kept in `data/models/06.2-cv/`) otherwise.
// `charlab cv --resume` in a terminal continues an unfinished run; a model with fewer folds than configured is still running.

// %%
let res = cv::load_or_run(&data, &config, |m| println!("{m}"))?;
let done = res.models.iter().filter(|m| m.folds.len() == config.folds).count();
println!("{} of {} models cross-validated on all folds, {} grid points, {} votes", done, res.models.len(),
    res.grid.logreg.len() + res.grid.svm.len() + res.grid.cnn.len(), res.ensembles.len());

// %% [markdown]
// ## Cross-validated scores
// Mean ± standard deviation over the folds, on the held-out folds and (each fold model) on the test part.

// %%
table(&cv::cv_table(&res)?)

// %%
cv::cv_figure(&res)?

// %% [markdown]
// ## Grid search

// %%
table(&cv::grid_table(&res)?)

// %%
cv::svm_grid_figure(&res.grid)?

// %%
table(&cv::cnn_grid_table(&res)?)

// %% [markdown]
// ## Votes
// Each vote beside its best member (the one with the highest held-out macro F1, chosen without the test part).

// %%
table(&cv::ensembles_table(&res)?)

// %% [markdown]
// The soft vote of a network's fold models is a model in its own right: it is saved as an ensemble folder
// (`fold-vote/ensemble.json`, its members the fold folders, each with the logit adjustment its fold chose), which
// `charlab predict --model <folder>` loads. Here the vote of section 6.1's best model (in quick mode, the small CNN's)
// is loaded back from its folder and labels the test part.

// %%
// In a block: evcxr cannot keep variables that borrow `res` between cells.
{
    let votes: Vec<&cv::EnsembleResult> = res.ensembles.iter().filter(|e| e.run_dir.is_some()).collect();
    let vote = votes.iter().find(|e| e.members.iter().any(|m| m.starts_with("cnn4-pretrained-aug-weighted"))).or(votes.first());
    match vote.and_then(|e| e.run_dir.as_deref().map(|d| (e, charlab::paths::root().join(d)))) {
        Some((e, dir)) if dir.join("ensemble.json").exists() => {
            let predictor = charlab::inference::Predictor::load(&dir)?;
            let test = data.subset(&folds.test)?;
            let acc = charlab::inference::agreement(&test, &predictor.predict(&test)?);
            println!("vote:   {}", e.name);
            println!("model:  {}", predictor.kind);
            println!("folder: {}", charlab::paths::relative(&dir));
            println!("test accuracy {:.2}% (the vote as scored above: {:.2}%)", 100.0 * acc, 100.0 * e.test_accuracy);
        }
        Some((e, dir)) => println!("{}: {} is not on this machine; `charlab cv --resume` makes it", e.name, charlab::paths::relative(&dir)),
        None => println!("no network was cross-validated on every fold yet"),
    }
};

// %% [markdown]
// The folder labels the test part exactly as the vote was scored: `charlab predict` serves the same model the table reports.

// %% [markdown]
// ## What it shows
// The report's section 6.2, generated from the same results file as the tables above (so it stays true when the numbers change):

// %%
let mut w = charlab::report::Writer::default();
charlab::report::cv_section(&mut w, &res);
Html(charlab::report::markdown_fragment_html(&w.text))
